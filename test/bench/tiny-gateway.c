// tiny-gateway --port N: the least a gateway must do to be healthy (listen on 127.0.0.1:N and
// answer every HTTP request 200), in about a millisecond of start-up, so that a soak of a
// thousand restarts measures the supervisor, not the gateway's own start.
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3 || strcmp(argv[1], "--port") != 0) return 2;
  int server = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(server, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(server, 16) != 0) return 1;
  static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  for (;;) {
    int client = accept(server, NULL, NULL);
    if (client < 0) continue;
    char request[2048];
    if (read(client, request, sizeof request) > 0 && write(client, answer, sizeof answer - 1) < 0) {
      // The prober went away; nothing to do.
    }
    close(client);
  }
}

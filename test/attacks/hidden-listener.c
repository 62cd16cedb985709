// Round 2, attack 5's squatter (docs/threat-model.md): as the sandbox user, listens on PORT,
// then keeps the listening socket only inside a unix socket message (SCM_RIGHTS) it never
// receives, and closes its own descriptor: no process holds the socket in its descriptors,
// so a search of /proc/*/fd cannot name it. It lives until SIGTERM (or TTL seconds).
//   hidden-listener PORT TTL
// Compiled static on the host (gcc -static) and mounted into a container of the test image.
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 1) != 0) return -1;
  return fd;
}

// Sends `fd` into one end of a socket pair and never reads the other end.
static int hide(int pair[2], int fd) {
  char byte = 'x';
  struct iovec iov = { &byte, 1 };
  char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  return sendmsg(pair[0], &msg, 0) == 1 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: hidden-listener PORT TTL\n");
    return 64;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  int pair[2];
  int fd = -1;
  // Take the port the moment it is free (the gateway may still hold it).
  for (int tries = 0; tries < 600 && fd < 0 && !stop; tries++) {
    fd = listen_on(atoi(argv[1]));
    if (fd < 0) usleep(50 * 1000);
  }
  if (fd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0 || hide(pair, fd) != 0) {
    perror("hidden-listener");
    return 1;
  }
  close(fd);
  printf("hidden-listener: port %s held in flight\n", argv[1]);
  fflush(stdout);
  for (int waited = 0; waited < atoi(argv[2]) && !stop; waited++) sleep(1);
  return 0;
}

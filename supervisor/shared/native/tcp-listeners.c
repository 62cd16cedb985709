// tcpListeners(port) -> number[]: the TCP sockets listening on port in this process's network
// namespace, IPv4 and IPv6, from the kernel's sock_diag netlink interface; flat, 19 numbers
// each: family (4 or 6), uid, inode, then the 16 bytes of the local address (IPv4 in the
// first 4).
//
// Why not /proc/net/tcp: reading it makes the kernel walk its whole established-connection
// hash, shared by every network namespace of the host, to fill a page of text; each health
// probe paid about a millisecond for it, more on a host with hundreds of sandboxes. A
// sock_diag dump asked for LISTEN sockets only walks the listening hash, filtered by port in
// the kernel, and skips the established one.
#define _GNU_SOURCE
#include "addon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TCP_LISTEN_STATE 10
// Far more listeners on one port than SO_REUSEPORT groups have in practice; the rest are left out.
#define MAX_LISTENERS 256
#define FIELDS 19

struct listeners {
  uint32_t fields[MAX_LISTENERS * FIELDS];
  int count;
};

static void add_listener(struct listeners *out, const struct inet_diag_msg *m) {
  if (out->count >= MAX_LISTENERS) return;
  uint32_t *f = &out->fields[out->count++ * FIELDS];
  f[0] = m->idiag_family == AF_INET ? 4 : 6;
  f[1] = m->idiag_uid;
  f[2] = m->idiag_inode;
  const unsigned char *address = (const unsigned char *)m->id.idiag_src;
  for (int i = 0; i < 16; i++) f[3 + i] = m->idiag_family == AF_INET && i >= 4 ? 0 : address[i];
}

static int send_dump_request(int fd, int family, uint16_t port) {
  struct {
    struct nlmsghdr header;
    struct inet_diag_req_v2 request;
  } message;
  memset(&message, 0, sizeof message);
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.request.sdiag_family = (uint8_t)family;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = 1u << TCP_LISTEN_STATE;
  message.request.id.idiag_sport = htons(port);
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  for (;;) {
    if (sendto(fd, &message, sizeof message, 0, (struct sockaddr *)&kernel, sizeof kernel) >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

// Reads the dump's answers until NLMSG_DONE: 0, or -errno (the kernel's, or the socket's).
static int read_dump(int fd, uint16_t port, struct listeners *out) {
  // PID 1 calls this from its main thread only.
  static char buffer[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return -EPROTO;
    int length = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; NLMSG_OK(h, length); h = NLMSG_NEXT(h, length)) {
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *error = NLMSG_DATA(h);
        return error->error < 0 ? error->error : -EPROTO;
      }
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) continue;
      const struct inet_diag_msg *m = NLMSG_DATA(h);
      // The kernel filters by state and port; checked again rather than trusted blindly.
      if (m->idiag_state == TCP_LISTEN_STATE && ntohs(m->id.idiag_sport) == port) add_listener(out, m);
    }
  }
}

static int dump_family(int family, uint16_t port, struct listeners *out) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return -errno;
  // The kernel answers at once; the bound only guards against a broken netlink.
  struct timeval timeout = {.tv_sec = 2, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  int rc = send_dump_request(fd, family, port);
  if (rc == 0) rc = read_dump(fd, port, out);
  close(fd);
  return rc;
}

napi_value tcp_listeners(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  int32_t port;
  if (argc < 1 || !int_arg(env, args[0], &port, "tcpListeners(port): port must be an integer")) return NULL;
  if (port < 1 || port > 65535) {
    napi_throw_range_error(env, NULL, "tcpListeners(port): port must be 1 to 65535");
    return NULL;
  }
  static struct listeners found;
  found.count = 0;
  int rc = dump_family(AF_INET, (uint16_t)port, &found);
  // No IPv6 in this kernel or namespace: there are no IPv6 listeners either.
  if (rc == 0) {
    rc = dump_family(AF_INET6, (uint16_t)port, &found);
    if (rc == -ENOENT || rc == -EAFNOSUPPORT) rc = 0;
  }
  if (rc != 0) return throw_errno(env, -rc, "sock_diag dump of TCP listeners");
  napi_value result;
  CHECK(napi_create_array_with_length(env, (size_t)found.count * FIELDS, &result));
  for (int i = 0; i < found.count * FIELDS; i++) {
    napi_value number;
    CHECK(napi_create_uint32(env, found.fields[i], &number));
    CHECK(napi_set_element(env, result, (uint32_t)i, number));
  }
  return result;
}

/* lxr-recvtty SOCKET: the receiving end of --console-socket, for tests and manual use (as runc's
 * contrib recvtty). Listens on SOCKET, takes one connection, receives the pty master sent with
 * SCM_RIGHTS, then copies its stdin to the pty and the pty to its stdout until the pty closes. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/sys.h"

static int fail(const char *what) {
  fprintf(stderr, "lxr-recvtty: %s: %s\n", what, strerror(errno));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fputs("usage: lxr-recvtty SOCKET\n", stderr);
    return 2;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(argv[1]) >= sizeof addr.sun_path) return errno = ENAMETOOLONG, fail(argv[1]);
  strcpy(addr.sun_path, argv[1]);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0 || bind(sock, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(sock, 1) < 0) return fail(argv[1]);
  int conn = accept4(sock, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) return fail("accept");
  int master = lxr_recv_fd(conn);
  if (master < 0) return fail("receive the pty");
  close(conn);
  close(sock);
  unlink(argv[1]);
  bool in_open = true;
  char buf[4096];
  for (;;) {
    struct pollfd p[2] = {{master, POLLIN, 0}, {0, POLLIN, 0}};
    if (poll(p, in_open ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      return fail("poll");
    }
    if (p[0].revents) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) return 0; /* EIO: every slave is closed, the process is gone */
      if (write(1, buf, (size_t)n) < 0) return fail("write stdout");
    }
    if (in_open && p[1].revents) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0)
        in_open = false;
      else if (write(master, buf, (size_t)n) < 0)
        return fail("write the pty");
    }
  }
}

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "runtime.h"

static void out_of_memory(void) {
  static const char msg[] = "lxr-runtime: out of memory\n";
  (void)!write(2, msg, sizeof msg - 1);
  _exit(1);
}

char *lxr_strdup(const char *s) {
  char *d = strdup(s);
  if (!d) out_of_memory();
  return d;
}

void *lxr_calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (!p) out_of_memory();
  return p;
}

ssize_t lxr_read_all(int fd, char *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = LXR_RETRY(read(fd, buf + got, len - got));
    if (n < 0) return -1;
    if (n == 0) break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

int lxr_write_file_at(int dirfd, const char *name, const char *data, lxr_error *err) {
  cleanup_close int fd = LXR_RETRY(openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_TRUNC));
  if (fd < 0) return lxr_fail(err, errno, "open %s", name);
  if (lxr_write_all(fd, data, strlen(data)) < 0) return lxr_fail(err, errno, "write %s to %s", data, name);
  return 0;
}

int lxr_write_file(const char *path, const char *data, lxr_error *err) {
  return lxr_write_file_at(AT_FDCWD, path, data, err);
}

int lxr_mkdir_p(const char *path, mode_t mode, lxr_error *err) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return lxr_fail(err, ENAMETOOLONG, "mkdir %s", path);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(buf, mode) < 0 && errno != EEXIST) return lxr_fail(err, errno, "mkdir %s", buf);
      *p = c;
      if (c == '\0') break;
    }
  }
  return 0;
}

int lxr_send_fd(int sock, int fd, const char *name, lxr_error *err) {
  char control[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (LXR_RETRY(sendmsg(sock, &msg, 0)) < 0) return lxr_fail(err, errno, "send the console to the console socket");
  return 0;
}

int lxr_connect_unix(const char *path, lxr_error *err) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) return lxr_fail(err, ENAMETOOLONG, "console socket %s", path);
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || LXR_RETRY(connect(fd, (struct sockaddr *)&addr, sizeof addr)) < 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    return lxr_fail(err, e, "connect to the console socket %s", path);
  }
  return fd;
}

int lxr_write_pid_file(const char *path, pid_t pid, lxr_error *err) {
  char tmp[PATH_MAX], buf[24];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  snprintf(buf, sizeof buf, "%d", pid);
  cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || lxr_write_all(fd, buf, strlen(buf)) < 0) return lxr_fail(err, errno, "write the pid file %s", tmp);
  if (rename(tmp, path) < 0) return lxr_fail(err, errno, "rename the pid file to %s", path);
  return 0;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

void lxr_close_except(int *keep, size_t n) {
  qsort(keep, n, sizeof *keep, cmp_int);
  unsigned from = 3;
  for (size_t i = 0; i < n; i++) {
    if (keep[i] < 0 || (unsigned)keep[i] < from) continue;
    if ((unsigned)keep[i] > from) syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
    from = (unsigned)keep[i] + 1;
  }
  syscall(SYS_close_range, from, ~0U, 0);
}

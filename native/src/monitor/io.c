/* Frames, the json-file log, and the small system helpers both modes share. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../common/sys.h"
#include "monitor.h"

int frame_write(int fd, uint8_t type, const void *payload, size_t len) {
  uint8_t hdr[5] = {type, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
  /* One sendmsg-like write when small keeps frames whole for readers that read once. */
  if (len <= 4096) {
    uint8_t buf[4096 + 5];
    memcpy(buf, hdr, 5);
    if (len) memcpy(buf + 5, payload, len);
    return lxr_write_all(fd, buf, len + 5);
  }
  if (lxr_write_all(fd, hdr, 5) < 0) return -1;
  return lxr_write_all(fd, payload, len);
}

static void frame_control(struct frame_reader *r, struct frame_sink *sink) {
  switch (r->type) {
  case FRAME_RESIZE:
    if (sink->console_fd >= 0 && r->small_got == 4) {
      struct winsize ws = {.ws_row = (unsigned short)(r->small[0] << 8 | r->small[1]),
                           .ws_col = (unsigned short)(r->small[2] << 8 | r->small[3])};
      ioctl(sink->console_fd, TIOCSWINSZ, &ws);
    }
    break;
  case FRAME_CLOSE_STDIN:
    /* With a tty the master is both ends: send EOF (^D) instead of closing it. */
    if (sink->console_fd >= 0) {
      lxr_write_all(sink->console_fd, "\x04", 1);
    } else if (sink->stdin_fd >= 0) {
      close(sink->stdin_fd);
      sink->stdin_fd = -1;
    }
    break;
  case FRAME_SIGNAL:
    if (sink->signal_pid > 0 && r->small_got == 1 && r->small[0] > 0 && r->small[0] < 65)
      kill(sink->signal_pid, r->small[0]);
    break;
  default:
    break;
  }
}

int frame_feed(struct frame_reader *r, struct frame_sink *sink, const uint8_t *buf, size_t len) {
  while (len > 0) {
    if (r->hdr_got < 5) {
      size_t take = 5 - r->hdr_got < len ? 5 - r->hdr_got : len;
      memcpy(r->hdr + r->hdr_got, buf, take);
      r->hdr_got += take;
      buf += take;
      len -= take;
      if (r->hdr_got < 5) return 0;
      r->type = r->hdr[0];
      r->remaining = (uint32_t)r->hdr[1] << 24 | (uint32_t)r->hdr[2] << 16 | (uint32_t)r->hdr[3] << 8 | r->hdr[4];
      r->small_got = 0;
      if (r->type != FRAME_STDIN && r->remaining > sizeof r->small) return -1;
      if (r->type > FRAME_SIGNAL) return -1;
    }
    size_t take = r->remaining < len ? r->remaining : len;
    if (r->type == FRAME_STDIN) {
      if (sink->stdin_fd >= 0 && take > 0 && lxr_write_all(sink->stdin_fd, buf, take) < 0) {
        close(sink->stdin_fd);
        sink->stdin_fd = -1;
      }
    } else {
      memcpy(r->small + r->small_got, buf, take);
      r->small_got += take;
    }
    buf += take;
    len -= take;
    r->remaining -= (uint32_t)take;
    if (r->remaining == 0) {
      if (r->type != FRAME_STDIN) frame_control(r, sink);
      r->hdr_got = 0;
    }
  }
  return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t len) {
  unsigned char c = s[0];
  size_t n;
  uint32_t min;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) n = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, min = 0x10000;
  else return 0;
  if (len < n) return 0;
  uint32_t cp = c & (0x7f >> n);
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

size_t json_escape(char *out, size_t cap, const char *s, size_t len) {
  size_t o = 0;
#define PUT(str, n) (o + (n) <= cap ? (void)memcpy(out + o, (str), (n)) : (void)0, o += (n))
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"') PUT("\\\"", 2), i++;
    else if (c == '\\') PUT("\\\\", 2), i++;
    else if (c == '\n') PUT("\\n", 2), i++;
    else if (c == '\r') PUT("\\r", 2), i++;
    else if (c == '\t') PUT("\\t", 2), i++;
    else if (c < 0x20 || c == 0x7f) {
      char esc[7];
      snprintf(esc, sizeof esc, "\\u%04x", c);
      PUT(esc, 6);
      i++;
    } else {
      size_t n = utf8_len((const unsigned char *)s + i, len - i);
      if (n == 0) PUT("\\ufffd", 6), i++;
      else PUT(s + i, n), i += n;
    }
  }
#undef PUT
  return o;
}

size_t format_exit(char *buf, size_t size, int status, bool oom_killed) {
  char now[48];
  lxr_format_now(now, sizeof now);
  int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  char sig[24] = "null";
  if (WIFSIGNALED(status)) {
    const char *abbrev = sigabbrev_np(WTERMSIG(status));
    if (abbrev) snprintf(sig, sizeof sig, "\"SIG%s\"", abbrev);
    else snprintf(sig, sizeof sig, "\"SIG%d\"", WTERMSIG(status));
  }
  int n = snprintf(buf, size, "{\"exitCode\":%d,\"signal\":%s,\"oomKilled\":%s,\"finishedAt\":\"%s\"}", code,
                   sig, oom_killed ? "true" : "false", now);
  return n < 0 ? 0 : (size_t)n;
}

/* ---- the json-file log ---- */

int log_open(struct log_file *log) {
  log->fd = open(log->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log->fd < 0) return -1;
  struct stat st;
  log->size = fstat(log->fd, &st) == 0 ? st.st_size : 0;
  return 0;
}

static void log_rotate(struct log_file *log) {
  char from[4096], to[4096];
  close(log->fd);
  for (int i = log->max_files - 1; i >= 1; i--) {
    if (i == 1) snprintf(from, sizeof from, "%s", log->path);
    else snprintf(from, sizeof from, "%s.%d", log->path, i - 1);
    snprintf(to, sizeof to, "%s.%d", log->path, i);
    rename(from, to);
  }
  if (log->max_files <= 1) unlink(log->path);
  log->fd = open(log->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  log->size = 0;
}

static void log_entry(struct log_file *log, int stream, const char *text, size_t len) {
  /* Worst case every byte becomes \u00XX. */
  static char entry[16384 * 6 + 128];
  char now[48];
  lxr_format_now(now, sizeof now);
  size_t o = (size_t)snprintf(entry, sizeof entry, "{\"log\":\"");
  o += json_escape(entry + o, sizeof entry - o, text, len);
  o += (size_t)snprintf(entry + o, sizeof entry - o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                        stream == FRAME_STDERR ? "stderr" : "stdout", now);
  if (log->fd < 0) return;
  if (lxr_write_all(log->fd, entry, o) == 0) log->size += (off_t)o;
  if (log->max_size > 0 && log->size >= log->max_size) log_rotate(log);
}

void log_write(struct log_file *log, int stream, const char *buf, size_t len) {
  struct log_stream *s = stream == FRAME_STDERR ? &log->err : &log->out;
  for (size_t i = 0; i < len; i++) {
    s->line[s->len++] = buf[i];
    if (buf[i] == '\n' || s->len == sizeof s->line) {
      log_entry(log, stream, s->line, s->len);
      s->len = 0;
    }
  }
}

void log_flush(struct log_file *log) {
  if (log->out.len) log_entry(log, FRAME_STDOUT, log->out.line, log->out.len);
  if (log->err.len) log_entry(log, FRAME_STDERR, log->err.line, log->err.len);
  log->out.len = log->err.len = 0;
}

/* ---- processes, sockets, files ---- */

pid_t spawn_with_stdio(char *const argv[], int in, int out, int err) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int devnull = open("/dev/null", O_RDWR);
  int fds[3] = {in < 0 ? devnull : in, out < 0 ? devnull : out, err < 0 ? devnull : err};
  /* dup3 without O_CLOEXEC clears the flag; a fd already in place needs it cleared by hand. */
  for (int i = 0; i < 3; i++) {
    if (fds[i] == i) fcntl(i, F_SETFD, 0);
    else dup2(fds[i], i);
  }
  close_range(3, ~0U, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  execv(argv[0], argv);
  dprintf(2, "lxr-monitor: exec %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

int listen_unix(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  unlink(path);
  mode_t old = umask(0077);
  int rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
  umask(old);
  if (rc < 0 || listen(fd, 16) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

ssize_t read_small_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n;
  do n = read(fd, buf, size - 1);
  while (n < 0 && errno == EINTR);
  close(fd);
  if (n < 0) return -1;
  buf[n] = '\0';
  return n;
}

int write_file_atomic(const char *path, const char *data, size_t len) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  int rc = lxr_write_all(fd, data, len);
  if (close(fd) < 0) rc = -1;
  if (rc == 0) rc = rename(tmp, path);
  return rc;
}

long read_oom_kills(const char *cgroup_dir) {
  if (!cgroup_dir) return -1;
  static const char *files[] = {"memory.events", "memory.oom_control"};
  char path[4096], buf[1024];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", cgroup_dir, files[i]);
    if (read_small_file(path, buf, sizeof buf) < 0) continue;
    char *p = strstr(buf, "oom_kill ");
    if (p) return strtol(p + 9, NULL, 10);
  }
  return -1;
}

size_t drain_fd(int fd, char *buf, size_t size) {
  size_t got = 0;
  while (got < size - 1) {
    ssize_t n = read(fd, buf + got, size - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  buf[got] = '\0';
  return got;
}

bool reap_children(int sfd, pid_t pid, int *status) {
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof si) > 0) {
  }
  bool found = false;
  int st;
  pid_t reaped;
  /* As subreaper we also reap orphans re-parented to us; only `pid` counts. */
  while ((reaped = waitpid(-1, &st, WNOHANG)) > 0) {
    if (reaped == pid && !found) {
      found = true;
      *status = st;
    }
  }
  return found;
}

size_t read_output(int *fd, int console_fd, char *buf, size_t size) {
  ssize_t r = read(*fd, buf, size);
  if (r > 0) return (size_t)r;
  if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
    /* EOF, or EIO from a pty master once every slave is closed. */
    if (*fd != console_fd) close(*fd);
    *fd = -1;
  }
  return 0;
}

int wait_runtime(int sfd, pid_t runtime, int console_listen, int *console) {
  int status = 0;
  bool done = false;
  *console = -1;
  for (;;) {
    bool want_console = console_listen >= 0 && *console < 0;
    bool failed = done && (!WIFEXITED(status) || WEXITSTATUS(status) != 0);
    if (done && (!want_console || failed)) return status;
    struct pollfd fds[2] = {{.fd = sfd, .events = POLLIN}, {.fd = console_listen, .events = POLLIN}};
    /* Once the runtime has exited the master is sent already, or never will be. */
    int n = poll(fds, want_console ? 2 : 1, done ? 0 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (done && n == 0) {
      errno = ENOTCONN;
      return -1;
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      if (waitpid(runtime, &status, WNOHANG) == runtime) done = true;
    }
    if (want_console && (fds[1].revents & POLLIN)) {
      int conn = accept4(console_listen, NULL, NULL, SOCK_CLOEXEC);
      if (conn >= 0) {
        *console = lxr_recv_fd(conn);
        close(conn);
        if (*console < 0) return -1;
      }
    }
  }
}

void deadline_after(struct timespec *deadline, long ms) {
  clock_gettime(CLOCK_MONOTONIC, deadline);
  deadline->tv_sec += ms / 1000;
  deadline->tv_nsec += (ms % 1000) * 1000000L;
  if (deadline->tv_nsec >= 1000000000L) deadline->tv_sec++, deadline->tv_nsec -= 1000000000L;
}

/* The milliseconds left until a deadline (<= 0: passed). */
static long ms_until(const struct timespec *deadline) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

bool drain_timeout(bool exited, bool output_open, const struct timespec *deadline, int *timeout) {
  *timeout = -1;
  if (!exited) return true;
  if (!output_open) return false;
  long left = ms_until(deadline);
  *timeout = (int)left;
  return left > 0;
}

/* Exec mode: one `lxr exec` session. Runs `runtime exec --detach`, adopts the process (we are its
 * subreaper) and proxies frames between our stdin/stdout and its stdio or pty. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

static char tmpdir[] = "/tmp/lxr-exec-XXXXXX";

static void cleanup_tmpdir(void) {
  char path[64];
  snprintf(path, sizeof path, "%s/pid", tmpdir);
  unlink(path);
  snprintf(path, sizeof path, "%s/console.sock", tmpdir);
  unlink(path);
  rmdir(tmpdir);
}

/* Errors before the process runs: an exit frame carrying the error, status 1. */
static int exec_fail(const char *what, const char *detail) {
  char msg[4096], escaped[8192], json[8300];
  snprintf(msg, sizeof msg, "%s%s%s", what, detail && *detail ? ": " : "", detail ? detail : "");
  size_t n = strlen(msg);
  while (n > 0 && msg[n - 1] == '\n') msg[--n] = '\0';
  size_t e = json_escape(escaped, sizeof escaped - 1, msg, n);
  escaped[e < sizeof escaped ? e : sizeof escaped - 1] = '\0';
  int len = snprintf(json, sizeof json, "{\"error\":\"%s\"}", escaped);
  frame_write(1, FRAME_EXIT, json, (size_t)len);
  cleanup_tmpdir();
  return 1;
}

int exec_main(int argc, char **argv) {
  static const struct option longopts[] = {{"runtime", required_argument, NULL, 'r'},
                                           {"runtime-root", required_argument, NULL, 'R'},
                                           {"id", required_argument, NULL, 'i'},
                                           {"process", required_argument, NULL, 'p'},
                                           {"tty", no_argument, NULL, 't'},
                                           {NULL, 0, NULL, 0}};
  const char *runtime = NULL, *root = NULL, *id = NULL, *process = NULL;
  bool tty = false;
  int c;
  optind = 2;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'r': runtime = optarg; break;
    case 'R': root = optarg; break;
    case 'i': id = optarg; break;
    case 'p': process = optarg; break;
    case 't': tty = true; break;
    default: return 2;
    }
  }
  if (!runtime || !id || !process) {
    fprintf(stderr, "lxr-monitor exec: --runtime, --id and --process are required\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) return exec_fail("become a child subreaper", strerror(errno));
  if (!mkdtemp(tmpdir)) return exec_fail("mkdtemp", strerror(errno));
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);

  char pid_file[64], console_path[64];
  snprintf(pid_file, sizeof pid_file, "%s/pid", tmpdir);
  snprintf(console_path, sizeof console_path, "%s/console.sock", tmpdir);
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(err, O_CLOEXEC) < 0) return exec_fail("pipe", strerror(errno));
  if (!tty && (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)) return exec_fail("pipe", strerror(errno));
  int console_listen = -1;
  if (tty && (console_listen = listen_unix(console_path)) < 0) return exec_fail("console socket", strerror(errno));

  char *args[20];
  int a = 0;
  args[a++] = (char *)runtime;
  if (root) args[a++] = "--root", args[a++] = (char *)root;
  args[a++] = "exec";
  args[a++] = "--detach";
  args[a++] = "--process", args[a++] = (char *)process;
  args[a++] = "--pid-file", args[a++] = pid_file;
  if (tty) args[a++] = "--tty", args[a++] = "--console-socket", args[a++] = console_path;
  args[a++] = (char *)id;
  args[a] = NULL;
  /* Without a tty the runtime's own errors share the process's stderr pipe; the process cannot
   * have written to it before the runtime exits... except it can, once started: so the runtime's
   * stderr is a separate pipe and only the process gets `err`. */
  int rt_err[2];
  if (pipe2(rt_err, O_CLOEXEC) < 0) return exec_fail("pipe", strerror(errno));
  pid_t rt = tty ? spawn_with_stdio(args, -1, rt_err[1], rt_err[1]) : spawn_with_stdio(args, in[0], out[1], err[1]);
  if (rt < 0) return exec_fail("fork the runtime", strerror(errno));
  close(rt_err[1]);

  struct frame_sink sink = {.stdin_fd = tty ? -1 : in[1], .console_fd = -1};
  int status = wait_runtime(sfd, rt, console_listen, &sink.console_fd);
  if (status < 0) {
    return exec_fail(errno == ENOTCONN ? "the runtime sent no pty master" : "wait for the runtime", strerror(errno));
  }
  if (console_listen >= 0) close(console_listen);
  char errors[4096];
  fcntl(rt_err[0], F_SETFL, O_NONBLOCK);
  drain_fd(rt_err[0], errors, sizeof errors);
  close(rt_err[0]);
  if (!tty) {
    /* runc writes exec errors to the stderr it was given. */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fcntl(err[0], F_SETFL, O_NONBLOCK);
      drain_fd(err[0], errors, sizeof errors);
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char what[128];
    snprintf(what, sizeof what, "%s exec failed (%s %d)", runtime, WIFEXITED(status) ? "exit status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return exec_fail(what, errors);
  }
  char buf[64];
  if (read_small_file(pid_file, buf, sizeof buf) < 0) return exec_fail("read the exec pid file", strerror(errno));
  pid_t pid = (pid_t)strtol(buf, NULL, 10);
  cleanup_tmpdir();
  sink.signal_pid = pid;
  /* With a tty, stdin is typed into the pty master (its own fd, so a failed write closes only it). */
  if (tty) sink.stdin_fd = fcntl(sink.console_fd, F_DUPFD_CLOEXEC, 3);
  close(err[1]);
  if (!tty) close(in[0]), close(out[1]);
  int out_fd = tty ? sink.console_fd : out[0], err_fd = tty ? -1 : err[0];
  if (tty) close(err[0]);
  fcntl(out_fd, F_SETFL, O_NONBLOCK);
  if (err_fd >= 0) fcntl(err_fd, F_SETFL, O_NONBLOCK);

  static char data[65536];
  struct frame_reader reader = {0};
  int in_fd = 0;
  bool exited = false;
  int pstatus = 0;
  struct timespec deadline = {0};
  bool first_pass = true;
  for (;;) {
    int timeout;
    if (!drain_timeout(exited, out_fd >= 0 || err_fd >= 0, &deadline, &timeout)) break;
    struct pollfd fds[4] = {{.fd = sfd, .events = POLLIN},
                            {.fd = out_fd, .events = POLLIN},
                            {.fd = err_fd, .events = POLLIN},
                            {.fd = in_fd, .events = POLLIN}};
    if (poll(fds, 4, first_pass ? 0 : timeout) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    /* The first pass runs without a signal: the process may have exited (and its SIGCHLD been
     * read) while we waited for the runtime. */
    int st;
    bool signalled = first_pass || (fds[0].revents & POLLIN);
    first_pass = false;
    if (signalled && reap_children(sfd, pid, &st) && !exited) {
      exited = true;
      pstatus = st;
      deadline_after(&deadline, 200);
    }
    for (int s = 1; s <= 2; s++) {
      int *fd = s == 1 ? &out_fd : &err_fd;
      if (*fd < 0 || !(fds[s].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      size_t r = read_output(fd, sink.console_fd, data, sizeof data);
      if (r > 0) frame_write(1, (uint8_t)s, data, r);
    }
    if (in_fd >= 0 && (fds[3].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(in_fd, data, sizeof data);
      if (r <= 0 || frame_feed(&reader, &sink, (uint8_t *)data, (size_t)r) < 0) {
        /* The executor went away: the process loses its stdin but keeps running, as docker's do. */
        in_fd = -1;
        if (sink.stdin_fd >= 0) close(sink.stdin_fd), sink.stdin_fd = -1;
      }
    }
  }
  char exit_json[256];
  size_t len = format_exit(exit_json, sizeof exit_json, pstatus, false);
  frame_write(1, FRAME_EXIT, exit_json, len);
  return 0;
}

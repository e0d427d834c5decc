/* Container mode: creates the container through the runtime, keeps its stdio or pty, writes the
 * log, serves the attach socket and records the exit. Outlives the executor that started it. */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monitor.h"

#define MAX_CLIENTS 32

struct options {
  const char *id, *bundle, *runtime, *runtime_root, *state_dir, *log_path, *cgroup;
  long log_max_size;
  int log_max_files, sync_fd;
  bool tty, open_stdin;
};

struct client {
  int fd;
  struct frame_reader reader;
};

static struct options opts = {.log_max_size = 10 * 1024 * 1024, .log_max_files = 3, .sync_fd = -1};
static struct client clients[MAX_CLIENTS];
static int nclients;
static struct frame_sink sink = {.stdin_fd = -1, .console_fd = -1};

static void state_path(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", opts.state_dir, name);
}

/* Reports the outcome of create to the executor: one JSON line, then the fd is closed. */
static void sync_report(const char *json) {
  if (opts.sync_fd < 0) return;
  size_t len = strlen(json);
  while (len > 0) {
    ssize_t n = write(opts.sync_fd, json, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    json += n;
    len -= (size_t)n;
  }
  close(opts.sync_fd);
  opts.sync_fd = -1;
}

static void fail(const char *what, const char *detail) {
  char msg[4096], escaped[8192], json[8400];
  snprintf(msg, sizeof msg, "%s%s%s", what, detail && *detail ? ": " : "", detail ? detail : "");
  size_t n = strlen(msg);
  while (n > 0 && msg[n - 1] == '\n') msg[--n] = '\0';
  size_t e = json_escape(escaped, sizeof escaped - 1, msg, n);
  escaped[e < sizeof escaped ? e : sizeof escaped - 1] = '\0';
  snprintf(json, sizeof json, "{\"error\":\"%s\"}\n", escaped);
  sync_report(json);
  _exit(1);
}

static void fail_errno(const char *what) { fail(what, strerror(errno)); }

static int parse_options(int argc, char **argv) {
  static const struct option longopts[] = {
      {"id", required_argument, NULL, 'i'},           {"bundle", required_argument, NULL, 'b'},
      {"runtime", required_argument, NULL, 'r'},      {"runtime-root", required_argument, NULL, 'R'},
      {"state-dir", required_argument, NULL, 's'},    {"log-path", required_argument, NULL, 'l'},
      {"log-max-size", required_argument, NULL, 'm'}, {"log-max-files", required_argument, NULL, 'n'},
      {"tty", no_argument, NULL, 't'},                {"stdin", no_argument, NULL, 'I'},
      {"cgroup-path", required_argument, NULL, 'c'},  {"sync-fd", required_argument, NULL, 'S'},
      {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'i': opts.id = optarg; break;
    case 'b': opts.bundle = optarg; break;
    case 'r': opts.runtime = optarg; break;
    case 'R': opts.runtime_root = optarg; break;
    case 's': opts.state_dir = optarg; break;
    case 'l': opts.log_path = optarg; break;
    case 'm': opts.log_max_size = strtol(optarg, NULL, 10); break;
    case 'n': opts.log_max_files = atoi(optarg); break;
    case 't': opts.tty = true; break;
    case 'I': opts.open_stdin = true; break;
    case 'c': opts.cgroup = optarg; break;
    case 'S': opts.sync_fd = atoi(optarg); break;
    default: return -1;
    }
  }
  if (!opts.id || !opts.bundle || !opts.runtime || !opts.state_dir || !opts.log_path || opts.sync_fd < 3) {
    fprintf(stderr, "lxr-monitor: --id, --bundle, --runtime, --state-dir, --log-path and --sync-fd (>= 3) are required\n");
    return -1;
  }
  if (opts.log_max_files < 1) opts.log_max_files = 1;
  return 0;
}

/* Sends output to every attached client, dropping the ones that went away. */
static void broadcast(uint8_t type, const void *buf, size_t len) {
  for (int i = 0; i < nclients;) {
    if (frame_write(clients[i].fd, type, buf, len) < 0) {
      close(clients[i].fd);
      clients[i] = clients[--nclients];
    } else {
      i++;
    }
  }
}

static void accept_clients(int listen_fd) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return;
    if (nclients == MAX_CLIENTS) {
      close(fd);
      continue;
    }
    clients[nclients].fd = fd;
    memset(&clients[nclients].reader, 0, sizeof clients[nclients].reader);
    nclients++;
  }
}

/* Runs `runtime create`, accepting the pty master on the console socket meanwhile when --tty.
 * Returns the container's pid; exits through fail() otherwise. */
static pid_t create_container(int sfd, int in, int out, int err, int errpipe) {
  char pid_file[4096], console_path[4096];
  state_path(pid_file, sizeof pid_file, "pid");
  state_path(console_path, sizeof console_path, "console.sock");
  int console_listen = -1;
  if (opts.tty && (console_listen = listen_unix(console_path)) < 0) fail_errno("listen on the console socket");

  char *argv[16];
  int a = 0;
  argv[a++] = (char *)opts.runtime;
  if (opts.runtime_root) argv[a++] = "--root", argv[a++] = (char *)opts.runtime_root;
  argv[a++] = "create";
  argv[a++] = "--bundle", argv[a++] = (char *)opts.bundle;
  argv[a++] = "--pid-file", argv[a++] = pid_file;
  if (opts.tty) argv[a++] = "--console-socket", argv[a++] = console_path;
  argv[a++] = (char *)opts.id;
  argv[a] = NULL;
  pid_t runtime = spawn_with_stdio(argv, in, out, err);
  if (runtime < 0) fail_errno("fork the runtime");

  int status = wait_runtime(sfd, runtime, console_listen, &sink.console_fd);
  if (status < 0) fail_errno(errno == ENOTCONN ? "the runtime sent no pty master" : "wait for the runtime");
  if (console_listen >= 0) {
    close(console_listen);
    unlink(console_path);
  }
  char errors[4096];
  fcntl(errpipe, F_SETFL, O_NONBLOCK);
  drain_fd(errpipe, errors, sizeof errors);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char what[128];
    snprintf(what, sizeof what, "%s create failed (%s %d)", opts.runtime, WIFEXITED(status) ? "exit status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    fail(what, errors);
  }
  char buf[64];
  if (read_small_file(pid_file, buf, sizeof buf) < 0) fail_errno("read the runtime's pid file");
  pid_t pid = (pid_t)strtol(buf, NULL, 10);
  if (pid <= 0) fail("the runtime's pid file holds no pid", buf);
  return pid;
}

int container_main(int argc, char **argv) {
  if (parse_options(argc, argv) < 0) return 2;

  /* Daemonize: the executor's child returns at once; the monitor lives on in its own session. */
  pid_t child = fork();
  if (child < 0) fail_errno("fork");
  if (child > 0) _exit(0);
  setsid();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) fail_errno("become a child subreaper");
  /* Every inherited fd except the sync fd goes; stdio becomes /dev/null. */
  if (opts.sync_fd > 3) close_range(3, (unsigned)opts.sync_fd - 1, 0);
  close_range((unsigned)opts.sync_fd + 1, ~0U, 0);
  fcntl(opts.sync_fd, F_SETFD, FD_CLOEXEC);
  int devnull = open("/dev/null", O_RDWR);
  for (int i = 0; i < 3; i++) dup2(devnull, i);
  if (devnull > 2) close(devnull);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);

  char path[4096], buf[64];
  state_path(path, sizeof path, "monitor.pid");
  int n = snprintf(buf, sizeof buf, "%d\n", getpid());
  if (write_file_atomic(path, buf, (size_t)n) < 0) fail_errno("write monitor.pid");

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) fail_errno("signalfd");

  /* The container's stdio: pipes we own, or a pty the runtime makes inside the container. With a
   * tty the runtime's own output goes to errpipe; without one, anything on the stderr pipe before
   * `start` is the runtime's (the container's process has not run yet). */
  int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
  if (pipe2(err, O_CLOEXEC) < 0) fail_errno("pipe");
  if (!opts.tty) {
    if (pipe2(out, O_CLOEXEC) < 0) fail_errno("pipe");
    if (opts.open_stdin && pipe2(in, O_CLOEXEC) < 0) fail_errno("pipe");
  }
  pid_t pid = create_container(sfd, in[0], opts.tty ? err[1] : out[1], err[1], err[0]);
  close(err[1]);
  if (out[1] >= 0) close(out[1]);
  if (in[0] >= 0) close(in[0]);
  sink.stdin_fd = in[1];
  /* With a tty, attached clients type into the pty master, when stdin is open (-i). */
  if (opts.tty && opts.open_stdin) sink.stdin_fd = fcntl(sink.console_fd, F_DUPFD_CLOEXEC, 3);
  int out_fd = opts.tty ? sink.console_fd : out[0];
  int err_fd = opts.tty ? -1 : err[0];
  if (opts.tty) close(err[0]);
  fcntl(out_fd, F_SETFL, O_NONBLOCK);
  if (err_fd >= 0) fcntl(err_fd, F_SETFL, O_NONBLOCK);

  struct log_file log = {.path = opts.log_path, .max_size = opts.log_max_size, .max_files = opts.log_max_files};
  if (log_open(&log) < 0) fail_errno("open the log file");
  state_path(path, sizeof path, "attach.sock");
  int attach = listen_unix(path);
  if (attach < 0) fail_errno("listen on attach.sock");
  long oom_before = read_oom_kills(opts.cgroup);

  n = snprintf(buf, sizeof buf, "{\"pid\":%d}\n", pid);
  sync_report(buf);

  static char data[65536];
  bool exited = false;
  int status = 0;
  long oom_after = -1;
  struct timespec deadline = {0};
  for (;;) {
    int timeout;
    if (!drain_timeout(exited, out_fd >= 0 || err_fd >= 0, &deadline, &timeout)) break;
    struct pollfd fds[4 + MAX_CLIENTS];
    fds[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = out_fd, .events = POLLIN};
    fds[2] = (struct pollfd){.fd = err_fd, .events = POLLIN};
    fds[3] = (struct pollfd){.fd = attach, .events = POLLIN};
    for (int i = 0; i < nclients; i++) fds[4 + i] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
    int nc = nclients;
    if (poll(fds, (nfds_t)(4 + nc), timeout) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    /* Only the container's init counts; orphans re-parented to us are reaped too. */
    int st;
    if ((fds[0].revents & POLLIN) && reap_children(sfd, pid, &st) && !exited) {
      exited = true;
      status = st;
      oom_after = read_oom_kills(opts.cgroup);
      deadline_after(&deadline, 300);
    }
    for (int s = 1; s <= 2; s++) {
      int *fd = s == 1 ? &out_fd : &err_fd;
      if (*fd < 0 || !(fds[s].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      size_t r = read_output(fd, sink.console_fd, data, sizeof data);
      if (r > 0) {
        log_write(&log, s, data, r);
        broadcast((uint8_t)s, data, r);
      }
    }
    if (fds[3].revents & POLLIN) accept_clients(attach);
    for (int i = nc - 1; i >= 0; i--) {
      if (!(fds[4 + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = read(clients[i].fd, data, sizeof data);
      if (r <= 0 || frame_feed(&clients[i].reader, &sink, (uint8_t *)data, (size_t)r) < 0) {
        close(clients[i].fd);
        clients[i] = clients[--nclients];
      }
    }
  }
  log_flush(&log);
  bool oom = oom_before >= 0 && oom_after > oom_before;
  char exit_json[256];
  size_t len = format_exit(exit_json, sizeof exit_json, status, oom);
  state_path(path, sizeof path, "exit.json");
  write_file_atomic(path, exit_json, len);
  broadcast(FRAME_EXIT, exit_json, len);
  state_path(path, sizeof path, "attach.sock");
  unlink(path);
  return 0;
}

/* start, state, kill, delete: small commands over the state directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "runtime.h"

int lxr_cmd_start(const char *root, const char *id, lxr_error *err) {
  struct lxr_state st;
  if (lxr_state_load(root, id, &st, err) < 0) return -1;
  enum lxr_status s = lxr_state_status(&st);
  if (s != LXR_CREATED)
    return lxr_fail(err, 0, "container %s is %s, not created: it cannot be started", id, lxr_status_name(s));
  char fifo[PATH_MAX];
  snprintf(fifo, sizeof fifo, "%s/exec.fifo", st.dir);
  /* The pidfd first: once the fifo is open the command may run and exit at once. */
  cleanup_close int pidfd = lxr_state_pidfd(&st);
  if (pidfd < 0) return lxr_fail(err, 0, "container %s's init has exited", id);
  /* Non-blocking: opening the read end releases the init's blocked open of the write end. */
  cleanup_close int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return lxr_fail(err, errno, "open %s", fifo);
  bool released = false;
  for (;;) {
    struct pollfd pfd[2] = {{fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (LXR_RETRY(poll(pfd, released ? 1 : 2, -1)) < 0) return lxr_fail(err, errno, "poll");
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n == 1) {
      /* Released; the init closes its end when it execs the command (or fails). */
      released = true;
      unlink(fifo);
      continue;
    }
    if (n == 0 && released) return 0;
    if (n < 0 && errno != EAGAIN) return lxr_fail(err, errno, "read %s", fifo);
    if (!released && pfd[1].revents) return lxr_fail(err, 0, "container %s's init exited before it started", id);
  }
}

int lxr_cmd_state(const char *root, const char *id, lxr_error *err) {
  struct lxr_state st;
  if (lxr_state_load(root, id, &st, err) < 0) return -1;
  enum lxr_status s = lxr_state_status(&st);
  struct json_object *o = json_object_new_object();
  json_object_object_add(o, "ociVersion", json_object_new_string("1.0.2"));
  json_object_object_add(o, "id", json_object_new_string(st.id));
  json_object_object_add(o, "status", json_object_new_string(lxr_status_name(s)));
  json_object_object_add(o, "pid", json_object_new_int(s == LXR_STOPPED ? 0 : st.pid));
  json_object_object_add(o, "bundle", json_object_new_string(st.bundle));
  json_object_object_add(o, "created", json_object_new_string(st.created));
  printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
  return 0;
}

int lxr_cmd_kill(const char *root, const char *id, const char *signal, bool all, lxr_error *err) {
  int sig = lxr_signal_from_name(signal ? signal : "TERM");
  if (sig < 0) return lxr_fail(err, 0, "unknown signal %s", signal);
  struct lxr_state st;
  if (lxr_state_load(root, id, &st, err) < 0) return -1;
  cleanup_close int pidfd = lxr_state_pidfd(&st);
  if (pidfd < 0) return lxr_fail(err, 0, "container %s is not running", id);
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
    return lxr_fail(err, errno, "send signal %d to container %s", sig, id);
  if (all) {
    struct lxr_cgroup *cg;
    if (lxr_cgroup_open(st.cgroup, &cg, err) < 0) return -1;
    int r = lxr_cgroup_signal(cg, sig, err);
    lxr_cgroup_free(cg);
    return r;
  }
  return 0;
}

int lxr_cmd_delete(const char *root, const char *id, bool force, lxr_error *err) {
  struct lxr_state st;
  if (lxr_state_load(root, id, &st, err) < 0) return -1;
  enum lxr_status s = lxr_state_status(&st);
  if (s == LXR_RUNNING && !force)
    return lxr_fail(err, 0, "container %s is running: stop it first or use delete --force", id);
  cleanup_close int pidfd = lxr_state_pidfd(&st);
  if (pidfd >= 0) {
    /* A created container is killed without --force, as runc does: it never ran anything. */
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    struct pollfd pfd = {pidfd, POLLIN, 0};
    if (LXR_RETRY(poll(&pfd, 1, 10000)) <= 0) return lxr_fail(err, 0, "container %s's init does not die", id);
  }
  struct lxr_cgroup *cg;
  if (lxr_cgroup_open(st.cgroup, &cg, err) < 0) return -1;
  int r = lxr_cgroup_destroy(cg, err);
  lxr_cgroup_free(cg);
  if (r < 0) return -1;
  static const char *const files[] = {"config.json", "exec.fifo", "state.json", "state.json.tmp"};
  char path[PATH_MAX];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", st.dir, files[i]);
    if (unlink(path) < 0 && errno != ENOENT) return lxr_fail(err, errno, "remove %s", path);
  }
  if (rmdir(st.dir) < 0) return lxr_fail(err, errno, "remove %s", st.dir);
  return 0;
}

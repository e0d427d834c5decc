/* exec: a new process in a running container — its namespaces (from /proc/PID/ns), its cgroup and
 * the security of its saved config. The parent joins the pid namespace (which affects only its
 * children) and forks once; the child joins the rest and becomes the process. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime.h"

/* Joined in this order: the user namespace first, so the others are joined with its rights; the
 * mount namespace last, as it changes the root. The pid namespace is joined by the parent. */
static const struct {
  const char *name;
  int type;
} ns_order[] = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
                {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS}};
#define NS_COUNT (sizeof ns_order / sizeof *ns_order)

/* Opens /proc/PID/ns/NAME unless it is the namespace this process is already in. */
static int open_ns(pid_t pid, const char *name, lxr_error *err) {
  char path[64], self[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, name);
  snprintf(self, sizeof self, "/proc/self/ns/%s", name);
  struct stat a, b;
  if (stat(path, &a) < 0) return lxr_fail(err, errno, "open %s", path);
  if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) return -2;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lxr_fail(err, errno, "open %s", path);
  return fd;
}

static void set_env(struct lxr_process *p, const char *kv) {
  size_t klen = strcspn(kv, "=");
  size_t n = 0;
  for (; p->env[n]; n++)
    if (strncmp(p->env[n], kv, klen) == 0 && p->env[n][klen] == '=') {
      p->env[n] = lxr_strdup(kv);
      return;
    }
  char **env = lxr_calloc(n + 2, sizeof *env);
  memcpy(env, p->env, n * sizeof *env);
  env[n] = lxr_strdup(kv);
  p->env = env;
}

static int build_process(const struct lxr_exec_opts *o, struct lxr_spec *spec, struct lxr_process *p,
                         lxr_error *err) {
  if (o->process_file) {
    if (lxr_process_load(p, o->process_file, err) < 0) return -1;
    if (!p->has_caps) {
      p->has_caps = spec->process.has_caps;
      p->caps = spec->process.caps;
    }
  } else {
    *p = spec->process;
    p->terminal = false;
    if (!o->args || !o->args[0]) return lxr_fail(err, 0, "exec needs a command (or --process FILE)");
    p->args = o->args;
  }
  /* The container's no_new_privs holds for everything run in it. */
  p->no_new_privs = p->no_new_privs || spec->process.no_new_privs;
  if (o->tty) p->terminal = true;
  if (o->cwd && o->cwd[0] != '/') return lxr_fail(err, 0, "--cwd %s must be an absolute path", o->cwd);
  if (o->cwd) p->cwd = (char *)o->cwd;
  for (size_t i = 0; i < o->nenv; i++) {
    if (!strchr(o->env[i], '=')) return lxr_fail(err, 0, "--env %s: expected K=V", o->env[i]);
    set_env(p, o->env[i]);
  }
  if (o->user) {
    unsigned uid, gid;
    char extra;
    int n = sscanf(o->user, "%u:%u%c", &uid, &gid, &extra);
    if (n < 1 || n > 2) return lxr_fail(err, 0, "--user %s: expected UID[:GID] (numbers)", o->user);
    p->user.uid = uid;
    p->user.gid = n == 2 ? gid : 0;
    p->user.groups = NULL;
    p->user.ngroups = 0;
  }
  if (p->terminal && !o->console_socket) return lxr_fail(err, 0, "exec --tty needs --console-socket");
  if (!p->terminal && o->console_socket)
    return lxr_fail(err, 0, "--console-socket is only used with --tty or process.terminal true");
  return 0;
}

struct exec_child {
  struct lxr_spec *spec;
  struct lxr_process *p;
  struct lxr_cgroup *cg;
  int sync, console;
  int ns[NS_COUNT];
};

static int exec_child(struct exec_child *c, lxr_error *err) {
  /* Only what this process needs crosses into the container (CVE-2024-21626: no leaked host fds). */
  int keep[NS_COUNT + 2] = {c->sync, c->console};
  for (size_t i = 0; i < NS_COUNT; i++) keep[i + 2] = c->ns[i];
  lxr_close_except(keep, NS_COUNT + 2);
  /* Not dumpable until exec: nothing in the container may open /proc/<pid>/exe or /proc/<pid>/fd. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return lxr_fail(err, errno, "prctl(PR_SET_DUMPABLE)");
  if (lxr_cgroup_add(c->cg, 0, err) < 0) return lxr_wrap(err, "join the container's cgroup");
  for (size_t i = 0; i < NS_COUNT; i++) {
    if (c->ns[i] < 0) continue;
    if (setns(c->ns[i], ns_order[i].type) < 0) return lxr_fail(err, errno, "join the %s namespace", ns_order[i].name);
    close(c->ns[i]);
  }
  if (setsid() < 0) return lxr_fail(err, errno, "setsid");
  if (c->console >= 0) {
    if (lxr_setup_console(c->console, c->p, err) < 0) return -1;
    close(c->console);
  }
  if (lxr_apply_rlimits(c->p, err) < 0 || lxr_seccomp_early(c->spec, c->p, err) < 0 ||
      lxr_apply_user_and_caps(c->p, err) < 0 || lxr_enter_cwd(c->p->cwd, err) < 0)
    return -1;
  char exe[PATH_MAX];
  if (lxr_find_executable(c->p, exe, sizeof exe, err) < 0) return -1;
  return lxr_finalize_and_exec(c->spec, c->p, exe, err);
}

int lxr_cmd_exec(const struct lxr_exec_opts *o, int *status, lxr_error *err) {
  struct lxr_state st;
  if (lxr_state_load(o->root, o->id, &st, err) < 0) return -1;
  if (lxr_state_status(&st) == LXR_STOPPED) return lxr_fail(err, 0, "container %s is not running", o->id);
  char config[PATH_MAX];
  snprintf(config, sizeof config, "%s/config.json", st.dir);
  struct lxr_spec spec;
  if (lxr_spec_load(&spec, st.bundle, config, err) < 0) return lxr_wrap(err, "the saved config of %s", o->id);
  struct lxr_process p;
  if (build_process(o, &spec, &p, err) < 0) return -1;
  struct lxr_cgroup *cg;
  if (lxr_cgroup_open(st.cgroup, &cg, err) < 0) return -1;
  struct exec_child c = {.spec = &spec, .p = &p, .cg = cg, .sync = -1, .console = -1};
  for (size_t i = 0; i < NS_COUNT; i++) c.ns[i] = -1;
  cleanup_close int pidfd = lxr_state_pidfd(&st);
  if (pidfd < 0) return lxr_fail(err, 0, "container %s is not running", o->id);
  for (size_t i = 0; i < NS_COUNT; i++) {
    c.ns[i] = open_ns(st.pid, ns_order[i].name, err);
    if (c.ns[i] == -1) return -1;
  }
  lxr_error ignored;
  cleanup_close int pidns = open_ns(st.pid, "pid", &ignored);
  if (pidns >= 0 && setns(pidns, CLONE_NEWPID) < 0) return lxr_fail(err, errno, "join the pid namespace");
  if (p.terminal && (c.console = lxr_connect_unix(o->console_socket, err)) < 0) return -1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return lxr_fail(err, errno, "socketpair");
  pid_t pid = fork();
  if (pid < 0) return lxr_fail(err, errno, "fork");
  if (pid == 0) {
    close(sv[0]);
    c.sync = sv[1];
    lxr_error cerr;
    exec_child(&c, &cerr);
    send(sv[1], cerr.msg, strlen(cerr.msg), MSG_NOSIGNAL);
    _exit(1);
  }
  close(sv[1]);
  if (c.console >= 0) close(c.console);
  /* The channel closes on a successful exec (it is close-on-exec); a message means failure. */
  char msg[sizeof err->msg];
  ssize_t n = LXR_RETRY(recv(sv[0], msg, sizeof msg - 1, 0));
  close(sv[0]);
  if (n > 0) {
    waitpid(pid, NULL, 0);
    msg[n] = '\0';
    return lxr_fail(err, 0, "%s", msg);
  }
  if (o->pid_file && lxr_write_pid_file(o->pid_file, pid, err) < 0) return -1;
  *status = 0;
  if (o->detach) return 0;
  int ws;
  if (LXR_RETRY(waitpid(pid, &ws, 0)) < 0) return lxr_fail(err, errno, "wait for the exec'd process");
  *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  return 0;
}

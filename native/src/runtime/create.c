/* create: clones the container's init straight into its new namespaces (no re-exec of a helper),
 * lets it build its root while the parent writes the id maps and joins it to the cgroup, and
 * leaves it blocked on ROOT/ID/exec.fifo until `start` opens the other end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime.h"

struct init_args {
  struct lxr_spec *spec;
  struct lxr_cgroup *cg;
  int sync;    /* socket to the parent: "g" in, "r" or an error message out */
  int console; /* connected console socket, or -1 */
  int fifo;    /* O_PATH fd of exec.fifo */
};

static int container_init(struct init_args *a, bool *ready, lxr_error *err) {
  struct lxr_spec *spec = a->spec;
  struct lxr_process *p = &spec->process;
  int keep[] = {a->sync, a->console, a->fifo};
  lxr_close_except(keep, 3);
  /* Nothing that later joins the container may read this process's memory or descriptors; exec
   * makes the command dumpable again. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return lxr_fail(err, errno, "prctl(PR_SET_DUMPABLE)");
  char go;
  if (LXR_RETRY(read(a->sync, &go, 1)) != 1 || go != 'g') return lxr_fail(err, 0, "the runtime went away");
  bool userns = lxr_spec_namespace(spec, CLONE_NEWUSER) != NULL;
  if (userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
    return lxr_fail(err, errno, "become root in the user namespace (is 0 mapped?)");
  if (lxr_spec_namespace(spec, CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
    return lxr_fail(err, errno, "unshare the cgroup namespace");
  if (spec->hostname && *spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
    return lxr_fail(err, errno, "sethostname %s", spec->hostname);
  if (spec->domainname && *spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
    return lxr_fail(err, errno, "setdomainname %s", spec->domainname);
  if (lxr_rootfs_setup(spec, a->cg, userns, err) < 0) return -1;
  if (setsid() < 0) return lxr_fail(err, errno, "setsid");
  if (a->console >= 0) {
    if (lxr_setup_console(a->console, p, err) < 0) return -1;
    close(a->console);
  }
  if (lxr_apply_rlimits(p, err) < 0 || lxr_prepare_cwd(p->cwd, err) < 0 || lxr_seccomp_early(spec, p, err) < 0 ||
      lxr_apply_user_and_caps(p, err) < 0 || lxr_enter_cwd(p->cwd, err) < 0)
    return -1;
  char exe[PATH_MAX];
  if (lxr_find_executable(p, exe, sizeof exe, err) < 0) return -1;
  if (LXR_RETRY(send(a->sync, "r", 1, MSG_NOSIGNAL)) != 1) return lxr_fail(err, errno, "report readiness");
  *ready = true;
  close(a->sync);
  /* Blocks until `start` opens the fifo for reading. */
  char fifo[64];
  snprintf(fifo, sizeof fifo, "/proc/self/fd/%d", a->fifo);
  int w = (int)LXR_RETRY(open(fifo, O_WRONLY | O_CLOEXEC));
  if (w < 0) return lxr_fail(err, errno, "open the start fifo");
  if (LXR_RETRY(write(w, "0", 1)) != 1) return lxr_fail(err, errno, "write the start fifo");
  /* w stays open (close-on-exec): `start` returns at its EOF, once the command runs, so a signal
   * sent right after start reaches the command rather than this pre-exec init, which as PID 1
   * would drop it. */
  close(a->fifo);
  return lxr_finalize_and_exec(spec, p, exe, err);
}

static int write_idmap(pid_t pid, const char *file, const struct lxr_idmap *maps, size_t n, lxr_error *err) {
  char buf[4096] = {0}, path[64];
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%u %u %u\n", maps[i].container_id, maps[i].host_id,
                            maps[i].size);
  snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  return lxr_write_file(path, buf, err);
}

static int copy_file(const char *from, const char *to, lxr_error *err) {
  cleanup_close int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0) return lxr_fail(err, errno, "open %s", from);
  cleanup_close int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) return lxr_fail(err, errno, "create %s", to);
  char buf[65536];
  ssize_t n;
  while ((n = LXR_RETRY(read(in, buf, sizeof buf))) > 0)
    if (lxr_write_all(out, buf, (size_t)n) < 0) return lxr_fail(err, errno, "write %s", to);
  if (n < 0) return lxr_fail(err, errno, "read %s", from);
  return 0;
}

/* Waits for the init's "r", or its error message. */
static int await_init(int sync, lxr_error *err) {
  char msg[sizeof err->msg];
  ssize_t n = LXR_RETRY(recv(sync, msg, sizeof msg - 1, 0));
  if (n == 1 && msg[0] == 'r') return 0;
  if (n > 0) {
    msg[n] = '\0';
    return lxr_fail(err, 0, "%s", msg);
  }
  return lxr_fail(err, 0, "the container's init exited before it was ready");
}

int lxr_cmd_create(const struct lxr_create_opts *o, lxr_error *err) {
  if (lxr_valid_id(o->id, err) < 0) return -1;
  struct lxr_spec spec;
  if (lxr_spec_load(&spec, o->bundle ? o->bundle : ".", NULL, err) < 0) return -1;
  struct lxr_process *p = &spec.process;
  if (p->terminal && !o->console_socket)
    return lxr_fail(err, 0, "process.terminal is true: create needs --console-socket");
  if (!p->terminal && o->console_socket)
    return lxr_fail(err, 0, "--console-socket is only used with process.terminal true");
  struct lxr_state st = {0};
  snprintf(st.id, sizeof st.id, "%s", o->id);
  snprintf(st.dir, sizeof st.dir, "%s/%s", o->root, o->id);
  snprintf(st.bundle, sizeof st.bundle, "%s", spec.bundle);
  snprintf(st.cgroup, sizeof st.cgroup, "%s%s", spec.cgroups_path ? "" : "lxr-runtime/",
           spec.cgroups_path ? spec.cgroups_path : o->id);
  if (lxr_mkdir_p(o->root, 0700, err) < 0) return -1;
  if (mkdir(st.dir, 0700) < 0)
    return errno == EEXIST ? lxr_fail(err, 0, "container %s already exists", o->id)
                           : lxr_fail(err, errno, "mkdir %s", st.dir);
  struct lxr_cgroup *cg = NULL;
  pid_t pid = -1;
  int sv[2] = {-1, -1}, console = -1, fifo = -1;
  char path[PATH_MAX + 64], config[PATH_MAX + 64];
  snprintf(config, sizeof config, "%s/config.json", spec.bundle);
  snprintf(path, sizeof path, "%s/config.json", st.dir);
  if (copy_file(config, path, err) < 0) goto fail;
  snprintf(path, sizeof path, "%s/exec.fifo", st.dir);
  /* 0622 (chmod, past the umask): the init may run as an unprivileged uid of a user namespace */
  if (mkfifo(path, 0622) < 0 || chmod(path, 0622) < 0 || (fifo = open(path, O_PATH | O_CLOEXEC)) < 0) {
    lxr_fail(err, errno, "create %s", path);
    goto fail;
  }
  if (o->console_socket && (console = lxr_connect_unix(o->console_socket, err)) < 0) goto fail;
  struct lxr_namespace *net = lxr_spec_namespace(&spec, CLONE_NEWNET);
  if (net && net->path) {
    /* Joined here, before the clone, so a new user namespace does not stand in the way. */
    cleanup_close int nsfd = open(net->path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
      lxr_fail(err, errno, "join the network namespace %s", net->path);
      goto fail;
    }
  }
  if (lxr_cgroup_create(st.cgroup, &spec.resources, &cg, err) < 0) goto fail;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    lxr_fail(err, errno, "socketpair");
    goto fail;
  }
  unsigned long flags = 0;
  for (size_t i = 0; i < spec.nnamespaces; i++)
    if (spec.namespaces[i].type != CLONE_NEWCGROUP && !spec.namespaces[i].path) flags |= (unsigned long)spec.namespaces[i].type;
  pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
  if (pid < 0) {
    lxr_fail(err, errno, "clone the container's init");
    goto fail;
  }
  if (pid == 0) {
    close(sv[0]);
    struct init_args a = {&spec, cg, sv[1], console, fifo};
    bool ready = false;
    lxr_error cerr;
    container_init(&a, &ready, &cerr);
    if (!ready)
      send(sv[1], cerr.msg, strlen(cerr.msg), MSG_NOSIGNAL);
    else
      dprintf(2, "lxr-runtime: %s\n", cerr.msg);
    _exit(ready ? 127 : 1);
  }
  close(sv[1]);
  sv[1] = -1;
  if (console >= 0) close(console);
  console = -1;
  if (lxr_spec_namespace(&spec, CLONE_NEWUSER)) {
    if (write_idmap(pid, "uid_map", spec.uid_maps, spec.nuid_maps, err) < 0 ||
        write_idmap(pid, "gid_map", spec.gid_maps, spec.ngid_maps, err) < 0)
      goto fail;
  }
  if (lxr_cgroup_add(cg, pid, err) < 0) goto fail;
  if (p->has_oom_score_adj) {
    char file[64], value[16];
    snprintf(file, sizeof file, "/proc/%d/oom_score_adj", pid);
    snprintf(value, sizeof value, "%d", p->oom_score_adj);
    if (lxr_write_file(file, value, err) < 0) goto fail;
  }
  if (LXR_RETRY(send(sv[0], "g", 1, MSG_NOSIGNAL)) != 1) {
    lxr_fail(err, errno, "signal the container's init");
    goto fail;
  }
  if (await_init(sv[0], err) < 0) goto fail;
  st.pid = pid;
  st.start_time = lxr_proc_start_time(pid);
  lxr_format_now(st.created, sizeof st.created);
  if (lxr_state_save(&st, err) < 0) goto fail;
  if (o->pid_file && lxr_write_pid_file(o->pid_file, pid, err) < 0) goto fail;
  close(sv[0]);
  close(fifo);
  if (o->init_pid) *o->init_pid = pid;
  return 0;
fail:
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  lxr_error ignored;
  if (cg) lxr_cgroup_destroy(cg, &ignored);
  if (sv[0] >= 0) close(sv[0]);
  if (console >= 0) close(console);
  if (fifo >= 0) close(fifo);
  static const char *const files[] = {"config.json", "exec.fifo", "state.json", "state.json.tmp"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", st.dir, files[i]);
    unlink(path);
  }
  rmdir(st.dir);
  return -1;
}

/* What a container's process becomes before exec: its user, groups, capabilities, rlimits, working
 * directory, terminal, no_new_privs and seccomp filter — the same for the init and for exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>

#include "runtime.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char **environ;

int lxr_apply_rlimits(const struct lxr_process *p, lxr_error *err) {
  for (size_t i = 0; i < p->nrlimits; i++) {
    struct rlimit rl = {p->rlimits[i].soft, p->rlimits[i].hard};
    if (setrlimit(p->rlimits[i].resource, &rl) < 0)
      return lxr_fail(err, errno, "setrlimit %d to %llu/%llu", p->rlimits[i].resource,
                      (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
  }
  return 0;
}

static int last_cap(void) {
  static int cached = -1;
  if (cached >= 0) return cached;
  cleanup_close int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  char buf[16] = {0};
  cached = fd >= 0 && read(fd, buf, sizeof buf - 1) > 0 ? atoi(buf) : CAP_LAST_CAP;
  return cached;
}

int lxr_apply_user_and_caps(const struct lxr_process *p, lxr_error *err) {
  const struct lxr_caps none = {0};
  const struct lxr_caps *caps = p->has_caps ? &p->caps : &none;
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++)
    if (!(caps->bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return lxr_fail(err, errno, "drop capability %d from the bounding set", cap);
  if (setgroups(p->user.ngroups, p->user.groups) < 0) return lxr_fail(err, errno, "setgroups");
  /* Keep the permitted set across the uid change; capset below decides what stays. */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return lxr_fail(err, errno, "prctl(PR_SET_KEEPCAPS)");
  if (setresgid(p->user.gid, p->user.gid, p->user.gid) < 0)
    return lxr_fail(err, errno, "setgid %u", (unsigned)p->user.gid);
  if (setresuid(p->user.uid, p->user.uid, p->user.uid) < 0)
    return lxr_fail(err, errno, "setuid %u", (unsigned)p->user.uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return lxr_fail(err, errno, "prctl(PR_SET_KEEPCAPS)");
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(caps->effective >> (32 * i));
    data[i].permitted = (uint32_t)(caps->permitted >> (32 * i));
    data[i].inheritable = (uint32_t)(caps->inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0) return lxr_fail(err, errno, "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return lxr_fail(err, errno, "clear the ambient capabilities");
  for (int cap = 0; cap <= last; cap++)
    /* Like runc, an ambient capability that is not also inheritable is skipped, not an error. */
    if ((caps->ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 &&
        errno != EPERM)
      return lxr_fail(err, errno, "raise ambient capability %d", cap);
  if (p->user.has_umask) umask(p->user.umask);
  return 0;
}

int lxr_enter_cwd(const char *cwd, lxr_error *err) {
  /* CVE-2024-21626: a cwd like /proc/self/fd/N would be a directory of the host held open by a
   * leaked descriptor. Magic links are refused outright, and the result is checked to be reachable
   * from the container's root. */
  struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_NO_MAGICLINKS};
  cleanup_close int fd = (int)LXR_RETRY(syscall(SYS_openat2, AT_FDCWD, cwd, &how, sizeof how));
  if (fd < 0 && errno == ELOOP)
    return lxr_fail(err, 0, "the working directory %s is refused: it goes through a /proc magic link", cwd);
  if (fd < 0) return lxr_fail(err, errno, "the working directory %s", cwd);
  if (fchdir(fd) < 0) return lxr_fail(err, errno, "chdir %s", cwd);
  char buf[PATH_MAX];
  if (!getcwd(buf, sizeof buf) || buf[0] != '/')
    return lxr_fail(err, 0, "the working directory %s is outside the container's root", cwd);
  return 0;
}

int lxr_prepare_cwd(const char *cwd, lxr_error *err) {
  struct stat st;
  if (stat(cwd, &st) == 0 || errno != ENOENT || strncmp(cwd, "/proc/", 6) == 0) return 0;
  return lxr_mkdir_p(cwd, 0755, err);
}

int lxr_find_executable(const struct lxr_process *p, char *out, size_t len, lxr_error *err) {
  const char *cmd = p->args[0];
  if (strchr(cmd, '/')) {
    snprintf(out, len, "%s", cmd);
    return 0;
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char **e = p->env; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  while (*path) {
    size_t n = strcspn(path, ":");
    snprintf(out, len, "%.*s%s%s", (int)n, path, n ? "/" : "", cmd);
    struct stat st;
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 0;
    path += n + (path[n] == ':');
  }
  return lxr_fail(err, 0, "exec: \"%s\": executable file not found in $PATH", cmd);
}

int lxr_seccomp_early(struct lxr_spec *spec, const struct lxr_process *p, lxr_error *err) {
  /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still have it. */
  if (!spec->seccomp || p->no_new_privs) return 0;
  return lxr_seccomp_load(spec, err);
}

int lxr_finalize_and_exec(struct lxr_spec *spec, const struct lxr_process *p, const char *exe, lxr_error *err) {
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return lxr_fail(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  /* Every descriptor above 2 is gone at exec; the error channel stays usable until then. */
  if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return lxr_fail(err, errno, "close_range");
  if (spec->seccomp && p->no_new_privs && lxr_seccomp_load(spec, err) < 0) return -1;
  execve(exe, p->args, p->env);
  return lxr_fail(err, errno, "exec %s", exe);
}

int lxr_setup_console(int sock, const struct lxr_process *p, lxr_error *err) {
  cleanup_close int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return lxr_fail(err, errno, "open /dev/ptmx in the container (is /dev/pts a devpts?)");
  int unlock = 0, n;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
    return lxr_fail(err, errno, "unlock the pty");
  cleanup_close int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return lxr_fail(err, errno, "open the pty's slave");
  if (p->rows && p->cols) {
    struct winsize ws = {.ws_row = p->rows, .ws_col = p->cols};
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0) return lxr_fail(err, errno, "set the terminal size");
  }
  if (fchown(slave, p->user.uid, (gid_t)-1) < 0 && errno != EINVAL)
    return lxr_fail(err, errno, "chown the pty to the container's user");
  char name[32];
  snprintf(name, sizeof name, "/dev/pts/%d", n);
  if (lxr_send_fd(sock, master, name, err) < 0) return -1;
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) return lxr_fail(err, errno, "make the pty the process's stdio");
  if (ioctl(0, TIOCSCTTY, 0) < 0) return lxr_fail(err, errno, "make the pty the controlling terminal");
  return 0;
}

int lxr_ensure_sealed_exe(char **argv, lxr_error *err) {
  /* CVE-2019-5736: a process in the container could open /proc/<pid>/exe of the runtime while it
   * joins the container and write through it to the host's binary. Running from a sealed memfd
   * copy leaves nothing writable behind that link. */
  cleanup_close int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0) return lxr_fail(err, errno, "open /proc/self/exe");
  int seals = fcntl(exe, F_GET_SEALS);
  if (seals >= 0 && (seals & F_SEAL_WRITE)) return 0;
  struct stat st;
  if (fstat(exe, &st) < 0) return lxr_fail(err, errno, "stat /proc/self/exe");
  int mfd = memfd_create("lxr-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (mfd < 0 && errno == EINVAL) mfd = memfd_create("lxr-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) return lxr_fail(err, errno, "memfd_create");
  for (off_t off = 0; off < st.st_size;) {
    ssize_t n = sendfile(mfd, exe, &off, (size_t)(st.st_size - off));
    if (n <= 0) return lxr_fail(err, n < 0 ? errno : EIO, "copy the runtime into a memfd");
  }
  if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    return lxr_fail(err, errno, "seal the runtime's memfd");
  fexecve(mfd, argv, environ);
  return lxr_fail(err, errno, "re-exec the runtime from its sealed copy");
}

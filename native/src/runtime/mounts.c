/* The container's root filesystem, built in its fresh mount namespace before it can run anything:
 * config mounts (targets resolved inside the rootfs, never through its symlinks out of it), the
 * standard devices, pivot_root, then docker's masked and read-only paths. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "runtime.h"

enum create_kind { CREATE_NONE, CREATE_DIR, CREATE_FILE };

static int openat2_in_root(int root_fd, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  return (int)LXR_RETRY(syscall(SYS_openat2, root_fd, path, &how, sizeof how));
}

/* Opens path (absolute inside the root) as O_PATH; creates it (and its parents) when asked. */
static int open_in_root(int root_fd, const char *path, enum create_kind create, lxr_error *err) {
  int fd = openat2_in_root(root_fd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT || create == CREATE_NONE) {
    if (fd < 0) return lxr_fail(err, errno, "open %s in the container's root", path);
    return fd;
  }
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", path);
  char *slash = strrchr(parent, '/');
  const char *base = path + (slash - parent) + 1;
  if (slash == parent)
    strcpy(parent, "/");
  else
    *slash = '\0';
  cleanup_close int pfd = open_in_root(root_fd, parent, CREATE_DIR, err);
  if (pfd < 0) return -1;
  char pdir[64];
  snprintf(pdir, sizeof pdir, "/proc/self/fd/%d", pfd);
  cleanup_close int dir = open(pdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return lxr_fail(err, errno, "open %s in the container's root", parent);
  if (create == CREATE_DIR) {
    if (mkdirat(dir, base, 0755) < 0 && errno != EEXIST) return lxr_fail(err, errno, "mkdir %s", path);
  } else {
    int f = openat(dir, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0 && errno != EEXIST) return lxr_fail(err, errno, "create %s", path);
    if (f >= 0) close(f);
  }
  fd = openat2_in_root(root_fd, path, O_PATH);
  if (fd < 0) return lxr_fail(err, errno, "open %s in the container's root", path);
  return fd;
}

/* The host path of dest inside the root, resolved safely and checked to stay inside it. */
static int target_path(const char *root, int root_fd, const char *dest, enum create_kind create, char *out,
                       lxr_error *err) {
  cleanup_close int fd = open_in_root(root_fd, dest, create, err);
  if (fd < 0) return -1;
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, out, PATH_MAX - 1);
  if (n < 0) return lxr_fail(err, errno, "resolve %s", dest);
  out[n] = '\0';
  size_t rl = strlen(root);
  if (strncmp(out, root, rl) != 0 || (out[rl] != '/' && out[rl] != '\0'))
    return lxr_fail(err, 0, "mount target %s resolves outside the container's root (%s)", dest, out);
  return 0;
}

/* Flags a bind remount must keep: the kernel refuses to clear them when they are locked. */
static unsigned long locked_flags(const char *path) {
  struct statvfs s;
  if (statvfs(path, &s) < 0) return 0;
  unsigned long f = 0;
  if (s.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (s.f_flag & ST_NODEV) f |= MS_NODEV;
  if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (s.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (s.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (s.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

static int bind_mount(const char *source, const char *target, bool recursive, unsigned long flags,
                      const char *what, lxr_error *err) {
  if (mount(source, target, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
    return lxr_fail(err, errno, "bind %s at %s", source, what);
  unsigned long extra = flags & ~(MS_BIND | MS_REC);
  if (extra) {
    if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | extra | locked_flags(target), NULL) < 0)
      return lxr_fail(err, errno, "remount %s with its options", what);
  }
  return 0;
}

static int mount_one(const struct lxr_spec *spec, const struct lxr_mount *m, int root_fd,
                     struct lxr_cgroup *cg, bool in_userns, lxr_error *err) {
  enum create_kind kind = CREATE_DIR;
  if (m->bind) {
    struct stat st;
    if (stat(m->source, &st) < 0) return lxr_fail(err, errno, "mount %s: source %s", m->destination, m->source);
    if (!S_ISDIR(st.st_mode)) kind = CREATE_FILE;
  }
  char path[PATH_MAX];
  if (target_path(spec->root_path, root_fd, m->destination, kind, path, err) < 0) return -1;
  const char *data = m->data && *m->data ? m->data : NULL;
  if (m->bind) {
    if (bind_mount(m->source, path, m->recursive, m->flags, m->destination, err) < 0) return -1;
  } else if (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2")) {
    if (lxr_cgroup_mount(cg, path, m->flags, err) < 0) return -1;
  } else if (mount(m->source ? m->source : m->type, path, m->type, m->flags, data) < 0) {
    int e = errno;
    /* Without its own network (or in a user namespace) sysfs and mqueue cannot be mounted fresh;
     * the host's are bound instead, read-only as asked, as runc does. */
    if (e == EPERM && !strcmp(m->type, "sysfs")) {
      if (bind_mount("/sys", path, true, m->flags, m->destination, err) < 0) return -1;
    } else if (e == EPERM && !strcmp(m->type, "mqueue") && in_userns) {
      if (bind_mount("/dev/mqueue", path, false, m->flags, m->destination, err) < 0) return -1;
    } else {
      return lxr_fail(err, e, "mount %s (%s)", m->destination, m->type);
    }
  }
  if (m->propagation && mount(NULL, path, NULL, m->propagation, NULL) < 0)
    return lxr_fail(err, errno, "set the propagation of %s", m->destination);
  return 0;
}

static const struct {
  const char *name;
  unsigned maj, min;
} std_devices[] = {{"/dev/null", 1, 3},    {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
                   {"/dev/random", 1, 8},  {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};

static int make_device(const struct lxr_spec *spec, int root_fd, const char *dest, char type, unsigned maj,
                       unsigned min, mode_t mode, uid_t uid, gid_t gid, bool in_userns, lxr_error *err) {
  char path[PATH_MAX], parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", dest);
  *strrchr(parent, '/') = '\0';
  if (*parent && target_path(spec->root_path, root_fd, parent, CREATE_DIR, path, err) < 0) return -1;
  snprintf(path + strlen(path), sizeof path - strlen(path), "%s", strrchr(dest, '/'));
  if (in_userns) {
    /* mknod is not allowed in a user namespace: bind the host's node onto an empty file. */
    int f = open(path, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0 && errno != EEXIST) return lxr_fail(err, errno, "create %s", dest);
    if (f >= 0) close(f);
    if (mount(dest, path, NULL, MS_BIND, NULL) < 0) return lxr_fail(err, errno, "bind the device %s", dest);
    return 0;
  }
  mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  if (mknod(path, kind | (mode & 07777), makedev(maj, min)) < 0 && errno != EEXIST)
    return lxr_fail(err, errno, "mknod %s", dest);
  if (chmod(path, mode & 07777) < 0 || lchown(path, uid, gid) < 0)
    return lxr_fail(err, errno, "set the owner and mode of %s", dest);
  return 0;
}

static int populate_dev(const struct lxr_spec *spec, int root_fd, bool in_userns, lxr_error *err) {
  bool dev_tmpfs = false, has_pts = false;
  for (size_t i = 0; i < spec->nmounts; i++) {
    if (!strcmp(spec->mounts[i].destination, "/dev")) dev_tmpfs = !spec->mounts[i].bind;
    if (!strcmp(spec->mounts[i].destination, "/dev/pts")) has_pts = true;
  }
  mode_t old = umask(0);
  int r = 0;
  if (dev_tmpfs) {
    for (size_t i = 0; i < sizeof std_devices / sizeof *std_devices && r == 0; i++)
      r = make_device(spec, root_fd, std_devices[i].name, 'c', std_devices[i].maj, std_devices[i].min, 0666, 0,
                      0, in_userns, err);
    static const char *const links[][2] = {{"/proc/self/fd", "fd"},     {"/proc/self/fd/0", "stdin"},
                                           {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                           {"/proc/kcore", "core"},     {"pts/ptmx", "ptmx"}};
    char dev[PATH_MAX];
    if (r == 0) r = target_path(spec->root_path, root_fd, "/dev", CREATE_DIR, dev, err);
    cleanup_close int devfd = r == 0 ? open(dev, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    for (size_t i = 0; i < sizeof links / sizeof *links && r == 0; i++) {
      if (!has_pts && !strcmp(links[i][1], "ptmx")) continue;
      if (symlinkat(links[i][0], devfd, links[i][1]) < 0 && errno != EEXIST)
        r = lxr_fail(err, errno, "symlink /dev/%s", links[i][1]);
    }
  }
  for (size_t i = 0; i < spec->ndevices && r == 0; i++) {
    const struct lxr_device *d = &spec->devices[i];
    r = make_device(spec, root_fd, d->path, d->type, (unsigned)d->major, (unsigned)d->minor, d->mode, d->uid,
                    d->gid, in_userns, err);
  }
  umask(old);
  return r;
}

static int pivot(const char *root, lxr_error *err) {
  cleanup_close int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  cleanup_close int new_root = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (old_root < 0 || new_root < 0) return lxr_fail(err, errno, "open the roots for pivot_root");
  if (fchdir(new_root) < 0) return lxr_fail(err, errno, "chdir %s", root);
  /* pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves the new. */
  if (syscall(SYS_pivot_root, ".", ".") < 0) return lxr_fail(err, errno, "pivot_root into %s", root);
  if (fchdir(old_root) < 0) return lxr_fail(err, errno, "chdir to the old root");
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return lxr_fail(err, errno, "make the old root a slave");
  if (umount2(".", MNT_DETACH) < 0) return lxr_fail(err, errno, "detach the old root");
  if (chdir("/") < 0) return lxr_fail(err, errno, "chdir /");
  return 0;
}

static int mask_paths(const struct lxr_spec *spec, lxr_error *err) {
  for (size_t i = 0; i < spec->nmasked_paths; i++) {
    const char *p = spec->masked_paths[i];
    struct stat st;
    if (lstat(p, &st) < 0) {
      if (errno == ENOENT) continue;
      return lxr_fail(err, errno, "mask %s", p);
    }
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0")
                                : mount("/dev/null", p, NULL, MS_BIND, NULL);
    if (r < 0 && errno != ENOENT) return lxr_fail(err, errno, "mask %s", p);
  }
  for (size_t i = 0; i < spec->nreadonly_paths; i++) {
    const char *p = spec->readonly_paths[i];
    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
      if (errno == ENOENT) continue;
      return lxr_fail(err, errno, "make %s read-only", p);
    }
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | locked_flags(p);
    if (mount(NULL, p, NULL, flags, NULL) < 0) return lxr_fail(err, errno, "remount %s read-only", p);
  }
  return 0;
}

int lxr_rootfs_setup(struct lxr_spec *spec, struct lxr_cgroup *cg, bool in_userns, lxr_error *err) {
  unsigned long prop = spec->rootfs_propagation;
  /* The new root's parent must not be shared for pivot_root; shared is restored after it. */
  unsigned long first = (prop & MS_SHARED) ? (MS_SLAVE | MS_REC) : prop;
  if (mount(NULL, "/", NULL, first, NULL) < 0) return lxr_fail(err, errno, "make / private");
  if (mount(spec->root_path, spec->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return lxr_fail(err, errno, "bind the root %s", spec->root_path);
  cleanup_close int root_fd = open(spec->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return lxr_fail(err, errno, "open the root %s", spec->root_path);
  for (size_t i = 0; i < spec->nmounts; i++)
    if (mount_one(spec, &spec->mounts[i], root_fd, cg, in_userns, err) < 0) return -1;
  if (populate_dev(spec, root_fd, in_userns, err) < 0) return -1;
  if (pivot(spec->root_path, err) < 0) return -1;
  if ((prop & MS_SHARED) && mount(NULL, "/", NULL, prop, NULL) < 0)
    return lxr_fail(err, errno, "make / shared");
  for (size_t i = 0; i < spec->nsysctls; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/proc/sys/%s", spec->sysctls[i].key);
    for (char *c = path + 10; *c; c++)
      if (*c == '.') *c = '/';
    if (lxr_write_file(path, spec->sysctls[i].value, err) < 0) return lxr_wrap(err, "sysctl %s", spec->sysctls[i].key);
  }
  if (mask_paths(spec, err) < 0) return -1;
  if (spec->root_readonly &&
      mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags("/"), NULL) < 0)
    return lxr_fail(err, errno, "remount the root read-only");
  return 0;
}

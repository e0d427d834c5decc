/* lxr-unpack-nodes: what the rootfs-builder's layer unpacker cannot do from Node.js, which has
 * neither mknod(2) nor setxattr(2) — device nodes, fifos (and so overlayfs whiteouts) and
 * extended attributes (and so overlayfs opaque directories) — see docs/ROOTFS.md "Unpacking".
 *
 *   lxr-unpack-nodes ROOT < records
 *
 * The records, all read before anything is done, are NUL-terminated fields:
 *   node  PATH MODE MAJOR MINOR UID GID MTIME_SEC MTIME_NSEC   mknod, chown, chmod, utimes
 *                                                             (in place of an empty placeholder file)
 *   xattr PATH NAME LENGTH, then LENGTH raw bytes              lsetxattr
 * PATH is relative to ROOT ("." is ROOT itself, for xattrs only); numbers are decimal, MODE
 * includes the file type bits (S_IFCHR, S_IFBLK or S_IFIFO). Records apply in order, so the
 * unpacker sends every node before any xattr: chown clears security.capability.
 *
 * The unpacker has already checked every path against what the layer holds; here each parent is
 * resolved again with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a path that would leave
 * ROOT or go through a symlink fails instead of being followed, and the last component is never
 * followed either (mknodat, AT_SYMLINK_NOFOLLOW, lsetxattr).
 *
 * Errors are one line on stderr, `lxr-unpack-nodes: <what failed>: <why>`, exit status 1 (2 for
 * usage). An xattr the file system does not support (ENOTSUP) is skipped, as GNU tar does. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../common/error.h"

typedef struct {
  char *data;
  size_t len, pos;
} input;

static int read_all(lxr_error *err, input *in) {
  size_t cap = 64 * 1024;
  in->data = malloc(cap);
  if (!in->data) return lxr_fail(err, errno, "read records");
  for (;;) {
    if (in->len == cap) {
      char *bigger = realloc(in->data, cap * 2);
      if (!bigger) return lxr_fail(err, errno, "read records");
      in->data = bigger;
      cap *= 2;
    }
    ssize_t n = LXR_RETRY(read(STDIN_FILENO, in->data + in->len, cap - in->len));
    if (n < 0) return lxr_fail(err, errno, "read records");
    if (n == 0) return 0;
    in->len += (size_t)n;
  }
}

/* The next NUL-terminated field, or NULL when the input ends inside it. */
static char *field(input *in) {
  if (in->pos >= in->len) return NULL;
  char *start = in->data + in->pos;
  char *nul = memchr(start, '\0', in->len - in->pos);
  if (!nul) return NULL;
  in->pos = (size_t)(nul - in->data) + 1;
  return start;
}

static int number(lxr_error *err, input *in, const char *what, uint64_t *out) {
  char *text = field(in), *end;
  if (!text || !*text) return lxr_fail(err, 0, "record truncated before %s", what);
  errno = 0;
  *out = strtoull(text, &end, 10);
  if (errno || *end) return lxr_fail(err, 0, "%s '%s' is not a number", what, text);
  return 0;
}

/* Opens PATH's parent beneath ROOT without following any symlink; *base is its last component. */
static int open_parent(lxr_error *err, int root, char *path, const char **base) {
  char *slash = strrchr(path, '/');
  const char *parent = ".";
  *base = path;
  if (slash) {
    *slash = '\0';
    parent = path;
    *base = slash + 1;
  }
  struct open_how how = {
      .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  int fd = (int)LXR_RETRY(syscall(SYS_openat2, root, parent, &how, sizeof how));
  if (slash) *slash = '/';
  if (fd < 0) return lxr_fail(err, errno, "open the parent of %s", path);
  if (!**base || strcmp(*base, "..") == 0) {
    close(fd);
    return lxr_fail(err, 0, "%s: not a name inside its parent", path);
  }
  return fd;
}

static int make_node(lxr_error *err, int root, input *in) {
  char *path = field(in);
  uint64_t mode, major, minor, uid, gid, sec, nsec;
  if (!path) return lxr_fail(err, 0, "node record truncated");
  if (number(err, in, "mode", &mode) < 0 || number(err, in, "major", &major) < 0 ||
      number(err, in, "minor", &minor) < 0 || number(err, in, "uid", &uid) < 0 ||
      number(err, in, "gid", &gid) < 0 || number(err, in, "mtime", &sec) < 0 ||
      number(err, in, "mtime nanoseconds", &nsec) < 0)
    return lxr_wrap(err, "%s", path);
  mode_t type = (mode_t)mode & S_IFMT;
  if (type != S_IFCHR && type != S_IFBLK && type != S_IFIFO)
    return lxr_fail(err, 0, "%s: mode %" PRIo64 " is not a device or fifo", path, mode);
  const char *base;
  cleanup_close int dir = open_parent(err, root, path, &base);
  if (dir < 0) return -1;
  if (strcmp(base, ".") == 0) return lxr_fail(err, 0, "%s: not a name inside its parent", path);
  /* The unpacker leaves an empty regular file where each node goes; anything else is not its. */
  struct stat st;
  if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISREG(st.st_mode) || st.st_size != 0)
      return lxr_fail(err, 0, "%s: not the placeholder the unpacker left", path);
    if (unlinkat(dir, base, 0) < 0) return lxr_fail(err, errno, "remove the placeholder %s", path);
  } else if (errno != ENOENT)
    return lxr_fail(err, errno, "stat %s", path);
  if (mknodat(dir, base, type | ((mode_t)mode & 07777), makedev(major, minor)) < 0)
    return lxr_fail(err, errno, "mknod %s", path);
  if (fchownat(dir, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)
    return lxr_fail(err, errno, "chown %s", path);
  /* After chown, which clears setuid and setgid; the node was just made, it is no symlink. */
  if (fchmodat(dir, base, (mode_t)mode & 07777, 0) < 0) return lxr_fail(err, errno, "chmod %s", path);
  struct timespec times[2] = {{(time_t)sec, (long)nsec}, {(time_t)sec, (long)nsec}};
  if (utimensat(dir, base, times, AT_SYMLINK_NOFOLLOW) < 0) return lxr_fail(err, errno, "utimes %s", path);
  return 0;
}

static int set_xattr(lxr_error *err, int root, input *in) {
  char *path = field(in), *name = field(in);
  uint64_t length;
  if (!path || !name) return lxr_fail(err, 0, "xattr record truncated");
  if (number(err, in, "length", &length) < 0) return lxr_wrap(err, "%s", path);
  if (length > in->len - in->pos) return lxr_fail(err, 0, "%s: xattr %s value truncated", path, name);
  const char *value = in->data + in->pos;
  in->pos += length;
  const char *base;
  cleanup_close int dir = open_parent(err, root, path, &base);
  if (dir < 0) return -1;
  /* The parent through its descriptor, the last component not followed (lsetxattr). */
  char at[64 + 4096];
  if ((size_t)snprintf(at, sizeof at, "/proc/self/fd/%d/%s", dir, base) >= sizeof at)
    return lxr_fail(err, 0, "%s: path too long", path);
  if (lsetxattr(at, name, value, length, 0) < 0) {
    if (errno == ENOTSUP) {
      fprintf(stderr, "lxr-unpack-nodes: skipped xattr %s of %s: %s\n", name, path, strerror(errno));
      return 0;
    }
    return lxr_fail(err, errno, "set xattr %s on %s", name, path);
  }
  return 0;
}

static int run(lxr_error *err, const char *root_path) {
  umask(0);
  cleanup_close int root = open(root_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (root < 0) return lxr_fail(err, errno, "open %s", root_path);
  input in = {0};
  cleanup_free char *data = NULL;
  int rc = read_all(err, &in);
  data = in.data;
  if (rc < 0) return -1;
  while (in.pos < in.len) {
    char *op = field(&in);
    if (!op) return lxr_fail(err, 0, "record truncated");
    if (strcmp(op, "node") == 0)
      rc = make_node(err, root, &in);
    else if (strcmp(op, "xattr") == 0)
      rc = set_xattr(err, root, &in);
    else
      rc = lxr_fail(err, 0, "unknown record '%s'", op);
    if (rc < 0) return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fputs("usage: lxr-unpack-nodes ROOT < records\n", stderr);
    return 2;
  }
  lxr_error err = {{0}};
  if (run(&err, argv[1]) < 0) {
    fprintf(stderr, "lxr-unpack-nodes: %s\n", err.msg);
    return 1;
  }
  return 0;
}

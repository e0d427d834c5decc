/* lxr-mount: the two mount(2) calls of the rootfs-builder, without util-linux mount's start-up
 * (libmount, fstab, mtab: ~2.5 ms a call against ~1 ms here) — see docs/ROOTFS.md.
 *
 *   lxr-mount overlay DIR LOWER UPPER WORK TARGET
 *     chdir(DIR), then mount an overlay on TARGET with lowerdir=LOWER (colon-separated, top layer
 *     first, relative to DIR: `l/<short id>` links keep 128+ layers inside the one page the kernel
 *     copies the options from), upperdir=UPPER, workdir=WORK.
 *   lxr-mount unmount TARGET
 *     Detaches TARGET (MNT_DETACH); TARGET not being a mount point (or not existing) is success.
 *
 * Errors are one line on stderr, `lxr-mount: <what failed>: <why>`, exit status 1 (2 for usage). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "../common/error.h"

/* The kernel copies mount data from user space one page at a time and only the first page. */
#define OPTIONS_MAX 4096

static int overlay(lxr_error *err, const char *dir, const char *lower, const char *upper, const char *work,
                   const char *target) {
  char options[OPTIONS_MAX];
  int n = snprintf(options, sizeof options, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
  if (n < 0 || (size_t)n >= sizeof options)
    return lxr_fail(err, 0, "overlay options for %s are %d bytes, more than the kernel's %d", target, n,
                    OPTIONS_MAX - 1);
  if (chdir(dir) < 0) return lxr_fail(err, errno, "chdir %s", dir);
  if (LXR_RETRY(mount("overlay", target, "overlay", 0, options)) < 0)
    return lxr_fail(err, errno, "mount overlay on %s", target);
  return 0;
}

static int unmount(lxr_error *err, const char *target) {
  if (LXR_RETRY(umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW)) < 0 && errno != EINVAL && errno != ENOENT)
    return lxr_fail(err, errno, "unmount %s", target);
  return 0;
}

int main(int argc, char **argv) {
  lxr_error err = {{0}};
  int rc;
  if (argc == 7 && strcmp(argv[1], "overlay") == 0)
    rc = overlay(&err, argv[2], argv[3], argv[4], argv[5], argv[6]);
  else if (argc == 3 && strcmp(argv[1], "unmount") == 0)
    rc = unmount(&err, argv[2]);
  else {
    fputs("usage: lxr-mount overlay DIR LOWER UPPER WORK TARGET | lxr-mount unmount TARGET\n", stderr);
    return 2;
  }
  if (rc < 0) {
    fprintf(stderr, "lxr-mount: %s\n", err.msg);
    return 1;
  }
  return 0;
}

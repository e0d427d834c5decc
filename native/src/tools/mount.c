/* lxr-mount: the mount(2) calls of the rootfs-builder, without util-linux mount's start-up
 * (libmount, fstab, mtab) — see docs/ROOTFS.md.
 *
 *   lxr-mount overlay DIR LOWER UPPER WORK TARGET
 *     chdir(DIR), then mount an overlay on TARGET with lowerdir=LOWER (colon-separated, top layer
 *     first, relative to DIR: `l/<short id>` links keep 128+ layers inside the one page the kernel
 *     copies the options from), upperdir=UPPER, workdir=WORK.
 *   lxr-mount prepare DIR LOWER CONTAINER
 *     mkdir CONTAINER (0700) and its u (0755), w (0700), m (0755), then the overlay above with
 *     upperdir=CONTAINER/u, workdir=CONTAINER/w on CONTAINER/m.
 *   lxr-mount unmount TARGET
 *     Detaches TARGET (MNT_DETACH); TARGET not being a mount point (or not existing) is success.
 *   lxr-mount serve
 *     Answers requests on stdin until EOF, so a long-running caller pays for no process start per
 *     mount: each request is the arguments of one of the verbs above, every one terminated by a NUL
 *     byte; each answer is one line on stdout, "ok" or "error <message>".
 *
 * Errors of the one-shot verbs are one line on stderr, `lxr-mount: <what failed>: <why>`, exit
 * status 1 (2 for usage). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/error.h"

/* The kernel copies mount data from user space one page at a time and only the first page. */
#define OPTIONS_MAX 4096
/* The most arguments a verb takes, the verb included. */
#define MAX_FIELDS 6

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

static int prepare(lxr_error *err, const char *dir, const char *lower, const char *container) {
  char upper[PATH_MAX], work[PATH_MAX], merged[PATH_MAX];
  if (snprintf(upper, sizeof upper, "%s/u", container) >= (int)sizeof upper ||
      snprintf(work, sizeof work, "%s/w", container) >= (int)sizeof work ||
      snprintf(merged, sizeof merged, "%s/m", container) >= (int)sizeof merged)
    return lxr_fail(err, ENAMETOOLONG, "%s", container);
  /* The umask must not narrow the modes: u and m are what the container's root sees as /. */
  mode_t old = umask(0);
  int rc = 0;
  if (mkdir(container, 0700) < 0) rc = lxr_fail(err, errno, "mkdir %s", container);
  else if (mkdir(upper, 0755) < 0) rc = lxr_fail(err, errno, "mkdir %s", upper);
  else if (mkdir(work, 0700) < 0) rc = lxr_fail(err, errno, "mkdir %s", work);
  else if (mkdir(merged, 0755) < 0) rc = lxr_fail(err, errno, "mkdir %s", merged);
  umask(old);
  if (rc < 0) return rc;
  return overlay(err, dir, lower, upper, work, merged);
}

static int unmount(lxr_error *err, const char *target) {
  if (LXR_RETRY(umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW)) < 0 && errno != EINVAL && errno != ENOENT)
    return lxr_fail(err, errno, "unmount %s", target);
  return 0;
}

/* The arguments a verb takes, the verb included; 0 for an unknown verb. */
static int arity(const char *verb) {
  if (strcmp(verb, "overlay") == 0) return 6;
  if (strcmp(verb, "prepare") == 0) return 4;
  if (strcmp(verb, "unmount") == 0) return 2;
  return 0;
}

/* Runs one verb; -2 for a malformed request (unknown verb, wrong number of arguments). */
static int dispatch(lxr_error *err, int argc, char **argv) {
  if (argc != arity(argv[0])) return -2;
  if (strcmp(argv[0], "overlay") == 0) return overlay(err, argv[1], argv[2], argv[3], argv[4], argv[5]);
  if (strcmp(argv[0], "prepare") == 0) return prepare(err, argv[1], argv[2], argv[3]);
  return unmount(err, argv[1]);
}

/* One answer line: newlines in a message would end it early. */
static void answer(const char *message) {
  if (!message) {
    fputs("ok\n", stdout);
  } else {
    fputs("error ", stdout);
    for (const char *p = message; *p; p++) fputc(*p == '\n' ? ' ' : *p, stdout);
    fputc('\n', stdout);
  }
  fflush(stdout);
}

static int serve(void) {
  char *fields[MAX_FIELDS] = {0};
  size_t sizes[MAX_FIELDS] = {0};
  for (;;) {
    if (getdelim(&fields[0], &sizes[0], '\0', stdin) < 0) return feof(stdin) ? 0 : 1;
    int n = arity(fields[0]);
    if (n == 0) {
      /* The stream cannot be resynchronised after an unknown verb: stop. */
      answer("unknown request");
      return 1;
    }
    for (int i = 1; i < n; i++)
      if (getdelim(&fields[i], &sizes[i], '\0', stdin) < 0) return 1;
    lxr_error err = {{0}};
    answer(dispatch(&err, n, fields) < 0 ? err.msg : NULL);
  }
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "serve") == 0) return serve();
  lxr_error err = {{0}};
  int rc = argc >= 2 ? dispatch(&err, argc - 1, argv + 1) : -2;
  if (rc == -2) {
    fputs("usage: lxr-mount overlay DIR LOWER UPPER WORK TARGET | prepare DIR LOWER CONTAINER |"
          " unmount TARGET | serve\n",
          stderr);
    return 2;
  }
  if (rc < 0) {
    fprintf(stderr, "lxr-mount: %s\n", err.msg);
    return 1;
  }
  return 0;
}

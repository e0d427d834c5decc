/* cgroups v1 and v2 behind one interface. A container's cgroup is a directory per hierarchy (v1:
 * one per mounted controller hierarchy, plus the hybrid "unified" one; v2: one). Resource files
 * differ by version; the ops table below holds the difference. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include "runtime.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#define MAX_HIERARCHIES 24

struct hierarchy {
  char mountpoint[PATH_MAX];
  char name[64];        /* last component of the mount point: memory, cpu, systemd, unified */
  char controllers[256]; /* v1 super options without rw: "memory", "name=systemd"; "" for cgroup2 */
  bool v2;
};

struct lxr_cgroup {
  bool unified; /* the whole system is cgroup v2 */
  size_t n;
  struct hierarchy h[MAX_HIERARCHIES];
  char dir[MAX_HIERARCHIES][PATH_MAX]; /* the container's directory in each hierarchy */
};

bool lxr_cgroup_is_unified(void) {
  struct statfs fs;
  return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

static int find_hierarchies(struct lxr_cgroup *cg, lxr_error *err) {
  cg->unified = lxr_cgroup_is_unified();
  if (cg->unified) {
    cg->n = 1;
    strcpy(cg->h[0].mountpoint, "/sys/fs/cgroup");
    strcpy(cg->h[0].name, "");
    cg->h[0].v2 = true;
    return 0;
  }
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return lxr_fail(err, errno, "open /proc/self/mountinfo");
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0 && cg->n < MAX_HIERARCHIES) {
    /* id parent major:minor root mountpoint options [optional...] - fstype source superoptions */
    char root[PATH_MAX], mnt[PATH_MAX], fstype[64], super[512];
    char *sep = strstr(line, " - ");
    if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
        sscanf(sep + 3, "%63s %*s %511s", fstype, super) != 2)
      continue;
    bool v2 = strcmp(fstype, "cgroup2") == 0;
    if ((!v2 && strcmp(fstype, "cgroup") != 0) || strncmp(mnt, "/sys/fs/cgroup/", 15) != 0) continue;
    bool dup = false;
    for (size_t i = 0; i < cg->n; i++) dup |= strcmp(cg->h[i].mountpoint, mnt) == 0;
    if (dup) continue;
    struct hierarchy *h = &cg->h[cg->n++];
    snprintf(h->mountpoint, sizeof h->mountpoint, "%s", mnt);
    snprintf(h->name, sizeof h->name, "%s", strrchr(mnt, '/') + 1);
    h->v2 = v2;
    h->controllers[0] = '\0';
    if (!v2) {
      /* keep the controller options (memory, cpu, name=systemd), drop rw/ro and the like */
      char *save, *tok;
      for (tok = strtok_r(super, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "rw") || !strcmp(tok, "ro") || !strncmp(tok, "release_agent", 13) ||
            !strcmp(tok, "clone_children") || !strcmp(tok, "noprefix") || !strcmp(tok, "xattr"))
          continue;
        if (h->controllers[0]) strncat(h->controllers, ",", sizeof h->controllers - strlen(h->controllers) - 1);
        strncat(h->controllers, tok, sizeof h->controllers - strlen(h->controllers) - 1);
      }
    }
  }
  free(line);
  fclose(f);
  if (cg->n == 0) return lxr_fail(err, 0, "no cgroup hierarchy is mounted under /sys/fs/cgroup");
  return 0;
}

/* This process's own cgroup in hierarchy h (from /proc/self/cgroup), for relative cgroupsPaths. */
static void own_cgroup(const struct hierarchy *h, char *out, size_t len) {
  snprintf(out, len, "/");
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f) return;
  char line[PATH_MAX + 256];
  while (fgets(line, sizeof line, f)) {
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    const char *ctrls = c1 + 1, *path = c2 + 1;
    line[strcspn(line, "\n")] = '\0';
    bool match = h->v2 ? *ctrls == '\0' : false;
    if (!h->v2) {
      char want[256];
      snprintf(want, sizeof want, "%s", h->controllers);
      match = strcmp(ctrls, want) == 0;
    }
    if (match) {
      snprintf(out, len, "%s", path);
      out[strcspn(out, "\n")] = '\0';
      break;
    }
  }
  fclose(f);
}

static int write_at(const char *dir, const char *file, const char *value, lxr_error *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  if (lxr_write_file(path, value, err) < 0) return lxr_fail(err, errno, "cgroup: write %s to %s", value, path);
  return 0;
}

static bool exists_at(const char *dir, const char *file) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return access(path, F_OK) == 0;
}

static void fmt_limit(char *buf, size_t len, int64_t v, const char *unlimited) {
  if (v < 0)
    snprintf(buf, len, "%s", unlimited);
  else
    snprintf(buf, len, "%lld", (long long)v);
}

/* cpuset in v1 starts empty in a new cgroup; a process cannot join until cpus and mems are set. */
static int v1_cpuset_inherit(const char *mountpoint, const char *dir, lxr_error *err) {
  if (strcmp(dir, mountpoint) == 0) return 0;
  char parent[PATH_MAX], value[4096];
  snprintf(parent, sizeof parent, "%s", dir);
  *strrchr(parent, '/') = '\0';
  if (v1_cpuset_inherit(mountpoint, parent, err) < 0) return -1;
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (size_t i = 0; i < 2; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, value, sizeof value - 1) : -1;
    if (n > 1) continue; /* already set */
    snprintf(path, sizeof path, "%s/%s", parent, files[i]);
    cleanup_close int pfd = open(path, O_RDONLY | O_CLOEXEC);
    n = pfd >= 0 ? read(pfd, value, sizeof value - 1) : -1;
    if (n <= 0) return lxr_fail(err, errno, "cgroup: read %s", path);
    value[n] = '\0';
    if (write_at(dir, files[i], value, err) < 0) return -1;
  }
  return 0;
}

static int v1_devices(const char *dir, const struct lxr_resources *r, lxr_error *err) {
  if (r->ndevice_rules == 0) return 0;
  for (size_t i = 0; i < r->ndevice_rules; i++) {
    const struct lxr_device_rule *d = &r->device_rules[i];
    char rule[64], major[24], minor[24];
    fmt_limit(major, sizeof major, d->major, "*");
    fmt_limit(minor, sizeof minor, d->minor, "*");
    if (d->type == 'a')
      snprintf(rule, sizeof rule, "a");
    else
      snprintf(rule, sizeof rule, "%c %s:%s %s", d->type, major, minor, d->access);
    if (write_at(dir, d->allow ? "devices.allow" : "devices.deny", rule, err) < 0) return -1;
  }
  /* What every container needs whatever the rules say, as runc allows them: the standard
   * devices, any pty, and mknod of anything (opening it is still denied). */
  static const char *const always[] = {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm",
                                       "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm",
                                       "c 136:* rwm", "c 10:200 rwm"};
  for (size_t i = 0; i < sizeof always / sizeof *always; i++)
    if (write_at(dir, "devices.allow", always[i], err) < 0) return -1;
  return 0;
}

static int v1_apply(const struct hierarchy *h, const char *dir, const struct lxr_resources *r,
                    lxr_error *err) {
  char buf[64];
  if (strstr(h->controllers, "cpuset") && v1_cpuset_inherit(h->mountpoint, dir, err) < 0) return -1;
  if (!strcmp(h->name, "memory")) {
    if (r->memory_limit != LXR_UNSET) {
      fmt_limit(buf, sizeof buf, r->memory_limit, "-1");
      if (write_at(dir, "memory.limit_in_bytes", buf, err) < 0) return -1;
    }
    if (r->memory_swap != LXR_UNSET) {
      if (!exists_at(dir, "memory.memsw.limit_in_bytes"))
        return lxr_fail(err, 0, "cgroup: a swap limit needs swap accounting (swapaccount=1)");
      fmt_limit(buf, sizeof buf, r->memory_swap, "-1");
      if (write_at(dir, "memory.memsw.limit_in_bytes", buf, err) < 0) return -1;
    }
    if (r->memory_reservation != LXR_UNSET) {
      fmt_limit(buf, sizeof buf, r->memory_reservation, "-1");
      if (write_at(dir, "memory.soft_limit_in_bytes", buf, err) < 0) return -1;
    }
  }
  if (strstr(h->controllers, "cpu") && exists_at(dir, "cpu.shares")) {
    if (r->cpu_shares != LXR_UNSET) {
      snprintf(buf, sizeof buf, "%lld", (long long)r->cpu_shares);
      if (write_at(dir, "cpu.shares", buf, err) < 0) return -1;
    }
    if (r->cpu_period != LXR_UNSET) {
      snprintf(buf, sizeof buf, "%lld", (long long)r->cpu_period);
      if (write_at(dir, "cpu.cfs_period_us", buf, err) < 0) return -1;
    }
    if (r->cpu_quota != LXR_UNSET) {
      fmt_limit(buf, sizeof buf, r->cpu_quota, "-1");
      if (write_at(dir, "cpu.cfs_quota_us", buf, err) < 0) return -1;
    }
  }
  if (!strcmp(h->name, "pids") && r->pids_limit != LXR_UNSET) {
    fmt_limit(buf, sizeof buf, r->pids_limit > 0 ? r->pids_limit : -1, "max");
    if (write_at(dir, "pids.max", buf, err) < 0) return -1;
  }
  if (!strcmp(h->name, "devices") && v1_devices(dir, r, err) < 0) return -1;
  return 0;
}

/* Enables the controllers the limits need in every ancestor's cgroup.subtree_control. */
static int v2_enable(const char *mountpoint, const char *dir, const struct lxr_resources *r, lxr_error *err) {
  const char *wanted[3];
  size_t n = 0;
  if (r->memory_limit != LXR_UNSET || r->memory_swap != LXR_UNSET || r->memory_reservation != LXR_UNSET)
    wanted[n++] = "memory";
  if (r->cpu_quota != LXR_UNSET || r->cpu_shares != LXR_UNSET || r->cpu_period != LXR_UNSET)
    wanted[n++] = "cpu";
  if (r->pids_limit != LXR_UNSET) wanted[n++] = "pids";
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", mountpoint);
  const char *rest = dir + strlen(mountpoint);
  for (;;) {
    char controllers[1024] = {0}, path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/cgroup.controllers", parent);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, controllers, sizeof controllers - 1) < 0)
      return lxr_fail(err, errno, "cgroup: read %s", path);
    for (size_t i = 0; i < n; i++) {
      char word[32];
      snprintf(word, sizeof word, "%s", wanted[i]);
      bool available = false;
      for (char *p = strstr(controllers, word); p; p = strstr(p + 1, word))
        available |= (p == controllers || p[-1] == ' ') && (p[strlen(word)] == ' ' || p[strlen(word)] == '\n' || p[strlen(word)] == '\0');
      if (!available)
        return lxr_fail(err, 0, "cgroup: the %s controller is not available in %s (needed by linux.resources)",
                        wanted[i], parent);
      char enable[40];
      snprintf(enable, sizeof enable, "+%s", wanted[i]);
      if (write_at(parent, "cgroup.subtree_control", enable, err) < 0) return -1;
    }
    while (*rest == '/') rest++;
    if (*rest == '\0') break;
    const char *slash = strchr(rest, '/');
    size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (slash == NULL) break; /* the leaf: its own subtree_control stays empty */
    size_t plen = strlen(parent);
    snprintf(parent + plen, sizeof parent - plen, "/%.*s", (int)len, rest);
    rest += len;
  }
  return 0;
}

static int v2_apply(const struct hierarchy *h, const char *dir, const struct lxr_resources *r, lxr_error *err) {
  char buf[64];
  if (v2_enable(h->mountpoint, dir, r, err) < 0) return -1;
  if (r->memory_limit != LXR_UNSET) {
    fmt_limit(buf, sizeof buf, r->memory_limit, "max");
    if (write_at(dir, "memory.max", buf, err) < 0) return -1;
  }
  if (r->memory_swap != LXR_UNSET) {
    /* OCI's swap is memory+swap; v2's memory.swap.max is the swap alone. */
    int64_t swap = r->memory_swap < 0 ? -1 : r->memory_limit >= 0 ? r->memory_swap - r->memory_limit : r->memory_swap;
    fmt_limit(buf, sizeof buf, swap, "max");
    if (!exists_at(dir, "memory.swap.max"))
      return lxr_fail(err, 0, "cgroup: a swap limit needs memory.swap.max (swap accounting)");
    if (write_at(dir, "memory.swap.max", buf, err) < 0) return -1;
  }
  if (r->memory_reservation != LXR_UNSET) {
    fmt_limit(buf, sizeof buf, r->memory_reservation, "max");
    if (write_at(dir, "memory.low", buf, err) < 0) return -1;
  }
  if (r->cpu_quota != LXR_UNSET || r->cpu_period != LXR_UNSET) {
    char quota[32];
    fmt_limit(quota, sizeof quota, r->cpu_quota == LXR_UNSET ? -1 : r->cpu_quota, "max");
    snprintf(buf, sizeof buf, "%s %lld", quota, (long long)(r->cpu_period == LXR_UNSET ? 100000 : r->cpu_period));
    if (write_at(dir, "cpu.max", buf, err) < 0) return -1;
  }
  if (r->cpu_shares != LXR_UNSET && r->cpu_shares > 0) {
    /* shares 2..262144 → weight 1..10000, the conversion runc and crun use */
    long long shares = r->cpu_shares < 2 ? 2 : r->cpu_shares > 262144 ? 262144 : r->cpu_shares;
    snprintf(buf, sizeof buf, "%lld", 1 + ((shares - 2) * 9999) / 262142);
    if (write_at(dir, "cpu.weight", buf, err) < 0) return -1;
  }
  if (r->pids_limit != LXR_UNSET) {
    fmt_limit(buf, sizeof buf, r->pids_limit > 0 ? r->pids_limit : -1, "max");
    if (write_at(dir, "pids.max", buf, err) < 0) return -1;
  }
  if (r->ndevice_rules > 0 && lxr_devices_bpf_attach(dir, r, err) < 0) return -1;
  return 0;
}

static int locate(const char *path, struct lxr_cgroup **out, lxr_error *err) {
  struct lxr_cgroup *cg = lxr_calloc(1, sizeof *cg);
  if (find_hierarchies(cg, err) < 0) {
    free(cg);
    return -1;
  }
  for (size_t i = 0; i < cg->n; i++) {
    char base[PATH_MAX] = "/";
    if (path[0] != '/') own_cgroup(&cg->h[i], base, sizeof base);
    const char *rel = path;
    while (*rel == '/') rel++;
    snprintf(cg->dir[i], sizeof cg->dir[i], "%s%s%s%s", cg->h[i].mountpoint,
             strcmp(base, "/") ? base : "", "/", rel);
  }
  *out = cg;
  return 0;
}

int lxr_cgroup_open(const char *path, struct lxr_cgroup **out, lxr_error *err) {
  return locate(path, out, err);
}

int lxr_cgroup_create(const char *path, const struct lxr_resources *res, struct lxr_cgroup **out,
                      lxr_error *err) {
  struct lxr_cgroup *cg;
  if (locate(path, &cg, err) < 0) return -1;
  for (size_t i = 0; i < cg->n; i++) {
    if (lxr_mkdir_p(cg->dir[i], 0755, err) < 0) goto fail;
    /* On a hybrid host the v1 devices controller enforces the device rules; the same rules also go
     * to the unified hierarchy as a BPF program, which is what a v2 host relies on alone. */
    int r = cg->h[i].v2 ? (cg->unified ? v2_apply(&cg->h[i], cg->dir[i], res, err)
                                       : res->ndevice_rules ? lxr_devices_bpf_attach(cg->dir[i], res, err) : 0)
                        : v1_apply(&cg->h[i], cg->dir[i], res, err);
    if (r < 0) goto fail;
  }
  *out = cg;
  return 0;
fail:;
  lxr_error ignored;
  lxr_cgroup_destroy(cg, &ignored);
  lxr_cgroup_free(cg);
  return -1;
}

int lxr_cgroup_add(struct lxr_cgroup *cg, pid_t pid, lxr_error *err) {
  char buf[24];
  snprintf(buf, sizeof buf, "%d", pid);
  for (size_t i = 0; i < cg->n; i++)
    if (write_at(cg->dir[i], "cgroup.procs", buf, err) < 0) return -1;
  return 0;
}

int lxr_cgroup_signal(struct lxr_cgroup *cg, int sig, lxr_error *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/cgroup.procs", cg->dir[0]);
  FILE *f = fopen(path, "re");
  if (!f) return lxr_fail(err, errno, "cgroup: read %s", path);
  int pid;
  while (fscanf(f, "%d", &pid) == 1) kill(pid, sig);
  fclose(f);
  return 0;
}

/* Kills what is left in one directory (exec'd processes, a fork bomb), then removes it. */
static int remove_dir(const char *dir, lxr_error *err) {
  if (access(dir, F_OK) < 0) return 0;
  if (exists_at(dir, "cgroup.kill")) {
    lxr_error ignored;
    write_at(dir, "cgroup.kill", "1", &ignored);
  }
  for (int attempt = 0; attempt < 2000; attempt++) {
    if (rmdir(dir) == 0 || errno == ENOENT) return 0;
    if (errno != EBUSY) return lxr_fail(err, errno, "cgroup: remove %s", dir);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    FILE *f = fopen(path, "re");
    int pid;
    while (f && fscanf(f, "%d", &pid) == 1) kill(pid, SIGKILL);
    if (f) fclose(f);
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  return lxr_fail(err, EBUSY, "cgroup: remove %s (processes keep running in it)", dir);
}

int lxr_cgroup_destroy(struct lxr_cgroup *cg, lxr_error *err) {
  int r = 0;
  for (size_t i = 0; i < cg->n; i++)
    if (remove_dir(cg->dir[i], err) < 0) r = -1;
  return r;
}

void lxr_cgroup_free(struct lxr_cgroup *cg) { free(cg); }

int lxr_cgroup_mount(struct lxr_cgroup *cg, const char *target, unsigned long flags, lxr_error *err) {
  unsigned long ro = flags | MS_RDONLY;
  if (cg->unified) {
    /* In the container's cgroup namespace a fresh cgroup2 mount shows the container's cgroup as
     * its root; where that is refused (a user namespace without the right), bind the directory. */
    if (mount("cgroup2", target, "cgroup2", ro, NULL) == 0) return 0;
    if (mount(cg->dir[0], target, NULL, MS_BIND | MS_REC, NULL) < 0)
      return lxr_fail(err, errno, "mount the cgroup at /sys/fs/cgroup");
    if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | ro, NULL) < 0)
      return lxr_fail(err, errno, "remount /sys/fs/cgroup read-only");
    return 0;
  }
  /* v1: a tmpfs with each hierarchy's container directory bound read-only under its name. */
  if (mount("tmpfs", target, "tmpfs", flags & ~MS_RDONLY, "mode=755") < 0)
    return lxr_fail(err, errno, "mount a tmpfs at /sys/fs/cgroup");
  for (size_t i = 0; i < cg->n; i++) {
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/%s", target, cg->h[i].name);
    if (mkdir(sub, 0755) < 0) return lxr_fail(err, errno, "mkdir /sys/fs/cgroup/%s", cg->h[i].name);
    if (mount(cg->dir[i], sub, NULL, MS_BIND, NULL) < 0)
      return lxr_fail(err, errno, "bind the cgroup %s at /sys/fs/cgroup/%s", cg->dir[i], cg->h[i].name);
    if (mount(NULL, sub, NULL, MS_REMOUNT | MS_BIND | ro, NULL) < 0)
      return lxr_fail(err, errno, "remount /sys/fs/cgroup/%s read-only", cg->h[i].name);
  }
  if ((flags & MS_RDONLY) && mount(NULL, target, NULL, MS_REMOUNT | flags, "mode=755") < 0)
    return lxr_fail(err, errno, "remount /sys/fs/cgroup read-only");
  return 0;
}

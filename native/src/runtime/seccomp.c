/* linux.seccomp (the OCI form) → a libseccomp filter, compiled at create time so a bad profile
 * fails `create`, and loaded by the container's process just before exec. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <string.h>

#include "runtime.h"

typedef struct json_object json;

static int parse_action(const char *name, json *errno_ret, uint32_t *out) {
  int ret = errno_ret ? (int)json_object_get_int64(errno_ret) : EPERM;
  if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
    *out = SCMP_ACT_ERRNO((uint32_t)ret);
  else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
    *out = SCMP_ACT_KILL;
  else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
    *out = SCMP_ACT_TRAP;
  else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
    *out = SCMP_ACT_TRACE((uint32_t)ret);
  else if (strcmp(name, "SCMP_ACT_LOG") == 0)
    *out = SCMP_ACT_LOG;
  else
    return -1;
  return 0;
}

static int parse_op(const char *name, enum scmp_compare *out) {
  static const struct {
    const char *name;
    enum scmp_compare op;
  } ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
             {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
             {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
             {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (strcmp(name, ops[i].name) == 0) {
      *out = ops[i].op;
      return 0;
    }
  return -1;
}

static int add_rule(scmp_filter_ctx ctx, json *rule, size_t i, uint32_t default_action, lxr_error *err) {
  json *names, *action, *errno_ret, *args, *name;
  if (!json_object_is_type(rule, json_type_object) ||
      !json_object_object_get_ex(rule, "action", &action) || !json_object_is_type(action, json_type_string))
    return lxr_fail(err, 0, "config.json: linux.seccomp.syscalls[%zu] needs an action", i);
  json_object_object_foreach(rule, key, val) {
    (void)val;
    if (strcmp(key, "names") && strcmp(key, "name") && strcmp(key, "action") && strcmp(key, "errnoRet") &&
        strcmp(key, "args") && strcmp(key, "comment"))
      return lxr_fail(err, 0, "config.json: linux.seccomp.syscalls[%zu].%s is not supported by lxr-runtime",
                      i, key);
  }
  if (!json_object_object_get_ex(rule, "errnoRet", &errno_ret)) errno_ret = NULL;
  uint32_t act;
  if (parse_action(json_object_get_string(action), errno_ret, &act) < 0)
    return lxr_fail(err, 0, "config.json: linux.seccomp.syscalls[%zu]: action %s is not supported", i,
                    json_object_get_string(action));
  if (act == default_action) return 0; /* libseccomp refuses rules that change nothing */
  struct scmp_arg_cmp conds[6];
  unsigned nconds = 0;
  if (json_object_object_get_ex(rule, "args", &args) && args && json_object_array_length(args) > 0) {
    size_t n = json_object_array_length(args);
    if (n > 6) return lxr_fail(err, 0, "config.json: linux.seccomp.syscalls[%zu]: too many args", i);
    for (size_t a = 0; a < n; a++) {
      json *arg = json_object_array_get_idx(args, a), *index, *value, *value2, *op;
      enum scmp_compare cmp;
      if (!json_object_object_get_ex(arg, "index", &index) || !json_object_object_get_ex(arg, "value", &value) ||
          !json_object_object_get_ex(arg, "op", &op) || parse_op(json_object_get_string(op), &cmp) < 0 ||
          json_object_get_int64(index) < 0 || json_object_get_int64(index) > 5)
        return lxr_fail(err, 0, "config.json: linux.seccomp.syscalls[%zu].args[%zu] is not valid", i, a);
      if (!json_object_object_get_ex(arg, "valueTwo", &value2)) value2 = NULL;
      conds[nconds++] = (struct scmp_arg_cmp){(unsigned)json_object_get_int64(index), cmp,
                                              json_object_get_uint64(value),
                                              value2 ? json_object_get_uint64(value2) : 0};
    }
  }
  if (!json_object_object_get_ex(rule, "names", &names) || !json_object_is_type(names, json_type_array)) {
    if (!json_object_object_get_ex(rule, "name", &name))
      return lxr_fail(err, 0, "config.json: linux.seccomp.syscalls[%zu] needs names", i);
    names = NULL;
  }
  size_t n = names ? json_object_array_length(names) : 1;
  for (size_t k = 0; k < n; k++) {
    const char *sys = json_object_get_string(names ? json_object_array_get_idx(names, k) : name);
    int nr = seccomp_syscall_resolve_name(sys);
    if (nr == __NR_SCMP_ERROR) continue; /* unknown on this kernel/arch: nothing to filter */
    int r = seccomp_rule_add_array(ctx, act, nr, nconds, conds);
    if (r < 0)
      return lxr_fail(err, -r, "config.json: linux.seccomp.syscalls[%zu]: rule for %s", i, sys);
  }
  return 0;
}

static int build_filter(json *o, scmp_filter_ctx *out, lxr_error *err) {
  json *v;
  json_object_object_foreach(o, key, val) {
    (void)val;
    if (strcmp(key, "defaultAction") && strcmp(key, "defaultErrnoRet") && strcmp(key, "architectures") &&
        strcmp(key, "syscalls") && strcmp(key, "flags"))
      return lxr_fail(err, 0, "config.json: linux.seccomp.%s is not supported by lxr-runtime", key);
  }
  if (json_object_object_get_ex(o, "flags", &v) && v && json_object_array_length(v) > 0)
    return lxr_fail(err, 0, "config.json: linux.seccomp.flags are not supported by lxr-runtime");
  json *def, *def_errno;
  if (!json_object_object_get_ex(o, "defaultAction", &def) || !json_object_is_type(def, json_type_string))
    return lxr_fail(err, 0, "config.json: linux.seccomp.defaultAction is missing");
  if (!json_object_object_get_ex(o, "defaultErrnoRet", &def_errno)) def_errno = NULL;
  uint32_t default_action;
  if (parse_action(json_object_get_string(def), def_errno, &default_action) < 0)
    return lxr_fail(err, 0, "config.json: linux.seccomp.defaultAction %s is not supported",
                    json_object_get_string(def));
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (!ctx) return lxr_fail(err, 0, "seccomp: cannot initialise a filter");
  /* no_new_privs is the runtime's decision (process.noNewPrivileges), not libseccomp's. */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (json_object_object_get_ex(o, "architectures", &v) && v) {
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      const char *name = json_object_get_string(json_object_array_get_idx(v, i));
      char lower[32] = {0};
      if (strncmp(name, "SCMP_ARCH_", 10) == 0) name += 10;
      for (size_t c = 0; name[c] && c < sizeof lower - 1; c++) lower[c] = (char)tolower(name[c]);
      uint32_t arch = seccomp_arch_resolve_name(lower);
      if (arch == 0) {
        seccomp_release(ctx);
        return lxr_fail(err, 0, "config.json: linux.seccomp.architectures: unknown %s", name);
      }
      int r = seccomp_arch_add(ctx, arch);
      if (r < 0 && r != -EEXIST) {
        seccomp_release(ctx);
        return lxr_fail(err, -r, "seccomp: add architecture %s", name);
      }
    }
  }
  if (json_object_object_get_ex(o, "syscalls", &v) && v) {
    for (size_t i = 0; i < json_object_array_length(v); i++)
      if (add_rule(ctx, json_object_array_get_idx(v, i), i, default_action, err) < 0) {
        seccomp_release(ctx);
        return -1;
      }
  }
  *out = ctx;
  return 0;
}

const char *lxr_seccomp_cache_dir;

/* FNV-1a: names the cache file; the profile itself, stored in it, decides a hit. */
static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return h;
}

/* Cache file: [u32 profile length][profile JSON][BPF program]. */
static bool cache_lookup(const char *path, const char *profile, size_t plen, struct lxr_spec *spec) {
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size <= 4 + plen) return false;
  size_t size = (size_t)st.st_size;
  cleanup_free char *buf = lxr_calloc(size, 1);
  uint32_t stored;
  if (lxr_read_all(fd, buf, size) != (ssize_t)size) return false;
  memcpy(&stored, buf, 4);
  size_t prog = size - 4 - plen;
  if (stored != plen || memcmp(buf + 4, profile, plen) != 0 || prog % sizeof(struct sock_filter) != 0 ||
      prog / sizeof(struct sock_filter) > BPF_MAXINSNS)
    return false;
  spec->seccomp = lxr_calloc(prog, 1);
  memcpy(spec->seccomp, buf + 4 + plen, prog);
  spec->seccomp_len = (unsigned short)(prog / sizeof(struct sock_filter));
  return true;
}

static void cache_store(const char *path, const char *profile, size_t plen, const struct lxr_spec *spec) {
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.%d", path, getpid());
  cleanup_close int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;
  uint32_t len = (uint32_t)plen;
  bool ok = lxr_write_all(fd, &len, 4) == 0 && lxr_write_all(fd, profile, plen) == 0 &&
            lxr_write_all(fd, spec->seccomp, spec->seccomp_len * sizeof(struct sock_filter)) == 0;
  if (!ok || rename(tmp, path) < 0) unlink(tmp);
}

/* libseccomp takes ~15 ms for docker's profile, more than the rest of a create; the program it
 * makes is cached under the runtime's root, keyed by the exact profile text. */
int lxr_seccomp_compile(struct lxr_spec *spec, json *o, lxr_error *err) {
  size_t plen;
  const char *profile = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &plen);
  char path[4300] = "";
  if (lxr_seccomp_cache_dir) {
    snprintf(path, sizeof path, "%s/%016llx-%u.bpf", lxr_seccomp_cache_dir,
             (unsigned long long)fnv1a(profile, plen), seccomp_version()->minor * 1000 + seccomp_version()->micro);
    if (cache_lookup(path, profile, plen, spec)) return 0;
  }
  scmp_filter_ctx ctx = NULL;
  if (build_filter(o, &ctx, err) < 0) return -1;
  int mfd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
  if (mfd < 0) {
    seccomp_release(ctx);
    return lxr_fail(err, errno, "memfd_create");
  }
  int r = seccomp_export_bpf(ctx, mfd);
  seccomp_release(ctx);
  off_t size = lseek(mfd, 0, SEEK_END);
  if (r < 0 || size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
      size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
    close(mfd);
    return lxr_fail(err, r < 0 ? -r : EINVAL, "seccomp: compile the filter");
  }
  spec->seccomp = lxr_calloc((size_t)size, 1);
  if (pread(mfd, spec->seccomp, (size_t)size, 0) != size) {
    close(mfd);
    return lxr_fail(err, errno, "seccomp: read the compiled filter");
  }
  close(mfd);
  spec->seccomp_len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
  if (*path) {
    lxr_error ignored;
    if (lxr_mkdir_p(lxr_seccomp_cache_dir, 0700, &ignored) == 0) cache_store(path, profile, plen, spec);
  }
  return 0;
}

int lxr_seccomp_load(const struct lxr_spec *spec, lxr_error *err) {
  struct sock_fprog prog = {.len = spec->seccomp_len, .filter = spec->seccomp};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return lxr_fail(err, errno, "load the seccomp filter");
  return 0;
}

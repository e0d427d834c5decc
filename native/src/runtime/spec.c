/* config.json → struct lxr_spec. Every field is checked; fields lxr-runtime does not implement are
 * refused by name, so a bundle never runs with less isolation than it asked for. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "runtime.h"

typedef struct json_object json;

static const char *const capability_names[] = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",         "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",      "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",   "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",          "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",   "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int lxr_capability_from_name(const char *name) {
  for (size_t i = 0; i < sizeof capability_names / sizeof *capability_names; i++)
    if (strcasecmp(name, capability_names[i]) == 0 ||
        (strncasecmp(name, "CAP_", 4) != 0 && strcasecmp(name, capability_names[i] + 4) == 0))
      return (int)i;
  return -1;
}

static const struct {
  const char *name;
  int number;
} signals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"POLL", SIGPOLL}, {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

int lxr_signal_from_name(const char *name) {
  char *end;
  long n = strtol(name, &end, 10);
  if (*name != '\0' && *end == '\0') return n > 0 && n < _NSIG ? (int)n : -1;
  if (strncasecmp(name, "SIG", 3) == 0) name += 3;
  for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
    if (strcasecmp(name, signals[i].name) == 0) return signals[i].number;
  if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
    int base = name[3] == 'M' && name[4] == 'I' ? SIGRTMIN : SIGRTMAX;
    if (name[5] == '\0') return base;
    long off = strtol(name + 5, &end, 10);
    if (*end == '\0' && base + off >= SIGRTMIN && base + off <= SIGRTMAX) return base + (int)off;
  }
  return -1;
}

/* ---- typed access with the field's path in every error ---- */

static int only_keys(json *o, const char *where, const char *const keys[], lxr_error *err) {
  json_object_object_foreach(o, key, val) {
    (void)val;
    bool known = false;
    for (size_t i = 0; keys[i] && !known; i++) known = strcmp(key, keys[i]) == 0;
    if (!known)
      return lxr_fail(err, 0, "config.json: %s%s%s is not supported by lxr-runtime", where,
                      *where ? "." : "", key);
  }
  return 0;
}

/* The member key of o, checked to have type t; *out is NULL when absent (or null). */
static int member(json *o, const char *where, const char *key, json_type t, json **out,
                  lxr_error *err) {
  *out = NULL;
  json *v;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL) return 0;
  if (!json_object_is_type(v, t) &&
      !(t == json_type_double && json_object_is_type(v, json_type_int)))
    return lxr_fail(err, 0, "config.json: %s%s%s must be a%s %s", where, *where ? "." : "", key,
                    t == json_type_int || t == json_type_array || t == json_type_object ? "n" : "",
                    json_type_to_name(t));
  *out = v;
  return 0;
}

static int member_string(json *o, const char *where, const char *key, char **out, lxr_error *err) {
  json *v;
  if (member(o, where, key, json_type_string, &v, err) < 0) return -1;
  *out = v ? lxr_strdup(json_object_get_string(v)) : NULL;
  return 0;
}

static int member_bool(json *o, const char *where, const char *key, bool *out, lxr_error *err) {
  json *v;
  if (member(o, where, key, json_type_boolean, &v, err) < 0) return -1;
  if (v) *out = json_object_get_boolean(v);
  return 0;
}

static int member_int(json *o, const char *where, const char *key, int64_t *out, lxr_error *err) {
  json *v;
  if (member(o, where, key, json_type_int, &v, err) < 0) return -1;
  if (v) *out = json_object_get_int64(v);
  return 0;
}

static int member_uint(json *o, const char *where, const char *key, uint64_t *out, lxr_error *err) {
  json *v;
  if (member(o, where, key, json_type_int, &v, err) < 0) return -1;
  if (!v) return 0;
  errno = 0;
  int64_t s = json_object_get_int64(v);
  if (s < 0 && errno == 0)
    return lxr_fail(err, 0, "config.json: %s.%s must not be negative", where, key);
  *out = s >= 0 && s != INT64_MAX ? (uint64_t)s : json_object_get_uint64(v);
  return 0;
}

static int string_array(json *o, const char *where, const char *key, char ***out, size_t *n,
                        lxr_error *err) {
  json *arr;
  *out = NULL;
  if (n) *n = 0;
  if (member(o, where, key, json_type_array, &arr, err) < 0) return -1;
  if (!arr) return 0;
  size_t len = json_object_array_length(arr);
  char **list = lxr_calloc(len + 1, sizeof *list);
  for (size_t i = 0; i < len; i++) {
    json *s = json_object_array_get_idx(arr, i);
    if (!json_object_is_type(s, json_type_string))
      return lxr_fail(err, 0, "config.json: %s.%s[%zu] must be a string", where, key, i);
    list[i] = lxr_strdup(json_object_get_string(s));
  }
  *out = list;
  if (n) *n = len;
  return 0;
}

/* Refuses a field that lxr-runtime accepts only when empty (e.g. an AppArmor profile). */
/* The i-th element of an array of objects, named `array[i]` in errors and holding only `keys`;
 * NULL (err set) otherwise. */
static json *array_object(json *arr, size_t i, const char *array, const char *const keys[], char *where,
                          size_t size, lxr_error *err) {
  json *o = json_object_array_get_idx(arr, i);
  snprintf(where, size, "%s[%zu]", array, i);
  if (!json_object_is_type(o, json_type_object)) {
    lxr_fail(err, 0, "config.json: %s must be an object", where);
    return NULL;
  }
  return only_keys(o, where, keys, err) < 0 ? NULL : o;
}

static int must_be_empty(json *o, const char *where, const char *key, lxr_error *err) {
  json *v;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL) return 0;
  bool empty = (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0) ||
               (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0) ||
               (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 0);
  if (!empty)
    return lxr_fail(err, 0, "config.json: %s.%s is not supported by lxr-runtime", where, key);
  return 0;
}

/* ---- process ---- */

static int parse_caps(json *o, struct lxr_caps *caps, lxr_error *err) {
  static const char *const keys[] = {"bounding", "effective", "permitted", "inheritable", "ambient",
                                     NULL};
  if (only_keys(o, "process.capabilities", keys, err) < 0) return -1;
  uint64_t *sets[] = {&caps->bounding, &caps->effective, &caps->permitted, &caps->inheritable,
                      &caps->ambient};
  for (size_t s = 0; s < 5; s++) {
    char **names;
    size_t n;
    if (string_array(o, "process.capabilities", keys[s], &names, &n, err) < 0) return -1;
    *sets[s] = 0;
    for (size_t i = 0; i < n; i++) {
      int cap = lxr_capability_from_name(names[i]);
      if (cap < 0)
        return lxr_fail(err, 0, "config.json: process.capabilities.%s: unknown capability %s",
                        keys[s], names[i]);
      *sets[s] |= 1ULL << cap;
      free(names[i]);
    }
    free(names);
  }
  return 0;
}

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

static int parse_rlimits(json *arr, struct lxr_process *p, lxr_error *err) {
  static const char *const keys[] = {"type", "soft", "hard", NULL};
  size_t n = json_object_array_length(arr);
  p->rlimits = lxr_calloc(n + 1, sizeof *p->rlimits);
  for (size_t i = 0; i < n; i++) {
    char where[64];
    json *r = array_object(arr, i, "process.rlimits", keys, where, sizeof where, err);
    if (!r) return -1;
    cleanup_free char *type = NULL;
    uint64_t soft = 0, hard = 0;
    if (member_string(r, where, "type", &type, err) < 0 || member_uint(r, where, "soft", &soft, err) < 0 ||
        member_uint(r, where, "hard", &hard, err) < 0)
      return -1;
    int resource = -1;
    for (size_t j = 0; type && j < sizeof rlimit_names / sizeof *rlimit_names; j++)
      if (strcmp(type, rlimit_names[j].name) == 0) resource = rlimit_names[j].resource;
    if (resource < 0)
      return lxr_fail(err, 0, "config.json: %s.type: unknown rlimit %s", where, type ? type : "(none)");
    p->rlimits[p->nrlimits++] = (struct lxr_rlimit){resource, (rlim_t)soft, (rlim_t)hard};
  }
  return 0;
}

static int parse_process(json *o, const char *where, struct lxr_process *p, lxr_error *err) {
  static const char *const keys[] = {
      "terminal",        "consoleSize",     "user",           "args",          "env",
      "cwd",             "capabilities",    "rlimits",        "noNewPrivileges", "oomScoreAdj",
      "apparmorProfile", "selinuxLabel",    NULL};
  if (only_keys(o, where, keys, err) < 0) return -1;
  if (must_be_empty(o, where, "apparmorProfile", err) < 0 ||
      must_be_empty(o, where, "selinuxLabel", err) < 0)
    return -1;
  if (member_bool(o, where, "terminal", &p->terminal, err) < 0 ||
      member_bool(o, where, "noNewPrivileges", &p->no_new_privs, err) < 0 ||
      member_string(o, where, "cwd", &p->cwd, err) < 0 ||
      string_array(o, where, "args", &p->args, NULL, err) < 0 ||
      string_array(o, where, "env", &p->env, NULL, err) < 0)
    return -1;
  if (!p->args || !p->args[0])
    return lxr_fail(err, 0, "config.json: %s.args must name the command to run", where);
  if (!p->cwd || p->cwd[0] != '/')
    return lxr_fail(err, 0, "config.json: %s.cwd must be an absolute path", where);
  if (!p->env) p->env = lxr_calloc(1, sizeof *p->env);
  int64_t oom;
  json *v;
  if (member(o, where, "oomScoreAdj", json_type_int, &v, err) < 0) return -1;
  if (v) {
    oom = json_object_get_int64(v);
    if (oom < -1000 || oom > 1000)
      return lxr_fail(err, 0, "config.json: %s.oomScoreAdj must be within -1000..1000", where);
    p->has_oom_score_adj = true;
    p->oom_score_adj = (int)oom;
  }
  if (member(o, where, "consoleSize", json_type_object, &v, err) < 0) return -1;
  if (v) {
    static const char *const size_keys[] = {"height", "width", NULL};
    uint64_t h = 0, w = 0;
    if (only_keys(v, "process.consoleSize", size_keys, err) < 0 ||
        member_uint(v, "process.consoleSize", "height", &h, err) < 0 ||
        member_uint(v, "process.consoleSize", "width", &w, err) < 0)
      return -1;
    p->rows = (unsigned short)h;
    p->cols = (unsigned short)w;
  }
  if (member(o, where, "user", json_type_object, &v, err) < 0) return -1;
  if (v) {
    static const char *const user_keys[] = {"uid", "gid", "umask", "additionalGids", NULL};
    const char *uw = "process.user";
    uint64_t uid = 0, gid = 0, umask = 0;
    if (only_keys(v, uw, user_keys, err) < 0 || member_uint(v, uw, "uid", &uid, err) < 0 ||
        member_uint(v, uw, "gid", &gid, err) < 0)
      return -1;
    json *um;
    if (member(v, uw, "umask", json_type_int, &um, err) < 0 || member_uint(v, uw, "umask", &umask, err) < 0)
      return -1;
    p->user.uid = (uid_t)uid;
    p->user.gid = (gid_t)gid;
    p->user.has_umask = um != NULL;
    p->user.umask = (mode_t)(umask & 0777);
    json *groups;
    if (member(v, uw, "additionalGids", json_type_array, &groups, err) < 0) return -1;
    if (groups) {
      p->user.ngroups = json_object_array_length(groups);
      p->user.groups = lxr_calloc(p->user.ngroups + 1, sizeof *p->user.groups);
      for (size_t i = 0; i < p->user.ngroups; i++) {
        json *g = json_object_array_get_idx(groups, i);
        if (!json_object_is_type(g, json_type_int) || json_object_get_int64(g) < 0)
          return lxr_fail(err, 0, "config.json: process.user.additionalGids[%zu] must be a gid", i);
        p->user.groups[i] = (gid_t)json_object_get_int64(g);
      }
    }
  }
  if (member(o, where, "capabilities", json_type_object, &v, err) < 0) return -1;
  if (v) {
    p->has_caps = true;
    if (parse_caps(v, &p->caps, err) < 0) return -1;
  }
  if (member(o, where, "rlimits", json_type_array, &v, err) < 0) return -1;
  if (v && parse_rlimits(v, p, err) < 0) return -1;
  return 0;
}

int lxr_process_load(struct lxr_process *p, const char *path, lxr_error *err) {
  json *o = json_object_from_file(path);
  if (!o) return lxr_fail(err, 0, "read process file %s: %s", path, json_util_get_last_err());
  if (!json_object_is_type(o, json_type_object))
    return lxr_fail(err, 0, "process file %s must hold a JSON object", path);
  memset(p, 0, sizeof *p);
  int r = parse_process(o, "process", p, err);
  json_object_put(o);
  return r;
}

/* ---- mounts ---- */

static const struct {
  const char *name;
  bool clear;
  unsigned long flag;
} mount_flags[] = {
    {"ro", false, MS_RDONLY},         {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},     {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},       {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},     {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},  {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},   {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},      {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME}, {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"defaults", false, 0},
};

static const struct {
  const char *name;
  unsigned long flag;
} propagation_flags[] = {
    {"private", MS_PRIVATE},          {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},            {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},              {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},    {"runbindable", MS_UNBINDABLE | MS_REC},
};

static int parse_mount(json *arr, size_t i, struct lxr_mount *m, lxr_error *err) {
  static const char *const keys[] = {"destination", "type", "source", "options", NULL};
  char where[64];
  json *o = array_object(arr, i, "mounts", keys, where, sizeof where, err);
  if (!o || member_string(o, where, "destination", &m->destination, err) < 0 ||
      member_string(o, where, "type", &m->type, err) < 0 ||
      member_string(o, where, "source", &m->source, err) < 0)
    return -1;
  if (!m->destination || m->destination[0] != '/')
    return lxr_fail(err, 0, "config.json: %s.destination must be an absolute path", where);
  if (strstr(m->destination, "/../") || strcmp(m->destination + strlen(m->destination) - 3, "/..") == 0)
    return lxr_fail(err, 0, "config.json: %s.destination %s must not contain ..", where, m->destination);
  char **options;
  size_t n;
  if (string_array(o, where, "options", &options, &n, err) < 0) return -1;
  size_t data_len = 1;
  for (size_t j = 0; j < n; j++) data_len += strlen(options[j]) + 1;
  m->data = lxr_calloc(data_len, 1);
  for (size_t j = 0; j < n; j++) {
    const char *opt = options[j];
    bool done = false;
    for (size_t k = 0; k < sizeof mount_flags / sizeof *mount_flags && !done; k++)
      if (strcmp(opt, mount_flags[k].name) == 0) {
        if (mount_flags[k].clear)
          m->flags &= ~mount_flags[k].flag;
        else
          m->flags |= mount_flags[k].flag;
        done = true;
      }
    for (size_t k = 0; k < sizeof propagation_flags / sizeof *propagation_flags && !done; k++)
      if (strcmp(opt, propagation_flags[k].name) == 0) {
        m->propagation = propagation_flags[k].flag;
        done = true;
      }
    if (!done && (strcmp(opt, "bind") == 0 || strcmp(opt, "rbind") == 0)) {
      m->bind = true;
      m->recursive = opt[0] == 'r';
      done = true;
    }
    if (!done && (strcmp(opt, "tmpcopyup") == 0 || strncmp(opt, "idmap", 5) == 0 ||
                  strncmp(opt, "ridmap", 6) == 0 || strncmp(opt, "rro", 3) == 0 ||
                  strncmp(opt, "rrw", 3) == 0 || strncmp(opt, "rnosuid", 7) == 0 ||
                  strncmp(opt, "rnodev", 6) == 0 || strncmp(opt, "rnoexec", 7) == 0))
      return lxr_fail(err, 0, "config.json: %s.options: %s is not supported by lxr-runtime", where, opt);
    if (!done) {
      if (*m->data) strcat(m->data, ",");
      strcat(m->data, opt);
    }
    free(options[j]);
  }
  free(options);
  if (!m->type) m->type = lxr_strdup(m->bind ? "bind" : "none");
  if (strcmp(m->type, "bind") == 0) m->bind = true;
  if (m->bind && (!m->source || m->source[0] == '\0'))
    return lxr_fail(err, 0, "config.json: %s: a bind mount needs a source", where);
  return 0;
}

/* ---- linux ---- */

static const struct {
  const char *name;
  int flag;
} namespace_types[] = {
    {"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
    {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},     {"user", CLONE_NEWUSER},
    {"cgroup", CLONE_NEWCGROUP},
};

struct lxr_namespace *lxr_spec_namespace(struct lxr_spec *spec, int type) {
  for (size_t i = 0; i < spec->nnamespaces; i++)
    if (spec->namespaces[i].type == type) return &spec->namespaces[i];
  return NULL;
}

static int parse_namespaces(json *arr, struct lxr_spec *spec, lxr_error *err) {
  static const char *const keys[] = {"type", "path", NULL};
  size_t n = json_object_array_length(arr);
  spec->namespaces = lxr_calloc(n + 1, sizeof *spec->namespaces);
  for (size_t i = 0; i < n; i++) {
    char where[64];
    json *o = array_object(arr, i, "linux.namespaces", keys, where, sizeof where, err);
    cleanup_free char *type = NULL;
    char *path = NULL;
    if (!o || member_string(o, where, "type", &type, err) < 0 ||
        member_string(o, where, "path", &path, err) < 0)
      return -1;
    int flag = 0;
    for (size_t k = 0; type && k < sizeof namespace_types / sizeof *namespace_types; k++)
      if (strcmp(type, namespace_types[k].name) == 0) flag = namespace_types[k].flag;
    if (!flag)
      return lxr_fail(err, 0, "config.json: %s.type: namespace %s is not supported by lxr-runtime",
                      where, type ? type : "(none)");
    if (lxr_spec_namespace(spec, flag))
      return lxr_fail(err, 0, "config.json: %s: the %s namespace is listed twice", where, type);
    if (path && *path == '\0') {
      free(path);
      path = NULL;
    }
    if (path && flag != CLONE_NEWNET)
      return lxr_fail(err, 0,
                      "config.json: %s.path: joining an existing %s namespace is not supported by "
                      "lxr-runtime (only network)",
                      where, type);
    spec->namespaces[spec->nnamespaces++] = (struct lxr_namespace){flag, path};
  }
  return 0;
}

static int parse_idmaps(json *arr, const char *where, struct lxr_idmap **out, size_t *n,
                        lxr_error *err) {
  static const char *const keys[] = {"containerID", "hostID", "size", NULL};
  *n = json_object_array_length(arr);
  *out = lxr_calloc(*n + 1, sizeof **out);
  for (size_t i = 0; i < *n; i++) {
    char w[64];
    json *o = array_object(arr, i, where, keys, w, sizeof w, err);
    uint64_t c = 0, h = 0, s = 0;
    if (!o || member_uint(o, w, "containerID", &c, err) < 0 ||
        member_uint(o, w, "hostID", &h, err) < 0 || member_uint(o, w, "size", &s, err) < 0)
      return -1;
    if (s == 0 || c > UINT32_MAX || h > UINT32_MAX || s > UINT32_MAX)
      return lxr_fail(err, 0, "config.json: %s is not a valid id mapping", w);
    (*out)[i] = (struct lxr_idmap){(uint32_t)c, (uint32_t)h, (uint32_t)s};
  }
  return 0;
}

static int parse_device_rules(json *arr, struct lxr_resources *r, lxr_error *err) {
  static const char *const keys[] = {"allow", "type", "major", "minor", "access", NULL};
  size_t n = json_object_array_length(arr);
  r->device_rules = lxr_calloc(n + 1, sizeof *r->device_rules);
  for (size_t i = 0; i < n; i++) {
    char w[64];
    json *o = array_object(arr, i, "linux.resources.devices", keys, w, sizeof w, err);
    struct lxr_device_rule *d = &r->device_rules[i];
    cleanup_free char *type = NULL, *access = NULL;
    d->major = d->minor = -1;
    if (!o || member_bool(o, w, "allow", &d->allow, err) < 0 ||
        member_string(o, w, "type", &type, err) < 0 || member_int(o, w, "major", &d->major, err) < 0 ||
        member_int(o, w, "minor", &d->minor, err) < 0 || member_string(o, w, "access", &access, err) < 0)
      return -1;
    d->type = type && *type ? type[0] : 'a';
    if (strchr("acb", d->type) == NULL || (type && strlen(type) > 1))
      return lxr_fail(err, 0, "config.json: %s.type must be a, c or b", w);
    if (!access || !*access) {
      free(access);
      access = lxr_strdup("rwm");
    }
    if (strlen(access) > 3 || strspn(access, "rwm") != strlen(access))
      return lxr_fail(err, 0, "config.json: %s.access must be made of r, w and m", w);
    strcpy(d->access, access);
  }
  r->ndevice_rules = n;
  return 0;
}

static int parse_resources(json *o, struct lxr_resources *r, lxr_error *err) {
  static const char *const keys[] = {"devices", "memory", "cpu", "pids", "blockIO",
                                     "hugepageLimits", "network", "rdma", "unified", NULL};
  const char *w = "linux.resources";
  if (only_keys(o, w, keys, err) < 0 || must_be_empty(o, w, "blockIO", err) < 0 ||
      must_be_empty(o, w, "hugepageLimits", err) < 0 || must_be_empty(o, w, "network", err) < 0 ||
      must_be_empty(o, w, "rdma", err) < 0 || must_be_empty(o, w, "unified", err) < 0)
    return -1;
  json *v;
  if (member(o, w, "devices", json_type_array, &v, err) < 0) return -1;
  if (v && parse_device_rules(v, r, err) < 0) return -1;
  if (member(o, w, "memory", json_type_object, &v, err) < 0) return -1;
  if (v) {
    static const char *const mk[] = {"limit", "reservation", "swap", "useHierarchy", NULL};
    if (only_keys(v, "linux.resources.memory", mk, err) < 0 ||
        member_int(v, "linux.resources.memory", "limit", &r->memory_limit, err) < 0 ||
        member_int(v, "linux.resources.memory", "reservation", &r->memory_reservation, err) < 0 ||
        member_int(v, "linux.resources.memory", "swap", &r->memory_swap, err) < 0)
      return -1;
    if (r->memory_limit != LXR_UNSET && r->memory_limit != -1 && r->memory_swap != LXR_UNSET &&
        r->memory_swap != -1 && r->memory_swap < r->memory_limit)
      return lxr_fail(err, 0, "config.json: linux.resources.memory.swap (memory+swap) must not be "
                              "less than memory.limit");
  }
  if (member(o, w, "cpu", json_type_object, &v, err) < 0) return -1;
  if (v) {
    static const char *const ck[] = {"shares", "quota", "period", "cpus", "mems", NULL};
    const char *cw = "linux.resources.cpu";
    if (only_keys(v, cw, ck, err) < 0 || must_be_empty(v, cw, "cpus", err) < 0 ||
        must_be_empty(v, cw, "mems", err) < 0 || member_int(v, cw, "shares", &r->cpu_shares, err) < 0 ||
        member_int(v, cw, "quota", &r->cpu_quota, err) < 0 ||
        member_int(v, cw, "period", &r->cpu_period, err) < 0)
      return -1;
  }
  if (member(o, w, "pids", json_type_object, &v, err) < 0) return -1;
  if (v) {
    static const char *const pk[] = {"limit", NULL};
    if (only_keys(v, "linux.resources.pids", pk, err) < 0 ||
        member_int(v, "linux.resources.pids", "limit", &r->pids_limit, err) < 0)
      return -1;
  }
  return 0;
}

static int parse_devices(json *arr, struct lxr_spec *spec, lxr_error *err) {
  static const char *const keys[] = {"path", "type", "major", "minor", "fileMode", "uid", "gid", NULL};
  size_t n = json_object_array_length(arr);
  spec->devices = lxr_calloc(n + 1, sizeof *spec->devices);
  for (size_t i = 0; i < n; i++) {
    char w[64];
    json *o = array_object(arr, i, "linux.devices", keys, w, sizeof w, err);
    struct lxr_device *d = &spec->devices[i];
    cleanup_free char *type = NULL;
    int64_t mode = 0666, uid = 0, gid = 0;
    if (!o || member_string(o, w, "path", &d->path, err) < 0 ||
        member_string(o, w, "type", &type, err) < 0 || member_int(o, w, "major", &d->major, err) < 0 ||
        member_int(o, w, "minor", &d->minor, err) < 0 || member_int(o, w, "fileMode", &mode, err) < 0 ||
        member_int(o, w, "uid", &uid, err) < 0 || member_int(o, w, "gid", &gid, err) < 0)
      return -1;
    if (!d->path || d->path[0] != '/' || !type || strlen(type) != 1 || !strchr("cbup", type[0]))
      return lxr_fail(err, 0, "config.json: %s needs an absolute path and a type c, b, u or p", w);
    d->type = type[0] == 'u' ? 'c' : type[0];
    d->mode = (mode_t)mode & 07777;
    d->uid = (uid_t)uid;
    d->gid = (gid_t)gid;
  }
  spec->ndevices = n;
  return 0;
}

static int parse_linux(json *o, struct lxr_spec *spec, lxr_error *err) {
  static const char *const keys[] = {
      "uidMappings",   "gidMappings",   "namespaces", "resources",  "cgroupsPath",
      "maskedPaths",   "readonlyPaths", "seccomp",    "sysctl",     "devices",
      "rootfsPropagation", "mountLabel", "intelRdt",  "personality", "timeOffsets",
      NULL};
  const char *w = "linux";
  if (only_keys(o, w, keys, err) < 0 || must_be_empty(o, w, "mountLabel", err) < 0 ||
      must_be_empty(o, w, "intelRdt", err) < 0 || must_be_empty(o, w, "personality", err) < 0 ||
      must_be_empty(o, w, "timeOffsets", err) < 0)
    return -1;
  json *v;
  if (member(o, w, "namespaces", json_type_array, &v, err) < 0) return -1;
  if (v && parse_namespaces(v, spec, err) < 0) return -1;
  if (member(o, w, "uidMappings", json_type_array, &v, err) < 0) return -1;
  if (v && parse_idmaps(v, "linux.uidMappings", &spec->uid_maps, &spec->nuid_maps, err) < 0) return -1;
  if (member(o, w, "gidMappings", json_type_array, &v, err) < 0) return -1;
  if (v && parse_idmaps(v, "linux.gidMappings", &spec->gid_maps, &spec->ngid_maps, err) < 0) return -1;
  bool userns = lxr_spec_namespace(spec, CLONE_NEWUSER) != NULL;
  if (userns && (spec->nuid_maps == 0 || spec->ngid_maps == 0))
    return lxr_fail(err, 0, "config.json: a user namespace needs linux.uidMappings and linux.gidMappings");
  if (!userns && (spec->nuid_maps || spec->ngid_maps))
    return lxr_fail(err, 0, "config.json: linux.uidMappings need a user namespace in linux.namespaces");
  if (member(o, w, "resources", json_type_object, &v, err) < 0) return -1;
  if (v && parse_resources(v, &spec->resources, err) < 0) return -1;
  cleanup_free char *cgroups_path = NULL;
  if (member_string(o, w, "cgroupsPath", &cgroups_path, err) < 0) return -1;
  if (cgroups_path && *cgroups_path) {
    const char *p = cgroups_path;
    while (*p == '/') p++;
    if (strchr(p, ':'))
      return lxr_fail(err, 0, "config.json: linux.cgroupsPath %s: systemd slices are not supported "
                              "by lxr-runtime; use a path like /lxr/ID", cgroups_path);
    if (strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 || strstr(p, "/../") ||
        (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0) || *p == '\0')
      return lxr_fail(err, 0, "config.json: linux.cgroupsPath %s is not a cgroup below the root",
                      cgroups_path);
    spec->cgroups_path = lxr_strdup(cgroups_path); /* a relative path is below the runtime's own cgroup */
  }
  if (string_array(o, w, "maskedPaths", &spec->masked_paths, &spec->nmasked_paths, err) < 0 ||
      string_array(o, w, "readonlyPaths", &spec->readonly_paths, &spec->nreadonly_paths, err) < 0)
    return -1;
  if (member(o, w, "sysctl", json_type_object, &v, err) < 0) return -1;
  if (v) {
    spec->sysctls = lxr_calloc((size_t)json_object_object_length(v) + 1, sizeof *spec->sysctls);
    json_object_object_foreach(v, key, val) {
      if (!json_object_is_type(val, json_type_string))
        return lxr_fail(err, 0, "config.json: linux.sysctl.%s must be a string", key);
      if (strstr(key, "..") || strchr(key, '/') == key)
        return lxr_fail(err, 0, "config.json: linux.sysctl.%s is not a sysctl name", key);
      spec->sysctls[spec->nsysctls++] =
          (struct lxr_sysctl){lxr_strdup(key), lxr_strdup(json_object_get_string(val))};
    }
  }
  if (member(o, w, "devices", json_type_array, &v, err) < 0) return -1;
  if (v && parse_devices(v, spec, err) < 0) return -1;
  cleanup_free char *propagation = NULL;
  if (member_string(o, w, "rootfsPropagation", &propagation, err) < 0) return -1;
  spec->rootfs_propagation = MS_PRIVATE | MS_REC;
  if (propagation && *propagation) {
    bool found = false;
    for (size_t k = 0; k < sizeof propagation_flags / sizeof *propagation_flags; k++)
      if (strcmp(propagation, propagation_flags[k].name) == 0) {
        spec->rootfs_propagation = propagation_flags[k].flag;
        found = true;
      }
    if (!found)
      return lxr_fail(err, 0, "config.json: linux.rootfsPropagation %s is unknown", propagation);
  }
  if (member(o, w, "seccomp", json_type_object, &v, err) < 0) return -1;
  if (v && lxr_seccomp_compile(spec, v, err) < 0) return -1;
  return 0;
}

int lxr_spec_load(struct lxr_spec *spec, const char *bundle, const char *config_path, lxr_error *err) {
  memset(spec, 0, sizeof *spec);
  spec->resources = (struct lxr_resources){.memory_limit = LXR_UNSET,
                                           .memory_swap = LXR_UNSET,
                                           .memory_reservation = LXR_UNSET,
                                           .cpu_quota = LXR_UNSET,
                                           .cpu_period = LXR_UNSET,
                                           .cpu_shares = LXR_UNSET,
                                           .pids_limit = LXR_UNSET};
  char real_bundle[PATH_MAX];
  if (!realpath(bundle, real_bundle)) return lxr_fail(err, errno, "bundle %s", bundle);
  spec->bundle = lxr_strdup(real_bundle);
  char path[PATH_MAX];
  cleanup_free char *root = NULL;
  if (!config_path) {
    snprintf(path, sizeof path, "%s/config.json", real_bundle);
    config_path = path;
  }
  json *o = json_object_from_file(config_path);
  if (!o) return lxr_fail(err, 0, "read %s: %s", config_path, json_util_get_last_err());
  int r = -1;
  if (!json_object_is_type(o, json_type_object)) {
    lxr_fail(err, 0, "%s must hold a JSON object", config_path);
    goto out;
  }
  static const char *const keys[] = {"ociVersion", "process", "root", "hostname", "domainname",
                                     "mounts", "linux", "annotations", "hooks", NULL};
  if (only_keys(o, "", keys, err) < 0 || must_be_empty(o, "config", "hooks", err) < 0) goto out;
  json *v;
  if (member(o, "", "ociVersion", json_type_string, &v, err) < 0) goto out;
  if (!v || strncmp(json_object_get_string(v), "1.", 2) != 0) {
    lxr_fail(err, 0, "config.json: ociVersion must be 1.x, not %s", v ? json_object_get_string(v) : "missing");
    goto out;
  }
  if (member(o, "", "process", json_type_object, &v, err) < 0) goto out;
  if (!v) {
    lxr_fail(err, 0, "config.json: process is missing");
    goto out;
  }
  if (parse_process(v, "process", &spec->process, err) < 0) goto out;
  if (member(o, "", "root", json_type_object, &v, err) < 0) goto out;
  if (!v) {
    lxr_fail(err, 0, "config.json: root is missing");
    goto out;
  }
  static const char *const root_keys[] = {"path", "readonly", NULL};
  if (only_keys(v, "root", root_keys, err) < 0 || member_string(v, "root", "path", &root, err) < 0 ||
      member_bool(v, "root", "readonly", &spec->root_readonly, err) < 0)
    goto out;
  if (!root || !*root) {
    lxr_fail(err, 0, "config.json: root.path is missing");
    goto out;
  }
  char root_abs[PATH_MAX];
  snprintf(path, sizeof path, "%s%s%s", root[0] == '/' ? "" : real_bundle, root[0] == '/' ? "" : "/", root);
  if (!realpath(path, root_abs)) {
    lxr_fail(err, errno, "root filesystem %s", path);
    goto out;
  }
  spec->root_path = lxr_strdup(root_abs);
  if (member_string(o, "", "hostname", &spec->hostname, err) < 0 ||
      member_string(o, "", "domainname", &spec->domainname, err) < 0)
    goto out;
  if (member(o, "", "mounts", json_type_array, &v, err) < 0) goto out;
  if (v) {
    spec->nmounts = json_object_array_length(v);
    spec->mounts = lxr_calloc(spec->nmounts + 1, sizeof *spec->mounts);
    for (size_t i = 0; i < spec->nmounts; i++)
      if (parse_mount(v, i, &spec->mounts[i], err) < 0) goto out;
  }
  if (member(o, "", "linux", json_type_object, &v, err) < 0) goto out;
  if (!v) {
    lxr_fail(err, 0, "config.json: linux is missing");
    goto out;
  }
  if (parse_linux(v, spec, err) < 0) goto out;
  if (!lxr_spec_namespace(spec, CLONE_NEWNS)) {
    lxr_fail(err, 0, "config.json: linux.namespaces must include a mount namespace");
    goto out;
  }
  if ((spec->hostname && *spec->hostname) && !lxr_spec_namespace(spec, CLONE_NEWUTS)) {
    lxr_fail(err, 0, "config.json: a hostname needs a uts namespace");
    goto out;
  }
  r = 0;
out:
  json_object_put(o);
  return r;
}

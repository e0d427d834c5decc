/* lxr-runtime: an OCI runtime with runc's command shape. Shared types and the library's interface. */
#ifndef LXR_RUNTIME_H
#define LXR_RUNTIME_H

#include <json-c/json.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "../common/error.h"
#include "../common/sys.h"

#define LXR_DEFAULT_ROOT "/run/lxr-runtime"

/* ---- config.json, parsed and validated (spec.c) ---- */

struct lxr_mount {
  char *destination; /* absolute, inside the container */
  char *type;        /* "bind" for bind mounts (also when only the options say bind) */
  char *source;
  unsigned long flags;       /* MS_* applied at mount time */
  unsigned long propagation; /* MS_PRIVATE, MS_SLAVE, ... (with MS_REC), 0 for none */
  bool bind, recursive;
  char *data; /* the options that are not flags, comma separated */
};

struct lxr_idmap {
  uint32_t container_id, host_id, size;
};

struct lxr_rlimit {
  int resource;
  rlim_t soft, hard;
};

struct lxr_caps {
  uint64_t bounding, effective, permitted, inheritable, ambient;
};

struct lxr_user {
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t ngroups;
  bool has_umask;
  mode_t umask;
};

struct lxr_process {
  bool terminal;
  struct lxr_user user;
  char **args; /* NULL-terminated */
  char **env;  /* NULL-terminated */
  char *cwd;
  bool has_caps;
  struct lxr_caps caps;
  struct lxr_rlimit *rlimits;
  size_t nrlimits;
  bool no_new_privs;
  bool has_oom_score_adj;
  int oom_score_adj;
  unsigned short rows, cols; /* consoleSize, 0 when unset */
};

/* One namespace the container gets: a new one (path NULL) or the one at path. */
struct lxr_namespace {
  int type; /* CLONE_NEW* */
  char *path;
};

struct lxr_device_rule {
  bool allow;
  char type;          /* 'a', 'c' or 'b' */
  int64_t major, minor; /* -1 for any */
  char access[4];
};

struct lxr_device {
  char *path;
  char type; /* 'c', 'b', 'p' ('u' is 'c') */
  int64_t major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

#define LXR_UNSET INT64_MIN

struct lxr_resources {
  int64_t memory_limit, memory_swap, memory_reservation; /* bytes, -1 unlimited, LXR_UNSET */
  int64_t cpu_quota;                                      /* µs per period, -1 unlimited */
  int64_t cpu_period, cpu_shares;
  int64_t pids_limit; /* <= 0 unlimited */
  struct lxr_device_rule *device_rules;
  size_t ndevice_rules;
};

struct lxr_sysctl {
  char *key, *value;
};

struct lxr_spec {
  char *bundle;    /* absolute */
  char *root_path; /* absolute */
  bool root_readonly;
  char *hostname, *domainname;
  struct lxr_process process;
  struct lxr_mount *mounts;
  size_t nmounts;
  struct lxr_namespace *namespaces;
  size_t nnamespaces;
  struct lxr_idmap *uid_maps, *gid_maps;
  size_t nuid_maps, ngid_maps;
  struct lxr_resources resources;
  char *cgroups_path; /* absolute: below each hierarchy's root; relative: below the runtime's cgroup */
  char **masked_paths, **readonly_paths;
  size_t nmasked_paths, nreadonly_paths;
  struct lxr_sysctl *sysctls;
  size_t nsysctls;
  struct lxr_device *devices;
  size_t ndevices;
  unsigned long rootfs_propagation; /* MS_* | MS_REC */
  /* linux.seccomp compiled to a BPF program at create (NULL without): loaded just before exec */
  struct sock_filter *seccomp;
  unsigned short seccomp_len;
};

/* Parses and validates config.json of the bundle; refuses fields lxr-runtime does not implement. */
int lxr_spec_load(struct lxr_spec *spec, const char *bundle, const char *config_path, lxr_error *err);
/* Parses an OCI "process" object (exec --process) into p, with defaults from base. */
int lxr_process_load(struct lxr_process *p, const char *path, lxr_error *err);
/* Whether the spec asks for a new (or joined) namespace of this CLONE_NEW* type. */
struct lxr_namespace *lxr_spec_namespace(struct lxr_spec *spec, int type);
int lxr_capability_from_name(const char *name);
int lxr_signal_from_name(const char *name);
int lxr_seccomp_compile(struct lxr_spec *spec, struct json_object *seccomp, lxr_error *err);
/* Installs spec->seccomp in the calling process. */
int lxr_seccomp_load(const struct lxr_spec *spec, lxr_error *err);
/* Where compiled filters are kept by their exact profile (the runtime's --root), NULL for none. */
extern const char *lxr_seccomp_cache_dir;

/* ---- cgroups v1 and v2 behind one interface (cgroup.c) ---- */

struct lxr_cgroup;
/* Creates the cgroup at path (relative to the hierarchy roots) in every hierarchy and applies res. */
int lxr_cgroup_create(const char *path, const struct lxr_resources *res, struct lxr_cgroup **out,
                      lxr_error *err);
/* Opens an existing cgroup for joining/removal (exec, delete). */
int lxr_cgroup_open(const char *path, struct lxr_cgroup **out, lxr_error *err);
int lxr_cgroup_add(struct lxr_cgroup *cg, pid_t pid, lxr_error *err);
/* Sends sig to every process in the cgroup. */
int lxr_cgroup_signal(struct lxr_cgroup *cg, int sig, lxr_error *err);
/* Kills every process still in the cgroup and removes its directories. */
int lxr_cgroup_destroy(struct lxr_cgroup *cg, lxr_error *err);
void lxr_cgroup_free(struct lxr_cgroup *cg);
/* Mounts the cgroup hierarchies read-only at target (a path on the host side of the rootfs). */
int lxr_cgroup_mount(struct lxr_cgroup *cg, const char *target, unsigned long flags, lxr_error *err);
bool lxr_cgroup_is_unified(void);
/* Enforces res->device_rules on a cgroup2 directory with a BPF device program (devices-bpf.c). */
int lxr_devices_bpf_attach(const char *cgroup_dir, const struct lxr_resources *res, lxr_error *err);

/* ---- the container's root filesystem (mounts.c) ---- */

/* In the container's fresh mount namespace: mounts, devices, pivot_root, masked/readonly paths. */
int lxr_rootfs_setup(struct lxr_spec *spec, struct lxr_cgroup *cg, bool in_userns, lxr_error *err);

/* ---- process security (security.c) ---- */

int lxr_apply_rlimits(const struct lxr_process *p, lxr_error *err);
/* Drops the bounding set, switches user and groups, sets the capability sets. */
int lxr_apply_user_and_caps(const struct lxr_process *p, lxr_error *err);
/* chdir to cwd and verify it is inside the container's root (CVE-2024-21626). */
int lxr_enter_cwd(const char *cwd, lxr_error *err);
/* Creates a missing working directory (as runc does) while the process is still root. */
int lxr_prepare_cwd(const char *cwd, lxr_error *err);
/* Loads the seccomp filter now if it cannot wait for no_new_privs (it needs CAP_SYS_ADMIN then). */
int lxr_seccomp_early(struct lxr_spec *spec, const struct lxr_process *p, lxr_error *err);
/* Resolves args[0] through PATH of env, inside the current root. */
int lxr_find_executable(const struct lxr_process *p, char *out, size_t len, lxr_error *err);
/* The final steps before exec, after which no error can be reported: no_new_privs, fds, seccomp. */
int lxr_finalize_and_exec(struct lxr_spec *spec, const struct lxr_process *p, const char *exe,
                          lxr_error *err);
/* Allocates a pty in the container's devpts, sends the master over sock, makes the slave the stdio. */
int lxr_setup_console(int sock, const struct lxr_process *p, lxr_error *err);
/* Re-executes the runtime from a sealed memfd copy unless it already runs from one (CVE-2019-5736). */
int lxr_ensure_sealed_exe(char **argv, lxr_error *err);

/* ---- container state (state.c) ---- */

struct lxr_state {
  char id[256];
  char dir[4096];    /* root/id */
  char bundle[4096];
  char cgroup[4096]; /* cgroupsPath used */
  pid_t pid;
  unsigned long long start_time; /* of pid, from /proc/pid/stat: detects pid reuse */
  char created[64];
};

enum lxr_status { LXR_CREATED, LXR_RUNNING, LXR_STOPPED };

int lxr_state_load(const char *root, const char *id, struct lxr_state *st, lxr_error *err);
int lxr_state_save(const struct lxr_state *st, lxr_error *err);
enum lxr_status lxr_state_status(const struct lxr_state *st);
const char *lxr_status_name(enum lxr_status s);
unsigned long long lxr_proc_start_time(pid_t pid);
/* A pidfd for the container's init, or -1 with errno ESRCH when it is gone (or the pid reused). */
int lxr_state_pidfd(const struct lxr_state *st);
int lxr_valid_id(const char *id, lxr_error *err);

/* ---- small helpers (util.c) ---- */

int lxr_write_file(const char *path, const char *data, lxr_error *err);
int lxr_write_file_at(int dirfd, const char *name, const char *data, lxr_error *err);
int lxr_mkdir_p(const char *path, mode_t mode, lxr_error *err);
char *lxr_strdup(const char *s);
void *lxr_calloc(size_t n, size_t size);
int lxr_send_fd(int sock, int fd, const char *name, lxr_error *err);
/* Closes every descriptor above 2 except the listed ones (sorted in place; -1 entries ignored). */
void lxr_close_except(int *keep, size_t n);
/* A connected unix stream socket (the console socket), close-on-exec. */
int lxr_connect_unix(const char *path, lxr_error *err);
/* Writes pid to path atomically (temp file + rename). */
int lxr_write_pid_file(const char *path, pid_t pid, lxr_error *err);
ssize_t lxr_read_all(int fd, char *buf, size_t len);

/* ---- commands (create.c, exec.c, commands.c) ---- */

struct lxr_create_opts {
  const char *root, *id, *bundle, *pid_file, *console_socket;
  pid_t *init_pid; /* run: set to the init's pid, which stays this process's child */
};
int lxr_cmd_create(const struct lxr_create_opts *o, lxr_error *err);
int lxr_cmd_start(const char *root, const char *id, lxr_error *err);
int lxr_cmd_state(const char *root, const char *id, lxr_error *err);
/* all: every process in the container's cgroup (exec'd ones too), not only its init. */
int lxr_cmd_kill(const char *root, const char *id, const char *signal, bool all, lxr_error *err);
int lxr_cmd_delete(const char *root, const char *id, bool force, lxr_error *err);

struct lxr_exec_opts {
  const char *root, *id, *process_file, *console_socket, *pid_file, *cwd, *user;
  const char **env;
  size_t nenv;
  char **args;
  bool tty, detach;
};
/* Returns the exit status of the process when not detached. */
int lxr_cmd_exec(const struct lxr_exec_opts *o, int *status, lxr_error *err);

#endif

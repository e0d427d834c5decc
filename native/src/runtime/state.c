/* A container's state on disk: ROOT/ID/state.json (pid, its start time, bundle, cgroup),
 * ROOT/ID/config.json (the config it was created with, for exec) and ROOT/ID/exec.fifo, which exists
 * from create until start. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "runtime.h"

int lxr_valid_id(const char *id, lxr_error *err) {
  size_t n = strlen(id);
  if (n == 0 || n > 200 || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.") != n ||
      id[0] == '.')
    return lxr_fail(err, 0, "invalid container id '%s' (letters, digits, _ + - . only)", id);
  return 0;
}

unsigned long long lxr_proc_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n <= 0) return 0;
  buf[n] = '\0';
  /* after "pid (comm) ": state is field 3, starttime field 22; comm may hold spaces and ')' */
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  char state;
  unsigned long long start;
  if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state,
             &start) != 2)
    return 0;
  return state == 'Z' || state == 'X' ? 0 : start;
}

int lxr_state_save(const struct lxr_state *st, lxr_error *err) {
  struct json_object *o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(st->id));
  json_object_object_add(o, "pid", json_object_new_int(st->pid));
  json_object_object_add(o, "startTime", json_object_new_uint64(st->start_time));
  json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
  json_object_object_add(o, "cgroupsPath", json_object_new_string(st->cgroup));
  json_object_object_add(o, "created", json_object_new_string(st->created));
  char tmp[4200], path[4200];
  snprintf(tmp, sizeof tmp, "%s/state.json.tmp", st->dir);
  snprintf(path, sizeof path, "%s/state.json", st->dir);
  int r = json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PLAIN);
  json_object_put(o);
  if (r < 0) return lxr_fail(err, errno, "write %s", tmp);
  if (rename(tmp, path) < 0) return lxr_fail(err, errno, "rename %s", tmp);
  return 0;
}

int lxr_state_load(const char *root, const char *id, struct lxr_state *st, lxr_error *err) {
  if (lxr_valid_id(id, err) < 0) return -1;
  memset(st, 0, sizeof *st);
  snprintf(st->id, sizeof st->id, "%s", id);
  snprintf(st->dir, sizeof st->dir, "%s/%s", root, id);
  char path[4200];
  snprintf(path, sizeof path, "%s/state.json", st->dir);
  if (access(path, F_OK) < 0) return lxr_fail(err, 0, "container %s does not exist", id);
  struct json_object *o = json_object_from_file(path), *v;
  if (!o) return lxr_fail(err, 0, "read %s: %s", path, json_util_get_last_err());
  if (json_object_object_get_ex(o, "pid", &v)) st->pid = json_object_get_int(v);
  if (json_object_object_get_ex(o, "startTime", &v)) st->start_time = json_object_get_uint64(v);
  if (json_object_object_get_ex(o, "bundle", &v)) snprintf(st->bundle, sizeof st->bundle, "%s", json_object_get_string(v));
  if (json_object_object_get_ex(o, "cgroupsPath", &v))
    snprintf(st->cgroup, sizeof st->cgroup, "%s", json_object_get_string(v));
  if (json_object_object_get_ex(o, "created", &v))
    snprintf(st->created, sizeof st->created, "%s", json_object_get_string(v));
  json_object_put(o);
  return 0;
}

int lxr_state_pidfd(const struct lxr_state *st) {
  int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
  if (fd < 0) return -1;
  /* The pidfd pins the process; its start time tells whether the pid is still our init's. */
  if (lxr_proc_start_time(st->pid) != st->start_time) {
    close(fd);
    errno = ESRCH;
    return -1;
  }
  return fd;
}

enum lxr_status lxr_state_status(const struct lxr_state *st) {
  int fd = lxr_state_pidfd(st);
  if (fd < 0) return LXR_STOPPED;
  close(fd);
  char fifo[4200];
  snprintf(fifo, sizeof fifo, "%s/exec.fifo", st->dir);
  return access(fifo, F_OK) == 0 ? LXR_CREATED : LXR_RUNNING;
}

const char *lxr_status_name(enum lxr_status s) {
  return s == LXR_CREATED ? "created" : s == LXR_RUNNING ? "running" : "stopped";
}

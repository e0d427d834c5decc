/* lxr-monitor: the per-container supervisor (like podman's conmon) and the exec session proxy. */
#ifndef LXR_MONITOR_H
#define LXR_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Frame types of the attach socket and of exec mode's stdin/stdout (see native-contract). */
enum {
  FRAME_STDIN = 0,
  FRAME_RESIZE = 1,
  FRAME_CLOSE_STDIN = 2,
  FRAME_SIGNAL = 4,
  FRAME_STDOUT = 1,
  FRAME_STDERR = 2,
  FRAME_EXIT = 3,
};

/* Incremental decoder of `[u8 type][u32 be length][payload]` frames: stdin payloads are passed on
 * as they arrive (they can be large), the small control payloads are collected first. */
struct frame_reader {
  uint8_t hdr[5];
  size_t hdr_got;
  uint8_t type;
  uint32_t remaining;
  uint8_t small[8];
  size_t small_got;
};

struct frame_sink {
  int stdin_fd;   /* where stdin payloads go; -1 once closed */
  int console_fd; /* pty master for resizes; -1 without a tty */
  pid_t signal_pid; /* exec mode: target of FRAME_SIGNAL; 0 ignores it */
};

/* Feeds bytes read from a client; returns -1 on a malformed stream (the client is dropped). */
int frame_feed(struct frame_reader *r, struct frame_sink *sink, const uint8_t *buf, size_t len);

/* Writes one whole frame to fd (blocking); -1 when the peer is gone. */
int frame_write(int fd, uint8_t type, const void *payload, size_t len);

/* Docker json-file log with size rotation. */
struct log_stream {
  char line[16384];
  size_t len;
};
struct log_file {
  int fd;
  const char *path;
  off_t size, max_size;
  int max_files;
  struct log_stream out, err;
};
int log_open(struct log_file *log);
/* Splits `buf` into lines (16 KiB at most) and appends them; rotates past max_size. */
void log_write(struct log_file *log, int stream, const char *buf, size_t len);
/* Writes what is left of unterminated lines. */
void log_flush(struct log_file *log);

/* Appends s as a JSON string body (no quotes), replacing invalid UTF-8 with U+FFFD; returns the
 * length written, or the length needed when out is too small. */
size_t json_escape(char *out, size_t cap, const char *s, size_t len);

/* The exit JSON: {"exitCode":N,"signal":"SIGKILL"|null,"oomKilled":B,"finishedAt":"…"}. */
size_t format_exit(char *buf, size_t size, int status, bool oom_killed);

/* Forks and execs argv with the given stdio (-1 = /dev/null), every other fd closed and the
 * signal mask cleared. Returns the pid, or -1. */
pid_t spawn_with_stdio(char *const argv[], int in, int out, int err);

/* A unix listening socket at path (mode 0600), non-blocking, close-on-exec. */
int listen_unix(const char *path);

/* Reads a small text file whole into buf (NUL-terminated); -1 on error. */
ssize_t read_small_file(const char *path, char *buf, size_t size);
/* Writes a file atomically (path.tmp + rename). */
int write_file_atomic(const char *path, const char *data, size_t len);

/* The cgroup's oom_kill counter (v2 memory.events or v1 memory.oom_control); -1 when unknown. */
long read_oom_kills(const char *cgroup_dir);

/* Reads whatever is available in a non-blocking fd into buf; returns the length. */
size_t drain_fd(int fd, char *buf, size_t size);

/* Reads the pending SIGCHLDs from the signalfd and reaps every exited child (orphans too, as
 * subreaper); returns true, with its wait status in *status, when `pid` was among them. */
bool reap_children(int sfd, pid_t pid, int *status);

/* Reads what the output fd has ready into buf and returns its length (0: nothing). On EOF or a
 * read error it closes the fd (unless it is console_fd, closed by its owner) and sets it to -1. */
size_t read_output(int *fd, int console_fd, char *buf, size_t size);

/* Waits for the runtime to exit while accepting, when console_listen >= 0, the pty master it sends
 * there (into *console). Returns the runtime's wait status, or -1 with errno (ENOTCONN: the runtime
 * succeeded but sent no master). The SIGCHLDs read here are gone: reap other children after. */
int wait_runtime(int sfd, pid_t runtime, int console_listen, int *console);

/* A CLOCK_MONOTONIC deadline `ms` from now. */
void deadline_after(struct timespec *deadline, long ms);

/* The poll timeout of a loop that relays a process's output: -1 (none) while it runs; once it has
 * exited, the ms left until `deadline` — output still in flight is drained for a short while, then
 * dropped, as a process that escaped the pid namespace could hold the pipe open forever. False when
 * the loop is done: exited with the output closed, or the deadline passed. */
bool drain_timeout(bool exited, bool output_open, const struct timespec *deadline, int *timeout);

int container_main(int argc, char **argv);
int exec_main(int argc, char **argv);

#endif

/* Errors and resource cleanup shared by lxr's C programs. */
#ifndef LXR_ERROR_H
#define LXR_ERROR_H

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

/* A failure's message: fallible functions fill it and return -1; only main prints it. */
typedef struct {
  char msg[1024];
} lxr_error;

/* Formats the message (with ": strerror(errnum)" appended when errnum != 0) and returns -1. */
int lxr_fail(lxr_error *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message with context: "mount /proc: <old message>". Returns -1. */
int lxr_wrap(lxr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void lxr_close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
}
static inline void lxr_free_ptr(void *p) { free(*(void **)p); }

#define cleanup_close __attribute__((cleanup(lxr_close_fd)))
#define cleanup_free __attribute__((cleanup(lxr_free_ptr)))

/* Retries a syscall expression while it fails with EINTR. */
#define LXR_RETRY(expr)                                                                            \
  ({                                                                                               \
    long lxr_r_;                                                                                   \
    do lxr_r_ = (long)(expr);                                                                      \
    while (lxr_r_ == -1 && errno == EINTR);                                                        \
    lxr_r_;                                                                                        \
  })

#endif

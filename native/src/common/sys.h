/* Small system helpers shared by lxr's C programs (runtime, monitor, recvtty). */
#ifndef LXR_SYS_H
#define LXR_SYS_H

#include <stddef.h>

/* Writes all of buf, retrying on EINTR and waiting out EAGAIN (a slow non-blocking peer); -1 with
 * errno on any other error. */
int lxr_write_all(int fd, const void *buf, size_t len);

/* The current time as RFC 3339 UTC with nanoseconds, "2006-01-02T15:04:05.999999999Z", into buf
 * (at least 40 bytes). */
void lxr_format_now(char *buf, size_t size);

/* Receives one fd sent with SCM_RIGHTS over a connected unix socket (close-on-exec); -1 with errno
 * (EBADMSG: the message carried no fd). */
int lxr_recv_fd(int sock);

#endif

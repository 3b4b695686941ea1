/* SPDX-License-Identifier: MIT */
/* Sending a descriptor with a message over a unix socket (SCM_RIGHTS): the
 * one way sockets made inside the sandbox reach the supervisor. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Sends len bytes and, when fd >= 0, the descriptor. Returns 0 or -errno. */
int fdpass_send(int sock, const void *data, size_t len, int fd);
/* Receives up to len bytes; *ret_fd gets a passed descriptor (CLOEXEC) or -1.
 * Returns the bytes read (0 on EOF) or -errno. */
ssize_t fdpass_recv(int sock, void *data, size_t len, int *ret_fd, int flags);

/* SPDX-License-Identifier: MIT */
/* Messages on the SOCK_SEQPACKET control pair between the supervisor and the
 * sandbox's init (and the command's pre-exec code, which shares init's end
 * until execve closes it). One message per packet, fixed size. */
#pragma once

#include <stdint.h>

enum msg_type {
        MSG_ERROR = 1,   /* init/child -> supervisor: setup failed (err, status, text) */
        MSG_PTY,         /* init -> supervisor: the pty master, as SCM_RIGHTS */
        MSG_EXIT,        /* init -> supervisor: the command's wait status */
        MSG_STOPPED,     /* init -> supervisor: the command stopped (job control) */
        MSG_GO,          /* supervisor -> init: set-up on our side is done */
        MSG_SIGNAL,      /* supervisor -> init: deliver signal `status` to the command */
        MSG_LISTENER,    /* init -> supervisor: the egress proxy's listener, made inside the sandbox's network */
        MSG_TYPE_MAX,
};

struct msg {
        uint32_t type;
        int32_t err;
        int32_t status;
        char text[500];
};

int msg_send(int sock, const struct msg *m, int pass_fd);
/* Returns bytes read (0 on EOF) or -errno; *ret_fd gets a passed fd or -1. */
int msg_recv(int sock, struct msg *m, int *ret_fd);

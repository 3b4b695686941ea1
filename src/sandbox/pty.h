/* SPDX-License-Identifier: MIT */
/* The supervisor's side of the sandbox's pty: the user's terminal is put in
 * raw mode and bytes are relayed both ways, so the sandbox's own line
 * discipline handles Ctrl-C, Ctrl-Z and line editing. The command never holds
 * a descriptor of the user's terminal.
 *
 * The relay never blocks: the supervisor's one loop also serves signals, the
 * wall clock and the sandbox's reports, so a command that stops reading its
 * terminal (or a terminal that stops reading us) must not stall it. Each
 * direction has a bounded queue; while the queue towards the sandbox is
 * full the user's terminal is not read (its own buffers, then the user's
 * terminal emulator, hold the rest), and while the queue towards the user is
 * full the master is not read (the command blocks on its output). */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

struct pty_queue {
        char *buf;
        size_t cap, head, len; /* bytes buf[head .. head+len) are pending */
};

struct pty_relay {
        int master;           /* the sandbox's pty master (received from init) */
        int in, out;          /* the user's terminal as given: stdin, stdout */
        int rd, wr;           /* the same, reopened non-blocking (or in, out) */
        struct termios saved; /* the user's modes, restored on exit and stop */
        bool raw;
        bool in_eof;
        bool out_dead;        /* the user's terminal failed: output is dropped */
        bool master_hup;      /* no slave open: look again at master_retry_ms */
        double master_retry_ms;
        struct pty_queue to_sandbox, to_user;
};

enum { PTY_POLL_MASTER, PTY_POLL_IN, PTY_POLL_OUT, PTY_POLL_MAX };

/* Takes master (closed by pty_relay_free, or by the caller on failure).
 * Copies the user's modes and window size to the master, then makes the
 * user's terminal raw. */
int pty_relay_start(struct pty_relay *r, int master, int in, int out);
void pty_relay_restore(struct pty_relay *r);  /* cooked again (stop, exit) */
int pty_relay_resume(struct pty_relay *r);    /* raw again (after SIGCONT) */
void pty_relay_winsize(struct pty_relay *r);  /* SIGWINCH: pass the new size on */
/* Fills fds[PTY_POLL_MAX] with what the relay waits for now (fd -1 for
 * nothing). Returns the longest the poll may wait in ms, or -1. */
int pty_relay_poll(struct pty_relay *r, struct pollfd *fds);
/* Moves what fds[] (after poll) says is ready, without ever blocking. */
void pty_relay_dispatch(struct pty_relay *r, const struct pollfd *fds);
/* After the command exits: pass on what the master and the queue still
 * hold, giving up when the user's terminal takes nothing for a second. */
void pty_relay_drain(struct pty_relay *r);
/* Restores the user's modes if still raw, closes the master and the
 * reopened terminal, frees the queues. */
void pty_relay_free(struct pty_relay *r);

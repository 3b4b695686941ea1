/* SPDX-License-Identifier: MIT */
/* The supervisor's side of the sandbox's pty: the user's terminal is put in
 * raw mode and bytes are relayed both ways, so the sandbox's own line
 * discipline handles Ctrl-C, Ctrl-Z and line editing. The command never holds
 * a descriptor of the user's terminal. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

struct pty_relay {
        int master;           /* the sandbox's pty master (received from init) */
        int in, out;          /* the user's terminal: stdin, stdout */
        struct termios saved; /* the user's modes, restored on exit and stop */
        bool raw;
        bool in_eof;
        char out_buf[16384];  /* pending bytes towards the user's terminal */
        size_t out_len;
};

/* Copies the user's modes and window size to the master, then makes the
 * user's terminal raw. */
int pty_relay_start(struct pty_relay *r, int master, int in, int out);
void pty_relay_restore(struct pty_relay *r);  /* cooked again (stop, exit) */
int pty_relay_resume(struct pty_relay *r);    /* raw again (after SIGCONT) */
void pty_relay_winsize(struct pty_relay *r);  /* SIGWINCH: pass the new size on */
/* Moves what is readable: user -> master, master -> user. Returns -EIO when
 * the master has closed (every process with the slave is gone). */
int pty_relay_from_user(struct pty_relay *r);
int pty_relay_from_sandbox(struct pty_relay *r);
/* After the command exits: copy what the master still holds. */
void pty_relay_drain(struct pty_relay *r);

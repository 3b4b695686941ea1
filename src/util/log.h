/* SPDX-License-Identifier: MIT */
/* User-facing messages. Library code returns -errno; the top level reports
 * once, with the file, key or flag and what to do. Every message is one line
 * prefixed "moat: " and anything that came from outside (paths, names) is
 * escaped so it cannot paint the terminal. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "util/macro.h"

extern int log_verbose; /* -v count: 1 narrates each setup step */

/* Where messages go: stderr, unless the code runner keeps its program's
 * stderr apart from moat's own messages. */
extern int log_fd;
void log_error(const char *fmt, ...) _printf_(1, 2);
void log_warn(const char *fmt, ...) _printf_(1, 2);
void log_info(const char *fmt, ...) _printf_(1, 2);
/* Narration of setup steps, printed only with -v. Safe in forked children
 * (a single write(2) of a formatted buffer). */
void log_step(const char *fmt, ...) _printf_(1, 2);
/* With -vv, steps are stamped with the time since this call. */
void log_clock_start(void);

/* Escapes control characters, backslash and non-UTF-8 bytes in s into buf
 * (\n, \e, \xNN style). Returns buf; always NUL-terminates. */
const char *log_escape(const char *s, char *buf, size_t size);
/* The same, but backslashes pass unchanged: for messages whose fixes are
 * shell commands that must paste as they are. */
const char *log_escape_controls(const char *s, char *buf, size_t size);

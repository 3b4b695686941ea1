/* SPDX-License-Identifier: MIT */
/* A user-facing error: one line naming the flag, key or path, what was wrong
 * and what to do. Pure code (parsers, policy resolution) fills one in and
 * returns -errno; the command at the top prints it once. */
#pragma once

#include "util/macro.h"

struct moat_error {
        char msg[1024];
        int exit_status; /* 125 unless something more precise applies (127) */
};

/* Formats the message and returns -err (err is a positive errno). */
int error_set(struct moat_error *e, int err, const char *fmt, ...) _printf_(3, 4);
/* Prints the message with moat's prefix, a line at a time, escaped. */
void error_print(const struct moat_error *e);

/* SPDX-License-Identifier: MIT */
/* A profile becomes `moat run` options; the flags given on the command line
 * are then laid over them and win. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "cli/run_args.h"
#include "profile/profile.h"
#include "util/error.h"

struct apply_env {
        const char *cwd;  /* the host's current directory: a mount of "." */
        const char *home; /* the user's home: "~", and the sandbox's $HOME */
};

/* Fills o (initialised here) from p: mounts with "~" and "." expanded and
 * their sources checked (a missing one is an error, never created), coco's
 * "/root" destinations moved to the sandbox's $HOME, network, environment,
 * ports and moat's own keys. argv is not set. */
int profile_to_options(const struct profile *p, const struct apply_env *env, struct run_options *o,
                       struct moat_error *e);

/* The cookies of display number (":N" -> "N") from an Xauthority file's
 * bytes, with the wildcard family so they match the sandbox's host name.
 * Pure; returns the bytes written to out, -EINVAL (malformed) or -ENOBUFS. */
ssize_t xauth_for_display(const uint8_t *in, size_t n, const char *number, uint8_t *out, size_t size);

/* Lays the command line's options over the profile's: every scalar given on
 * the command line replaces the profile's, lists are appended (a --net
 * given on the command line also drops the profile's allowed hosts).
 * Consumes cli's lists. */
int run_options_overlay(struct run_options *base, struct run_options *cli);

/* SPDX-License-Identifier: MIT */
/* Placeholders that protect paths which do not exist yet.
 *
 * A mount needs an existing mountpoint, and Landlock cannot deny a name
 * beneath a writable directory. So for a protected path that is missing
 * (.envrc, .vscode, .mcp.json...) the supervisor creates, for the length of
 * the run, a dangling symlink to STUB_TARGET, and the sandbox pins it with a
 * read-only mount: the name cannot be created, replaced or written through.
 * A dangling symlink reads as "no such file" on both sides, so neither the
 * tool nor the host's tools mistake it for content. The placeholders are
 * removed at exit; if the supervisor was SIGKILLed, the next run removes
 * them (a registry per run lives under the user's state directory). */
#pragma once

#include "policy/policy.h"
#include "util/error.h"

#define STUB_TARGET "/.moat-protected-placeholder"

struct stubs {
        char **paths;    /* absolute host paths we created */
        char *registry;  /* our registry file, or NULL */
        int lock;        /* held while placeholders are being created */
};

int stubs_create(const struct policy *p, struct stubs *s, struct moat_error *e);
void stubs_remove(struct stubs *s);
/* Removes placeholders left by runs whose supervisor no longer exists. */
void stubs_sweep(void);

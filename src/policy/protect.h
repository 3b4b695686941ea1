/* SPDX-License-Identifier: MIT */
/* Paths inside a writable project that make the host run code later (git
 * hooks and config, editor and agent settings, tool rc files). They stay
 * read-only inside the sandbox whether or not they exist yet. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct protected_path {
        const char *path;  /* relative to the project root */
        bool stub;         /* when missing, pin a placeholder so it cannot be created */
        bool skip_if_dir;  /* protect only when missing or not a directory (".git") */
        const char *why;
};

const struct protected_path *protect_defaults(size_t *ret_n);

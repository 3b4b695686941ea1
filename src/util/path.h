/* SPDX-License-Identifier: MIT */
/* Path helpers. Pure string functions here; the fd-relative resolution of
 * untrusted trees lives next to its users (sandbox/rootfs.c, stubs.c). */
#pragma once

#include <sys/types.h>

#include <stdbool.h>

/* Lexically normalises an absolute path: collapses "//" and "/./", strips a
 * trailing "/". Rejects (returns -EINVAL) relative paths, ".." components and
 * control characters, so a hostile path is never quietly reinterpreted. */
int path_normalize(const char *in, char **ret);

/* True when path equals dir or lies below it (both normalised, absolute). */
bool path_is_below_or_equal(const char *path, const char *dir);

/* Joins two paths with exactly one slash. NULL on ENOMEM. */
char *path_join(const char *a, const char *b);

/* openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS) with a
 * fallback walk (component by component with O_NOFOLLOW) for kernels without
 * openat2: a path found in an untrusted tree never leaves it through "..",
 * a symlink or a magic link. Returns an fd or -errno. */
int path_open_beneath(int dirfd, const char *relpath, int flags);

/* mkdir -p: creates path and its missing parents with mode. Returns 0 when
 * it exists afterwards (as a directory or not: the caller opens it), or
 * -errno. */
int path_mkdir_p(const char *path, mode_t mode);

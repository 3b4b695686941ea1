/* SPDX-License-Identifier: MIT */
/* NULL-terminated string vectors and small string helpers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

size_t strv_length(char *const *v);
/* Appends a copy of s. Returns 0 or -ENOMEM. */
int strv_push(char ***v, const char *s);
/* Appends s without copying; takes ownership on success. */
int strv_consume(char ***v, char *s);
void strv_free(char **v);
static inline void strv_freep(char ***v) { strv_free(*v); }
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

/* For environment vectors: index of the entry "name=..." or -1. */
ssize_t strv_env_find(char *const *env, const char *name, size_t name_len);
/* Sets name=value, replacing an existing entry. */
int strv_env_set(char ***env, const char *name, const char *value);

bool str_startswith(const char *s, const char *prefix);
char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a decimal unsigned integer with no sign, spaces or trailing junk.
 * Returns 0, -EINVAL or -ERANGE (value above max). */
int parse_u64(const char *s, unsigned long long max, unsigned long long *ret);

/* Levenshtein distance, for "did you mean". */
size_t str_edit_distance(const char *a, const char *b);
/* The candidate closest to word, or NULL when none is close enough. */
const char *str_suggest(const char *word, const char *const *candidates, size_t n);

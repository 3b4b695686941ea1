/* SPDX-License-Identifier: MIT */
/* A strict JSON (RFC 8259) reader into a small DOM that remembers where each
 * value stood, for tool profiles people edit by hand (errors name line and
 * column) and for requests from agents (hostile bytes: bounded nesting, no
 * quadratic paths, every byte UTF-8-checked). Pure: bytes in, tree out;
 * jv_read_file is the one helper with a side effect. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

/* Arrays and objects nested deeper than this are refused. */
#define JV_MAX_DEPTH 64

enum jv_type { JV_NULL, JV_BOOL, JV_NUMBER, JV_STRING, JV_ARRAY, JV_OBJECT, _JV_TYPE_MAX };

struct jv;

struct jv_member {
        char *key; /* NUL-terminated; strlen(key) == key_len */
        size_t key_len;
        unsigned line, col; /* of the key's opening quote */
        struct jv *value;
};

struct jv {
        enum jv_type type;
        unsigned line, col; /* 1-based; col counts Unicode characters, a tab is 1 */
        union {
                bool b;
                /* is_int: written as an integer literal (no fraction or
                 * exponent) that fits a long long, then i holds it. */
                struct { double d; bool is_int; long long i; } num;
                /* A NUL-terminated copy; \u0000 is refused, so strlen(s) == len. */
                struct { char *s; size_t len; } str;
                struct { struct jv **items; size_t n; } arr;
                struct { struct jv_member *members; size_t n; } obj; /* source order */
        };
};

struct jv_error {
        unsigned line, col; /* of the offending character */
        char msg[160];      /* one short sentence, no position, no newline */
};

/* Parses exactly one JSON value, with whitespace and a leading UTF-8 BOM
 * allowed around it. Returns the tree, or NULL with err filled in (err may be
 * NULL). Out of memory is reported as "out of memory". */
struct jv *jv_parse(const char *text, size_t len, struct jv_error *err);
void jv_free(struct jv *v);
static inline void jv_freep(struct jv **v) { jv_free(*v); }
#define _cleanup_jv_free_ _cleanup_(jv_freep)

/* The member named key, or NULL if obj is not an object or has no such key. */
const struct jv_member *jv_member_get(const struct jv *obj, const char *key);
const struct jv *jv_get(const struct jv *obj, const char *key);
/* "null", "boolean", "number", "string", "array", "object". */
const char *jv_type_name(enum jv_type t);

/* Reads the regular file path (relative to dirfd) into a NUL-terminated
 * malloc'd buffer. Returns 0, -EFBIG when it holds more than max_bytes,
 * -EINVAL when it is not a regular file, or another -errno. */
/* Writes v into a JSON writer (a member named key, or an element when key
 * is NULL): the bridge for passing parsed values on. */
struct json;
void jv_write(struct json *j, const char *key, const struct jv *v);

int jv_read_file(int dirfd, const char *path, size_t max_bytes, char **ret_text, size_t *ret_len);

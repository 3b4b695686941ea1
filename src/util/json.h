/* SPDX-License-Identifier: MIT */
/* A small JSON writer into a growable buffer: enough for result objects and
 * `moat explain --json`, escaping everything a hostile string could carry. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json {
        char *buf;
        size_t len, cap;
        bool need_comma;
        bool oom;
};

void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_key_object(struct json *j, const char *key);
void json_str(struct json *j, const char *key, const char *value); /* NULL -> null */
/* n bytes of anything: NULs escaped, bytes that are not UTF-8 as U+FFFD. */
void json_strn(struct json *j, const char *key, const char *value, size_t n);
void json_int(struct json *j, const char *key, long long value);
void json_uint(struct json *j, const char *key, uint64_t value);
void json_bool(struct json *j, const char *key, bool value);
void json_double(struct json *j, const char *key, double value);
void json_null(struct json *j, const char *key);
/* A value that is already JSON text (a result object kept as text); the
 * caller vouches that it is one well-formed value. */
void json_raw(struct json *j, const char *key, const char *text, size_t n);
/* Returns the NUL-terminated text (owned by j) or NULL after ENOMEM. */
const char *json_text(struct json *j);
void json_free(struct json *j);

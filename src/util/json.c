/* SPDX-License-Identifier: MIT */
#include "util/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct json *j, const char *s, size_t n)
{
        if (j->oom)
                return;
        if (j->len + n + 1 > j->cap) {
                size_t cap = j->cap ? j->cap * 2 : 256;
                while (cap < j->len + n + 1)
                        cap *= 2;
                char *b = realloc(j->buf, cap);
                if (!b) {
                        j->oom = true;
                        return;
                }
                j->buf = b;
                j->cap = cap;
        }
        memcpy(j->buf + j->len, s, n);
        j->len += n;
        j->buf[j->len] = '\0';
}

static void puts_(struct json *j, const char *s) { put(j, s, strlen(s)); }

static void put_string(struct json *j, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        puts_(j, "\"");
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                char e[7];
                if (*p == '"' || *p == '\\') {
                        e[0] = '\\';
                        e[1] = (char)*p;
                        put(j, e, 2);
                } else if (*p < 0x20 || *p == 0x7f) {
                        memcpy(e, "\\u00", 4);
                        e[4] = hex[*p >> 4];
                        e[5] = hex[*p & 15];
                        put(j, e, 6);
                } else
                        put(j, (const char *)p, 1);
        }
        puts_(j, "\"");
}

static void key(struct json *j, const char *k)
{
        if (j->need_comma)
                puts_(j, ",");
        j->need_comma = true;
        if (k) {
                put_string(j, k);
                puts_(j, ":");
        }
}

void json_begin_object(struct json *j)
{
        key(j, NULL);
        puts_(j, "{");
        j->need_comma = false;
}

void json_key_object(struct json *j, const char *k)
{
        key(j, k);
        puts_(j, "{");
        j->need_comma = false;
}

void json_end_object(struct json *j)
{
        puts_(j, "}");
        j->need_comma = true;
}

void json_begin_array(struct json *j, const char *k)
{
        key(j, k);
        puts_(j, "[");
        j->need_comma = false;
}

void json_end_array(struct json *j)
{
        puts_(j, "]");
        j->need_comma = true;
}

void json_str(struct json *j, const char *k, const char *v)
{
        key(j, k);
        if (v)
                put_string(j, v);
        else
                puts_(j, "null");
}

void json_int(struct json *j, const char *k, long long v)
{
        char b[32];
        key(j, k);
        snprintf(b, sizeof b, "%lld", v);
        puts_(j, b);
}

void json_uint(struct json *j, const char *k, uint64_t v)
{
        char b[32];
        key(j, k);
        snprintf(b, sizeof b, "%llu", (unsigned long long)v);
        puts_(j, b);
}

void json_bool(struct json *j, const char *k, bool v)
{
        key(j, k);
        puts_(j, v ? "true" : "false");
}

void json_double(struct json *j, const char *k, double v)
{
        char b[64];
        key(j, k);
        snprintf(b, sizeof b, "%.3f", v);
        puts_(j, b);
}

void json_null(struct json *j, const char *k)
{
        key(j, k);
        puts_(j, "null");
}

const char *json_text(struct json *j)
{
        if (j->oom)
                return NULL;
        return j->buf ? j->buf : "";
}

void json_free(struct json *j)
{
        free(j->buf);
        memset(j, 0, sizeof *j);
}

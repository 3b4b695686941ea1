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

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
        size_t len;
        unsigned min;
        unsigned cp;
        if (p[0] >= 0xc2 && p[0] <= 0xdf) {
                len = 2;
                cp = p[0] & 0x1f;
                min = 0x80;
        } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
                len = 3;
                cp = p[0] & 0x0f;
                min = 0x800;
        } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                len = 4;
                cp = p[0] & 0x07;
                min = 0x10000;
        } else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

/* Any bytes: a NUL and other control characters are escaped, and bytes
 * that are not UTF-8 (a program's binary output) become U+FFFD, so the
 * document stays valid JSON. */
static void put_string_n(struct json *j, const char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        puts_(j, "\"");
        const unsigned char *p = (const unsigned char *)s, *end = p + n;
        while (p < end) {
                char e[7];
                if (*p >= 0x80) {
                        size_t l = utf8_len(p, (size_t)(end - p));
                        if (l)
                                put(j, (const char *)p, l);
                        else
                                puts_(j, "\\ufffd");
                        p += l ? l : 1;
                        continue;
                }
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
                p++;
        }
        puts_(j, "\"");
}

static void put_string(struct json *j, const char *s)
{
        put_string_n(j, s, strlen(s));
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

void json_strn(struct json *j, const char *k, const char *v, size_t n)
{
        key(j, k);
        put_string_n(j, v, n);
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

void json_raw(struct json *j, const char *k, const char *text, size_t n)
{
        key(j, k);
        put(j, text, n);
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

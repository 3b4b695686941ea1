/* SPDX-License-Identifier: MIT */
#include "util/strv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

size_t strv_length(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

int strv_consume(char ***v, char *s)
{
        size_t n = strv_length(*v);
        char **nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv)
                return -ENOMEM;
        nv[n] = s;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

int strv_push(char ***v, const char *s)
{
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        int r = strv_consume(v, c);
        if (r < 0)
                free(c);
        return r;
}

void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

ssize_t strv_env_find(char *const *env, const char *name, size_t name_len)
{
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], name, name_len) == 0 && env[i][name_len] == '=')
                        return (ssize_t)i;
        return -1;
}

int strv_env_set(char ***env, const char *name, const char *value)
{
        char *e = str_printf("%s=%s", name, value);
        if (!e)
                return -ENOMEM;
        ssize_t i = strv_env_find(*env, name, strlen(name));
        if (i >= 0) {
                free((*env)[i]);
                (*env)[i] = e;
                return 0;
        }
        int r = strv_consume(env, e);
        if (r < 0)
                free(e);
        return r;
}

bool str_startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

char *str_printf(const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

int parse_u64(const char *s, unsigned long long max, unsigned long long *ret)
{
        if (!s || !*s)
                return -EINVAL;
        unsigned long long v = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                unsigned d = (unsigned)(*p - '0');
                if (v > (max - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

size_t str_edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64)
                return (size_t)-1;
        size_t row[65];
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t prev = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t cur = row[j];
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t best = prev + cost;
                        if (row[j] + 1 < best)
                                best = row[j] + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        prev = cur;
                }
        }
        return row[lb];
}

const char *str_suggest(const char *word, const char *const *candidates, size_t n)
{
        const char *best = NULL;
        size_t best_d = (size_t)-1;
        size_t len = strlen(word);
        /* Allow about one edit in three characters, at least one. */
        size_t limit = len / 3 > 1 ? len / 3 : 1;
        if (limit > 3)
                limit = 3;
        for (size_t i = 0; i < n; i++) {
                size_t d = str_edit_distance(word, candidates[i]);
                if (d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        return best_d <= limit ? best : NULL;
}

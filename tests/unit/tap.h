/* SPDX-License-Identifier: MIT */
/* A minimal TAP producer for the C unit tests. */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void tap_ok(int cond, const char *fmt, ...)
{
        va_list ap;
        printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        if (!cond)
                tap_failed++;
        fflush(stdout);
}

static inline void tap_skip(const char *why)
{
        printf("ok %d # SKIP %s\n", ++tap_n, why);
        fflush(stdout);
}

#define tap_is_int(a, b, ...) do { long long _a = (a), _b = (b); tap_ok(_a == _b, __VA_ARGS__); \
                if (_a != _b) printf("#   got %lld, expected %lld\n", _a, _b); } while (0)
#define tap_is_str(a, b, ...) do { const char *_a = (a), *_b = (b); \
                int _eq = _a && _b ? strcmp(_a, _b) == 0 : _a == _b; tap_ok(_eq, __VA_ARGS__); \
                if (!_eq) printf("#   got \"%s\", expected \"%s\"\n", _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)

static inline int tap_done(void)
{
        printf("1..%d\n", tap_n);
        return tap_failed ? 1 : 0;
}

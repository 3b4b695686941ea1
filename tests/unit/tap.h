/* SPDX-License-Identifier: MIT */
/* A minimal TAP producer for the C unit tests. */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Runs fn in a forked child (for tests that load filters or rulesets, which
 * cannot be undone). Returns its exit status, or 1000 + the signal that
 * killed it, or -1. */
static inline int tap_run_child(void (*fn)(void))
{
        int status;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                fn();
                _exit(0);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

static inline int tap_done(void)
{
        printf("1..%d\n", tap_n);
        return tap_failed ? 1 : 0;
}

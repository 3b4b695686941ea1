/* SPDX-License-Identifier: MIT */
#include "util/log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int log_verbose = 0;
int log_fd = STDERR_FILENO;

static void vemit(const char *prefix, const char *fmt, va_list ap)
{
        char buf[4096];
        int n = snprintf(buf, sizeof buf, "moat: %s", prefix);
        if (n < 0)
                return;
        int m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
        if (m < 0)
                return;
        size_t len = (size_t)n + (size_t)m;
        if (len >= sizeof buf - 1)
                len = sizeof buf - 2;
        buf[len++] = '\n';
        /* One write so lines from the supervisor and the sandbox's init never
         * interleave mid-line. */
        (void)!write(log_fd, buf, len);
}

#define EMIT(prefix)                      \
        do {                              \
                va_list ap;               \
                va_start(ap, fmt);        \
                vemit(prefix, fmt, ap);   \
                va_end(ap);               \
        } while (0)

void log_error(const char *fmt, ...) { EMIT(""); }
void log_warn(const char *fmt, ...) { EMIT("warning: "); }
void log_info(const char *fmt, ...) { EMIT(""); }

static double log_start_ms = -1;

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void log_clock_start(void)
{
        log_start_ms = now_ms();
}

void log_step(const char *fmt, ...)
{
        if (log_verbose < 1)
                return;
        if (log_verbose >= 2 && log_start_ms >= 0) {
                /* -vv: when each step finished, to see where start-up goes. */
                char prefix[32];
                snprintf(prefix, sizeof prefix, "%7.3f ms • ", now_ms() - log_start_ms);
                EMIT(prefix);
                return;
        }
        EMIT("• ");
}

static const char *escape(const char *s, char *buf, size_t size, bool backslash);

const char *log_escape(const char *s, char *buf, size_t size)
{
        return escape(s, buf, size, true);
}

const char *log_escape_controls(const char *s, char *buf, size_t size)
{
        return escape(s, buf, size, false);
}

static const char *escape(const char *s, char *buf, size_t size, bool backslash)
{
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;
        if (size == 0)
                return buf;
        for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < size; p++) {
                unsigned char c = *p;
                if (c == '\\' && backslash) {
                        buf[o++] = '\\';
                        buf[o++] = '\\';
                } else if (c == '\n') {
                        buf[o++] = '\\';
                        buf[o++] = 'n';
                } else if (c == '\t') {
                        buf[o++] = '\\';
                        buf[o++] = 't';
                } else if (c < 0x20 || c == 0x7f || c >= 0x80) {
                        /* Bytes >= 0x80 are escaped too: C1 controls (0x9b is
                         * CSI) would otherwise reach terminals that honour
                         * them. */
                        buf[o++] = '\\';
                        buf[o++] = 'x';
                        buf[o++] = hex[c >> 4];
                        buf[o++] = hex[c & 15];
                } else
                        buf[o++] = (char)c;
        }
        buf[o] = '\0';
        return buf;
}

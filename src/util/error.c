/* SPDX-License-Identifier: MIT */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

int error_set(struct moat_error *e, int err, const char *fmt, ...)
{
        if (e) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(e->msg, sizeof e->msg, fmt, ap);
                va_end(ap);
                if (!e->exit_status)
                        e->exit_status = 125;
        }
        return err > 0 ? -err : -EINVAL;
}

void error_print(const struct moat_error *e)
{
        /* Multi-line messages carry a fix on their later lines; each line is
         * printed with the prefix, escaped. */
        char line[1024], esc[2048];
        const char *s = e->msg;
        while (*s) {
                size_t n = strcspn(s, "\n");
                snprintf(line, sizeof line, "%.*s", (int)n, s);
                log_error("%s", log_escape_controls(line, esc, sizeof esc));
                s += n;
                if (*s == '\n')
                        s++;
        }
}

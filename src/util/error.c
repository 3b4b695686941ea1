/* SPDX-License-Identifier: MIT */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

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

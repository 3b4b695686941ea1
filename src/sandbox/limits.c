/* SPDX-License-Identifier: MIT */
#include "sandbox/limits.h"

#include <errno.h>
#include <sys/resource.h>

#include "util/macro.h"

static int set2(int resource, uint64_t soft, uint64_t value)
{
        struct rlimit rl = { soft, value };
        struct rlimit cur;
        /* Never raise above the caller's hard limit: that would fail, and
         * lower is what we want anyway. */
        if (getrlimit(resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && value > cur.rlim_max)
                rl.rlim_cur = rl.rlim_max = cur.rlim_max;
        return setrlimit(resource, &rl) < 0 ? negerrno() : 0;
}

static int set(int resource, uint64_t value)
{
        return set2(resource, value, value);
}

int limits_apply_rlimits(const struct limits *l)
{
        int r;
        if ((r = set(RLIMIT_CORE, 0)) < 0)
                return r;
        /* RLIMIT_DATA counts private writable memory (heap, anonymous maps),
         * not address-space reservations, so runtimes that reserve large
         * PROT_NONE regions (V8, Go, the JVM) still start. */
        if (l->memory_mib && (r = set(RLIMIT_DATA, l->memory_mib << 20)) < 0)
                return r;
        /* Counted per user namespace (Linux 5.14+): the sandbox's processes
         * only, not the user's others. */
        if (l->pids && (r = set(RLIMIT_NPROC, l->pids)) < 0)
                return r;
        /* SIGXCPU at the limit (so the result says why), SIGKILL a second
         * later for a command that ignores it. */
        if (l->cpu_time_s && (r = set2(RLIMIT_CPU, l->cpu_time_s, l->cpu_time_s + 1)) < 0)
                return r;
        if (l->nofile && (r = set(RLIMIT_NOFILE, l->nofile)) < 0)
                return r;
        if (l->fsize_mib && (r = set(RLIMIT_FSIZE, l->fsize_mib << 20)) < 0)
                return r;
        return 0;
}

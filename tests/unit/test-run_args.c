/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "cli/run_args.h"
#include "tap.h"

static int parse(struct run_options *o, struct moat_error *e, int argc, char **argv)
{
        memset(e, 0, sizeof *e);
        return run_args_parse("run", argc, argv, o, e);
}

int main(void)
{
        struct run_options o;
        struct moat_error e;

        char *a1[] = { "--ro", "/data", "--memory=512", "-v", "--", "ls", "-la" };
        tap_ok(parse(&o, &e, 7, a1) == 0, "basic parse");
        tap_is_str(o.argv[0], "ls", "command");
        tap_is_str(o.argv[1], "-la", "command args kept");
        tap_is_int(o.limits.memory_mib, 512, "--memory=512");
        tap_ok(o.limits_set & LIMIT_MEMORY, "memory marked set");
        tap_is_int(o.n_mounts, 1, "one mount");
        tap_ok(!o.mounts[0].writable, "--ro is read-only");
        tap_is_int(o.verbose, 1, "-v");
        run_options_free(&o);

        char *a2[] = { "ls", "--ro", "/x" };
        tap_ok(parse(&o, &e, 3, a2) == 0 && o.n_mounts == 0 && strcmp(o.argv[1], "--ro") == 0,
               "options after the command belong to the command");
        run_options_free(&o);

        char *a3[] = { "--memroy", "10", "ls" };
        tap_ok(parse(&o, &e, 3, a3) < 0 && strstr(e.msg, "did you mean '--memory'"), "did you mean: %s", e.msg);
        run_options_free(&o);

        char *a4[] = { "--memory", "lots", "ls" };
        tap_ok(parse(&o, &e, 3, a4) < 0 && strstr(e.msg, "--memory lots"), "bad number named: %s", e.msg);
        run_options_free(&o);

        char *a5[] = { "--mount", "/a:/b:ro", "--mount", "/c:/d", "--tmpfs", "/cache", "ls" };
        tap_ok(parse(&o, &e, 7, a5) == 0 && o.n_mounts == 3, "mount specs");
        tap_ok(!o.mounts[0].writable && o.mounts[1].writable && o.mounts[2].type == MOUNT_TMPFS, "mount flags");
        tap_is_str(o.mounts[0].dst, "/b", "mount dst");
        run_options_free(&o);

        char *a6[] = { "--mount", "/a", "ls" };
        tap_ok(parse(&o, &e, 3, a6) < 0 && strstr(e.msg, "SRC:DST"), "mount without dst: %s", e.msg);
        run_options_free(&o);

        char *a7[] = { "--mount", "/a:/b:rx", "ls" };
        tap_ok(parse(&o, &e, 3, a7) < 0 && strstr(e.msg, "'rx'"), "mount with bad option: %s", e.msg);
        run_options_free(&o);

        char *a8[] = { "--env", "1X=2", "ls" };
        tap_ok(parse(&o, &e, 3, a8) < 0, "bad variable name: %s", e.msg);
        run_options_free(&o);

        char *a9[] = { "--net", "everything", "ls" };
        tap_ok(parse(&o, &e, 3, a9) < 0 && strstr(e.msg, "'none', 'proxy' or 'host'"), "bad --net: %s", e.msg);
        run_options_free(&o);

        char *a10[] = { "--timeout" };
        tap_ok(parse(&o, &e, 1, a10) < 0 && strstr(e.msg, "needs a value"), "missing value: %s", e.msg);
        run_options_free(&o);

        char *a11[] = { "--json-fd", "1", "ls" };
        tap_ok(parse(&o, &e, 3, a11) < 0, "--json-fd 1 refused: %s", e.msg);
        run_options_free(&o);

        char *a12[] = { "--allow-weaker", "landlock,userns", "--no-cwd", "--tty", "true" };
        tap_ok(parse(&o, &e, 5, a12) == 0 && o.allow_weaker == (WEAKER_LANDLOCK | WEAKER_USERNS) && o.no_cwd &&
                       o.tty == TTY_ALWAYS, "allow-weaker list, no-cwd, tty");
        run_options_free(&o);

        char *a13[] = { "--no-cwd=1", "true" };
        tap_ok(parse(&o, &e, 2, a13) < 0 && strstr(e.msg, "takes no value"), "flag with value: %s", e.msg);
        run_options_free(&o);

        char *a14[] = { "--pids", "99999999999", "true" };
        tap_ok(parse(&o, &e, 3, a14) < 0 && strstr(e.msg, "too large"), "range: %s", e.msg);
        run_options_free(&o);
        return tap_done();
}

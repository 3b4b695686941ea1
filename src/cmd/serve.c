/* SPDX-License-Identifier: MIT */
/* `moat serve --socket PATH`: the code runner on a Unix socket, for
 * services and agents that send many requests (server/serve.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "server/serve.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

static unsigned cpus(void);

static void usage(FILE *f)
{
        fprintf(f, "Usage: moat serve --socket PATH [OPTIONS]\n"
                   "\n"
                   "Serves the code runner on a Unix socket (mode 0600): newline-delimited JSON,\n"
                   "one request per line, one response per line. Requests are those of `moat api`,\n"
                   "with \"op\": \"run\" (the default), \"ping\" or \"info\", and an optional \"id\"\n"
                   "echoed in the response.\n"
                   "\n"
                   "  --socket PATH      where to listen; a stale socket is replaced, a live one refused\n"
                   "  --workers N        runs at once (default: twice the CPUs, %u here)\n"
                   "  --queue N          requests waiting for a worker before \"busy\" (default 64)\n"
                   "  --max-clients N    connections at once (default 256)\n"
                   "  --grace SECONDS    on SIGTERM, how long runs in flight may finish (default 10)\n"
                   "  --policy FILE      ceilings for every request (see moat run --policy)\n"
                   "  -h, --help         this help\n"
                   "\n"
                   "SIGTERM or SIGINT stops it: runs in flight finish (or are killed after the\n"
                   "grace period), the socket is removed, the exit status is 0. See moat(1).\n",
                2 * cpus());
}

static unsigned cpus(void)
{
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
                return (unsigned)CPU_COUNT(&set);
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? (unsigned)n : 1;
}

static int parse_uint(const char *flag, const char *v, unsigned min, unsigned max, unsigned *ret)
{
        char *end;
        errno = 0;
        unsigned long n = v ? strtoul(v, &end, 10) : 0;
        if (!v || !*v || *end || errno || n < min || n > max || v[0] == '-') {
                char esc[64];
                log_error("serve: %s %s: expected a whole number from %u to %u", flag,
                          v ? log_escape(v, esc, sizeof esc) : "(missing)", min, max);
                return -EINVAL;
        }
        *ret = (unsigned)n;
        return 0;
}

int cmd_serve(int argc, char **argv)
{
        struct serve_config c = { .workers = 2 * cpus(), .queue = 64, .max_clients = 256, .grace_s = 10 };
        unsigned grace = 10;
        _cleanup_free_ char *policy = NULL;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                const char *eq = strchr(a, '=');
                char flag[32];
                if (str_startswith(a, "--") && eq && (size_t)(eq - a) < sizeof flag) {
                        memcpy(flag, a, (size_t)(eq - a));
                        flag[eq - a] = '\0';
                        a = flag;
                        v = eq + 1;
                }
                bool inline_value = a == flag;
                int r = 0;
                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(a, "--socket") == 0) {
                        if (!v) {
                                log_error("serve: --socket needs a PATH");
                                return 125;
                        }
                        c.socket_path = v;
                } else if (strcmp(a, "--workers") == 0)
                        r = parse_uint(a, v, 1, 4096, &c.workers);
                else if (strcmp(a, "--queue") == 0)
                        r = parse_uint(a, v, 0, 1u << 20, &c.queue);
                else if (strcmp(a, "--max-clients") == 0)
                        r = parse_uint(a, v, 1, 1u << 20, &c.max_clients);
                else if (strcmp(a, "--grace") == 0)
                        r = parse_uint(a, v, 0, 86400, &grace);
                else if (strcmp(a, "--policy") == 0) {
                        if (!v) {
                                log_error("serve: --policy needs a FILE");
                                return 125;
                        }
                        /* Absolute, so that what is checked now is what
                         * every run reads. */
                        free(policy);
                        policy = realpath(v, NULL);
                        if (!policy) {
                                char esc[256];
                                log_error("serve: --policy %s: %s", log_escape(v, esc, sizeof esc), strerror(errno));
                                return 125;
                        }
                } else {
                        char esc[256];
                        log_error("serve: unknown option '%s'; see moat serve --help",
                                  log_escape(argv[i], esc, sizeof esc));
                        return 125;
                }
                if (r < 0)
                        return 125;
                if (!inline_value)
                        i++;
        }
        if (!c.socket_path) {
                log_error("serve: --socket PATH is required (for example --socket $XDG_RUNTIME_DIR/moat.sock)");
                return 125;
        }
        if (policy) {
                _cleanup_free_ char *text = NULL;
                size_t len;
                struct jv_error je;
                int r = jv_read_file(AT_FDCWD, policy, 1 << 20, &text, &len);
                _cleanup_jv_free_ struct jv *v = r == 0 ? jv_parse(text, len, &je) : NULL;
                char esc[256];
                log_escape(policy, esc, sizeof esc);
                if (r < 0) {
                        log_error("serve: --policy %s: %s", esc, r == -EINVAL ? "not a regular file" : strerror(-r));
                        return 125;
                }
                if (!v) {
                        log_error("serve: %s:%u:%u: %s", esc, je.line, je.col, je.msg);
                        return 125;
                }
                c.policy_file = policy;
        }
        c.grace_s = grace;
        return serve_run(&c);
}

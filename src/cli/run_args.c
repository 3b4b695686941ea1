/* SPDX-License-Identifier: MIT */
#include "cli/run_args.h"

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/strv.h"

enum flag_id {
        F_RO, F_RW, F_MOUNT, F_TMPFS, F_NO_CWD, F_WORKDIR, F_PROTECT, F_GIT_WRITE,
        F_ENV, F_PASS_ENV, F_NET, F_ALLOW, F_LOG, F_PUBLISH, F_HOST_PORT,
        F_MEMORY, F_PIDS, F_CPU_TIME, F_TIMEOUT, F_NOFILE, F_FSIZE, F_TMPFS_SIZE,
        F_TTY, F_NO_TTY, F_JSON, F_JSON_FD, F_VERBOSE, F_ALLOW_WEAKER,
        F_LANG, F_CODE, F_PROFILE, F_MODE, F_POLICY, F_OUTPUT_LIMIT, F_HELP,
        F_MAX,
};

static const struct run_flag flags[F_MAX] = {
        [F_RO] = { "--ro", "PATH", "mount PATH read-only at the same path" },
        [F_RW] = { "--rw", "PATH", "mount PATH read-write at the same path" },
        [F_MOUNT] = { "--mount", "SRC:DST[:ro]", "mount host SRC at DST (read-write unless :ro)" },
        [F_TMPFS] = { "--tmpfs", "PATH", "an empty, size-capped tmpfs at PATH" },
        [F_NO_CWD] = { "--no-cwd", NULL, "do not mount the current directory" },
        [F_WORKDIR] = { "--workdir", "PATH", "working directory inside the sandbox" },
        [F_PROTECT] = { "--protect", "PATH", "keep PATH read-only inside the project (relative to it)" },
        [F_GIT_WRITE] = { "--git-write", NULL, "let the command write .git (commit, fetch); hooks and config stay read-only" },
        [F_ENV] = { "--env", "NAME=VALUE", "set a variable in the sandbox" },
        [F_PASS_ENV] = { "--pass-env", "NAME", "pass a variable from the host, if set" },
        [F_NET] = { "--net", "none|proxy|host", "network: none (default), proxy (only --allow hosts) or host" },
        [F_ALLOW] = { "--allow", "HOST[:PORT]", "allow connections to HOST (*.domain, !host, IP, CIDR) via the proxy" },
        [F_LOG] = { "--log", "FILE", "append one JSON line per network decision to FILE" },
        [F_PUBLISH] = { "--publish", "[IP:]HOSTPORT:PORT", "let the host reach PORT inside the sandbox (-p)" },
        [F_HOST_PORT] = { "--host-port", "PORT", "let the sandbox reach the host's 127.0.0.1:PORT" },
        [F_MEMORY] = { "--memory", "MIB", "memory limit in MiB" },
        [F_PIDS] = { "--pids", "N", "maximum number of processes and threads" },
        [F_CPU_TIME] = { "--cpu-time", "SECONDS", "CPU time limit" },
        [F_TIMEOUT] = { "--timeout", "SECONDS", "wall-clock limit; exit 124 when hit" },
        [F_NOFILE] = { "--nofile", "N", "maximum open files" },
        [F_FSIZE] = { "--fsize", "MIB", "largest file the command may write" },
        [F_TMPFS_SIZE] = { "--tmpfs-size", "MIB", "size of /tmp, $HOME and other tmpfs mounts" },
        [F_TTY] = { "--tty", NULL, "always give the command a terminal" },
        [F_NO_TTY] = { "--no-tty", NULL, "never give the command a terminal" },
        [F_JSON] = { "--json", NULL, "print a JSON result object on stdout after the run" },
        [F_JSON_FD] = { "--json-fd", "FD", "write the JSON result object to file descriptor FD" },
        [F_VERBOSE] = { "--verbose", NULL, "narrate each setup step (-v)" },
        [F_ALLOW_WEAKER] = { "--allow-weaker", "landlock|userns", "run without a protection this system lacks" },
        [F_LANG] = { "--lang", "python|bash|sh|node", "run a snippet (-c), a FILE or stdin in that language" },
        [F_CODE] = { "--code", "CODE", "the snippet to run with --lang (-c)" },
        [F_PROFILE] = { "--profile", "safe|fast|dev", "a named set of limits (see moat(1)); flags override it" },
        [F_MODE] = { "--mode", "strict|balanced|dev", "strict: every protection or refuse; dev: run weaker, loudly" },
        [F_POLICY] = { "--policy", "FILE", "a JSON file of ceilings that requests cannot exceed" },
        [F_OUTPUT_LIMIT] = { "--output-limit", "BYTES", "keep at most BYTES of stdout and of stderr" },
        [F_HELP] = { "--help", NULL, "show this help (-h)" },
};

const struct limit_field limit_fields[LIMIT_FIELDS] = {
        { "memory", "--memory", LIMIT_MEMORY, offsetof(struct limits, memory_mib), 1u << 24 },
        { "pids", "--pids", LIMIT_PIDS, offsetof(struct limits, pids), 1u << 22 },
        { "cpu_time", "--cpu-time", LIMIT_CPU_TIME, offsetof(struct limits, cpu_time_s), 1u << 30 },
        { "timeout", "--timeout", LIMIT_TIMEOUT, offsetof(struct limits, timeout_s), 1u << 30 },
        { "nofile", "--nofile", LIMIT_NOFILE, offsetof(struct limits, nofile), 1u << 20 },
        { "fsize", "--fsize", LIMIT_FSIZE, offsetof(struct limits, fsize_mib), 1u << 24 },
        { "tmpfs_size", "--tmpfs-size", LIMIT_TMPFS, offsetof(struct limits, tmpfs_mib), 1u << 20 },
};

const struct limit_field *limit_field_find(const char *name)
{
        for (size_t i = 0; i < LIMIT_FIELDS; i++)
                if (strcmp(limit_fields[i].name, name) == 0)
                        return &limit_fields[i];
        return NULL;
}

const struct run_flag *run_flags(size_t *ret_n)
{
        *ret_n = F_MAX;
        return flags;
}

void run_options_free(struct run_options *o)
{
        strv_free(o->argv);
        for (size_t i = 0; i < o->n_mounts; i++) {
                free(o->mounts[i].src);
                free(o->mounts[i].dst);
        }
        free(o->mounts);
        strv_free(o->protect);
        strv_free(o->path_prepend);
        free(o->lang);
        free(o->code);
        free(o->limit_set);
        free(o->mode);
        free(o->policy_file);
        free(o->home_dir);
        strv_free(o->env_set);
        strv_free(o->env_pass);
        strv_free(o->allow);
        strv_free(o->publish);
        strv_free(o->host_ports);
        free(o->log_path);
        free(o->workdir);
        memset(o, 0, sizeof *o);
        o->json_fd = -1;
}

static int replace_str(char **dst, const char *v)
{
        free(*dst);
        *dst = strdup(v);
        return *dst ? 0 : -ENOMEM;
}

int run_options_add_mount(struct run_options *o, enum mount_type t, const char *src, const char *dst,
                           bool writable, const char *flag)
{
        struct mount_request *m = realloc(o->mounts, (o->n_mounts + 1) * sizeof *m);
        if (!m)
                return -ENOMEM;
        o->mounts = m;
        m = &o->mounts[o->n_mounts];
        *m = (struct mount_request){ .type = t, .writable = writable, .flag = flag };
        m->src = src ? strdup(src) : NULL;
        m->dst = dst ? strdup(dst) : NULL;
        if ((src && !m->src) || (dst && !m->dst)) {
                free(m->src);
                free(m->dst);
                return -ENOMEM;
        }
        o->n_mounts++;
        return 0;
}

static int parse_mount_spec(struct run_options *o, const char *v, struct moat_error *e)
{
        /* SRC:DST[:ro|:rw]. Paths with ':' cannot be expressed; say so. */
        _cleanup_free_ char *copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        char *parts[4] = { 0 };
        size_t n = 0;
        for (char *s = copy, *save = NULL, *t; (t = strtok_r(s, ":", &save)); s = NULL) {
                if (n == 3)
                        return error_set(e, EINVAL, "--mount %s: expected SRC:DST[:ro] (paths may not contain ':')", v);
                parts[n++] = t;
        }
        if (n < 2)
                return error_set(e, EINVAL, "--mount %s: expected SRC:DST[:ro], e.g. --mount ~/data:/data:ro", v);
        bool writable = true;
        if (n == 3) {
                if (strcmp(parts[2], "ro") == 0)
                        writable = false;
                else if (strcmp(parts[2], "rw") != 0)
                        return error_set(e, EINVAL, "--mount %s: unknown option '%s' (use ro or rw)", v, parts[2]);
        }
        return run_options_add_mount(o, MOUNT_BIND, parts[0], parts[1], writable, "--mount");
}

static int parse_limit(const char *flag, const char *v, unsigned long long max, uint64_t *ret,
                       struct moat_error *e)
{
        unsigned long long x;
        int r = parse_u64(v, max, &x);
        if (r == -ERANGE)
                return error_set(e, ERANGE, "%s %s: too large (at most %llu)", flag, v, max);
        if (r < 0)
                return error_set(e, EINVAL, "%s %s: expected a whole number (0 means no limit)", flag, v);
        *ret = x;
        return 0;
}

static int find_flag(const char *name)
{
        for (int i = 0; i < F_MAX; i++)
                if (strcmp(flags[i].name, name) == 0)
                        return i;
        return -1;
}

static int unknown_flag(const char *cmd, const char *arg, struct moat_error *e)
{
        const char *names[F_MAX];
        for (int i = 0; i < F_MAX; i++)
                names[i] = flags[i].name;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
        const char *s = str_suggest(name, names, F_MAX);
        if (s)
                return error_set(e, EINVAL, "%s: unknown option '%s' (did you mean '%s'?)", cmd, name, s);
        return error_set(e, EINVAL, "%s: unknown option '%s'; see 'moat %s --help'", cmd, name, cmd);
}

static int apply_flag(const char *cmd, int id, const char *v, struct run_options *o, struct moat_error *e)
{
        const char *fn = flags[id].name;
        int r = 0;
        switch ((enum flag_id)id) {
        case F_RO:
        case F_RW:
                if (!*v)
                        return error_set(e, EINVAL, "%s: empty path", fn);
                return run_options_add_mount(o, MOUNT_BIND, v, NULL, id == F_RW, fn);
        case F_MOUNT:
                return parse_mount_spec(o, v, e);
        case F_TMPFS:
                return run_options_add_mount(o, MOUNT_TMPFS, NULL, v, true, fn);
        case F_NO_CWD:
                o->no_cwd = true;
                return 0;
        case F_WORKDIR:
                free(o->workdir);
                o->workdir = strdup(v);
                return o->workdir ? 0 : -ENOMEM;
        case F_PROTECT:
                return strv_push(&o->protect, v);
        case F_LANG:
                return replace_str(&o->lang, v);
        case F_CODE:
                return replace_str(&o->code, v);
        case F_PROFILE:
                return replace_str(&o->limit_set, v);
        case F_MODE:
                return replace_str(&o->mode, v);
        case F_POLICY:
                return replace_str(&o->policy_file, v);
        case F_OUTPUT_LIMIT: {
                unsigned long long n;
                if (parse_u64(v, 1ull << 40, &n) < 0 || n == 0)
                        return error_set(e, EINVAL, "--output-limit %s: expected a number of bytes from 1", v);
                o->output_limit = n;
                return 0;
        }
        case F_GIT_WRITE:
                o->git_write = true;
                return 0;
        case F_ENV: {
                const char *eq = strchr(v, '=');
                if (!eq || eq == v)
                        return error_set(e, EINVAL, "--env %s: expected NAME=VALUE", v);
                for (const char *p = v; p < eq; p++)
                        if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                              (p > v && *p >= '0' && *p <= '9')))
                                return error_set(e, EINVAL, "--env %s: '%.*s' is not a valid variable name",
                                                 v, (int)(eq - v), v);
                return strv_push(&o->env_set, v);
        }
        case F_PASS_ENV:
                if (!*v || strchr(v, '='))
                        return error_set(e, EINVAL, "--pass-env %s: expected a variable NAME (use --env NAME=VALUE to set one)", v);
                return strv_push(&o->env_pass, v);
        case F_NET:
                if (strcmp(v, "none") == 0)
                        o->net = NET_NONE;
                else if (strcmp(v, "host") == 0)
                        o->net = NET_HOST;
                else if (strcmp(v, "proxy") == 0)
                        o->net = NET_PROXY;
                else
                        return error_set(e, EINVAL, "--net %s: expected 'none', 'proxy' or 'host' (to name hosts, "
                                         "use --allow HOST)", v);
                o->net_set = true;
                return 0;
        case F_ALLOW:
                if (!*v)
                        return error_set(e, EINVAL, "--allow: empty rule");
                return strv_push(&o->allow, v);
        case F_PUBLISH:
                return strv_push(&o->publish, v);
        case F_HOST_PORT:
                return strv_push(&o->host_ports, v);
        case F_LOG:
                if (!*v)
                        return error_set(e, EINVAL, "--log: empty file name");
                free(o->log_path);
                o->log_path = strdup(v);
                return o->log_path ? 0 : -ENOMEM;
        case F_MEMORY:
                r = parse_limit(fn, v, 1ull << 30, &o->limits.memory_mib, e);
                o->limits_set |= LIMIT_MEMORY;
                return r;
        case F_PIDS:
                r = parse_limit(fn, v, 1u << 22, &o->limits.pids, e);
                o->limits_set |= LIMIT_PIDS;
                return r;
        case F_CPU_TIME:
                r = parse_limit(fn, v, 1ull << 32, &o->limits.cpu_time_s, e);
                o->limits_set |= LIMIT_CPU_TIME;
                return r;
        case F_TIMEOUT:
                r = parse_limit(fn, v, 1ull << 32, &o->limits.timeout_s, e);
                o->limits_set |= LIMIT_TIMEOUT;
                return r;
        case F_NOFILE:
                r = parse_limit(fn, v, 1u << 20, &o->limits.nofile, e);
                o->limits_set |= LIMIT_NOFILE;
                return r;
        case F_FSIZE:
                r = parse_limit(fn, v, 1ull << 32, &o->limits.fsize_mib, e);
                o->limits_set |= LIMIT_FSIZE;
                return r;
        case F_TMPFS_SIZE:
                r = parse_limit(fn, v, 1ull << 30, &o->limits.tmpfs_mib, e);
                if (r == 0 && o->limits.tmpfs_mib == 0)
                        return error_set(e, EINVAL, "--tmpfs-size 0: a tmpfs needs a size of at least 1 MiB");
                o->limits_set |= LIMIT_TMPFS;
                return r;
        case F_TTY:
                o->tty = TTY_ALWAYS;
                return 0;
        case F_NO_TTY:
                o->tty = TTY_NEVER;
                return 0;
        case F_JSON:
                o->json = true;
                return 0;
        case F_JSON_FD: {
                unsigned long long fd;
                if (parse_u64(v, INT_MAX, &fd) < 0)
                        return error_set(e, EINVAL, "--json-fd %s: expected a file descriptor number", v);
                if (fd <= 2)
                        return error_set(e, EINVAL, "--json-fd %s: use a descriptor above 2 so the result stays apart from the command's output (e.g. --json-fd 3 3>result.json)", v);
                o->json_fd = (int)fd;
                o->json = true;
                return 0;
        }
        case F_VERBOSE:
                o->verbose++;
                return 0;
        case F_ALLOW_WEAKER: {
                _cleanup_free_ char *copy = strdup(v);
                if (!copy)
                        return -ENOMEM;
                for (char *s = copy, *save = NULL, *t; (t = strtok_r(s, ",", &save)); s = NULL) {
                        if (strcmp(t, "landlock") == 0)
                                o->allow_weaker |= WEAKER_LANDLOCK;
                        else if (strcmp(t, "userns") == 0)
                                o->allow_weaker |= WEAKER_USERNS;
                        else
                                return error_set(e, EINVAL, "--allow-weaker %s: unknown protection '%s' (expected landlock or userns)", v, t);
                }
                return 0;
        }
        case F_HELP:
                o->help = true;
                return 0;
        case F_MAX:
                break;
        }
        (void)cmd;
        return -EINVAL;
}

int run_args_parse(const char *cmd, int argc, char *const *argv, struct run_options *o,
                   struct moat_error *e)
{
        memset(o, 0, sizeof *o);
        o->json_fd = -1;
        int i = 0;
        for (; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--") == 0) {
                        o->dashdash = true;
                        i++;
                        break;
                }
                if (a[0] != '-' || a[1] == '\0')
                        break; /* the command starts here: `moat run ls -la` */
                int id;
                const char *value = NULL;
                if (strcmp(a, "-v") == 0 || strcmp(a, "-vv") == 0) {
                        o->verbose += (int)strlen(a) - 1;
                        continue;
                } else if (strcmp(a, "-h") == 0) {
                        id = F_HELP;
                } else if (strcmp(a, "-p") == 0) {
                        id = F_PUBLISH;
                } else if (strcmp(a, "-e") == 0) {
                        id = F_ENV;
                } else if (strcmp(a, "-c") == 0) {
                        id = F_CODE;
                } else {
                        const char *eq = strchr(a, '=');
                        if (eq) {
                                char name[64];
                                snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
                                id = find_flag(name);
                                value = eq + 1;
                        } else
                                id = find_flag(a);
                        if (id < 0)
                                return unknown_flag(cmd, a, e);
                }
                if (flags[id].arg && !value) {
                        if (i + 1 >= argc)
                                return error_set(e, EINVAL, "%s: %s needs a value (%s %s)", cmd, flags[id].name,
                                                 flags[id].name, flags[id].arg);
                        value = argv[++i];
                } else if (!flags[id].arg && value)
                        return error_set(e, EINVAL, "%s: %s takes no value", cmd, flags[id].name);
                int r = apply_flag(cmd, id, value ? value : "", o, e);
                if (r < 0) {
                        if (r == -ENOMEM)
                                return error_set(e, ENOMEM, "out of memory");
                        return r;
                }
        }
        for (; i < argc; i++)
                if (strv_push(&o->argv, argv[i]) < 0)
                        return error_set(e, ENOMEM, "out of memory");
        if (o->allow) {
                if (o->net_set && o->net != NET_PROXY)
                        return error_set(e, EINVAL, "--allow conflicts with --net %s: named hosts go through the "
                                         "proxy (drop --net, or use --net proxy)", net_mode_name(o->net));
                o->net = NET_PROXY;
        }
        return 0;
}

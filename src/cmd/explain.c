/* SPDX-License-Identifier: MIT */
/* `moat explain`: the resolved policy, without running anything. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "profile/resolve.h"
#include "cli/run_args.h"
#include "net/egress.h"
#include "cmd/cmd.h"
#include "policy/build.h"
#include "policy/protect.h"
#include "sandbox/exec.h"
#include "sandbox/seccomp.h"
#include "util/log.h"
#include "util/path.h"

static const char *access_name(enum landlock_access a)
{
        switch (a) {
        case LL_READ: return "read";
        case LL_READ_EXEC: return "read, execute";
        case LL_WRITE: return "read, write, execute";
        case LL_DEV: return "read, write, device ioctls";
        case LL_LIST: return "list directories";
        case LL_ACCESS_MAX: break;
        }
        return "?";
}

static const char *protect_why(const struct policy *p, const struct mount_entry *m)
{
        size_t n;
        const struct protected_path *d = protect_defaults(&n);
        if (strcmp(m->origin, "submodule") == 0)
                return "a submodule in the index: the host's git status runs git (and this .git's config) there";
        if (strcmp(m->origin, "protected") != 0)
                return "named with --protect";
        const char *rel = m->dst + strlen(p->project) + 1;
        if (strcmp(rel, ".git") == 0)
                return p->git_write ? "a planted repository or .git file would run its hooks and config on the host"
                                    : "read-only: hooks, config, index and refs (--git-write to commit from inside)";
        for (size_t i = 0; i < n; i++)
                if (strcmp(d[i].path, rel) == 0)
                        return d[i].why;
        return "";
}

static void print_policy(const struct policy *p)
{
        char esc[4096];
        printf("command:   ");
        for (size_t i = 0; p->argv[i]; i++)
                printf("%s%s", i ? " " : "", log_escape(p->argv[i], esc, sizeof esc));
        printf("\nworkdir:   %s\n", log_escape(p->workdir, esc, sizeof esc));
        printf("user:      %s (uid %u, gid %u, mapped to themselves)\n", p->user, (unsigned)p->uid, (unsigned)p->gid);
        switch (p->net) {
        case NET_NONE:
                printf("network:   none (own loopback only)\n");
                break;
        case NET_HOST:
                printf("network:   host (the host's network!)\n");
                break;
        case NET_PROXY:
                printf("network:   own loopback, and the egress proxy at 127.0.0.1:%d (HTTP, CONNECT, SOCKS5)\n",
                       EGRESS_PORT);
                for (size_t i = 0; i < p->n_rules; i++)
                        printf("  %s %s\n", p->rules[i].deny ? "deny " : "allow", p->rules[i].text);
                if (!p->n_rules)
                        printf("  (no rules: every connection is refused and reported)\n");
                printf("  loopback, private, link-local and metadata addresses only when an address rule names them\n");
                break;
        case NET_MODE_MAX:
                break;
        }
        printf("namespaces: user, mount, pid, ipc, uts, cgroup%s\n", p->net != NET_HOST ? ", net" : "");
        printf("\nfilesystem:\n");
        for (size_t i = 0; i < p->n_mounts; i++) {
                const struct mount_entry *m = &p->mounts[i];
                switch (m->type) {
                case MOUNT_ROOT:
                        printf("  %-34s tmpfs, read-only\n", "/");
                        break;
                case MOUNT_BIND:
                        printf("  %-34s %s of %s (%s)\n", log_escape(m->dst, esc, sizeof esc),
                               m->writable ? "read-write" : "read-only", m->src, m->origin);
                        break;
                case MOUNT_SYMLINK:
                        printf("  %-34s -> %s\n", m->dst, m->src);
                        break;
                case MOUNT_TMPFS:
                        printf("  %-34s tmpfs, %llu MiB (%s)\n", log_escape(m->dst, esc, sizeof esc),
                               (unsigned long long)(m->size >> 20), m->origin);
                        break;
                case MOUNT_ETC:
                        printf("  %-34s curated: allowlisted host entries; passwd, group, hosts synthesized\n", "/etc");
                        break;
                case MOUNT_PROC:
                        printf("  %-34s fresh procfs; kcore, keys, kallsyms... masked; sys, irq, bus read-only\n", "/proc");
                        break;
                case MOUNT_SYS:
                        printf("  %-34s cpu and node topology only, read-only\n", "/sys");
                        break;
                case MOUNT_DEV:
                        printf("  %-34s null zero full random urandom tty, private pts, shm %llu MiB\n", "/dev",
                               (unsigned long long)(m->size >> 20));
                        break;
                case MOUNT_PROTECT:
                        break;
                case MOUNT_TYPE_MAX:
                        break;
                }
        }
        if (p->project) {
                printf("\nread-only inside the project (existing or not%s):\n", "");
                for (size_t i = 0; i < p->n_mounts; i++) {
                        const struct mount_entry *m = &p->mounts[i];
                        if (m->type != MOUNT_PROTECT)
                                continue;
                        printf("  %-34s %s%s\n", log_escape(m->dst + strlen(p->project) + 1, esc, sizeof esc),
                               protect_why(p, m), m->stub ? "" : " (when present)");
                }
        }
        printf("\nenvironment:\n");
        for (size_t i = 0; p->env && p->env[i]; i++)
                printf("  %s\n", log_escape(p->env[i], esc, sizeof esc));
        printf("\nlimits (rlimits; cgroup too where delegated):\n");
        printf("  memory %llu MiB, pids %llu, open files %llu, tmpfs %llu MiB\n",
               (unsigned long long)p->limits.memory_mib, (unsigned long long)p->limits.pids,
               (unsigned long long)p->limits.nofile, (unsigned long long)p->limits.tmpfs_mib);
        printf("  cpu time %s, wall clock %s, file size %s\n",
               p->limits.cpu_time_s ? "" : "unlimited", p->limits.timeout_s ? "" : "unlimited",
               p->limits.fsize_mib ? "" : "unlimited");
        if (p->limits.cpu_time_s)
                printf("  cpu time %llu s\n", (unsigned long long)p->limits.cpu_time_s);
        if (p->limits.timeout_s)
                printf("  wall clock %llu s\n", (unsigned long long)p->limits.timeout_s);
        if (p->limits.fsize_mib)
                printf("  file size %llu MiB\n", (unsigned long long)p->limits.fsize_mib);
        printf("\nLandlock (applied after the mounts):\n");
        struct landlock_rule rules[64];
        size_t n = exec_rules_for_policy(p, rules, 64);
        for (size_t i = 0; i < n; i++)
                printf("  %-34s %s\n", log_escape(rules[i].path, esc, sizeof esc), access_name(rules[i].access));
        printf("\nprocess: new session, own pid 1, all capabilities dropped, no_new_privs, core dumps off,\n"
               "         inherited file descriptors beyond 0-2 closed\n");
        printf("\nseccomp (applied last):\n");
        const struct seccomp_rule_doc *d = seccomp_rules(&n);
        for (size_t i = 0; i < n; i++)
                printf("  %s\n      %s\n", d[i].what, d[i].why);
}

int cmd_explain(int argc, char **argv)
{
        struct run_options o;
        struct moat_error e = { 0 };
        struct policy p = { 0 };
        struct build_env be;
        _cleanup_free_ char *cwd = NULL;

        if (run_args_parse("explain", argc - 1, argv + 1, &o, &e) < 0) {
                log_error("%s", e.msg);
                run_options_free(&o);
                return 125;
        }
        if (o.help) {
                help_run("explain");
                run_options_free(&o);
                return 0;
        }
        if (profile_resolve(&o, RESOLVE_MAYBE, false, &e) < 0) {
                log_error("%s", e.msg);
                run_options_free(&o);
                return 125;
        }
        if (build_env_from_process(&be, &cwd) < 0) {
                log_error("cannot determine the current directory");
                run_options_free(&o);
                return 125;
        }
        int r = policy_build(&o, &be, &p, &e);
        run_options_free(&o);
        if (r < 0) {
                log_error("%s", e.msg[0] ? e.msg : "out of memory");
                policy_free(&p);
                return 125;
        }
        print_policy(&p);
        policy_free(&p);
        return 0;
}

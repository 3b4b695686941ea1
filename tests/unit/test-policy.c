/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/build.h"
#include "tap.h"
#include "util/strv.h"

static const struct mount_entry *find(const struct policy *p, const char *dst, enum mount_type t)
{
        for (size_t i = 0; i < p->n_mounts; i++)
                if (p->mounts[i].type == t && strcmp(p->mounts[i].dst, dst) == 0)
                        return &p->mounts[i];
        return NULL;
}

static const char *env_of(const struct policy *p, const char *name)
{
        ssize_t i = strv_env_find(p->env, name, strlen(name));
        return i >= 0 ? p->env[i] + strlen(name) + 1 : NULL;
}

static int build(struct policy *p, struct moat_error *e, const char *cwd, int argc, char **argv)
{
        char *environ_[] = { "HOME=/home/alice", "TERM=xterm", "LC_ALL=C.UTF-8", "SECRET_TOKEN=x",
                             "SSH_AUTH_SOCK=/tmp/agent", "PATH=/home/alice/bin:/usr/bin", NULL };
        struct build_env be = { .environ = environ_, .cwd = cwd, .uid = 1000, .gid = 1000, .user = "alice",
                                .home = "/home/alice", .mem_total_mib = 8192 };
        struct run_options o;
        memset(e, 0, sizeof *e);
        int r = run_args_parse("run", argc, argv, &o, e);
        if (r == 0)
                r = policy_build(&o, &be, p, e);
        run_options_free(&o);
        return r;
}

int main(void)
{
        struct policy p;
        struct moat_error e;

        char *a1[] = { "ls" };
        tap_ok(build(&p, &e, "/home/alice/proj", 1, a1) == 0, "default policy builds: %s", e.msg);
        const struct mount_entry *m = find(&p, "/home/alice/proj", MOUNT_BIND);
        tap_ok(m && m->writable, "the project is mounted read-write");
        tap_ok(find(&p, "/home/alice", MOUNT_TMPFS) != NULL, "home is a tmpfs");
        tap_ok(find(&p, "/usr", MOUNT_BIND) && !find(&p, "/usr", MOUNT_BIND)->writable, "/usr read-only");
        m = find(&p, "/home/alice/proj/.git", MOUNT_PROTECT);
        tap_ok(m && !m->skip_if_dir, "all of .git protected");
        tap_ok(find(&p, "/home/alice/proj/.git/hooks", MOUNT_PROTECT) == NULL, "so no separate mount for .git/hooks");
        policy_free(&p);
        char *gw[] = { "--git-write", "ls" };
        tap_ok(build(&p, &e, "/home/alice/proj", 2, gw) == 0, "--git-write builds: %s", e.msg);
        m = find(&p, "/home/alice/proj/.git", MOUNT_PROTECT);
        tap_ok(m && m->skip_if_dir && p.git_write, "--git-write: .git itself writable");
        tap_ok(find(&p, "/home/alice/proj/.git/hooks", MOUNT_PROTECT) != NULL, "--git-write: .git/hooks protected");
        tap_ok(find(&p, "/home/alice/proj/.git/config", MOUNT_PROTECT) != NULL, "--git-write: .git/config protected");
        policy_free(&p);
        tap_ok(build(&p, &e, "/home/alice/proj", 1, a1) == 0, "default policy builds again");
        tap_ok(find(&p, "/home/alice/proj/.envrc", MOUNT_PROTECT) != NULL, ".envrc protected");
        tap_is_str(p.workdir, "/home/alice/proj", "workdir is the project");
        tap_is_str(env_of(&p, "TERM"), "xterm", "TERM passes");
        tap_is_str(env_of(&p, "LC_ALL"), "C.UTF-8", "LC_* passes");
        tap_ok(env_of(&p, "SECRET_TOKEN") == NULL, "other variables are dropped");
        tap_ok(env_of(&p, "SSH_AUTH_SOCK") == NULL, "agent sockets are dropped");
        tap_is_str(env_of(&p, "PATH"), SANDBOX_PATH, "PATH is the sandbox's");
        tap_is_str(env_of(&p, "HOME"), "/home/alice", "HOME");
        tap_is_int(p.limits.memory_mib, 4096, "memory defaults to half of RAM");
        tap_is_int(p.limits.pids, DEFAULT_PIDS, "pids default");
        tap_ok(p.net == NET_NONE, "no network by default");
        policy_free(&p);

        char *a2[] = { "ls" };
        tap_ok(build(&p, &e, "/home/alice", 1, a2) < 0 && strstr(e.msg, "home directory"),
               "running in $HOME is refused: %s", e.msg);
        policy_free(&p);
        tap_ok(build(&p, &e, "/", 1, a2) < 0, "running in / is refused: %s", e.msg);
        policy_free(&p);

        char *a3[] = { "--no-cwd", "ls" };
        tap_ok(build(&p, &e, "/home/alice", 2, a3) == 0 && !p.project, "--no-cwd works anywhere");
        tap_is_str(p.workdir, "/home/alice", "--no-cwd works in $HOME");
        policy_free(&p);

        char *a4[] = { "--ro", "/nonexistent-moat-test", "ls" };
        tap_ok(build(&p, &e, "/home/alice/proj", 3, a4) < 0 && strstr(e.msg, "no such file"),
               "missing mount source: %s", e.msg);
        policy_free(&p);

        char *a5[] = { "--mount", "/usr:relative", "ls" };
        tap_ok(build(&p, &e, "/home/alice/proj", 3, a5) < 0 && strstr(e.msg, "absolute"), "relative dst: %s", e.msg);
        policy_free(&p);

        char *a6[] = { "--mount", "/usr:/proc/x", "ls" };
        tap_ok(build(&p, &e, "/home/alice/proj", 3, a6) < 0 && strstr(e.msg, "/proc"), "dst in /proc: %s", e.msg);
        policy_free(&p);

        char *a7[] = { "--tmpfs", "/a/../b", "ls" };
        tap_ok(build(&p, &e, "/home/alice/proj", 3, a7) < 0 && strstr(e.msg, ".."), "'..' in dst: %s", e.msg);
        policy_free(&p);

        char *a8[] = { "--protect", "../outside", "ls" };
        tap_ok(build(&p, &e, "/home/alice/proj", 3, a8) < 0, "--protect outside: %s", e.msg);
        policy_free(&p);

        char *a9[] = { "--env", "A=1", "--pass-env", "SECRET_TOKEN", "--pass-env", "UNSET_X", "--net", "host", "ls" };
        tap_ok(build(&p, &e, "/home/alice/proj", 9, a9) == 0, "env flags");
        tap_is_str(env_of(&p, "A"), "1", "--env sets");
        tap_is_str(env_of(&p, "SECRET_TOKEN"), "x", "--pass-env passes");
        tap_ok(env_of(&p, "UNSET_X") == NULL, "--pass-env of an unset variable adds nothing");
        tap_ok(p.net == NET_HOST, "--net host");
        policy_free(&p);

        char *a10[] = { "--nofile", "2", "ls" };
        tap_ok(build(&p, &e, "/home/alice/proj", 3, a10) < 0, "--nofile too low: %s", e.msg);
        policy_free(&p);

        tap_ok(build(&p, &e, "/home/alice/proj", 0, NULL) < 0 && strstr(e.msg, "no command"), "no command: %s", e.msg);
        policy_free(&p);
        return tap_done();
}

/* SPDX-License-Identifier: MIT */
/* cgroup probing and lifecycle on fake trees in a temp dir (v2, hybrid, v1,
 * nothing usable), then the real probe of this machine as a comment. On a
 * fake tree the code creates the interface files it writes and destroy
 * unlinks them (see src/sandbox/cgroup.c), so the tests read back exactly
 * what would have gone to the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "tests/unit/tap.h"

static char base[] = "/tmp/moat-test-cgroup.XXXXXX";

/* dir/name in one of a few rotating buffers, so calls can nest. */
static const char *path(const char *dir, const char *name)
{
        static char buf[4][4096];
        static int i;
        char *r = buf[i++ % 4];
        snprintf(r, sizeof(buf[0]), "%s/%s", dir, name);
        return r;
}

static void mkdirs(const char *p)
{
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s", p);
        for (char *s = tmp + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        mkdir(tmp, 0755);
                        *s = '/';
                }
        mkdir(tmp, 0755);
}

static void put(const char *p, const char *content)
{
        FILE *f = fopen(p, "we");
        if (f) {
                fputs(content, f);
                fclose(f);
        }
}

static const char *slurp(const char *p)
{
        static char buf[4096];
        FILE *f = fopen(p, "re");
        if (!f)
                return NULL;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static bool exists(const char *p) { return access(p, F_OK) == 0; }

/* A fake v2 hierarchy at base/name[/unified]: our cgroup /user.slice/me. */
static void make_v2(const char *name, bool hybrid, const char *ctrls, const char *subtree,
                    const char *procs, char *ret_root, char *ret_me, char *ret_proc)
{
        char v2[2048];
        snprintf(ret_root, 4096, "%s/%s", base, name);
        snprintf(v2, sizeof(v2), "%s%s", ret_root, hybrid ? "/unified" : "");
        snprintf(ret_me, 4096, "%s/user.slice/me", v2);
        snprintf(ret_proc, 4096, "%s/%s.cgroup", base, name);
        mkdirs(ret_me);
        put(path(v2, "cgroup.controllers"), ctrls);
        put(path(ret_me, "cgroup.controllers"), ctrls);
        put(path(ret_me, "cgroup.subtree_control"), subtree);
        put(path(ret_me, "cgroup.procs"), procs);
        put(ret_proc, "1:name=systemd:/user.slice/me\n0::/user.slice/me\n");
}

static pid_t sleeper(void)
{
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
                for (;;)
                        pause();
        }
        return pid;
}

static bool killed_by_sigkill(pid_t pid)
{
        int status;
        return waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void test_v2(void)
{
        char root[4096], me[4096], proc[4096], pid_line[32];
        struct cgroup_info info;
        struct cgroup cg, cg2;
        struct limits l = { .memory_mib = 64, .pids = 10 };
        bool oom = true;
        uint64_t peak = 1;

        make_v2("v2", false, "cpu memory pids\n", "memory pids\n", "", root, me, proc);
        cgroup_probe(root, proc, &info);
        tap_is_int(info.kind, CGROUP_V2, "v2: probe finds cgroup v2");
        tap_ok(info.memory && info.pids, "v2: memory and pids usable");
        tap_ok(!info.cpu, "v2: cpu available but not enabled in subtree_control: not reported usable");
        tap_is_str(info.reason, "", "v2: no reason when usable");

        tap_is_int(cgroup_create(root, proc, "leaf", &l, &cg), 0, "v2: create");
        tap_is_int(cg.kind, CGROUP_V2, "v2: created kind");
        tap_is_str(cg.path, path(me, "leaf"), "v2: leaf under our cgroup");
        tap_is_str(slurp(path(cg.path, "memory.max")), "67108864\n", "v2: memory.max in bytes");
        tap_is_str(slurp(path(cg.path, "memory.swap.max")), "0\n", "v2: memory.swap.max 0");
        tap_is_str(slurp(path(cg.path, "pids.max")), "10\n", "v2: pids.max");
        tap_is_str(slurp(path(me, "cgroup.subtree_control")), "memory pids\n",
                   "v2: subtree_control left alone when already enabled");

        tap_is_int(cgroup_create(root, proc, "leaf", &l, &cg2), -EEXIST, "v2: existing leaf: -EEXIST");
        tap_ok(exists(cg.path) && cg2.kind == CGROUP_NONE && !cg2.path, "v2: failed create leaves the existing leaf alone");
        tap_is_int(cgroup_create(root, proc, "../x", &l, &cg2), -EINVAL, "v2: name with a slash: -EINVAL");
        tap_is_int(cgroup_create(root, proc, "..", &l, &cg2), -EINVAL, "v2: name \"..\": -EINVAL");

        pid_t pid = sleeper();
        snprintf(pid_line, sizeof(pid_line), "%d\n", (int) pid);
        tap_is_int(cgroup_attach(&cg, pid), 0, "v2: attach");
        tap_is_str(slurp(path(cg.path, "cgroup.procs")), pid_line, "v2: attach writes the pid to cgroup.procs");

        tap_is_int(cgroup_result(&cg, &oom, &peak), 0, "v2: result without memory.events");
        tap_ok(!oom && peak == 0, "v2: no events: no OOM, peak unknown");
        put(path(cg.path, "memory.events"), "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n");
        put(path(cg.path, "memory.peak"), "12345\n");
        tap_is_int(cgroup_result(&cg, &oom, &peak), 0, "v2: result");
        tap_ok(oom, "v2: oom_kill 1 -> OOM");
        tap_is_int(peak, 12345, "v2: memory.peak");
        put(path(cg.path, "memory.events"), "oom 3\noom_kill 0\noom_group_kill 0\n");
        cgroup_result(&cg, &oom, &peak);
        tap_ok(!oom, "v2: oom_kill 0 -> no OOM (oom and oom_group_kill ignored)");

        char leaf[4096];
        snprintf(leaf, sizeof(leaf), "%s", cg.path);
        cgroup_destroy(&cg);
        tap_ok(!exists(leaf), "v2: destroy removes the leaf");
        tap_ok(killed_by_sigkill(pid), "v2: destroy SIGKILLs what cgroup.procs lists");
        tap_ok(cg.kind == CGROUP_NONE && !cg.path && !cg.v1_memory && !cg.v1_pids, "v2: destroy zeroes the struct");
        cgroup_destroy(&cg);
        struct cgroup zero = {};
        cgroup_destroy(&zero);
        cgroup_destroy(NULL);
        tap_ok(1, "v2: destroy twice, on a zeroed struct and on NULL");

        struct limits none = {};
        tap_is_int(cgroup_create(root, proc, "nolimits", &none, &cg), 0, "v2: create without limits");
        tap_ok(!exists(path(cg.path, "memory.max")) && !exists(path(cg.path, "pids.max")),
               "v2: a 0 limit is not written");
        cgroup_destroy(&cg);
}

static void test_v2_enable(void)
{
        char root[4096], me[4096], proc[4096];
        struct cgroup_info info;
        struct cgroup cg;
        struct limits l = { .memory_mib = 1, .pids = 3 };

        make_v2("v2-enable", false, "memory pids\n", "", "", root, me, proc);
        cgroup_probe(root, proc, &info);
        tap_ok(info.kind == CGROUP_V2 && info.memory && info.pids,
               "v2, controllers not enabled, no processes: usable");
        tap_is_int(cgroup_create(root, proc, "leaf", &l, &cg), 0, "v2: create enables controllers");
        tap_is_str(slurp(path(me, "cgroup.subtree_control")), "+memory +pids",
                   "v2: wrote +memory +pids to our subtree_control");
        tap_is_str(slurp(path(cg.path, "memory.max")), "1048576\n", "v2: 1 MiB");
        cgroup_destroy(&cg);

        make_v2("v2-busy", false, "cpu memory pids\n", "", "4242\n", root, me, proc);
        cgroup_probe(root, proc, &info);
        tap_is_int(info.kind, CGROUP_NONE, "v2 with processes and nothing enabled: none");
        tap_ok(strstr(info.reason, "no internal processes") != NULL, "v2 busy: reason names the rule");
        printf("#   reason: %s\n", info.reason);
        tap_is_int(cgroup_create(root, proc, "leaf", &l, &cg), -EBUSY, "v2 busy: create -EBUSY");
        tap_ok(!exists(path(me, "leaf")), "v2 busy: nothing created");

        make_v2("hybrid", true, "memory pids\n", "memory pids\n", "", root, me, proc);
        cgroup_probe(root, proc, &info);
        tap_is_int(info.kind, CGROUP_V2, "hybrid: v2 found at sysfs_root/unified");
        tap_is_int(cgroup_create(root, proc, "leaf", &l, &cg), 0, "hybrid: create");
        tap_is_str(cg.path, path(me, "leaf"), "hybrid: leaf under unified/");
        cgroup_destroy(&cg);
}

static void test_none(void)
{
        char root[4096], me[4096], proc[4096];
        struct cgroup_info info;
        struct cgroup cg;
        struct limits l = { .memory_mib = 1 };

        make_v2("empty", false, "", "", "", root, me, proc);
        cgroup_probe(root, proc, &info);
        tap_is_int(info.kind, CGROUP_NONE, "no controllers: none");
        tap_ok(info.reason[0] && strstr(info.reason, "Delegate=yes"), "no controllers: reason says how to delegate");
        printf("#   reason: %s\n", info.reason);
        tap_is_int(cgroup_create(root, proc, "leaf", &l, &cg), -EOPNOTSUPP, "no controllers: create -EOPNOTSUPP");
        tap_ok(cg.kind == CGROUP_NONE, "no controllers: kind none");

        snprintf(root, sizeof(root), "%s/nothing", base);
        mkdirs(root);
        cgroup_probe(root, proc, &info);
        tap_ok(info.kind == CGROUP_NONE && info.reason[0], "no cgroup fs at all: none with a reason");
        printf("#   reason: %s\n", info.reason);
        cgroup_probe(root, "/nonexistent/cgroup", &info);
        tap_ok(info.kind == CGROUP_NONE && info.reason[0], "missing proc file: none with a reason");
}

static void test_v1(void)
{
        char root[4096], proc[4096], pid_line[32];
        struct cgroup_info info;
        struct cgroup cg;
        struct limits l = { .memory_mib = 64, .pids = 10 };
        bool oom;
        uint64_t peak;

        snprintf(root, sizeof(root), "%s/v1", base);
        snprintf(proc, sizeof(proc), "%s/v1.cgroup", base);
        mkdirs(path(root, "memory/x"));
        mkdirs(path(root, "pids/x"));
        mkdirs(path(root, "unified"));
        put(path(root, "unified/cgroup.controllers"), "");
        put(proc, "9:name=systemd:/\n7:pids:/x\n5:memory:/x\n1:cpu,cpuacct:/\n0::/\n");

        cgroup_probe(root, proc, &info);
        tap_is_int(info.kind, CGROUP_V1, "v1: probe finds v1 (v2 beside it has no controllers)");
        tap_ok(info.memory && info.pids && !info.cpu, "v1: memory and pids");

        tap_is_int(cgroup_create(root, proc, "leaf", &l, &cg), 0, "v1: create");
        tap_is_str(cg.v1_memory, path(root, "memory/x/leaf"), "v1: memory leaf");
        tap_is_str(cg.v1_pids, path(root, "pids/x/leaf"), "v1: pids leaf");
        tap_is_str(slurp(path(cg.v1_memory, "memory.limit_in_bytes")), "67108864\n", "v1: memory.limit_in_bytes");
        tap_ok(!exists(path(cg.v1_memory, "memory.memsw.limit_in_bytes")),
               "v1: memsw not written when absent (no swap accounting)");
        tap_is_str(slurp(path(cg.v1_pids, "pids.max")), "10\n", "v1: pids.max");

        pid_t pid = sleeper();
        snprintf(pid_line, sizeof(pid_line), "%d\n", (int) pid);
        tap_is_int(cgroup_attach(&cg, pid), 0, "v1: attach");
        tap_is_str(slurp(path(cg.v1_memory, "cgroup.procs")), pid_line, "v1: pid in memory/cgroup.procs");
        tap_is_str(slurp(path(cg.v1_pids, "cgroup.procs")), pid_line, "v1: pid in pids/cgroup.procs");

        put(path(cg.v1_memory, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        put(path(cg.v1_memory, "memory.max_usage_in_bytes"), "4096\n");
        tap_is_int(cgroup_result(&cg, &oom, &peak), 0, "v1: result");
        tap_ok(oom && peak == 4096, "v1: oom_kill 2 -> OOM, max_usage_in_bytes -> peak");

        char mem[4096], pids[4096];
        snprintf(mem, sizeof(mem), "%s", cg.v1_memory);
        snprintf(pids, sizeof(pids), "%s", cg.v1_pids);
        cgroup_destroy(&cg);
        tap_ok(!exists(mem) && !exists(pids), "v1: destroy removes both leaves");
        tap_ok(killed_by_sigkill(pid), "v1: destroy SIGKILLs the member");

        if (getuid() != 0) {
                chmod(path(root, "memory/x"), 0555);
                chmod(path(root, "pids/x"), 0555);
                cgroup_probe(root, proc, &info);
                tap_ok(info.kind == CGROUP_NONE && strstr(info.reason, "cgroup v1"),
                       "v1 not writable: none, reason names v1");
                printf("#   reason: %s\n", info.reason);
                chmod(path(root, "memory/x"), 0755);
                chmod(path(root, "pids/x"), 0755);
        } else {
                tap_skip("v1 not writable: root can write anything");
        }
}

static void test_real(void)
{
        struct cgroup_info info;
        static const char *kinds[] = { "none", "v2", "v1" };
        cgroup_probe("/sys/fs/cgroup", "/proc/self/cgroup", &info);
        printf("# real probe (uid %d): kind=%s memory=%d pids=%d cpu=%d reason=\"%s\"\n", (int) getuid(),
               kinds[info.kind], info.memory, info.pids, info.cpu, info.reason);
        tap_ok(info.kind < CGROUP_KIND_MAX && (info.kind != CGROUP_NONE || info.reason[0]),
               "real probe returns a kind, and a reason when none");
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) st, (void) flag, (void) ftw;
        return remove(p);
}

int main(void)
{
        if (!mkdtemp(base)) {
                tap_ok(0, "mkdtemp: %s", strerror(errno));
                return tap_done();
        }
        test_v2();
        test_v2_enable();
        test_none();
        test_v1();
        test_real();
        nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return tap_done();
}

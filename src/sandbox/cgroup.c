/* SPDX-License-Identifier: MIT */
/* cgroup limits for the sandbox: a leaf cgroup under our own, with memory
 * (and no swap) and pids capped. rlimits are per process and a fork bomb or a
 * tree of allocators walks around them; a cgroup counts the whole tree.
 *
 * Every path is built from sysfs_root and the proc_self_cgroup file so the
 * unit tests can run on a fake tree in a temp dir. Two concessions to fakes,
 * both inert on a real system:
 * - sysfs_root (or sysfs_root/unified) counts as a cgroup2 root when it is a
 *   cgroup2 mount *or* holds a file named cgroup.controllers (every real
 *   cgroup2 root does);
 * - on a directory that is not a cgroup filesystem, writes create the file
 *   (the kernel would have created it on mkdir) and cgroup_destroy unlinks
 *   regular files in the leaf before rmdir. On cgroupfs neither happens.
 *
 * The paths come from the kernel (/proc/self/cgroup) and from the caller's
 * fixed root, not from the project tree, so plain string paths are fine; the
 * leaf name is checked to be a single component. */
#include "sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "util/macro.h"

enum { CTRL_MEMORY = 1u << 0, CTRL_PIDS = 1u << 1, CTRL_CPU = 1u << 2 };

#define DELEGATE_HINT "run under `systemd-run --user --scope -p Delegate=yes moat ...` or enable delegation"

static _printf_(2, 3) void why(struct cgroup_info *info, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(info->reason, sizeof(info->reason), fmt, ap);
        va_end(ap);
}

/* dir + "/" + rel, without doubling the slash of "/user.slice". */
static char *join(const char *dir, const char *rel)
{
        char *r;
        while (*rel == '/')
                rel++;
        return asprintf(&r, "%s%s%s", dir, *rel ? "/" : "", rel) < 0 ? NULL : r;
}

static bool fs_is(const char *path, unsigned long magic)
{
        struct statfs s;
        return statfs(path, &s) == 0 && (unsigned long) s.f_type == magic;
}

static bool on_cgroupfs(const char *path)
{
        return fs_is(path, CGROUP2_SUPER_MAGIC) || fs_is(path, CGROUP_SUPER_MAGIC);
}

static bool can(const char *dir, const char *file, int mode)
{
        _cleanup_free_ char *p = join(dir, file);
        return p && access(p, mode) == 0;
}

static bool is_v2_root(const char *dir)
{
        return fs_is(dir, CGROUP2_SUPER_MAGIC) || can(dir, "cgroup.controllers", F_OK);
}

static FILE *cg_fopen(const char *dir, const char *file)
{
        _cleanup_free_ char *p = join(dir, file);
        return p ? fopen(p, "re") : NULL; /* errno is ENOMEM from asprintf */
}

/* cgroup files take a value per write(2), so one write of the whole value. */
static int cg_write(const char *dir, const char *file, const char *value)
{
        _cleanup_free_ char *p = join(dir, file);
        if (!p)
                return -ENOMEM;
        int flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (on_cgroupfs(dir) ? 0 : O_CREAT | O_TRUNC);
        _cleanup_close_ int fd = open(p, flags, 0644);
        if (fd < 0)
                return negerrno();
        size_t len = strlen(value);
        ssize_t n = write(fd, value, len);
        if (n < 0)
                return negerrno();
        return (size_t) n == len ? 0 : -EIO;
}

static int cg_write_u64(const char *dir, const char *file, uint64_t v)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
        return cg_write(dir, file, buf);
}

/* The value of "key N" lines (memory.events, memory.oom_control), or with
 * key NULL the single number of the file. */
static int read_key(const char *dir, const char *file, const char *key, uint64_t *ret)
{
        _cleanup_fclose_ FILE *f = cg_fopen(dir, file);
        char k[64];
        uint64_t v;

        if (!f)
                return negerrno();
        if (!key)
                return fscanf(f, "%" SCNu64, ret) == 1 ? 0 : -EINVAL;
        while (fscanf(f, "%63s %" SCNu64, k, &v) == 2)
                if (strcmp(k, key) == 0) {
                        *ret = v;
                        return 0;
                }
        return -ENOENT;
}

static unsigned read_ctrls(const char *dir, const char *file)
{
        _cleanup_fclose_ FILE *f = cg_fopen(dir, file);
        unsigned mask = 0;
        char w[64];

        while (f && fscanf(f, "%63s", w) == 1)
                mask |= strcmp(w, "memory") == 0 ? CTRL_MEMORY :
                        strcmp(w, "pids") == 0 ? CTRL_PIDS :
                        strcmp(w, "cpu") == 0 ? CTRL_CPU : 0;
        return mask;
}

static bool has_procs(const char *dir)
{
        _cleanup_fclose_ FILE *f = cg_fopen(dir, "cgroup.procs");
        int pid;
        return f && fscanf(f, "%d", &pid) == 1;
}

static bool in_list(const char *list, const char *word)
{
        size_t n = strlen(word);
        for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
                        return true;
        return false;
}

/* Our cgroup in one hierarchy, from "0::/path" (v2, ctrl NULL) or
 * "N:a,b:/path" (v1). */
static int self_path(const char *proc, const char *ctrl, char **ret)
{
        _cleanup_fclose_ FILE *f = fopen(proc, "re");
        _cleanup_free_ char *line = NULL;
        size_t sz = 0;

        if (!f)
                return negerrno();
        while (getline(&line, &sz, f) > 0) {
                line[strcspn(line, "\n")] = '\0';
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = '\0';
                const char *ctrls = c1 + 1, *path = c2 + 1;
                if (ctrl ? !in_list(ctrls, ctrl) : strncmp(line, "0:", 2) != 0 || *ctrls != '\0')
                        continue;
                /* Under a cgroup namespace, a cgroup outside it reads as
                 * "/../x": not below the mount we would join it to. */
                if (path[0] != '/' || strstr(path, "/.."))
                        return -EXDEV;
                *ret = strdup(path);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

/* The v2 cgroup we could put a leaf under. -ENOENT: no v2 hierarchy (no
 * reason set); other errors set info->reason. *ret_enable: controllers
 * cgroup_create must still enable in our cgroup.subtree_control. */
static int probe_v2(const char *root, const char *proc, struct cgroup_info *info,
                    char **ret_dir, unsigned *ret_enable)
{
        _cleanup_free_ char *unified = join(root, "unified"), *rel = NULL, *dir = NULL;
        const char *v2root;

        if (!unified)
                return -ENOMEM;
        if (is_v2_root(root))
                v2root = root;
        else if (is_v2_root(unified)) /* hybrid: v2 beside the v1 hierarchies */
                v2root = unified;
        else
                return -ENOENT;

        int r = self_path(proc, NULL, &rel);
        if (r < 0) {
                why(info, "cgroup v2: no usable \"0::\" line in %s (%s)", proc, strerror(-r));
                return r;
        }
        dir = join(v2root, rel);
        if (!dir)
                return -ENOMEM;

        unsigned avail = read_ctrls(dir, "cgroup.controllers");
        if (!(avail & (CTRL_MEMORY | CTRL_PIDS))) {
                why(info, "no cgroup v2 controllers delegated to this user; " DELEGATE_HINT);
                return -EOPNOTSUPP;
        }
        /* Moving a process into the leaf needs write access to cgroup.procs
         * of the common ancestor, which is our cgroup. */
        if (access(dir, W_OK) < 0 || !can(dir, "cgroup.procs", W_OK)) {
                why(info, "cgroup v2: our cgroup %s is not writable by this user; " DELEGATE_HINT, rel);
                return -EACCES;
        }

        unsigned enabled = read_ctrls(dir, "cgroup.subtree_control");
        unsigned enable = avail & ~enabled & (CTRL_MEMORY | CTRL_PIDS);
        /* The "no internal processes" rule: a non-root cgroup with member
         * processes cannot enable controllers for its children (EBUSY). */
        bool busy = enable && has_procs(dir);
        if (busy || (enable && !can(dir, "cgroup.subtree_control", W_OK))) {
                enable = 0;
                if (!(enabled & (CTRL_MEMORY | CTRL_PIDS))) {
                        if (busy)
                                why(info, "cgroup v2: %s holds processes (moat too), so the kernel's "
                                    "\"no internal processes\" rule forbids enabling memory/pids for "
                                    "a child; only rlimits apply", rel);
                        else
                                why(info, "cgroup v2: cannot enable memory/pids in %s; " DELEGATE_HINT, rel);
                        return busy ? -EBUSY : -EACCES;
                }
        }
        unsigned usable = avail & (enabled | enable);
        info->memory = usable & CTRL_MEMORY;
        info->pids = usable & CTRL_PIDS;
        info->cpu = usable & CTRL_CPU; /* only if already enabled: we leave cpu alone */
        *ret_dir = TAKE_PTR(dir);
        *ret_enable = enable;
        return 0;
}

/* Our directory in one v1 hierarchy, if we may create cgroups there.
 * -ENOENT when the hierarchy is absent. */
static int probe_v1(const char *root, const char *proc, const char *ctrl, char **ret_dir)
{
        _cleanup_free_ char *hier = join(root, ctrl), *rel = NULL, *dir = NULL;
        struct stat st;

        if (!hier)
                return -ENOMEM;
        if (stat(hier, &st) < 0 || !S_ISDIR(st.st_mode))
                return -ENOENT;
        int r = self_path(proc, ctrl, &rel);
        if (r < 0)
                return r == -ENOENT ? -ENODATA : r;
        dir = join(hier, rel);
        if (!dir)
                return -ENOMEM;
        if (access(dir, W_OK) < 0)
                return negerrno();
        *ret_dir = TAKE_PTR(dir);
        return 0;
}

void cgroup_probe(const char *sysfs_root, const char *proc_self_cgroup, struct cgroup_info *ret)
{
        _cleanup_free_ char *v2 = NULL, *mem = NULL, *pids = NULL;
        unsigned enable;

        *ret = (struct cgroup_info) { .kind = CGROUP_NONE };
        int r2 = probe_v2(sysfs_root, proc_self_cgroup, ret, &v2, &enable);
        if (r2 == 0) {
                ret->kind = CGROUP_V2;
                return;
        }
        int rm = probe_v1(sysfs_root, proc_self_cgroup, "memory", &mem);
        int rp = probe_v1(sysfs_root, proc_self_cgroup, "pids", &pids);
        if (rm == 0 || rp == 0) {
                *ret = (struct cgroup_info) { .kind = CGROUP_V1, .memory = rm == 0, .pids = rp == 0 };
                return;
        }
        if (rm == -ENOENT && rp == -ENOENT) {
                if (r2 == -ENOENT)
                        why(ret, "no cgroup filesystem with memory or pids controllers at %s; "
                            "only rlimits apply", sysfs_root);
                return;
        }
        /* Hybrid or legacy layout: the controllers live in v1, where
         * creating groups takes root. A v2 reason about delegation would
         * send the user down the wrong path. */
        if (r2 == -ENOENT || r2 == -EOPNOTSUPP)
                why(ret, "memory and pids are on cgroup v1 here (%s), which only root may write; "
                    "only rlimits apply (a cgroup v2 system with delegation lifts this)",
                    strerror(-(rm == -ENOENT ? rp : rm)));
}

static bool valid_name(const char *name)
{
        return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
               strcmp(name, "..") != 0 && strlen(name) < 256;
}

/* mkdir dir/name; the path is handed out only once the directory is ours,
 * so a cleanup never removes a directory someone else made. */
static int make_leaf(const char *dir, const char *name, char **ret)
{
        _cleanup_free_ char *leaf = join(dir, name);
        if (!leaf)
                return -ENOMEM;
        if (mkdir(leaf, 0755) < 0)
                return negerrno();
        *ret = TAKE_PTR(leaf);
        return 0;
}

int cgroup_create(const char *sysfs_root, const char *proc_self_cgroup, const char *name,
                  const struct limits *l, struct cgroup *ret)
{
        _cleanup_free_ char *v2 = NULL, *mem = NULL, *pids = NULL;
        struct cgroup_info info = {};
        struct cgroup cg = { .kind = CGROUP_NONE };
        unsigned enable = 0;
        int r;

        *ret = cg;
        if (!valid_name(name) || !l)
                return -EINVAL;
        if (l->memory_mib > UINT64_MAX >> 20)
                return -ERANGE;
        uint64_t bytes = l->memory_mib << 20;

        r = probe_v2(sysfs_root, proc_self_cgroup, &info, &v2, &enable);
        if (r == 0) {
                if (enable) {
                        r = cg_write(v2, "cgroup.subtree_control",
                                     enable == (CTRL_MEMORY | CTRL_PIDS) ? "+memory +pids" :
                                     enable == CTRL_MEMORY ? "+memory" : "+pids");
                        if (r < 0)
                                return r;
                }
                r = make_leaf(v2, name, &cg.path);
                if (r < 0)
                        return r;
                cg.kind = CGROUP_V2;
                if (bytes && info.memory) {
                        r = cg_write_u64(cg.path, "memory.max", bytes);
                        /* Without this the limit only moves the excess to
                         * swap. Absent when swap accounting is off. */
                        if (r == 0 && (r = cg_write(cg.path, "memory.swap.max", "0\n")) == -ENOENT)
                                r = 0;
                }
                if (r == 0 && l->pids && info.pids)
                        r = cg_write_u64(cg.path, "pids.max", l->pids);
        } else {
                int rm = probe_v1(sysfs_root, proc_self_cgroup, "memory", &mem);
                int rp = probe_v1(sysfs_root, proc_self_cgroup, "pids", &pids);
                if (rm < 0 && rp < 0)
                        /* Report v1's error where v1 exists (hybrid), else v2's. */
                        return rm != -ENOENT ? rm : rp != -ENOENT ? rp : r == -ENOENT ? -EOPNOTSUPP : r;
                cg.kind = CGROUP_V1;
                r = 0;
                if (mem) {
                        r = make_leaf(mem, name, &cg.v1_memory);
                        if (r == 0 && bytes) {
                                r = cg_write_u64(cg.v1_memory, "memory.limit_in_bytes", bytes);
                                /* mem+swap = mem: no swap on top. Only with
                                 * swap accounting; best effort. */
                                if (r == 0 && can(cg.v1_memory, "memory.memsw.limit_in_bytes", F_OK))
                                        (void) cg_write_u64(cg.v1_memory, "memory.memsw.limit_in_bytes", bytes);
                        }
                }
                if (r == 0 && pids) {
                        r = make_leaf(pids, name, &cg.v1_pids);
                        if (r == 0 && l->pids)
                                r = cg_write_u64(cg.v1_pids, "pids.max", l->pids);
                }
        }
        if (r < 0) {
                cgroup_destroy(&cg);
                return r;
        }
        *ret = cg;
        return 0;
}

/* cgroup.procs moves the whole thread group; v1's "tasks" would move a
 * single thread and leave the others outside the limits. */
static int open_attach(const char *dir, const char *file)
{
        _cleanup_free_ char *path = join(dir, file);
        if (!path)
                return -ENOMEM;
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        return fd < 0 ? negerrno() : fd;
}

int cgroup_open_self_attach(const struct cgroup *cg, int fds[static 2])
{
        int n = 0, fd;
        fds[0] = fds[1] = -1;
        switch (cg->kind) {
        case CGROUP_V2:
                fd = open_attach(cg->path, "cgroup.procs");
                if (fd < 0)
                        return fd;
                fds[n++] = fd;
                return n;
        case CGROUP_V1: {
                /* "tasks" and "0": the calling thread moves itself, which the
                 * kernel does without the global threadgroup lock that
                 * moving a whole process takes (and that waits for an RCU
                 * grace period: milliseconds). init is single-threaded. */
                const char *const dirs[] = { cg->v1_memory, cg->v1_pids };
                for (size_t i = 0; i < 2; i++) {
                        if (!dirs[i])
                                continue;
                        if ((fd = open_attach(dirs[i], "tasks")) < 0) {
                                for (int j = 0; j < n; j++)
                                        close(fds[j]);
                                fds[0] = fds[1] = -1;
                                return fd;
                        }
                        fds[n++] = fd;
                }
                return n;
        }
        case CGROUP_NONE:
        case CGROUP_KIND_MAX:
                break;
        }
        return 0;
}

int cgroup_attach_self(const int fds[static 2])
{
        for (int i = 0; i < 2; i++)
                if (fds[i] >= 0 && write(fds[i], "0", 1) != 1)
                        return negerrno();
        return 0;
}

int cgroup_attach(const struct cgroup *cg, pid_t pid)
{
        char buf[32];
        int r = 0;

        if (!cg || pid <= 0)
                return -EINVAL;
        snprintf(buf, sizeof(buf), "%d\n", (int) pid);
        switch (cg->kind) {
        case CGROUP_V2:
                return cg_write(cg->path, "cgroup.procs", buf);
        case CGROUP_V1:
                if (cg->v1_memory)
                        r = cg_write(cg->v1_memory, "cgroup.procs", buf);
                if (r == 0 && cg->v1_pids)
                        r = cg_write(cg->v1_pids, "cgroup.procs", buf);
                return r;
        case CGROUP_NONE:
        case CGROUP_KIND_MAX:
                break;
        }
        return -EINVAL;
}

/* A missing file means "unknown" (controller off, older kernel: memory.peak
 * is 5.19+), not an error; nothing to report for CGROUP_NONE either. */
int cgroup_result(const struct cgroup *cg, bool *ret_oom, uint64_t *ret_peak)
{
        const char *dir = NULL, *events = NULL, *peak = NULL;
        uint64_t kills = 0, bytes = 0;

        *ret_oom = false;
        *ret_peak = 0;
        if (!cg)
                return -EINVAL;
        switch (cg->kind) {
        case CGROUP_V2:
                dir = cg->path, events = "memory.events", peak = "memory.peak";
                break;
        case CGROUP_V1:
                dir = cg->v1_memory, events = "memory.oom_control", peak = "memory.max_usage_in_bytes";
                break;
        case CGROUP_NONE:
        case CGROUP_KIND_MAX:
                break;
        }
        if (!dir)
                return 0;
        int r = read_key(dir, events, "oom_kill", &kills);
        if (r < 0 && r != -ENOENT)
                return r;
        r = read_key(dir, peak, NULL, &bytes);
        if (r < 0 && r != -ENOENT)
                return r;
        *ret_oom = kills > 0;
        *ret_peak = bytes;
        return 0;
}

/* SIGKILL every pid listed. Racy against fork in the group (v1 has no
 * cgroup.kill), hence the caller repeats it until rmdir succeeds. Never pid
 * 0/1/ourselves: a bad line must not become kill(0) or kill(1). */
static void kill_procs(const char *dir)
{
        _cleanup_fclose_ FILE *f = cg_fopen(dir, "cgroup.procs");
        int pid;
        while (f && fscanf(f, "%d", &pid) == 1)
                if (pid > 1 && pid != getpid())
                        (void) kill(pid, SIGKILL);
}

/* Only for fakes (see the top of the file): the leaf of a test tree holds
 * the regular files our writes created. */
static void unlink_files(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d)))
                if (e->d_type == DT_REG)
                        (void) unlinkat(dirfd(d), e->d_name, 0);
}

static void remove_leaf(const char *dir)
{
        /* cgroup.kill (5.14) kills the group atomically, no fork race. */
        bool atomic = can(dir, "cgroup.kill", F_OK) && cg_write(dir, "cgroup.kill", "1\n") == 0;
        if (!atomic)
                kill_procs(dir);
        /* rmdir is EBUSY until the killed tasks have exited, which takes a
         * moment for a large address space; bounded at ~250 ms. */
        for (int i = 0; i < 50; i++) {
                if (rmdir(dir) == 0 || errno == ENOENT)
                        return;
                if (errno == ENOTEMPTY && !on_cgroupfs(dir)) {
                        unlink_files(dir);
                        continue;
                }
                if (errno != EBUSY)
                        return;
                if (!atomic)
                        kill_procs(dir);
                nanosleep(&(struct timespec) { .tv_nsec = 5 * 1000 * 1000 }, NULL);
        }
}

void cgroup_destroy(struct cgroup *cg)
{
        if (!cg)
                return;
        char *dirs[] = { cg->path, cg->v1_memory, cg->v1_pids };
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
                if (dirs[i]) {
                        remove_leaf(dirs[i]);
                        free(dirs[i]);
                }
        *cg = (struct cgroup) { .kind = CGROUP_NONE };
}

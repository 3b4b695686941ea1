/* SPDX-License-Identifier: MIT */
#include "sandbox/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/mountapi.h"
#include "sandbox/stubs.h"
#include "util/log.h"
#include "util/path.h"

/* Where the new root is assembled. Any existing directory works: bind
 * sources were cloned before it is covered. */
#define STAGING "/tmp"

static const char *const proc_masked_files[] = {
        "kcore", "keys", "key-users", "timer_list", "sched_debug", "latency_stats", "kallsyms",
        "sysrq-trigger", "kpagecount", "kpageflags", "kpagecgroup", "config.gz", "vmallocinfo",
};
static const char *const proc_masked_dirs[] = { "acpi", "asound", "scsi", "firmware", "driver", "tty" };
static const char *const proc_readonly[] = { "sys", "irq", "bus", "fs" };
static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

static int fd_path(int fd, char buf[static 32])
{
        snprintf(buf, 32, "/proc/self/fd/%d", fd);
        return 0;
}

static bool is_own(const struct rootfs *rf, int fd)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return false;
        for (size_t i = 0; i < rf->n_own; i++)
                if (rf->own[i] == st.st_dev)
                        return true;
        return false;
}

static void remember_own(struct rootfs *rf, int fd)
{
        struct stat st;
        if (rf->n_own < ROOTFS_MAX_OWN && fstat(fd, &st) == 0)
                rf->own[rf->n_own++] = st.st_dev;
}

/* Opens (O_PATH) the mount destination dst below rootfd, creating missing
 * components, but only on tmpfs mounts we made: a destination never creates
 * files in the user's trees and never passes through a symlink. */
static int make_target(struct rootfs *rf, int rootfd, const char *dst, bool dir, struct moat_error *e)
{
        _cleanup_free_ char *copy = strdup(dst);
        if (!copy)
                return -ENOMEM;
        _cleanup_close_ int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
        if (cur < 0)
                return negerrno();
        char *save = NULL, *next = NULL;
        char *c = strtok_r(copy, "/", &save);
        if (!c)
                return TAKE_FD(cur);
        for (; c; c = next) {
                next = strtok_r(NULL, "/", &save);
                bool last = next == NULL;
                int flags = O_PATH | O_NOFOLLOW | O_CLOEXEC | (last && !dir ? 0 : O_DIRECTORY);
                int fd = openat(cur, c, flags);
                if (fd < 0 && errno == ENOENT) {
                        if (!is_own(rf, cur))
                                return error_set(e, ENOENT, "mount destination %s does not exist inside a "
                                                 "directory from the host; create it first", dst);
                        if (last && !dir) {
                                int f = openat(cur, c, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                                if (f >= 0)
                                        close(f);
                        } else
                                (void)mkdirat(cur, c, 0755);
                        fd = openat(cur, c, flags);
                }
                if (fd < 0) {
                        int err = errno;
                        if (err == ELOOP || err == ENOTDIR)
                                return error_set(e, err, "mount destination %s: a symlink or a file is in the "
                                                 "way at '%s'", dst, c);
                        return error_set(e, err, "mount destination %s: %s", dst, strerror(err));
                }
                close(cur);
                cur = fd;
        }
        return TAKE_FD(cur);
}


/* A fresh filesystem on target, through fsopen/fsmount: the mount's own fd
 * comes back, so later steps (masking inside it, recording it as ours,
 * making it read-only) act on the new mount and not on the directory it
 * covers. opts are "key=value" or "flag" strings. Returns the mount fd. */
static int fs_mount(const char *type, const char *const *opts, size_t n_opts, unsigned attrs, int target)
{
        _cleanup_close_ int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
        if (fs < 0)
                return negerrno();
        for (size_t i = 0; i < n_opts; i++) {
                char key[64];
                const char *eq = strchr(opts[i], '=');
                snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - opts[i]) : (int)strlen(opts[i]), opts[i]);
                long r = eq ? syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, eq + 1, 0)
                            : syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, key, NULL, 0);
                if (r < 0)
                        return negerrno();
        }
        if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return negerrno();
        int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs);
        if (mnt < 0)
                return negerrno();
        if (sys_move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
                int r = negerrno();
                close(mnt);
                return r;
        }
        return mnt;
}

static int mount_tmpfs(struct rootfs *rf, int target, uint64_t size, const char *mode)
{
        char sz[48], md[32];
        snprintf(sz, sizeof sz, "size=%llu", (unsigned long long)size);
        snprintf(md, sizeof md, "mode=%s", mode);
        const char *opts[] = { md, sz };
        int mnt = fs_mount("tmpfs", opts, size ? 2 : 1, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target);
        if (mnt >= 0)
                remember_own(rf, mnt);
        return mnt;
}

/* Clones an existing tree (fd or path) read-only onto target. */
static int bind_clone(int from_dirfd, const char *from, int target, bool readonly)
{
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE;
        if (!from || !*from)
                flags |= AT_EMPTY_PATH;
        _cleanup_close_ int tree = sys_open_tree(from_dirfd, from ? from : "", flags | AT_SYMLINK_NOFOLLOW);
        if (tree < 0)
                return negerrno();
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                               (readonly ? MOUNT_ATTR_RDONLY : 0) };
        if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
                return negerrno();
        if (sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return negerrno();
        return 0;
}

int rootfs_prepare(const struct policy *p, struct rootfs *rf, struct moat_error *e)
{
        memset(rf, 0, sizeof *rf);
        /* Slave, not private: host unmounts still reach us, nothing we do
         * reaches the host. */
        if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return error_set(e, errno, "making the mount namespace private: %s", strerror(errno));
        rf->src_fds = calloc(p->n_mounts, sizeof(int));
        if (!rf->src_fds)
                return -ENOMEM;
        rf->n = p->n_mounts;
        for (size_t i = 0; i < p->n_mounts; i++) {
                const struct mount_entry *m = &p->mounts[i];
                rf->src_fds[i] = -1;
                if (m->type != MOUNT_BIND)
                        continue;
                int fd = sys_open_tree(AT_FDCWD, m->src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
                if (fd < 0) {
                        if (m->optional && errno == ENOENT)
                                continue;
                        return error_set(e, errno, "%s %s: cannot be mounted: %s", m->origin, m->src, strerror(errno));
                }
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                                       (m->writable ? 0 : MOUNT_ATTR_RDONLY) };
                if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0) {
                        int err = errno;
                        close(fd);
                        return error_set(e, err, "%s %s: cannot set mount flags: %s", m->origin, m->src, strerror(err));
                }
                rf->src_fds[i] = fd;
        }
        return 0;
}

static int build_proc(int target, struct moat_error *e)
{
        int r;
        _cleanup_close_ int proc = fs_mount("proc", NULL, 0, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                                            target);
        if (proc < 0)
                return error_set(e, -proc, "mounting /proc: %s (is /proc fully visible? in a container, "
                                 "moat needs an unmasked /proc)", strerror(-proc));
        /* Kernel internals a tool never needs and an attacker mines for
         * addresses, keys and timing: masked as the container runtimes do.
         * One /dev/null and one empty read-only tmpfs are made once and
         * cloned onto each (a clone is cheaper than a new filesystem). */
        _cleanup_close_ int null_tree = sys_open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (null_tree < 0)
                return error_set(e, errno, "masking /proc: /dev/null: %s", strerror(errno));
        for (size_t i = 0; i < ARRAY_SIZE(proc_masked_files); i++) {
                _cleanup_close_ int f = openat(proc, proc_masked_files[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (f < 0)
                        continue;
                if ((r = bind_clone(null_tree, NULL, f, true)) < 0)
                        return error_set(e, -r, "masking /proc/%s: %s", proc_masked_files[i], strerror(-r));
        }
        _cleanup_close_ int empty = -1;
        for (size_t i = 0; i < ARRAY_SIZE(proc_masked_dirs); i++) {
                _cleanup_close_ int d = openat(proc, proc_masked_dirs[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (d < 0)
                        continue;
                if (empty < 0) {
                        static const char *const opts[] = { "size=4096", "mode=0555", "nr_inodes=1" };
                        empty = fs_mount("tmpfs", opts, ARRAY_SIZE(opts),
                                         MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, d);
                        if (empty < 0)
                                return error_set(e, -empty, "masking /proc/%s: %s", proc_masked_dirs[i],
                                                 strerror(-empty));
                        continue;
                }
                if ((r = bind_clone(empty, NULL, d, true)) < 0)
                        return error_set(e, -r, "masking /proc/%s: %s", proc_masked_dirs[i], strerror(-r));
        }
        for (size_t i = 0; i < ARRAY_SIZE(proc_readonly); i++) {
                _cleanup_close_ int d = openat(proc, proc_readonly[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (d < 0)
                        continue;
                if ((r = bind_clone(d, NULL, d, true)) < 0)
                        return error_set(e, -r, "making /proc/%s read-only: %s", proc_readonly[i], strerror(-r));
        }
        return 0;
}

static int build_dev(struct rootfs *rf, int target, uint64_t shm_size, struct moat_error *e)
{

        _cleanup_close_ int dev = mount_tmpfs(rf, target, 1 << 20, "0755");
        if (dev < 0)
                return error_set(e, -dev, "mounting /dev: %s", strerror(-dev));
        for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
                char host[64];
                snprintf(host, sizeof host, "/dev/%s", dev_nodes[i]);
                if (access(host, F_OK) < 0)
                        continue;
                _cleanup_close_ int f = openat(dev, dev_nodes[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (f < 0)
                        return error_set(e, errno, "creating /dev/%s: %s", dev_nodes[i], strerror(errno));
                _cleanup_close_ int t = openat(dev, dev_nodes[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
                /* Device nodes keep their device semantics: no MOUNT_ATTR_NODEV. */
                _cleanup_close_ int tree = sys_open_tree(AT_FDCWD, host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC };
                if (t < 0 || tree < 0 || sys_mount_setattr(tree, "", AT_EMPTY_PATH, &attr) < 0 ||
                    sys_move_mount(tree, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        return error_set(e, errno, "binding /dev/%s: %s", dev_nodes[i], strerror(errno));
        }
        static const char *const links[][2] = {
                { "/proc/self/fd", "fd" },       { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
                { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },         { "/proc/kcore", "core" },
        };
        for (size_t i = 0; i < ARRAY_SIZE(links); i++)
                if (symlinkat(links[i][0], dev, links[i][1]) < 0)
                        return error_set(e, errno, "creating /dev/%s: %s", links[i][1], strerror(errno));
        if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0)
                return error_set(e, errno, "creating /dev: %s", strerror(errno));
        _cleanup_close_ int pts = openat(dev, "pts", O_PATH | O_DIRECTORY | O_CLOEXEC);
        /* A private devpts instance: the sandbox sees its own ptys only, never
         * the user's terminals. */
        static const char *const ptsopts[] = { "newinstance", "ptmxmode=0666", "mode=0620" };
        if (pts < 0)
                return negerrno();
        _cleanup_close_ int ptsfs = fs_mount("devpts", ptsopts, ARRAY_SIZE(ptsopts), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, pts);
        if (ptsfs < 0)
                return error_set(e, -ptsfs, "mounting /dev/pts: %s", strerror(-ptsfs));
        _cleanup_close_ int shm = openat(dev, "shm", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (shm < 0)
                return negerrno();
        _cleanup_close_ int shmfs = mount_tmpfs(rf, shm, shm_size, "1777");
        if (shmfs < 0)
                return error_set(e, -shmfs, "mounting /dev/shm: %s", strerror(-shmfs));
        if (rf->n_ro_after < ROOTFS_MAX_OWN)
                rf->ro_after[rf->n_ro_after++] = TAKE_FD(dev);
        return 0;
}

static int build_sys(struct rootfs *rf, int target, struct moat_error *e)
{
        /* Only CPU and NUMA topology, which runtimes read to size thread
         * pools; nothing of the host's devices, firmware or kernel knobs. */
        static const char *const keep[] = { "/sys/devices/system/cpu", "/sys/devices/system/node" };
        _cleanup_close_ int sys = mount_tmpfs(rf, target, 1 << 16, "0755");
        if (sys < 0)
                return error_set(e, -sys, "mounting /sys: %s", strerror(-sys));
        for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
                if (access(keep[i], F_OK) < 0)
                        continue;
                _cleanup_close_ int t = make_target(rf, sys, keep[i] + strlen("/sys"), true, e);
                if (t < 0)
                        return t;
                int r = bind_clone(AT_FDCWD, keep[i], t, true);
                if (r < 0)
                        return error_set(e, -r, "binding %s: %s", keep[i], strerror(-r));
        }
        if (rf->n_ro_after < ROOTFS_MAX_OWN)
                rf->ro_after[rf->n_ro_after++] = TAKE_FD(sys);
        return 0;
}

static bool is_placeholder(int fd)
{
        char target[64];
        ssize_t n = readlinkat(fd, "", target, sizeof target - 1);
        return n == (ssize_t)strlen(STUB_TARGET) && memcmp(target, STUB_TARGET, (size_t)n) == 0;
}

static int protect_parent_placeholder(int proj, const char *rel, const char *dst, struct moat_error *e)
{
        _cleanup_free_ char *prefix = strdup(rel);
        if (!prefix)
                return -ENOMEM;
        for (char *c = prefix;; c++) {
                char saved = *c;
                if (saved != '/' && saved != '\0')
                        continue;
                *c = '\0';
                _cleanup_close_ int fd = path_open_beneath(proj, prefix, O_PATH | O_NOFOLLOW);
                struct stat st;
                if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
                        if (!is_placeholder(fd))
                                return error_set(e, ELOOP, "--protect %s: '%s' is a symlink; refusing to run "
                                                 "(replace the link with a directory)", dst, prefix);
                        int r = bind_clone(fd, NULL, fd, true);
                        if (r < 0)
                                return error_set(e, -r, "protecting %s: %s", dst, strerror(-r));
                        log_step("protected %s (placeholder at %s)", dst, prefix);
                        return 0;
                }
                if (fd < 0 || saved == '\0')
                        return 0;
                *c = saved;
        }
}

/* A protected path below the project root is pinned by its parents too:
 * each parent directory is bound onto itself (read-write), and a mount point
 * cannot be renamed or removed. Otherwise `mv .git .old; mkdir .git` would
 * carry the read-only hooks away and leave a writable .git in their place. */
static int pin_parents(int proj, const char *rel, const char *dst, struct moat_error *e)
{
        _cleanup_free_ char *prefix = strdup(rel);
        if (!prefix)
                return -ENOMEM;
        for (char *c = strchr(prefix, '/'); c; c = strchr(c + 1, '/')) {
                *c = '\0';
                _cleanup_close_ int fd = path_open_beneath(proj, prefix, O_PATH | O_DIRECTORY | O_NOFOLLOW);
                *c = '/';
                if (fd < 0)
                        return 0; /* missing or a symlink: handled by the caller */
                struct statx stx;
                if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) == 0 &&
                    (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
                        continue; /* pinned already */
                int r = bind_clone(fd, NULL, fd, false);
                if (r < 0)
                        return error_set(e, -r, "pinning the parents of %s: %s", dst, strerror(-r));
        }
        return 0;
}

/* Keeps an existing path inside the project read-only. The path is resolved
 * beneath the project without following symlinks; a symlink is itself pinned
 * (mounting over it makes it impossible to replace), and its target is
 * protected too when it lies inside the project. */
static int protect_path(const struct policy *p, int rootfd, const struct mount_entry *m, struct moat_error *e)
{
        _cleanup_close_ int proj = path_open_beneath(rootfd, p->project + 1, O_PATH | O_DIRECTORY);
        if (proj < 0)
                return error_set(e, -proj, "opening the project %s: %s", p->project, strerror(-proj));
        const char *rel = m->dst + strlen(p->project) + 1;
        _cleanup_close_ int fd = path_open_beneath(proj, rel, O_PATH | O_NOFOLLOW);
        if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP || fd == -EXDEV) {
                /* Missing, or a parent is a symlink. The default list names
                 * the parents too (.git is pinned itself). A --protect path
                 * may have its placeholder at its first missing component:
                 * pin that; any other symlink on the way is refused. */
                if (strcmp(m->origin, "--protect") != 0)
                        return 0;
                return protect_parent_placeholder(proj, rel, m->dst, e);
        }
        if (fd < 0)
                return error_set(e, -fd, "protected path %s: %s", m->dst, strerror(-fd));
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negerrno();
        if (m->skip_if_dir && S_ISDIR(st.st_mode))
                return 0;
        int r = pin_parents(proj, rel, m->dst, e);
        if (r < 0)
                return r;
        /* Pinning put new mounts over the parents: open the path again so the
         * read-only mount lands where it is visible. */
        close(fd);
        fd = path_open_beneath(proj, rel, O_PATH | O_NOFOLLOW);
        if (fd < 0)
                return error_set(e, -fd, "protected path %s: %s", m->dst, strerror(-fd));
        r = bind_clone(fd, NULL, fd, true);
        if (r < 0)
                return error_set(e, -r, "protecting %s: %s", m->dst, strerror(-r));
        if (S_ISLNK(st.st_mode)) {
                struct open_how_compat { unsigned long long flags, mode, resolve; };
                _cleanup_close_ int target = -1;
                struct open_how_compat how = { .flags = O_PATH | O_CLOEXEC, .resolve = 0x08 /* RESOLVE_BENEATH */ };
                target = (int)syscall(SYS_openat2, proj, rel, &how, sizeof how);
                if (target >= 0 && (r = bind_clone(target, NULL, target, true)) < 0)
                        return error_set(e, -r, "protecting the target of %s: %s", m->dst, strerror(-r));
        }
        log_step("protected %s%s", m->dst, S_ISLNK(st.st_mode) ? " (symlink pinned)" : "");
        return 0;
}

static int place(const struct policy *p, struct rootfs *rf, int rootfd, size_t i, struct moat_error *e)
{
        const struct mount_entry *m = &p->mounts[i];
        int r;
        switch (m->type) {
        case MOUNT_ROOT:
                return 0;
        case MOUNT_BIND: {
                if (rf->src_fds[i] < 0)
                        return 0;
                struct stat st;
                if (fstat(rf->src_fds[i], &st) < 0)
                        return negerrno();
                _cleanup_close_ int t = make_target(rf, rootfd, m->dst, S_ISDIR(st.st_mode), e);
                if (t < 0)
                        return t;
                if (sys_move_mount(rf->src_fds[i], "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        return error_set(e, errno, "%s %s -> %s: %s", m->origin, m->src, m->dst, strerror(errno));
                log_step("mounted %s at %s (%s, %s)", m->src, m->dst, m->writable ? "read-write" : "read-only", m->origin);
                return 0;
        }
        case MOUNT_SYMLINK: {
                _cleanup_free_ char *dir = strdup(m->dst);
                if (!dir)
                        return -ENOMEM;
                char *slash = strrchr(dir, '/');
                *slash = '\0';
                _cleanup_close_ int parent = make_target(rf, rootfd, *dir ? dir : "/", true, e);
                if (parent < 0)
                        return parent;
                char pp[32];
                fd_path(parent, pp);
                _cleanup_close_ int pdir = open(pp, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (pdir < 0 || symlinkat(m->src, pdir, slash + 1) < 0)
                        return error_set(e, errno, "creating symlink %s: %s", m->dst, strerror(errno));
                return 0;
        }
        case MOUNT_TMPFS: {
                _cleanup_close_ int t = make_target(rf, rootfd, m->dst, true, e);
                if (t < 0)
                        return t;
                const char *mode = strcmp(m->dst, "/tmp") == 0 ? "1777" : "0755";
                int fd = mount_tmpfs(rf, t, m->size, strcmp(m->dst, p->home) == 0 ? "0700" : mode);
                if (fd < 0)
                        return error_set(e, -fd, "mounting a tmpfs at %s: %s", m->dst, strerror(-fd));
                /* tmpfs is created owned by us (uid 0 inside until we drop to
                 * the user's ids, which map to the same host ids). */
                if (fchownat(fd, "", p->uid, p->gid, AT_EMPTY_PATH) < 0 && errno != EPERM)
                        log_step("chown %s: %s", m->dst, strerror(errno));
                close(fd);
                log_step("tmpfs at %s (%llu MiB)", m->dst, (unsigned long long)(m->size >> 20));
                return 0;
        }
        case MOUNT_ETC: {
                _cleanup_close_ int t = make_target(rf, rootfd, m->dst, true, e);
                if (t < 0)
                        return t;
                char tp[32];
                fd_path(t, tp);
                _cleanup_close_ int etc = open(tp, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (etc < 0)
                        return negerrno();
                return etc_build(p, etc, e);
        }
        case MOUNT_PROC: {
                _cleanup_close_ int t = make_target(rf, rootfd, m->dst, true, e);
                if (t < 0)
                        return t;
                r = build_proc(t, e);
                log_step("fresh /proc, kernel internals masked");
                return r;
        }
        case MOUNT_SYS: {
                _cleanup_close_ int t = make_target(rf, rootfd, m->dst, true, e);
                return t < 0 ? t : build_sys(rf, t, e);
        }
        case MOUNT_DEV: {
                _cleanup_close_ int t = make_target(rf, rootfd, m->dst, true, e);
                if (t < 0)
                        return t;
                r = build_dev(rf, t, m->size, e);
                log_step("minimal /dev with a private devpts");
                return r;
        }
        case MOUNT_PROTECT:
                return protect_path(p, rootfd, m, e);
        case MOUNT_TYPE_MAX:
                break;
        }
        return -EINVAL;
}

int rootfs_build(const struct policy *p, struct rootfs *rf, struct moat_error *e)
{
        int r;
        _cleanup_close_ int staging = open(STAGING, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (staging < 0)
                return error_set(e, errno, "opening %s: %s", STAGING, strerror(errno));
        _cleanup_close_ int rootfd = mount_tmpfs(rf, staging, 4 << 20, "0755");
        if (rootfd < 0)
                return error_set(e, -rootfd, "mounting the new root: %s", strerror(-rootfd));
        for (size_t i = 0; i < p->n_mounts; i++) {
                if ((r = place(p, rf, rootfd, i, e)) < 0) {
                        if (!e->msg[0])
                                error_set(e, -r, "building %s: %s", p->mounts[i].dst, strerror(-r));
                        return r;
                }
        }
        for (size_t i = 0; i < rf->n_ro_after; i++) {
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (sys_mount_setattr(rf->ro_after[i], "", AT_EMPTY_PATH, &attr) < 0)
                        return error_set(e, errno, "making a system mount read-only: %s", strerror(errno));
        }
        /* pivot_root(".", ".") stacks the old root on top of the new one;
         * detaching it leaves only the tree we built. No path of the host
         * remains reachable. */
        if (chdir(STAGING) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
                return error_set(e, errno, "pivot_root: %s", strerror(errno));
        if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
                return error_set(e, errno, "detaching the old root: %s", strerror(errno));
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
        if (sys_mount_setattr(AT_FDCWD, "/", 0, &attr) < 0)
                return error_set(e, errno, "making / read-only: %s", strerror(errno));
        log_step("pivoted into the new root");
        return 0;
}

void rootfs_done(struct rootfs *rf)
{
        for (size_t i = 0; i < rf->n; i++)
                if (rf->src_fds && rf->src_fds[i] >= 0)
                        close(rf->src_fds[i]);
        for (size_t i = 0; i < rf->n_ro_after; i++)
                close(rf->ro_after[i]);
        free(rf->src_fds);
        memset(rf, 0, sizeof *rf);
}

/* SPDX-License-Identifier: MIT */
#include "sandbox/stubs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/path.h"
#include "util/strv.h"

static char *state_dir(void)
{
        const char *x = getenv("XDG_STATE_HOME");
        if (x && x[0] == '/')
                return path_join(x, "moat/placeholders");
        const char *h = getenv("HOME");
        if (h && h[0] == '/')
                return path_join(h, ".local/state/moat/placeholders");
        return NULL;
}

static unsigned long long start_time(pid_t pid)
{
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (!p)
                return 0;
        unsigned long long st = 0;
        /* Field 22 (starttime), counting from the state after ") ". */
        int field = 2;
        for (char *t = p + 2; *t && field < 22; t++)
                if (*t == ' ' && ++field == 22)
                        st = strtoull(t + 1, NULL, 10);
        return st;
}

static bool is_placeholder(const char *path)
{
        char target[256];
        ssize_t n = readlink(path, target, sizeof target - 1);
        return n == (ssize_t)strlen(STUB_TARGET) && memcmp(target, STUB_TARGET, (size_t)n) == 0;
}

/* A registry is named PID-STARTTIME: alive while that very process is. */
static bool registry_alive(const char *name)
{
        int pid;
        unsigned long long st;
        if (sscanf(name, "%d-%llu", &pid, &st) != 2)
                return false;
        return kill(pid, 0) == 0 && start_time(pid) == st;
}

static bool registry_lists(const char *registry, const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(registry, "re");
        char line[4096];
        while (f && fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = '\0';
                if (strcmp(line, path) == 0)
                        return true;
        }
        return false;
}

/* Concurrent runs in one project share placeholders: a run that finds one
 * adopts it (lists it in its registry), and only the last run using it
 * removes it. Otherwise the first to exit would pull the pin out from under
 * the other. */
static bool used_by_other_run(const char *dir, const char *self, const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.' || (self && strcmp(de->d_name, self) == 0) || !registry_alive(de->d_name))
                        continue;
                _cleanup_free_ char *reg = path_join(dir, de->d_name);
                if (reg && registry_lists(reg, path))
                        return true;
        }
        return false;
}

/* Removes the placeholder at path only if it still is one, checked and
 * removed through a descriptor of its directory reached without following
 * any symlink: a path whose parent was swapped for a link leads nowhere. */
static void unlink_placeholder(const char *path)
{
        const char *slash = strrchr(path, '/');
        if (!slash || !slash[1])
                return;
        _cleanup_free_ char *parent = strndup(path + 1, (size_t)(slash - path - 1));
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (!parent || root < 0)
                return;
        _cleanup_close_ int dfd = parent[0] ? path_open_beneath(root, parent, O_PATH | O_DIRECTORY)
                                            : fcntl(root, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return;
        char target[256];
        ssize_t n = readlinkat(dfd, slash + 1, target, sizeof target - 1);
        if (n == (ssize_t)strlen(STUB_TARGET) && memcmp(target, STUB_TARGET, (size_t)n) == 0)
                (void)unlinkat(dfd, slash + 1, 0);
}

static void remove_listed(const char *dir, const char *registry, const char *self)
{
        _cleanup_fclose_ FILE *f = fopen(registry, "re");
        char line[4096];
        while (f && fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = '\0';
                if (line[0] == '/' && is_placeholder(line) && !used_by_other_run(dir, self, line))
                        unlink_placeholder(line);
        }
        (void)unlink(registry);
}

/* Placeholders are created, adopted and removed under one lock per user. */
static int lock_state(const char *dir)
{
        _cleanup_free_ char *lock = path_join(dir, ".lock");
        if (!lock)
                return -ENOMEM;
        int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negerrno();
        if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0) {
                close(fd);
                return negerrno();
        }
        return fd;
}

void stubs_sweep(void)
{
        _cleanup_free_ char *dir = state_dir();
        if (!dir)
                return;
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return;
        _cleanup_close_ int lock = -1;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || registry_alive(de->d_name))
                        continue; /* that run is still going */
                if (lock < 0 && (lock = lock_state(dir)) < 0)
                        return;
                _cleanup_free_ char *reg = path_join(dir, de->d_name);
                if (reg)
                        remove_listed(dir, reg, de->d_name);
        }
}

int stubs_create(const struct policy *p, struct stubs *s, struct moat_error *e)
{
        memset(s, 0, sizeof *s);
        s->lock = -1;
        if (!p->project)
                return 0;
        _cleanup_free_ char *dir = state_dir();
        _cleanup_close_ int proj = open(p->project, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proj < 0)
                return error_set(e, errno, "opening the project %s: %s", p->project, strerror(errno));
        _cleanup_fclose_ FILE *reg = NULL;
        for (size_t i = 0; i < p->n_mounts; i++) {
                const struct mount_entry *m = &p->mounts[i];
                if (m->type != MOUNT_PROTECT || !m->stub)
                        continue;
                const char *rel = m->dst + strlen(p->project) + 1;
                _cleanup_free_ char *parent_rel = strdup(rel);
                if (!parent_rel)
                        return -ENOMEM;
                /* A path named with --protect (or a submodule's .git) whose
                 * parent is missing gets its placeholder at the first missing
                 * component: nothing below it can be created then. The
                 * default list names its own parents (.git), so those entries
                 * just wait for them. */
                bool user = strcmp(m->origin, "protected") != 0;
                for (char *c = strchr(parent_rel, '/'); user && c; c = strchr(c + 1, '/')) {
                        *c = '\0';
                        int fd = path_open_beneath(proj, parent_rel, O_PATH);
                        if (fd >= 0) {
                                close(fd);
                                *c = '/';
                                continue;
                        }
                        if (fd != -ENOENT)
                                *c = '/';
                        break;
                }
                char *slash = strrchr(parent_rel, '/');
                const char *name = slash ? slash + 1 : parent_rel;
                _cleanup_free_ char *placeholder = path_join(p->project, parent_rel);
                if (!placeholder)
                        return -ENOMEM;
                _cleanup_close_ int parent = -1;
                if (slash) {
                        *slash = '\0';
                        parent = path_open_beneath(proj, parent_rel, O_PATH | O_DIRECTORY);
                        if (parent < 0)
                                continue; /* its parent is missing (and protected itself) or not ours */
                } else if ((parent = fcntl(proj, F_DUPFD_CLOEXEC, 3)) < 0)
                        return negerrno();
                struct stat st;
                bool exists = fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
                if (exists && !(S_ISLNK(st.st_mode) && is_placeholder(placeholder)))
                        continue; /* real content: protected as it is */
                if (!exists && errno != ENOENT)
                        continue;
                if (!reg) {
                        if (!dir || path_mkdir_p(dir, 0700) < 0)
                                return error_set(e, EIO, "cannot create the state directory for protected-path "
                                                 "placeholders (set HOME or XDG_STATE_HOME)");
                        if (s->lock < 0 && (s->lock = lock_state(dir)) < 0)
                                return error_set(e, -s->lock, "locking %s: %s", dir, strerror(-s->lock));
                        s->registry = str_printf("%s/%d-%llu", dir, (int)getpid(), start_time(getpid()));
                        if (!s->registry || !(reg = fopen(s->registry, "wxe")))
                                return error_set(e, errno, "creating %s: %s", s->registry ? s->registry : dir,
                                                 strerror(errno));
                }
                /* Record first, then create: a crash in between leaves a
                 * registry line for a path that is not ours, which the sweep
                 * checks before removing anything. */
                fprintf(reg, "%s\n", placeholder);
                fflush(reg);
                if (exists) {
                        /* Another run's placeholder: adopt it. */
                        if (strv_push(&s->paths, placeholder) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (symlinkat(STUB_TARGET, parent, name) < 0) {
                        if (errno == EACCES || errno == EROFS || errno == EPERM || errno == EEXIST)
                                continue; /* not writable for us: not for the tool either */
                        return error_set(e, errno, "protecting %s: %s", m->dst, strerror(errno));
                }
                if (strv_push(&s->paths, placeholder) < 0)
                        return -ENOMEM;
        }
        if (s->lock >= 0) {
                close(s->lock);
                s->lock = -1;
        }
        return 0;
}

void stubs_remove(struct stubs *s)
{
        _cleanup_free_ char *dir = state_dir();
        if (s->registry && dir) {
                if (s->lock < 0)
                        s->lock = lock_state(dir);
                const char *self = strrchr(s->registry, '/') + 1;
                remove_listed(dir, s->registry, self);
        }
        if (s->lock >= 0)
                close(s->lock);
        strv_free(s->paths);
        free(s->registry);
        memset(s, 0, sizeof *s);
}

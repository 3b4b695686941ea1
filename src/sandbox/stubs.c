/* SPDX-License-Identifier: MIT */
#include "sandbox/stubs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int mkdir_p(const char *path)
{
        _cleanup_free_ char *c = strdup(path);
        if (!c)
                return -ENOMEM;
        for (char *s = c + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        (void)mkdir(c, 0700);
                        *s = '/';
                }
        return mkdir(c, 0700) < 0 && errno != EEXIST ? negerrno() : 0;
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

/* Removes path only if it is still our placeholder. */
static void remove_placeholder(const char *path)
{
        char target[256];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n == (ssize_t)strlen(STUB_TARGET) && memcmp(target, STUB_TARGET, (size_t)n) == 0)
                (void)unlink(path);
}

static void remove_registry(const char *registry)
{
        FILE *f = fopen(registry, "re");
        if (f) {
                char line[4096];
                while (fgets(line, sizeof line, f)) {
                        line[strcspn(line, "\n")] = '\0';
                        if (line[0] == '/')
                                remove_placeholder(line);
                }
                fclose(f);
        }
        (void)unlink(registry);
}

void stubs_sweep(void)
{
        _cleanup_free_ char *dir = state_dir();
        if (!dir)
                return;
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                int pid;
                unsigned long long st;
                if (sscanf(de->d_name, "%d-%llu", &pid, &st) != 2)
                        continue;
                if (pid == getpid() || (kill(pid, 0) == 0 && start_time(pid) == st))
                        continue; /* that run is still going */
                _cleanup_free_ char *reg = path_join(dir, de->d_name);
                if (reg)
                        remove_registry(reg);
        }
}

int stubs_create(const struct policy *p, struct stubs *s, struct moat_error *e)
{
        memset(s, 0, sizeof *s);
        if (!p->project)
                return 0;
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
                char *slash = strrchr(parent_rel, '/');
                const char *name = slash ? slash + 1 : rel;
                _cleanup_close_ int parent = -1;
                if (slash) {
                        *slash = '\0';
                        parent = path_open_beneath(proj, parent_rel, O_PATH | O_DIRECTORY);
                        if (parent < 0)
                                continue; /* its parent is missing (and protected itself) or not ours */
                } else if ((parent = fcntl(proj, F_DUPFD_CLOEXEC, 3)) < 0)
                        return negerrno();
                struct stat st;
                if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
                        continue; /* exists: protected as it is */
                if (!reg) {
                        _cleanup_free_ char *dir = state_dir();
                        if (!dir || mkdir_p(dir) < 0)
                                return error_set(e, EIO, "cannot create the state directory for protected-path "
                                                 "placeholders (set HOME or XDG_STATE_HOME)");
                        s->registry = str_printf("%s/%d-%llu", dir, (int)getpid(), start_time(getpid()));
                        if (!s->registry || !(reg = fopen(s->registry, "wxe")))
                                return error_set(e, errno, "creating %s: %s", s->registry ? s->registry : dir,
                                                 strerror(errno));
                }
                /* Record first, then create: a crash in between leaves a
                 * registry line for a path that is not ours, which the sweep
                 * checks before removing anything. */
                fprintf(reg, "%s\n", m->dst);
                fflush(reg);
                if (symlinkat(STUB_TARGET, parent, name) < 0) {
                        if (errno == EACCES || errno == EROFS || errno == EPERM || errno == EEXIST)
                                continue; /* not writable for us: not for the tool either */
                        return error_set(e, errno, "protecting %s: %s", m->dst, strerror(errno));
                }
                if (strv_push(&s->paths, m->dst) < 0)
                        return -ENOMEM;
        }
        return 0;
}

void stubs_remove(struct stubs *s)
{
        for (size_t i = 0; s->paths && s->paths[i]; i++)
                remove_placeholder(s->paths[i]);
        if (s->registry)
                (void)unlink(s->registry);
        strv_free(s->paths);
        free(s->registry);
        memset(s, 0, sizeof *s);
}

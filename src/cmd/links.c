/* SPDX-License-Identifier: MIT */
/* `moat up` and `moat down`: a symlink per profile, named after the tool and
 * pointing at moat, so that typing the tool's name runs it sandboxed (main.c
 * dispatches on the name it was called by). Both only ever create or remove
 * symlinks to moat: a file of the user's that happens to share a tool's name
 * is never replaced or deleted. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/tools.h"
#include "profile/locate.h"
#include "util/path.h"
#include "util/log.h"
#include "util/strv.h"

struct link_opts {
        char *dir; /* absolute */
        bool dir_given;
};

static void usage(const char *cmd)
{
        if (strcmp(cmd, "up") == 0)
                printf("Usage: moat up [--dir DIR]\n\n"
                       "Links DIR/NAME to moat for every tool profile (`moat list`), so that running NAME\n"
                       "runs the tool's profile sandboxed. DIR defaults to ~/.local/bin and is created if\n"
                       "missing. A file that is not a link to moat is never replaced: it is reported as\n"
                       "skipped. Warns when DIR is not on PATH or an earlier PATH entry has the same name.\n");
        else
                printf("Usage: moat down [--dir DIR]\n\n"
                       "Removes the links to moat from DIR (default ~/.local/bin): symlinks whose target is\n"
                       "this moat or a file named moat. Nothing else in DIR is touched.\n");
}

static int parse(const char *cmd, int argc, char **argv, struct link_opts *o)
{
        const char *dir = NULL;
        char esc[256];
        for (int i = 1; i < argc; i++) {
                if (tools_is_help(argv[i])) {
                        usage(cmd);
                        return 0;
                }
                if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
                        dir = argv[++i];
                else if (str_startswith(argv[i], "--dir="))
                        dir = argv[i] + 6;
                else {
                        log_error("%s: %s '%s'; see moat %s --help", cmd,
                                  strcmp(argv[i], "--dir") == 0 ? "missing directory after" : "unknown argument",
                                  log_escape(argv[i], esc, sizeof esc), cmd);
                        return -EINVAL;
                }
        }
        if (dir && !*dir) {
                log_error("%s: --dir needs a directory", cmd);
                return -EINVAL;
        }
        if (!dir) {
                const char *home = getenv("HOME");
                if (!home || home[0] != '/') {
                        log_error("%s: HOME is not set to an absolute path; name the directory with --dir DIR", cmd);
                        return -EINVAL;
                }
                o->dir = str_printf("%s/.local/bin", home);
        } else if (dir[0] == '/')
                o->dir = strdup(dir);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                o->dir = cwd ? str_printf("%s/%s", cwd, dir) : NULL;
        }
        o->dir_given = dir != NULL;
        if (!o->dir) {
                log_error("%s: %s", cmd, strerror(errno ? errno : ENOMEM));
                return -ENOMEM;
        }
        return 1;
}

/* moat itself, as the links should name it: the binary running now. */
static int self_exe(char *buf, size_t size)
{
        ssize_t n = readlink("/proc/self/exe", buf, size - 1);
        if (n < 0)
                return negerrno();
        if ((size_t)n >= size - 1)
                return -ENAMETOOLONG;
        buf[n] = '\0';
        /* A binary replaced while running: a link to its old name would
         * point at whatever is installed there now, which is fine, but the
         * kernel's " (deleted)" suffix is not part of any path. */
        if (n > 10 && strcmp(buf + n - 10, " (deleted)") == 0)
                return -ENOENT;
        return 0;
}

/* A link of ours: to this binary, or to any file named "moat" (another
 * build, an older install). */
static bool is_moat_target(const char *target, const char *self)
{
        const char *base = strrchr(target, '/');
        base = base ? base + 1 : target;
        return strcmp(target, self) == 0 || strcmp(base, "moat") == 0;
}

/* Names main.c would run as moat itself rather than as a tool. */
static bool is_moat_name(const char *name)
{
        return strcmp(name, "moat") == 0 || str_startswith(name, "moat-") || str_startswith(name, "moat.");
}

static const char *kind_of(mode_t m)
{
        return S_ISREG(m) ? "a file" : S_ISDIR(m) ? "a directory" : "a special file";
}

/* The directories of PATH, as given. */
static char **path_dirs(void)
{
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path ? path : "");
        char **v = NULL;
        if (!copy)
                return NULL;
        for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
                if (d[0] == '/' && strv_push(&v, d) < 0)
                        break;
        return v;
}

/* Index in PATH of the entry that is dir (compared by device and inode, so
 * ~/.local/bin reached through a symlink still counts), or -1. */
static ssize_t path_index(char *const *dirs, const char *dir)
{
        struct stat a, b;
        if (stat(dir, &a) < 0)
                return -1;
        for (size_t i = 0; dirs && dirs[i]; i++)
                if (stat(dirs[i], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                        return (ssize_t)i;
        return -1;
}

static void warn_path(const char *dir, char *const *names, const char *self)
{
        _cleanup_strv_free_ char **dirs = path_dirs();
        char shown[4200], esc[4200];
        tools_display_path(dir, shown, sizeof shown);
        ssize_t at = path_index(dirs, dir);
        if (at < 0) {
                log_warn("%s is not on PATH: the links run only by their full path; add it, e.g. "
                         "export PATH=\"%s:$PATH\" in your shell's startup file", shown, log_escape(dir, esc, sizeof esc));
                return;
        }
        for (size_t k = 0; names && names[k]; k++)
                for (ssize_t i = 0; i < at; i++) {
                        char cand[PATH_MAX], real[PATH_MAX];
                        struct stat st;
                        if (snprintf(cand, sizeof cand, "%s/%s", dirs[i], names[k]) >= (int)sizeof cand ||
                            stat(cand, &st) < 0 || !S_ISREG(st.st_mode) || access(cand, X_OK) < 0)
                                continue;
                        if (realpath(cand, real) && strcmp(real, self) == 0)
                                break; /* an earlier link to moat runs the same profile */
                        char e1[4200];
                        log_warn("%s comes before %s on PATH: typing `%s` runs it unsandboxed, not the profile; "
                                 "move %s earlier in PATH or run `moat run %s`",
                                 tools_display_path(cand, e1, sizeof e1), shown, log_escape(names[k], esc, sizeof esc),
                                 shown, names[k]);
                        break;
                }
}

/* Before any link is made: can links be made here at all? A probe link
 * answers for permissions, read-only file systems and quotas alike. */
static int probe_writable(int dfd, const char *self)
{
        char probe[64];
        snprintf(probe, sizeof probe, ".moat-up-probe.%d", (int)getpid());
        if (symlinkat(self, dfd, probe) < 0)
                return negerrno();
        (void)unlinkat(dfd, probe, 0);
        return 0;
}

int cmd_up(int argc, char **argv)
{
        struct link_opts o = { 0 };
        int r = parse("up", argc, argv, &o);
        if (r <= 0) {
                free(o.dir);
                return r == 0 ? 0 : 125;
        }
        _cleanup_free_ char *dir = o.dir;
        char self[PATH_MAX], shown[4200], esc[4200];
        tools_display_path(dir, shown, sizeof shown);
        if ((r = self_exe(self, sizeof self)) < 0) {
                log_error("up: cannot tell where the moat binary is (/proc/self/exe: %s)",
                          r == -ENOENT ? "deleted since it started" : strerror(-r));
                return 125;
        }
        struct profile_entry *ents = NULL;
        size_t n = 0;
        if ((r = profile_list_names(&ents, &n)) < 0) {
                log_error("up: listing profiles: %s", strerror(-r));
                return 1;
        }
        if (n == 0) {
                printf("No tool profiles to link; `moat list` says where to put them.\n");
                profile_entries_free(ents, n);
                return 0;
        }
        struct stat st;
        bool created = false;
        if (stat(dir, &st) < 0 && errno != ENOENT) {
                log_error("up: cannot use %s: %s; nothing was linked (pick another directory with --dir)", shown,
                          strerror(errno));
                profile_entries_free(ents, n);
                return 1;
        }
        if (stat(dir, &st) < 0) {
                if ((r = path_mkdir_p(dir, 0755)) < 0) {
                        log_error("up: cannot create %s: %s; pick another directory with --dir", shown, strerror(-r));
                        profile_entries_free(ents, n);
                        return 1;
                }
                created = true;
        }
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || (r = probe_writable(dfd, self)) < 0) {
                if (dfd < 0)
                        r = negerrno();
                log_error("up: cannot make links in %s: %s; nothing was linked (fix its permissions or pick another "
                          "directory with --dir)", shown, strerror(-r));
                profile_entries_free(ents, n);
                return 1;
        }
        if (created)
                printf("created %s\n", shown);

        size_t linked = 0, already = 0, skipped = 0, failed = 0;
        _cleanup_strv_free_ char **on_path = NULL;
        for (size_t i = 0; i < n; i++) {
                const char *name = ents[i].name;
                char target[PATH_MAX];
                /* The name becomes a file name in dir: never one with a
                 * slash or a leading dot, whatever a profile file was
                 * called. */
                if (!profile_name_valid(name)) {
                        printf("skipped        %s: not a tool name\n", log_escape(name, esc, sizeof esc));
                        skipped++;
                        continue;
                }
                if (is_moat_name(name)) {
                        printf("skipped        %s: a link by this name would run moat itself, not a tool; rename the "
                               "profile\n", name);
                        skipped++;
                        continue;
                }
                if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                        ssize_t len = S_ISLNK(st.st_mode) ? readlinkat(dfd, name, target, sizeof target - 1) : -1;
                        if (len >= 0)
                                target[len] = '\0';
                        if (len >= 0 && is_moat_target(target, self)) {
                                if (strcmp(target, self) == 0)
                                        printf("already linked %s\n", name);
                                else
                                        printf("already linked %s (to %s)\n", name, log_escape(target, esc, sizeof esc));
                                already++;
                                r = strv_push(&on_path, name);
                        } else {
                                if (len >= 0)
                                        printf("skipped        %s: %s/%s is a link to %s, not to moat; remove it to link "
                                               "%s\n", name, shown, name, log_escape(target, esc, sizeof esc), name);
                                else
                                        printf("skipped        %s: %s/%s is %s, not a link to moat; remove it to link "
                                               "%s\n", name, shown, name, kind_of(st.st_mode), name);
                                skipped++;
                        }
                } else if (errno != ENOENT) {
                        log_error("up: %s/%s: %s", shown, name, strerror(errno));
                        failed++;
                } else if (symlinkat(self, dfd, name) < 0) {
                        if (errno == EEXIST) {
                                printf("skipped        %s: %s/%s appeared meanwhile\n", name, shown, name);
                                skipped++;
                        } else {
                                log_error("up: linking %s/%s: %s", shown, name, strerror(errno));
                                failed++;
                        }
                } else {
                        printf("linked         %s -> %s\n", name, log_escape(self, esc, sizeof esc));
                        linked++;
                        r = strv_push(&on_path, name);
                }
                if (r < 0) {
                        log_error("up: out of memory");
                        profile_entries_free(ents, n);
                        return 1;
                }
        }
        profile_entries_free(ents, n);
        printf("%s: %zu linked, %zu already linked, %zu skipped%s", shown, linked, already, skipped,
               failed ? "" : "\n");
        if (failed)
                printf(", %zu failed\n", failed);
        fflush(stdout);
        warn_path(dir, on_path, self);
        return failed ? 1 : 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_down(int argc, char **argv)
{
        struct link_opts o = { 0 };
        int r = parse("down", argc, argv, &o);
        if (r <= 0) {
                free(o.dir);
                return r == 0 ? 0 : 125;
        }
        _cleanup_free_ char *dir = o.dir;
        char self[PATH_MAX] = "", shown[4200], esc[4200];
        tools_display_path(dir, shown, sizeof shown);
        (void)self_exe(self, sizeof self);
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                if (errno == ENOENT) {
                        printf("%s does not exist: no links to remove\n", shown);
                        return 0;
                }
                log_error("down: %s: %s", shown, strerror(errno));
                return 1;
        }
        int dfd2 = dup(dfd);
        _cleanup_closedir_ DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
        if (!d) {
                if (dfd2 >= 0)
                        close(dfd2);
                log_error("down: reading %s: %s", shown, strerror(errno));
                return 1;
        }
        /* Collected first, then removed: removing entries while readdir
         * walks the same directory may skip some. */
        _cleanup_strv_free_ char **links = NULL;
        struct dirent *de;
        while ((de = readdir(d))) {
                char target[PATH_MAX];
                struct stat st;
                if (de->d_name[0] == '.' || is_moat_name(de->d_name) ||
                    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
                        continue;
                ssize_t len = readlinkat(dfd, de->d_name, target, sizeof target - 1);
                if (len < 0)
                        continue;
                target[len] = '\0';
                if (is_moat_target(target, self) && strv_push(&links, de->d_name) < 0) {
                        log_error("down: out of memory");
                        return 1;
                }
        }
        if (!links) {
                printf("%s: no links to moat\n", shown);
                return 0;
        }
        qsort(links, strv_length(links), sizeof *links, cmp_str);
        size_t removed = 0, failed = 0;
        for (size_t i = 0; links[i]; i++) {
                char target[PATH_MAX];
                struct stat st;
                /* Looked at again just before removal: only a link to moat
                 * is ever unlinked. */
                ssize_t len = fstatat(dfd, links[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)
                                      ? readlinkat(dfd, links[i], target, sizeof target - 1)
                                      : -1;
                if (len < 0)
                        continue;
                target[len] = '\0';
                if (!is_moat_target(target, self))
                        continue;
                if (unlinkat(dfd, links[i], 0) < 0) {
                        log_error("down: removing %s/%s: %s", shown, log_escape(links[i], esc, sizeof esc),
                                  strerror(errno));
                        failed++;
                        if (errno == EACCES || errno == EPERM || errno == EROFS)
                                break; /* the same for every other link */
                        continue;
                }
                char esc2[PATH_MAX * 4];
                printf("removed %s -> %s\n", log_escape(links[i], esc, sizeof esc), log_escape(target, esc2, sizeof esc2));
                removed++;
        }
        printf("%s: %zu link%s removed%s\n", shown, removed, removed == 1 ? "" : "s", failed ? " (some could not be)" : "");
        return failed ? 1 : 0;
}

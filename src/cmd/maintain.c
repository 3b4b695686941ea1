/* SPDX-License-Identifier: MIT */
/* `moat install`, `moat rebuild` and `moat prune`: the installed side of
 * tool profiles, in $XDG_DATA_HOME/moat.
 *
 * Everything inside a volume was written by an install running in a
 * sandbox, so it is treated as hostile: it is removed by walking file
 * descriptors from the data directory down, never following a symlink and
 * never crossing into another file system. A link planted in a cache that
 * points at the user's home is removed as a link; what it points at is
 * never looked at. Nothing writes a volume meanwhile: installs take the
 * lock prune holds, and runs see the volumes read-only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/tools.h"
#include "profile/install.h"
#include "profile/locate.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/path.h"
#include "util/strv.h"

/* Deeper than any real cache; a hostile tree nested further is left in
 * place (and reported) rather than exhausting file descriptors. */
#define WALK_MAX_DEPTH 256

struct hardlink {
        dev_t dev;
        ino_t ino;
        nlink_t nlink;
        uint64_t bytes;
};

struct walk {
        bool remove;
        dev_t dev;        /* the file system being cleaned: never left */
        uint64_t bytes;   /* freed (or that would be) */
        struct hardlink *hl;
        size_t n_hl, cap_hl;
        int err;          /* the first failure, -errno */
};

static void walk_fail(struct walk *w, int r)
{
        if (!w->err)
                w->err = r;
}

/* A file with other names frees its blocks only when every name goes:
 * counted at the end, when the names seen inside the tree are known. */
static void account(struct walk *w, const struct stat *st)
{
        uint64_t bytes = (uint64_t)st->st_blocks * 512;
        if (S_ISDIR(st->st_mode) || st->st_nlink <= 1) {
                w->bytes += bytes;
                return;
        }
        if (w->n_hl == w->cap_hl) {
                size_t cap = w->cap_hl ? w->cap_hl * 2 : 64;
                struct hardlink *nv = reallocarray(w->hl, cap, sizeof *nv);
                if (!nv) {
                        walk_fail(w, -ENOMEM);
                        return;
                }
                w->hl = nv;
                w->cap_hl = cap;
        }
        w->hl[w->n_hl++] = (struct hardlink){ st->st_dev, st->st_ino, st->st_nlink, bytes };
}

static int cmp_hardlink(const void *a, const void *b)
{
        const struct hardlink *x = a, *y = b;
        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static uint64_t walk_total(struct walk *w)
{
        uint64_t total = w->bytes;
        if (w->n_hl)
                qsort(w->hl, w->n_hl, sizeof *w->hl, cmp_hardlink);
        for (size_t i = 0; i < w->n_hl;) {
                size_t j = i;
                while (j < w->n_hl && w->hl[j].dev == w->hl[i].dev && w->hl[j].ino == w->hl[i].ino)
                        j++;
                if (j - i >= w->hl[i].nlink)
                        total += w->hl[i].bytes;
                i = j;
        }
        free(w->hl);
        w->hl = NULL;
        w->n_hl = w->cap_hl = 0;
        return total;
}

/* Opens the directory name (already lstat'ed as st) below dirfd, never
 * through a link. When removing, a directory its owner made read-only or
 * unreadable (Go's module cache is all read-only) gets its owner's rights
 * back first, by descriptor. */
static int open_dir(struct walk *w, int dirfd, const char *name, const struct stat *st)
{
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 && errno == EACCES && w->remove) {
                _cleanup_close_ int pfd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                struct stat pst;
                char proc[64];
                if (pfd < 0 || fstat(pfd, &pst) < 0 || pst.st_ino != st->st_ino || pst.st_dev != st->st_dev)
                        return -EACCES;
                snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
                if (chmod(proc, (pst.st_mode & 07777) | 0700) < 0)
                        return -EACCES;
                fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
        }
        if (fd < 0)
                return negerrno();
        struct stat fst;
        /* Swapped for something else since the lstat: leave it. */
        if (fstat(fd, &fst) < 0 || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev) {
                close(fd);
                return -EAGAIN;
        }
        if (w->remove && (fst.st_mode & 0700) != 0700)
                (void)fchmod(fd, (fst.st_mode & 07777) | 0700);
        return fd;
}

/* Measures (and with w->remove, deletes) name below dirfd and everything
 * under it. A symlink is a leaf: unlinked, never followed. */
static void walk(struct walk *w, int dirfd, const char *name, unsigned depth)
{
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                        walk_fail(w, negerrno());
                return;
        }
        if (st.st_dev != w->dev) {
                walk_fail(w, -EXDEV); /* a mount point: never crossed */
                return;
        }
        account(w, &st);
        if (!S_ISDIR(st.st_mode)) {
                if (w->remove && unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                        walk_fail(w, negerrno());
                return;
        }
        if (depth >= WALK_MAX_DEPTH) {
                walk_fail(w, -ELOOP);
                return;
        }
        int fd = open_dir(w, dirfd, name, &st);
        if (fd < 0) {
                walk_fail(w, fd);
                return;
        }
        /* Names first, then the walk: removing entries while readdir runs
         * over the same directory may skip some. */
        _cleanup_strv_free_ char **names = NULL;
        int fd2 = dup(fd);
        DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
        if (!d) {
                if (fd2 >= 0)
                        close(fd2);
                walk_fail(w, negerrno());
        }
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && strv_push(&names, de->d_name) < 0) {
                        walk_fail(w, -ENOMEM);
                        break;
                }
        if (d)
                closedir(d);
        for (size_t i = 0; names && names[i]; i++)
                walk(w, fd, names[i], depth + 1);
        close(fd);
        if (w->remove && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                walk_fail(w, negerrno());
}

/* Removes (or measures) name below dirfd. Returns 0 or the first -errno;
 * *bytes is what it frees. */
static int tree(int dirfd, const char *name, bool remove, uint64_t *bytes)
{
        struct stat top;
        if (fstat(dirfd, &top) < 0)
                return negerrno();
        struct walk w = { .remove = remove, .dev = top.st_dev };
        walk(&w, dirfd, name, 0);
        *bytes = walk_total(&w);
        return w.err;
}

static const char *walk_error(int r)
{
        switch (r) {
        case -EXDEV:
                return "another file system is mounted inside; left in place";
        case -ELOOP:
                return "directories nested deeper than moat follows; left in place";
        default:
                return strerror(-r);
        }
}

static double mib(uint64_t bytes)
{
        return (double)bytes / (1024.0 * 1024.0);
}

static int unknown_option(const char *cmd, const char *arg)
{
        char esc[256];
        log_error("%s: unknown option '%s'; see moat %s --help", cmd, log_escape(arg, esc, sizeof esc), cmd);
        return 125;
}

/* moat install NAME... */

int cmd_install(int argc, char **argv)
{
        int first = 1, failed = 0;
        if (argc > 1 && tools_is_help(argv[1])) {
                printf("Usage: moat install NAME [NAME...]\n\n"
                       "Installs each profile's \"tool\" now, with mise in a sandbox, into moat's volume\n"
                       "(replacing an earlier install of it); the first run of a tool does the same.\n");
                return 0;
        }
        if (argc > 1 && strcmp(argv[1], "--") == 0)
                first = 2;
        else if (argc > 1 && argv[1][0] == '-')
                return unknown_option("install", argv[1]);
        if (first >= argc) {
                log_error("install: name the tools to install, e.g. moat install eslint (`moat list` shows them)");
                return 125;
        }
        for (int i = first; i < argc; i++) {
                struct moat_error e = { 0 };
                struct profile p;
                int r = tools_load(argv[i], &p, &e);
                if (r == 0) {
                        if (!p.tool)
                                r = error_set(&e, EINVAL, "%s: nothing to install: the profile has no \"tool\" and runs "
                                              "\"%s\" from the system; add \"tool\" (a mise spec such as "
                                              "\"npm:eslint@9\") to install one", p.origin,
                                              p.command ? p.command : p.name);
                        else
                                r = tool_install(&p, &e);
                        profile_free(&p);
                }
                if (r < 0) {
                        error_print(&e);
                        failed++;
                }
        }
        return failed ? 1 : 0;
}

/* moat rebuild [NAME...] */

/* An isolated tool is installed from scratch next to its volume and swapped
 * in when that succeeded; the old volume is removed only then. */
static int rebuild_isolated(const struct profile *p, struct moat_error *e)
{
        char vol[PATH_MAX], esc[PATH_MAX * 4];
        int r;
        if (tool_volume(p, vol, sizeof vol) < 0)
                return error_set(e, ENOENT, "cannot find moat's data directory: set HOME or XDG_DATA_HOME");
        if ((r = path_mkdir_p(vol, 0755)) < 0)
                return error_set(e, -r, "creating %s: %s", vol, strerror(-r));
        _cleanup_free_ char *volumes = strndup(vol, (size_t)(strrchr(vol, '/') - vol));
        _cleanup_free_ char *staging = volumes ? str_printf("%s/.rebuild-%s.XXXXXX", volumes, p->name) : NULL;
        if (!staging)
                return -ENOMEM;
        if (!mkdtemp(staging))
                return error_set(e, errno, "creating a directory in %s: %s", volumes, strerror(errno));
        (void)chmod(staging, 0755);
        r = tool_install_staged(p, staging, e);
        _cleanup_close_ int vfd = open(volumes, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint64_t bytes = 0;
        int rr = vfd < 0 ? negerrno() : tree(vfd, strrchr(staging, '/') + 1, true, &bytes);
        if (rr < 0)
                log_warn("could not remove all of %s: %s; `moat prune` tries again",
                         tools_display_path(staging, esc, sizeof esc), walk_error(rr));
        else if (r == 0)
                printf("removed the previous install of %s (%.1f MiB)\n", p->name, mib(bytes));
        return r;
}

int cmd_rebuild(int argc, char **argv)
{
        if (argc > 1 && tools_is_help(argv[1])) {
                printf("Usage: moat rebuild [NAME...]\n\n"
                       "Installs the named tools again, or every installed tool. An isolated tool is\n"
                       "installed from scratch beside its volume, which it replaces only when the install\n"
                       "succeeded. A tool in the shared volume is installed again in place: what mise has\n"
                       "there is kept. Either way a failed rebuild leaves the old install working.\n");
                return 0;
        }
        int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;
        if (first == 1 && argc > 1 && argv[1][0] == '-')
                return unknown_option("rebuild", argv[1]);
        _cleanup_strv_free_ char **names = NULL;
        for (int i = first; i < argc; i++)
                if (strv_push(&names, argv[i]) < 0)
                        return 1;
        if (!names) {
                struct profile_entry *ents = NULL;
                size_t n = 0;
                int r = profile_list_names(&ents, &n);
                for (size_t i = 0; r == 0 && i < n; i++) {
                        struct moat_error e = { 0 };
                        struct profile p;
                        if (profile_load(ents[i].name, &p, &e) < 0)
                                continue;
                        if (p.tool && tool_installed(&p))
                                r = strv_push(&names, p.name);
                        profile_free(&p);
                }
                profile_entries_free(ents, n);
                if (r < 0) {
                        log_error("rebuild: listing profiles: %s", strerror(-r));
                        return 1;
                }
                if (!names) {
                        printf("No installed tools to rebuild (`moat install NAME` installs one).\n");
                        return 0;
                }
        }
        int failed = 0;
        for (size_t i = 0; names[i]; i++) {
                struct moat_error e = { 0 };
                struct profile p;
                int r = tools_load(names[i], &p, &e);
                if (r == 0) {
                        bool had = p.tool && tool_installed(&p);
                        if (!p.tool)
                                r = error_set(&e, EINVAL, "%s: nothing to rebuild: the profile has no \"tool\" and runs "
                                              "\"%s\" from the system", p.origin, p.command ? p.command : p.name);
                        else if (p.isolated)
                                r = rebuild_isolated(&p, &e);
                        else
                                r = tool_install(&p, &e);
                        if (r < 0 && had && e.msg[0] && strlen(e.msg) + 64 < sizeof e.msg)
                                strcat(e.msg, "\nthe previous install is unchanged and still runs");
                        profile_free(&p);
                }
                if (r < 0) {
                        if (!e.msg[0])
                                error_set(&e, -r, "rebuilding %s: %s", names[i], strerror(-r));
                        error_print(&e);
                        failed++;
                }
        }
        return failed ? 1 : 0;
}

/* moat prune [--yes] */

struct item {
        char *parent; /* below the data directory */
        char *name;
        char *reason;
        uint64_t bytes;
};

struct plan {
        struct item *v;
        size_t n;
        char **removed_volumes; /* absolute paths, to drop their records too */
};

static void plan_free(struct plan *pl)
{
        for (size_t i = 0; i < pl->n; i++) {
                free(pl->v[i].parent);
                free(pl->v[i].name);
                free(pl->v[i].reason);
        }
        free(pl->v);
        strv_free(pl->removed_volumes);
}

static int plan_add(struct plan *pl, const char *parent, const char *name, const char *reason)
{
        struct item *nv = reallocarray(pl->v, pl->n + 1, sizeof *nv);
        if (!nv)
                return -ENOMEM;
        pl->v = nv;
        struct item it = { .parent = strdup(parent), .name = strdup(name), .reason = strdup(reason) };
        if (!it.parent || !it.name || !it.reason) {
                free(it.parent);
                free(it.name);
                free(it.reason);
                return -ENOMEM;
        }
        pl->v[pl->n++] = it;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of the directory rel below datafd, sorted; none when it does
 * not exist. */
static int list_dir(int datafd, const char *rel, char ***ret)
{
        int fd = path_open_beneath(datafd, rel, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return negerrno();
        }
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        r = strv_push(ret, de->d_name);
        closedir(d);
        if (r == 0 && *ret)
                qsort(*ret, strv_length(*ret), sizeof **ret, cmp_str);
        return r;
}

static bool is_dir_at(int datafd, const char *rel)
{
        _cleanup_close_ int fd = path_open_beneath(datafd, rel, O_PATH | O_DIRECTORY);
        return fd >= 0;
}

/* A volume's caches: mise's cache (aube's store: installs are hard links
 * into it, so they keep working) and its downloads. */
static int plan_caches(struct plan *pl, int datafd, const char *vol)
{
        static const char *const subs[][2] = { { "cache", "cache" }, { "downloads", "mise's downloads" } };
        _cleanup_free_ char *parent = str_printf("volumes/%s", vol);
        if (!parent)
                return -ENOMEM;
        _cleanup_close_ int fd = path_open_beneath(datafd, parent, O_PATH | O_DIRECTORY);
        for (size_t i = 0; fd >= 0 && i < ARRAY_SIZE(subs); i++) {
                struct stat st;
                int r;
                if (fstatat(fd, subs[i][0], &st, AT_SYMLINK_NOFOLLOW) == 0 && (r = plan_add(pl, parent, subs[i][0], subs[i][1])) < 0)
                        return r;
        }
        return 0;
}

static int plan_volumes(struct plan *pl, int datafd, const char *data)
{
        _cleanup_strv_free_ char **names = NULL;
        int r = list_dir(datafd, "volumes", &names);
        char reason[512];
        for (size_t i = 0; r == 0 && names && names[i]; i++) {
                const char *name = names[i];
                _cleanup_free_ char *rel = str_printf("volumes/%s", name);
                if (!rel)
                        return -ENOMEM;
                if (!is_dir_at(datafd, rel))
                        continue;
                if (str_startswith(name, ".rebuild-")) {
                        r = plan_add(pl, "volumes", name, "left by an interrupted rebuild");
                        continue;
                }
                if (strcmp(name, "shared") == 0) {
                        r = plan_caches(pl, datafd, name);
                        continue;
                }
                if (!profile_name_valid(name))
                        continue; /* not moat's */
                struct moat_error e = { 0 };
                struct profile p;
                int lr = profile_load(name, &p, &e);
                bool gone = lr == -ENOENT, shared_now = lr == 0 && !p.isolated;
                if (lr == 0)
                        profile_free(&p);
                if (gone || shared_now) {
                        snprintf(reason, sizeof reason, gone ? "no profile \"%s\" any more"
                                                             : "profile \"%s\" is no longer isolated", name);
                        _cleanup_free_ char *abs = str_printf("%s/volumes/%s", data, name);
                        if (!abs || (r = strv_push(&pl->removed_volumes, abs)) < 0)
                                return -ENOMEM;
                        r = plan_add(pl, "volumes", name, reason);
                        continue;
                }
                if (lr < 0) {
                        char esc[256];
                        log_warn("keeping volumes/%s: its profile has an error (`moat list` shows it)",
                                 log_escape(name, esc, sizeof esc));
                }
                r = plan_caches(pl, datafd, name);
        }
        return r;
}

/* The volume a record names, when it is one this prune removes. */
static bool record_volume_removed(int datafd, const char *file, char *const *removed)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        if (!removed || jv_read_file(datafd, file, 64u << 10, &text, &len) < 0)
                return false;
        _cleanup_jv_free_ struct jv *v = jv_parse(text, len, NULL);
        const struct jv *vol = jv_get(v, "volume");
        for (size_t i = 0; vol && vol->type == JV_STRING && removed[i]; i++)
                if (strcmp(vol->str.s, removed[i]) == 0)
                        return true;
        return false;
}

static int plan_records(struct plan *pl, int datafd)
{
        _cleanup_strv_free_ char **names = NULL;
        int r = list_dir(datafd, "installed", &names);
        char reason[512];
        for (size_t i = 0; r == 0 && names && names[i]; i++) {
                size_t len = strlen(names[i]);
                if (len < 6 || strcmp(names[i] + len - 5, ".json") != 0)
                        continue;
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)(len - 5), names[i]);
                if (!profile_name_valid(name))
                        continue;
                struct moat_error e = { 0 };
                struct profile p;
                int lr = profile_load(name, &p, &e);
                if (lr == 0)
                        profile_free(&p);
                _cleanup_free_ char *rel = str_printf("installed/%s", names[i]);
                if (!rel)
                        return -ENOMEM;
                if (lr == -ENOENT)
                        snprintf(reason, sizeof reason, "record of \"%s\", whose profile is gone", name);
                else if (record_volume_removed(datafd, rel, pl->removed_volumes))
                        snprintf(reason, sizeof reason, "record of \"%s\", whose volume goes", name);
                else
                        continue;
                r = plan_add(pl, "installed", names[i], reason);
        }
        return r;
}

/* One install or prune at a time: install.c takes the same lock, so no
 * install is writing into a volume or a staging directory while prune
 * removes from it. */
static int take_lock(int datafd)
{
        int fd = openat(datafd, "install.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return negerrno();
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK) {
                        close(fd);
                        return negerrno();
                }
                log_info("waiting for an install to finish");
                if (RETRY_EINTR(flock(fd, LOCK_EX)) < 0) {
                        int r = negerrno();
                        close(fd);
                        return r;
                }
        }
        return fd;
}

static bool confirm(void)
{
        char line[16];
        fprintf(stderr, "Remove them? [y/N] ");
        fflush(stderr);
        return fgets(line, sizeof line, stdin) && (line[0] == 'y' || line[0] == 'Y');
}

int cmd_prune(int argc, char **argv)
{
        bool yes = false;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0)
                        yes = true;
                else if (tools_is_help(argv[i])) {
                        printf("Usage: moat prune [--yes]\n\n"
                               "Removes what installed tools no longer need from $XDG_DATA_HOME/moat: every volume's\n"
                               "cache/ and mise's downloads/, the volumes of isolated tools whose profile is gone or\n"
                               "no longer isolated, and records of tools whose profile is gone. Installed tools in\n"
                               "use are never touched. Without --yes it lists what it would remove (and asks, on a\n"
                               "terminal).\n\n"
                               "  -y, --yes   remove without asking\n");
                        return 0;
                } else {
                        char esc[256];
                        log_error("prune: unknown option '%s'; see moat prune --help", log_escape(argv[i], esc, sizeof esc));
                        return 125;
                }
        }
        char data[PATH_MAX], shown[PATH_MAX * 4];
        if (!moat_data_dir(data, sizeof data)) {
                log_error("prune: cannot find moat's data directory: set HOME or XDG_DATA_HOME");
                return 125;
        }
        _cleanup_close_ int datafd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (datafd < 0) {
                if (errno == ENOENT) {
                        printf("Nothing to prune: %s does not exist.\n", tools_display_path(data, shown, sizeof shown));
                        return 0;
                }
                log_error("prune: %s: %s", tools_display_path(data, shown, sizeof shown), strerror(errno));
                return 1;
        }
        bool ask = !yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
        _cleanup_close_ int lock = -1;
        if (yes || ask) {
                if ((lock = take_lock(datafd)) < 0) {
                        log_error("prune: locking %s/install.lock: %s", tools_display_path(data, shown, sizeof shown),
                                  strerror(-lock));
                        return 1;
                }
        }
        struct plan pl = { 0 };
        int r = plan_volumes(&pl, datafd, data);
        if (r == 0)
                r = plan_records(&pl, datafd);
        if (r < 0) {
                log_error("prune: reading %s: %s", tools_display_path(data, shown, sizeof shown), strerror(-r));
                plan_free(&pl);
                return 1;
        }
        if (pl.n == 0) {
                printf("Nothing to prune.\n");
                plan_free(&pl);
                return 0;
        }
        /* Sizes are measured before anything goes: removing a name changes
         * the link counts the measure relies on. */
        uint64_t total = 0;
        for (size_t i = 0; i < pl.n; i++) {
                struct item *it = &pl.v[i];
                _cleanup_close_ int pfd = path_open_beneath(datafd, it->parent, O_RDONLY | O_DIRECTORY);
                if (pfd >= 0)
                        (void)tree(pfd, it->name, false, &it->bytes); /* as far as it can; removal says more */
                total += it->bytes;
        }
        if (!yes) {
                for (size_t i = 0; i < pl.n; i++) {
                        struct item *it = &pl.v[i];
                        char path[PATH_MAX * 2];
                        snprintf(path, sizeof path, "%s/%s/%s", data, it->parent, it->name);
                        printf("would remove %s (%s, %.1f MiB)\n", tools_display_path(path, shown, sizeof shown),
                               it->reason, mib(it->bytes));
                }
                fflush(stdout);
                if (!(ask && confirm())) {
                        printf("Would free %.1f MiB; run `moat prune --yes` to remove them.\n", mib(total));
                        plan_free(&pl);
                        return 0;
                }
        }
        uint64_t freed = 0;
        int failed = 0;
        for (size_t i = 0; i < pl.n; i++) {
                struct item *it = &pl.v[i];
                char path[PATH_MAX * 2];
                uint64_t ignored;
                snprintf(path, sizeof path, "%s/%s/%s", data, it->parent, it->name);
                tools_display_path(path, shown, sizeof shown);
                _cleanup_close_ int pfd = path_open_beneath(datafd, it->parent, O_RDONLY | O_DIRECTORY);
                r = pfd < 0 ? pfd : tree(pfd, it->name, true, &ignored);
                if (r < 0) {
                        log_error("prune: could not remove all of %s: %s", shown, walk_error(r));
                        failed++;
                        continue;
                }
                printf("removed %s (%s, %.1f MiB)\n", shown, it->reason, mib(it->bytes));
                freed += it->bytes;
        }
        printf("freed %.1f MiB\n", mib(freed));
        plan_free(&pl);
        return failed ? 1 : 0;
}

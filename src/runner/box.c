/* SPDX-License-Identifier: MIT */
#include "runner/box.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "profile/apply.h"
#include "profile/locate.h"
#include "util/path.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

#define BOX_META_MAX (1u << 20)
#define HISTORY_MAX (64u << 20)

bool box_name_valid(const char *name)
{
        size_t n = strlen(name);
        if (n == 0 || n > BOX_NAME_MAX || name[0] == '.' || name[0] == '-')
                return false;
        for (const char *s = name; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
                      *s == '_' || *s == '-'))
                        return false;
        return true;
}

static int boxes_dir(char *buf, size_t size, struct moat_error *e)
{
        char base[PATH_MAX];
        if (!moat_data_dir(base, sizeof base) || snprintf(buf, size, "%s/boxes", base) >= (int)size)
                return error_set(e, ENOENT, "cannot find moat's data directory: set HOME or XDG_DATA_HOME");
        return 0;
}

static int box_path(const char *name, const char *sub, char *buf, size_t size, struct moat_error *e)
{
        char dir[PATH_MAX];
        int r;
        if (!box_name_valid(name))
                return error_set(e, EINVAL, "box \"%s\": a box name is letters, digits, '.', '_' and '-' (no '/', "
                                 "not starting with '.' or '-', at most %d)", name, BOX_NAME_MAX);
        if ((r = boxes_dir(dir, sizeof dir, e)) < 0)
                return r;
        if (snprintf(buf, size, "%s/%s%s%s", dir, name, sub ? "/" : "", sub ? sub : "") >= (int)size)
                return error_set(e, ENAMETOOLONG, "box %s: path too long", name);
        return 0;
}

/* Written to a temporary file, synced and renamed: a crash or SIGKILL at
 * any moment leaves either the old file or the new one. */
static int write_atomic(const char *path, const char *text)
{
        char tmp[PATH_MAX + 32];
        snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negerrno();
        size_t len = strlen(text);
        int r = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : negerrno();
        close(fd);
        if (r == 0 && rename(tmp, path) < 0)
                r = negerrno();
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

int box_create(const char *name, int nflags, char *const *flags, struct moat_error *e)
{
        char dir[PATH_MAX], path[PATH_MAX + 16];
        int r;
        if ((r = box_path(name, NULL, dir, sizeof dir, e)) < 0)
                return r;
        /* The settings must parse now, not at the first run. */
        struct run_options o;
        r = run_args_parse("box create", nflags, flags, &o, e);
        bool extra = r == 0 && o.argv;
        run_options_free(&o);
        if (r < 0)
                return r;
        if (extra)
                return error_set(e, EINVAL, "box create %s: only `moat run` options go here; run commands with "
                                 "`moat box run %s -- CMD`", name, name);
        char parent[PATH_MAX];
        if ((r = boxes_dir(parent, sizeof parent, e)) < 0)
                return r;
        if ((r = path_mkdir_p(parent, 0700)) < 0)
                return error_set(e, -r, "creating %s: %s", parent, strerror(-r));
        if (mkdir(dir, 0700) < 0)
                return errno == EEXIST ? error_set(e, EEXIST, "box %s exists (moat box rm %s first, or moat box reset "
                                                   "%s to empty it)", name, name, name)
                                       : error_set(e, errno, "creating %s: %s", dir, strerror(errno));
        struct json j = { 0 };
        json_begin_object(&j);
        json_str(&j, "name", name);
        json_int(&j, "created", (long long)time(NULL));
        json_begin_array(&j, "flags");
        for (int i = 0; i < nflags; i++)
                json_str(&j, NULL, flags[i]);
        json_end_array(&j);
        json_end_object(&j);
        const char *t = json_text(&j);
        r = t ? 0 : -ENOMEM;
        const char *subs[] = { "workspace", "home" };
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(subs); i++) {
                snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
                if (mkdir(path, 0755) < 0)
                        r = negerrno();
        }
        if (r == 0) {
                snprintf(path, sizeof path, "%s/box.json", dir);
                r = write_atomic(path, t);
        }
        json_free(&j);
        if (r < 0) {
                int saved = r;
                struct moat_error ignore = { 0 };
                (void)box_remove(name, &ignore);
                return error_set(e, -saved, "creating box %s: %s", name, strerror(-saved));
        }
        return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
        (void)st;
        (void)f;
        /* FTW_PHYS: links are removed, never followed. */
        int r = flag == FTW_DP ? rmdir(path) : unlink(path);
        return r < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_tree(const char *path, bool keep_top)
{
        if (!keep_top)
                return nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 ? negerrno() : 0;
        _cleanup_closedir_ DIR *d = opendir(path);
        if (!d)
                return negerrno();
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                char child[PATH_MAX];
                if (snprintf(child, sizeof child, "%s/%s", path, de->d_name) >= (int)sizeof child)
                        continue;
                if (nftw(child, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
                        r = negerrno();
        }
        return r;
}

/* The box's lock: one run at a time; a second gets "busy" at once. */
static int lock_box(const char *name, struct moat_error *e)
{
        char path[PATH_MAX];
        int r = box_path(name, "lock", path, sizeof path, e);
        if (r < 0)
                return r;
        char meta[PATH_MAX];
        if ((r = box_path(name, "box.json", meta, sizeof meta, e)) < 0)
                return r;
        if (access(meta, F_OK) < 0)
                return error_set(e, ENOENT, "no box named %s (moat box ls lists them; moat box create %s makes it)",
                                 name, name);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return error_set(e, errno, "%s: %s", path, strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? error_set(e, EBUSY, "busy: box %s is running another command; try again "
                                                     "when it ends", name)
                                         : error_set(e, errno, "locking %s: %s", path, strerror(errno));
                close(fd);
                return r;
        }
        return fd;
}

int box_remove(const char *name, struct moat_error *e)
{
        char dir[PATH_MAX];
        int r = box_path(name, NULL, dir, sizeof dir, e);
        if (r < 0)
                return r;
        _cleanup_close_ int lock = lock_box(name, e);
        if (lock < 0) {
                /* A half-created box has no box.json: remove it anyway. */
                struct stat st;
                if (lock != -ENOENT || stat(dir, &st) < 0)
                        return lock;
                memset(e, 0, sizeof *e);
        }
        if ((r = rm_tree(dir, false)) < 0)
                return error_set(e, -r, "removing %s: %s", dir, strerror(-r));
        return 0;
}

int box_reset(const char *name, struct moat_error *e)
{
        char ws[PATH_MAX], home[PATH_MAX];
        int r;
        if ((r = box_path(name, "workspace", ws, sizeof ws, e)) < 0 ||
            (r = box_path(name, "home", home, sizeof home, e)) < 0)
                return r;
        _cleanup_close_ int lock = lock_box(name, e);
        if (lock < 0)
                return lock;
        if ((r = rm_tree(ws, true)) < 0 || (r = rm_tree(home, true)) < 0)
                return error_set(e, -r, "emptying box %s: %s", name, strerror(-r));
        return 0;
}

static int read_flags(const char *name, char ***ret, struct moat_error *e)
{
        char path[PATH_MAX];
        int r = box_path(name, "box.json", path, sizeof path, e);
        if (r < 0)
                return r;
        _cleanup_free_ char *text = NULL;
        size_t len;
        if ((r = jv_read_file(AT_FDCWD, path, BOX_META_MAX, &text, &len)) < 0)
                return error_set(e, -r, "%s: %s", path, strerror(-r));
        struct jv_error je;
        _cleanup_jv_free_ struct jv *v = jv_parse(text, len, &je);
        if (!v)
                return error_set(e, EINVAL, "%s:%u:%u: %s", path, je.line, je.col, je.msg);
        const struct jv *flags = jv_get(v, "flags");
        if (!flags || flags->type != JV_ARRAY)
                return error_set(e, EINVAL, "%s: no \"flags\" array", path);
        for (size_t i = 0; i < flags->arr.n; i++)
                if (flags->arr.items[i]->type != JV_STRING || strv_push(ret, flags->arr.items[i]->str.s) < 0)
                        return error_set(e, EINVAL, "%s: \"flags\" must hold strings", path);
        return 0;
}

/* The box's settings under the command line's options. */
static int settle_options(const char *name, struct run_options *cli, struct run_options *ret, struct moat_error *e)
{
        _cleanup_strv_free_ char **flags = NULL;
        int r = read_flags(name, &flags, e);
        if (r < 0)
                return r;
        if ((r = run_args_parse("box", (int)strv_length(flags), flags, ret, e)) < 0)
                return r;
        ret->argv = TAKE_PTR(cli->argv);
        ret->dashdash = true;
        char **strs[][2] = { { &ret->lang, &cli->lang }, { &ret->code, &cli->code },
                             { &ret->limit_set, &cli->limit_set }, { &ret->mode, &cli->mode },
                             { &ret->policy_file, &cli->policy_file } };
        for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
                if (*strs[i][1]) {
                        free(*strs[i][0]);
                        *strs[i][0] = TAKE_PTR(*strs[i][1]);
                }
        if (cli->output_limit)
                ret->output_limit = cli->output_limit;
        if ((r = run_options_overlay(ret, cli)) < 0)
                return r;
        char home[PATH_MAX];
        if ((r = box_path(name, "home", home, sizeof home, e)) < 0)
                return r;
        free(ret->home_dir);
        if (!(ret->home_dir = strdup(home)))
                return -ENOMEM;
        ret->no_cwd = false;
        /* The workspace is the box's own, not a project the host's git,
         * editors or agents open: no placeholders in it. */
        ret->no_protect = true;
        return 0;
}

static void append_history(const char *name, const struct run_options *o, const struct runner_request *req,
                           const struct runner_result *res, time_t started)
{
        char path[PATH_MAX];
        struct moat_error e = { 0 };
        if (box_path(name, "history.jsonl", path, sizeof path, &e) < 0)
                return;
        _cleanup_jv_free_ struct jv *run = res->result_json ? jv_parse(res->result_json, strlen(res->result_json), NULL)
                                                             : NULL;
        struct json j = { 0 };
        json_begin_object(&j);
        json_int(&j, "started", (long long)started);
        if (req->lang) {
                json_str(&j, "language", req->lang);
                json_strn(&j, "code", req->code, req->code_len > 4096 ? 4096 : req->code_len);
        } else {
                json_begin_array(&j, "command");
                for (size_t i = 0; o->argv && o->argv[i]; i++)
                        json_str(&j, NULL, o->argv[i]);
                json_end_array(&j);
        }
        json_int(&j, "status", res->status);
        const char *keys[] = { "exit_code", "signal", "timed_out", "oom" };
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                const struct jv *x = run ? jv_get(run, keys[i]) : NULL;
                if (x && x->type == JV_NUMBER)
                        json_int(&j, keys[i], x->num.i);
                else if (x && x->type == JV_BOOL)
                        json_bool(&j, keys[i], x->b);
                else
                        json_null(&j, keys[i]);
        }
        json_double(&j, "duration_ms", res->duration_ms);
        json_uint(&j, "stdout_bytes", res->out_total);
        json_uint(&j, "stderr_bytes", res->err_total);
        json_bool(&j, "output_truncated", res->truncated);
        json_end_object(&j);
        const char *t = json_text(&j);
        if (t) {
                /* One write per line: a crash leaves at most a torn last
                 * line, which readers skip. */
                _cleanup_free_ char *line = str_printf("%s\n", t);
                int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd >= 0 && line) {
                        (void)!write(fd, line, strlen(line));
                        (void)fsync(fd);
                }
                if (fd >= 0)
                        close(fd);
        }
        json_free(&j);
}

/* Locks the box and lays its settings under the command line's: o is ready
 * to run from ws. Returns the lock's descriptor, to hold for the run. */
static int enter_box(const char *name, struct run_options *cli, char ws[static PATH_MAX], struct run_options *o,
                     struct moat_error *e)
{
        int r = box_path(name, "workspace", ws, PATH_MAX, e);
        if (r < 0)
                return r;
        int lock = lock_box(name, e);
        if (lock < 0)
                return lock;
        memset(o, 0, sizeof *o);
        o->json_fd = -1;
        if ((r = settle_options(name, cli, o, e)) < 0) {
                run_options_free(o);
                close(lock);
                return r;
        }
        return lock;
}

int box_run(const char *name, struct run_options *cli, struct runner_request *req, struct runner_result *res,
            struct moat_error *e)
{
        char ws[PATH_MAX];
        struct run_options o;
        int r = 0;
        _cleanup_close_ int lock = enter_box(name, cli, ws, &o, e);
        if (lock < 0)
                return lock;
        req->cwd = ws;
        if (o.lang) {
                /* The language's own static name: o (and the string the
                 * caller gave) is freed before the caller reads req. */
                const struct lang *l = lang_find(o.lang);
                if (!l) {
                        r = error_set(e, EINVAL, "unknown language \"%s\" (expected %s)", o.lang, lang_names());
                        goto out;
                }
                req->lang = l->name;
        }
        if ((r = runner_settle(&o, req, e)) < 0)
                goto out;
        time_t started = time(NULL);
        if ((r = runner_exec(&o, req, res, e)) < 0)
                goto out;
        append_history(name, &o, req, res, started);
out:
        run_options_free(&o);
        if (r == -ENOMEM && !e->msg[0])
                error_set(e, ENOMEM, "out of memory");
        return r;
}

int box_shell(const char *name, struct run_options *cli, struct moat_error *e)
{
        char ws[PATH_MAX];
        struct run_options o;
        int r;
        _cleanup_close_ int lock = enter_box(name, cli, ws, &o, e);
        if (lock < 0)
                return lock;
        if (!o.argv && (strv_push(&o.argv, access("/bin/bash", X_OK) == 0 ? "bash" : "sh") < 0)) {
                run_options_free(&o);
                return -ENOMEM;
        }
        struct runner_request req = { 0 };
        if ((r = runner_settle(&o, &req, e)) < 0 || chdir(ws) < 0) {
                run_options_free(&o);
                return r < 0 ? r : error_set(e, errno, "%s: %s", ws, strerror(errno));
        }
        /* The lock stays held by this process while the shell runs. */
        return cmd_run_options(&o);
}

static int read_history(const char *name, struct jv ***ret, size_t *ret_n, struct moat_error *e)
{
        char path[PATH_MAX];
        int r = box_path(name, "history.jsonl", path, sizeof path, e);
        if (r < 0)
                return r;
        *ret = NULL;
        *ret_n = 0;
        _cleanup_free_ char *text = NULL;
        size_t len;
        r = jv_read_file(AT_FDCWD, path, HISTORY_MAX, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return error_set(e, -r, "%s: %s", path, strerror(-r));
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct jv *v = jv_parse(line, strlen(line), NULL);
                if (!v)
                        continue; /* a torn last line */
                struct jv **n = reallocarray(*ret, *ret_n + 1, sizeof *n);
                if (!n) {
                        jv_free(v);
                        return -ENOMEM;
                }
                *ret = n;
                n[(*ret_n)++] = v;
        }
        return 0;
}

static void free_history(struct jv **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                jv_free(v[i]);
        free(v);
}

int box_history_json(const char *name, struct json *j, struct moat_error *e)
{
        char meta[PATH_MAX];
        int r = box_path(name, "box.json", meta, sizeof meta, e);
        if (r < 0)
                return r;
        if (access(meta, F_OK) < 0)
                return error_set(e, ENOENT, "no box named %s (moat box ls lists them)", name);
        struct jv **h;
        size_t n;
        if ((r = read_history(name, &h, &n, e)) < 0)
                return r;
        json_begin_array(j, NULL);
        for (size_t i = 0; i < n; i++)
                jv_write(j, NULL, h[i]);
        json_end_array(j);
        free_history(h, n);
        return 0;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int box_list_json(struct json *j, struct moat_error *e)
{
        char dir[PATH_MAX];
        int r = boxes_dir(dir, sizeof dir, e);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (box_name_valid(de->d_name) && strv_push(&names, de->d_name) < 0)
                        return -ENOMEM;
        if (names)
                qsort(names, strv_length(names), sizeof *names, cmp_names);
        json_begin_array(j, NULL);
        for (size_t i = 0; names && names[i]; i++) {
                char meta[PATH_MAX];
                struct moat_error ig = { 0 };
                if (box_path(names[i], "box.json", meta, sizeof meta, &ig) < 0)
                        continue;
                _cleanup_free_ char *text = NULL;
                size_t len;
                if (jv_read_file(AT_FDCWD, meta, BOX_META_MAX, &text, &len) < 0)
                        continue;
                _cleanup_jv_free_ struct jv *v = jv_parse(text, len, NULL);
                struct jv **h = NULL;
                size_t n = 0;
                (void)read_history(names[i], &h, &n, &ig);
                json_begin_object(j);
                json_str(j, "name", names[i]);
                const struct jv *c = v ? jv_get(v, "created") : NULL;
                if (c && c->type == JV_NUMBER)
                        json_int(j, "created", c->num.i);
                const struct jv *f = v ? jv_get(v, "flags") : NULL;
                if (f)
                        jv_write(j, "settings", f);
                json_uint(j, "runs", n);
                const struct jv *last = n ? jv_get(h[n - 1], "status") : NULL;
                if (last && last->type == JV_NUMBER)
                        json_int(j, "last_status", last->num.i);
                else
                        json_null(j, "last_status");
                json_end_object(j);
                free_history(h, n);
        }
        json_end_array(j);
        return 0;
}

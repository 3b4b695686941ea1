/* SPDX-License-Identifier: MIT */
#include "runner/runner.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

static const char *const py_alias[] = { "python3", "py", NULL };
static const char *const node_alias[] = { "javascript", "js", "nodejs", NULL };
static const char *const none[] = { NULL };

static const struct lang langs[] = {
        { "python", py_alias, "python3", "-c", ".py" },
        { "bash", none, "bash", "-c", ".sh" },
        { "sh", none, "sh", "-c", ".sh" },
        { "node", node_alias, "node", "-e", ".js" },
};

const struct lang *lang_find(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(langs); i++) {
                if (strcmp(langs[i].name, name) == 0)
                        return &langs[i];
                for (const char *const *a = langs[i].aliases; *a; a++)
                        if (strcmp(*a, name) == 0)
                                return &langs[i];
        }
        return NULL;
}

const struct lang *lang_all(size_t *ret_n)
{
        *ret_n = ARRAY_SIZE(langs);
        return langs;
}

bool lang_path(const struct lang *l, char *buf, size_t size)
{
        static const char *const dirs[] = { "/usr/local/bin", "/usr/bin", "/bin" };
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                int n = snprintf(buf, size, "%s/%s", dirs[i], l->program);
                if (n > 0 && (size_t)n < size && access(buf, X_OK) == 0)
                        return true;
        }
        if (size)
                buf[0] = '\0';
        return false;
}

const char *lang_names(void)
{
        return "python, bash, sh, node";
}

/* The limit sets, documented in moat(1). safe: untrusted snippets from an
 * agent; fast: quick checks that need a little more; dev: a developer's own
 * code, with room to work. */
static const struct limit_set sets[] = {
        { "safe", { .memory_mib = 256, .pids = 64, .cpu_time_s = 10, .timeout_s = 30, .nofile = 256, .fsize_mib = 64,
                    .tmpfs_mib = 64 }, 1u << 20, 256u << 10 },
        { "fast", { .memory_mib = 512, .pids = 256, .cpu_time_s = 30, .timeout_s = 60, .nofile = 1024, .fsize_mib = 256,
                    .tmpfs_mib = 256 }, 4u << 20, 1u << 20 },
        { "dev", { .memory_mib = 2048, .pids = 1024, .cpu_time_s = 600, .timeout_s = 900, .nofile = 4096,
                   .fsize_mib = 1024, .tmpfs_mib = 1024 }, 16u << 20, 4u << 20 },
};

const struct limit_set *limit_set_find(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
                if (strcmp(sets[i].name, name) == 0)
                        return &sets[i];
        return NULL;
}

const struct limit_set *limit_sets(size_t *ret_n)
{
        *ret_n = ARRAY_SIZE(sets);
        return sets;
}

static const char *const mode_names[_MODE_MAX] = {
        [MODE_BALANCED] = "balanced",
        [MODE_STRICT] = "strict",
        [MODE_DEV] = "dev",
};

int runner_mode_parse(const char *s, enum runner_mode *ret)
{
        for (int i = 0; i < _MODE_MAX; i++)
                if (strcmp(s, mode_names[i]) == 0) {
                        *ret = (enum runner_mode)i;
                        return 0;
                }
        return -EINVAL;
}

const char *runner_mode_name(enum runner_mode m)
{
        return m < _MODE_MAX ? mode_names[m] : "?";
}

void runner_result_free(struct runner_result *r)
{
        free(r->out);
        free(r->err);
        free(r->result_json);
        memset(r, 0, sizeof *r);
}

struct sink {
        int fd;            /* the pipe's read end, -1 when closed */
        int pass_fd;       /* not capturing: where the bytes go on to */
        char *buf;
        size_t len, cap;
        uint64_t total, limit;
};

/* Takes what is readable. Beyond the limit bytes are read and dropped:
 * the program never blocks on a full pipe. */
static int drain(struct sink *s, bool capture)
{
        char chunk[65536];
        ssize_t n = read(s->fd, chunk, sizeof chunk);
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : negerrno();
        if (n == 0) {
                close(s->fd);
                s->fd = -1;
                return 0;
        }
        size_t keep = s->total >= s->limit ? 0 : (size_t)(s->limit - s->total < (uint64_t)n ? s->limit - s->total : (uint64_t)n);
        s->total += (uint64_t)n;
        if (!keep)
                return 0;
        if (!capture) {
                for (size_t off = 0; off < keep;) {
                        ssize_t w = write(s->pass_fd, chunk + off, keep - off);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                break; /* the reader went away: keep draining anyway */
                        off += (size_t)w;
                }
                return 0;
        }
        if (s->len + keep + 1 > s->cap) {
                size_t nc = s->cap ? s->cap : 8192;
                while (nc < s->len + keep + 1)
                        nc *= 2;
                char *nb = realloc(s->buf, nc);
                if (!nb)
                        return -ENOMEM;
                s->buf = nb;
                s->cap = nc;
        }
        memcpy(s->buf + s->len, chunk, keep);
        s->len += keep;
        s->buf[s->len] = '\0';
        return 0;
}

static int write_code_file(const struct runner_request *req, const struct lang *l, char **ret_dir, char **ret_file)
{
        const char *rt = getenv("XDG_RUNTIME_DIR");
        _cleanup_free_ char *dir = str_printf("%s/moat-code-XXXXXX", rt && rt[0] == '/' ? rt : "/tmp");
        if (!dir)
                return -ENOMEM;
        if (!mkdtemp(dir))
                return negerrno();
        _cleanup_free_ char *file = str_printf("%s/main%s", dir, l->ext);
        /* 0600 in a 0700 directory: the code may hold secrets, and the
         * sandbox's user is the caller's own uid. */
        int fd = file ? open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
        int r = 0;
        if (fd < 0)
                r = file ? negerrno() : -ENOMEM;
        for (size_t off = 0; r == 0 && off < req->code_len;) {
                ssize_t w = write(fd, req->code + off, req->code_len - off);
                if (w < 0)
                        r = negerrno();
                else
                        off += (size_t)w;
        }
        if (fd >= 0)
                close(fd);
        if (r < 0) {
                if (file)
                        (void)unlink(file);
                (void)rmdir(dir);
                return r;
        }
        *ret_dir = TAKE_PTR(dir);
        *ret_file = TAKE_PTR(file);
        return 0;
}

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int runner_exec(struct run_options *o, const struct runner_request *req, struct runner_result *res,
                struct moat_error *e)
{
        memset(res, 0, sizeof *res);
        _cleanup_free_ char *dir = NULL, *file = NULL, *inside = NULL;
        int r;
        if (req->lang) {
                const struct lang *l = lang_find(req->lang);
                if (!l)
                        return error_set(e, EINVAL, "unknown language \"%s\" (expected %s)", req->lang, lang_names());
                char where[64];
                if (!lang_path(l, where, sizeof where))
                        return error_set(e, ENOENT, "language %s: %s is not installed on this system", l->name,
                                         l->program);
                if ((r = write_code_file(req, l, &dir, &file)) < 0)
                        return error_set(e, -r, "writing the code to a temporary file: %s", strerror(-r));
                /* Mounted read-only where a traceback shows a short name. */
                inside = str_printf("/run/moat/%s", strrchr(file, '/') + 1);
                if (!inside || (r = run_options_add_mount(o, MOUNT_BIND, file, inside, false, "code")) < 0)
                        goto out;
                strv_free(o->argv);
                o->argv = NULL;
                if ((r = strv_push(&o->argv, l->program)) < 0 || (r = strv_push(&o->argv, inside)) < 0)
                        goto out;
        }
        int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, jsonp[2] = { -1, -1 }, inp[2] = { -1, -1 };
        if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(jsonp, O_CLOEXEC) < 0 ||
            (req->stdin_data && pipe2(inp, O_CLOEXEC) < 0)) {
                r = negerrno();
                goto close_pipes;
        }
        double t0 = now_ms();
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                r = negerrno();
                goto close_pipes;
        }
        if (pid == 0) {
                /* The run dies with whoever asked for it (moat serve, moat
                 * mcp, a killed `moat api`): its supervisor then takes the
                 * sandbox down with it. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(125);
                /* The run: stdin, stdout, stderr and fd 3 for its JSON;
                 * moat's own messages stay on the caller's stderr. The
                 * parent's ends are closed, or stdin would never end. */
                close(outp[0]);
                close(errp[0]);
                close(jsonp[0]);
                if (inp[1] >= 0)
                        close(inp[1]);
                int msgs = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 10);
                int in = req->stdin_data ? inp[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (in < 0 || dup2(in, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0 || dup2(jsonp[1], 3) < 0)
                        _exit(125);
                if (msgs >= 0)
                        log_fd = msgs;
                if (req->cwd && chdir(req->cwd) < 0)
                        _exit(125);
                o->json_fd = 3;
                o->json = false;
                o->tty = TTY_NEVER;
                o->dashdash = true;
                _exit(cmd_run_options(o));
        }
        close(outp[1]);
        close(errp[1]);
        close(jsonp[1]);
        outp[1] = errp[1] = jsonp[1] = -1;
        if (inp[0] >= 0) {
                close(inp[0]);
                inp[0] = -1;
                (void)fcntl(inp[1], F_SETFL, O_NONBLOCK);
        }
        struct sink sinks[3] = {
                { .fd = outp[0], .pass_fd = STDOUT_FILENO, .limit = req->output_limit },
                { .fd = errp[0], .pass_fd = STDERR_FILENO, .limit = req->output_limit },
                { .fd = jsonp[0], .limit = 1u << 20 },
        };
        outp[0] = errp[0] = jsonp[0] = -1;
        size_t in_off = 0;
        r = 0;
        while (sinks[0].fd >= 0 || sinks[1].fd >= 0 || sinks[2].fd >= 0) {
                struct pollfd pf[4];
                for (int i = 0; i < 3; i++)
                        pf[i] = (struct pollfd){ .fd = sinks[i].fd, .events = POLLIN };
                pf[3] = (struct pollfd){ .fd = inp[1], .events = POLLOUT };
                if (poll(pf, 4, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negerrno();
                        break;
                }
                for (int i = 0; i < 3 && r == 0; i++)
                        if (pf[i].revents)
                                r = drain(&sinks[i], req->capture || i == 2);
                if (inp[1] >= 0 && pf[3].revents) {
                        ssize_t w = pf[3].revents & POLLOUT ? write(inp[1], req->stdin_data + in_off,
                                                                    req->stdin_len - in_off) : -1;
                        if (w > 0)
                                in_off += (size_t)w;
                        if (w < 0 && errno == EAGAIN)
                                continue;
                        if (w <= 0 || in_off == req->stdin_len) {
                                close(inp[1]);
                                inp[1] = -1;
                        }
                }
                if (r < 0)
                        break;
        }
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        res->duration_ms = now_ms() - t0;
        res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 125;
        res->out = TAKE_PTR(sinks[0].buf);
        res->out_len = sinks[0].len;
        res->out_total = sinks[0].total;
        res->err = TAKE_PTR(sinks[1].buf);
        res->err_len = sinks[1].len;
        res->err_total = sinks[1].total;
        res->result_json = TAKE_PTR(sinks[2].buf);
        res->truncated = sinks[0].total > req->output_limit || sinks[1].total > req->output_limit;
        for (int i = 0; i < 3; i++)
                if (sinks[i].fd >= 0)
                        close(sinks[i].fd);
        free(sinks[0].buf);
        free(sinks[1].buf);
        free(sinks[2].buf);
        if (!req->capture && res->truncated)
                log_warn("output truncated at %llu bytes per stream (the program wrote %llu and %llu)",
                         (unsigned long long)req->output_limit, (unsigned long long)res->out_total,
                         (unsigned long long)res->err_total);
close_pipes:
        for (int i = 0; i < 2; i++) {
                if (outp[i] >= 0)
                        close(outp[i]);
                if (errp[i] >= 0)
                        close(errp[i]);
                if (jsonp[i] >= 0)
                        close(jsonp[i]);
                if (inp[i] >= 0)
                        close(inp[i]);
        }
out:
        if (file)
                (void)unlink(file);
        if (dir)
                (void)rmdir(dir);
        if (r < 0 && !e->msg[0])
                error_set(e, -r, "running the code: %s", strerror(-r));
        return r;
}

void runner_result_json(const struct runner_result *res, const struct runner_request *req, struct json *j)
{
        _cleanup_jv_free_ struct jv *run = res->result_json ? jv_parse(res->result_json, strlen(res->result_json), NULL)
                                                             : NULL;
        json_begin_object(j);
        if (run && run->type == JV_OBJECT) {
                for (size_t i = 0; i < run->obj.n; i++)
                        jv_write(j, run->obj.members[i].key, run->obj.members[i].value);
                const struct jv *oom = jv_get(run, "oom");
                json_bool(j, "oom_killed", oom && oom->type == JV_BOOL && oom->b);
        } else {
                json_int(j, "status", res->status);
                json_str(j, "error", "the run produced no result");
        }
        if (req->lang)
                json_str(j, "language", lang_find(req->lang) ? lang_find(req->lang)->name : req->lang);
        /* Truncated output ends with a marker saying how much was cut. */
        const char *bufs[2] = { res->out, res->err };
        size_t lens[2] = { res->out_len, res->err_len };
        uint64_t totals[2] = { res->out_total, res->err_total };
        const char *names[2] = { "stdout", "stderr" };
        for (int i = 0; i < 2; i++) {
                if (totals[i] <= lens[i]) {
                        json_strn(j, names[i], bufs[i] ? bufs[i] : "", lens[i]);
                        continue;
                }
                _cleanup_free_ char *marked = malloc(lens[i] + 96);
                if (!marked) {
                        json_strn(j, names[i], bufs[i] ? bufs[i] : "", lens[i]);
                        continue;
                }
                if (lens[i])
                        memcpy(marked, bufs[i], lens[i]);
                int m = snprintf(marked + lens[i], 96, "\n[moat: output truncated: %llu more bytes]\n",
                                 (unsigned long long)(totals[i] - lens[i]));
                json_strn(j, names[i], marked, lens[i] + (size_t)m);
        }
        json_bool(j, "output_truncated", res->truncated);
        json_uint(j, "stdout_bytes", res->out_total);
        json_uint(j, "stderr_bytes", res->err_total);
        json_uint(j, "output_limit_bytes", req->output_limit);
        json_double(j, "duration_ms", res->duration_ms);
        json_end_object(j);
}

/* --policy FILE: {"limits": {NAME: max, ..., "output": BYTES, "code": BYTES},
 * "network": false, "languages": [...]}. A request above a ceiling is
 * refused, not lowered: the caller learns its request was not what ran. */
static int apply_ceilings(const char *file, struct run_options *o, const struct runner_request *req, uint64_t code_limit,
                          struct moat_error *e)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = jv_read_file(AT_FDCWD, file, 1 << 20, &text, &len);
        if (r < 0)
                return error_set(e, -r, "--policy %s: %s", file, r == -EINVAL ? "not a regular file" : strerror(-r));
        struct jv_error je;
        _cleanup_jv_free_ struct jv *v = jv_parse(text, len, &je);
        if (!v)
                return error_set(e, EINVAL, "%s:%u:%u: %s", file, je.line, je.col, je.msg);
        if (v->type != JV_OBJECT)
                return error_set(e, EINVAL, "%s:%u:%u: a policy is an object", file, v->line, v->col);
        for (size_t i = 0; i < v->obj.n; i++) {
                const struct jv_member *m = &v->obj.members[i];
                if (strcmp(m->key, "limits") == 0 && m->value->type == JV_OBJECT) {
                        for (size_t k = 0; k < m->value->obj.n; k++) {
                                const struct jv_member *lm = &m->value->obj.members[k];
                                const struct jv *n = lm->value;
                                if (n->type != JV_NUMBER || !n->num.is_int || n->num.i < 1)
                                        return error_set(e, EINVAL, "%s:%u:%u: \"limits.%s\": expected a whole number",
                                                         file, n->line, n->col, lm->key);
                                uint64_t max = (uint64_t)n->num.i, have;
                                const struct limit_field *f = limit_field_find(lm->key);
                                if (f)
                                        have = *limit_ref(&o->limits, f);
                                else if (strcmp(lm->key, "output") == 0)
                                        have = req->output_limit;
                                else if (strcmp(lm->key, "code") == 0)
                                        have = code_limit;
                                else
                                        return error_set(e, EINVAL, "%s:%u:%u: \"limits\": unknown limit \"%s\"", file,
                                                         lm->line, lm->col, lm->key);
                                if (have == 0 || have > max)
                                        return error_set(e, EPERM, "%s \"%s\" is %s%llu, above the policy's ceiling "
                                                         "of %llu (%s)", req->lang ? "the request's" : "the run's",
                                                         lm->key, have ? "" : "unlimited: ",
                                                         (unsigned long long)have, (unsigned long long)max, file);
                        }
                } else if (strcmp(m->key, "network") == 0 && m->value->type == JV_BOOL) {
                        if (!m->value->b && o->net != NET_NONE)
                                return error_set(e, EPERM, "the policy %s allows no network; drop --net/--allow", file);
                } else if (strcmp(m->key, "languages") == 0 && m->value->type == JV_ARRAY) {
                        bool ok = !req->lang;
                        for (size_t k = 0; k < m->value->arr.n && !ok; k++) {
                                const struct jv *l = m->value->arr.items[k];
                                ok = l->type == JV_STRING && lang_find(l->str.s) == lang_find(req->lang);
                        }
                        if (!ok)
                                return error_set(e, EPERM, "the policy %s does not allow language %s", file, req->lang);
                } else
                        return error_set(e, EINVAL, "%s:%u:%u: \"%s\": unknown or mistyped key (expected limits, "
                                         "network or languages)", file, m->line, m->col, m->key);
        }
        return 0;
}

int runner_settle(struct run_options *o, struct runner_request *req, struct moat_error *e)
{
        const char *set_name = o->limit_set ? o->limit_set : "safe";
        const struct limit_set *set = limit_set_find(set_name);
        if (!set)
                return error_set(e, EINVAL, "--profile %s: unknown limit set (expected safe, fast or dev)", set_name);
        for (size_t i = 0; i < LIMIT_FIELDS; i++)
                if (!(o->limits_set & limit_fields[i].bit)) {
                        *limit_ref(&o->limits, &limit_fields[i]) = *limit_ref((struct limits *)&set->limits, &limit_fields[i]);
                        o->limits_set |= limit_fields[i].bit;
                }
        req->output_limit = o->output_limit ? o->output_limit : set->output_bytes;
        if (req->code_len > set->code_bytes)
                return error_set(e, EFBIG, "the code is %zu bytes, above the %s limit set's %llu (use --profile fast or "
                                 "dev)", req->code_len, set->name, (unsigned long long)set->code_bytes);
        enum runner_mode mode = MODE_BALANCED;
        if (o->mode && runner_mode_parse(o->mode, &mode) < 0)
                return error_set(e, EINVAL, "--mode %s: expected strict, balanced or dev", o->mode);
        switch (mode) {
        case MODE_STRICT:
                /* Everything in force and nothing opened up. */
                if (o->allow_weaker)
                        return error_set(e, EPERM, "--mode strict refuses --allow-weaker");
                if (o->net == NET_HOST)
                        return error_set(e, EPERM, "--mode strict refuses --net host (name hosts with --allow)");
                for (size_t i = 0; i < o->n_mounts; i++)
                        if (o->mounts[i].writable && o->mounts[i].type == MOUNT_BIND)
                                return error_set(e, EPERM, "--mode strict refuses writable host mounts (%s %s)",
                                                 o->mounts[i].flag, o->mounts[i].src);
                break;
        case MODE_DEV:
                if (o->allow_weaker != (WEAKER_LANDLOCK | WEAKER_USERNS))
                        log_warn("--mode dev: runs with whatever protections this system has, without refusing");
                o->allow_weaker |= WEAKER_LANDLOCK | WEAKER_USERNS;
                break;
        case MODE_BALANCED:
        case _MODE_MAX:
                break;
        }
        if (o->policy_file)
                return apply_ceilings(o->policy_file, o, req, set->code_bytes, e);
        return 0;
}

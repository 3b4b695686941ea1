/* SPDX-License-Identifier: MIT */
#include "profile/install.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/build.h"
#include "profile/locate.h"
#include "sandbox/sandbox.h"
#include "util/json.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/path.h"
#include "util/strv.h"

#define RECORD_MAX_BYTES (64u << 10)
#define INSTALL_TIMEOUT_S 1800

/* $XDG_DATA_HOME/moat/SUB[/NAME] */
static bool data_path(char *buf, size_t size, const char *sub, const char *name)
{
        char base[PATH_MAX];
        if (!moat_data_dir(base, sizeof base))
                return false;
        int n = snprintf(buf, size, "%s/%s%s%s", base, sub, name ? "/" : "", name ? name : "");
        return n > 0 && (size_t)n < size;
}

int tool_volume(const struct profile *p, char *buf, size_t size)
{
        /* An isolated tool named "shared" would get the shared volume. */
        if (p->isolated && strcmp(p->name, "shared") == 0)
                return -EEXIST;
        bool ok = p->isolated ? data_path(buf, size, "volumes", p->name) : data_path(buf, size, "volumes", "shared");
        return ok ? 0 : -ENOENT;
}

/* The user's mise: MOAT_MISE, else the first `mise` on PATH. */
static int find_mise(char *buf, size_t size, struct moat_error *e)
{
        const char *named = getenv("MOAT_MISE");
        if (named && *named) {
                if (named[0] != '/' || access(named, X_OK) < 0)
                        return error_set(e, ENOENT, "MOAT_MISE=%s: not an executable file given by absolute path", named);
                if (!realpath(named, buf))
                        return error_set(e, errno, "MOAT_MISE=%s: %s", named, strerror(errno));
                return 0;
        }
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char cand[PATH_MAX];
                if (d[0] != '/' || snprintf(cand, sizeof cand, "%s/mise", d) >= (int)sizeof cand)
                        continue;
                if (access(cand, X_OK) == 0 && realpath(cand, buf) && size >= PATH_MAX)
                        return 0;
        }
        return error_set(e, ENOENT, "installing tools needs mise, which is not on PATH: install it (for example "
                         "`npm install -g @jdxcode/mise`, or see mise's documentation) or set MOAT_MISE=/path/to/mise");
}

/* Runs argv on the host and returns the first line of its stdout. Used only
 * to ask a package manager for its own registry. */
static int capture_line(char *const argv[], char *buf, size_t size)
{
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negerrno();
        pid_t pid = fork();
        if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                return negerrno();
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(null, 2) < 0)
                        _exit(127);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(fds[1]);
        size_t got = 0;
        ssize_t n;
        while (got + 1 < size && (n = RETRY_EINTR(read(fds[0], buf + got, size - 1 - got))) > 0)
                got += (size_t)n;
        close(fds[0]);
        buf[got] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        int status;
        if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
                return negerrno();
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 && buf[0] ? 0 : -ENOENT;
}

/* "https://host:8443/path" -> "host:8443"; "https://host/" -> "host"
 * (ports 80 and 443 are a rule's default). */
static int url_host_rule(const char *url, char *buf, size_t size)
{
        const char *s = strstr(url, "://");
        if (!s)
                return -EINVAL;
        s += 3;
        size_t n = strcspn(s, "/?#");
        const char *at = memchr(s, '@', n);
        if (at) {
                n -= (size_t)(at + 1 - s);
                s = at + 1;
        }
        if (n == 0 || n >= size)
                return -EINVAL;
        snprintf(buf, size, "%.*s", (int)n, s);
        char *colon = strrchr(buf, ':');
        if (colon && !strchr(buf, ']') && (strcmp(colon, ":443") == 0 || strcmp(colon, ":80") == 0))
                *colon = '\0';
        return 0;
}

/* The hosts a backend's installs need, asked of the package manager's own
 * configuration: moat names no registry itself. */
static int backend_hosts(const char *backend, char ***hosts, char **npm_registry)
{
        char line[1024], rule[512];
        if (strcmp(backend, "npm") == 0) {
                char *argv[] = { "npm", "config", "get", "registry", NULL };
                if (capture_line(argv, line, sizeof line) == 0 && url_host_rule(line, rule, sizeof rule) == 0) {
                        if (!(*npm_registry = strdup(line)))
                                return -ENOMEM;
                        return strv_push(hosts, rule);
                }
                return 0;
        }
        if (strcmp(backend, "pipx") == 0 || strcmp(backend, "pip") == 0 || strcmp(backend, "uv") == 0) {
                /* pip's own idea of its index and where it keeps files. */
                char *argv[] = { "python3", "-c",
                                 "import pip._internal.models.index as i; print(i.PyPI.pypi_url + ' https://' + "
                                 "i.PyPI.file_storage_domain + '/')", NULL };
                if (capture_line(argv, line, sizeof line) < 0)
                        return 0;
                for (char *save = NULL, *u = strtok_r(line, " ", &save); u; u = strtok_r(NULL, " ", &save))
                        if (url_host_rule(u, rule, sizeof rule) == 0 && strv_push(hosts, rule) < 0)
                                return -ENOMEM;
        }
        return 0;
}

static int record_path(const struct profile *p, char *buf, size_t size)
{
        char name[128];
        snprintf(name, sizeof name, "%s.json", p->name);
        return data_path(buf, size, "installed", name) ? 0 : -ENOENT;
}

/* The recorded install, when it matches what the profile asks now. */
static int read_record(const struct profile *p, char ***ret_path)
{
        char file[PATH_MAX], vol[PATH_MAX];
        if (record_path(p, file, sizeof file) < 0 || tool_volume(p, vol, sizeof vol) < 0)
                return -ENOENT;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = jv_read_file(AT_FDCWD, file, RECORD_MAX_BYTES, &text, &len);
        if (r < 0)
                return r;
        _cleanup_jv_free_ struct jv *v = jv_parse(text, len, NULL);
        const struct jv *tool = jv_get(v, "tool"), *volume = jv_get(v, "volume"), *path = jv_get(v, "path"),
                        *deps = jv_get(v, "dependencies");
        if (!tool || tool->type != JV_STRING || strcmp(tool->str.s, p->tool) != 0 || !volume ||
            volume->type != JV_STRING || strcmp(volume->str.s, vol) != 0 || !path || path->type != JV_ARRAY ||
            !deps || deps->type != JV_ARRAY || deps->arr.n != strv_length(p->deps_mise))
                return -ESTALE;
        for (size_t i = 0; i < deps->arr.n; i++)
                if (deps->arr.items[i]->type != JV_STRING || strcmp(deps->arr.items[i]->str.s, p->deps_mise[i]) != 0)
                        return -ESTALE;
        _cleanup_strv_free_ char **out = NULL;
        for (size_t i = 0; i < path->arr.n; i++) {
                const struct jv *d = path->arr.items[i];
                /* Only directories inside the volume: the record is ours,
                 * but its contents came out of a sandbox. */
                if (d->type != JV_STRING || d->str.s[0] != '/' || !path_is_below_or_equal(d->str.s, vol) ||
                    strstr(d->str.s, "/../") || strchr(d->str.s, ':'))
                        return -ESTALE;
                if ((r = strv_push(&out, d->str.s)) < 0)
                        return r;
        }
        if (!out && !(out = calloc(1, sizeof *out)))
                return -ENOMEM;
        *ret_path = TAKE_PTR(out);
        return 0;
}

bool tool_installed(const struct profile *p)
{
        _cleanup_strv_free_ char **path = NULL;
        return p->tool && read_record(p, &path) == 0;
}

static int write_record(const struct profile *p, const char *vol, char **path)
{
        char file[PATH_MAX], tmp[PATH_MAX + 16];
        int r = record_path(p, file, sizeof file);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = strndup(file, (size_t)(strrchr(file, '/') - file));
        if (!dir || (r = path_mkdir_p(dir, 0755)) < 0)
                return dir ? r : -ENOMEM;
        struct json j = { 0 };
        json_begin_object(&j);
        json_str(&j, "tool", p->tool);
        json_begin_array(&j, "dependencies");
        for (size_t i = 0; p->deps_mise && p->deps_mise[i]; i++)
                json_str(&j, NULL, p->deps_mise[i]);
        json_end_array(&j);
        json_str(&j, "volume", vol);
        json_begin_array(&j, "path");
        for (size_t i = 0; path && path[i]; i++)
                json_str(&j, NULL, path[i]);
        json_end_array(&j);
        json_end_object(&j);
        const char *text = json_text(&j);
        snprintf(tmp, sizeof tmp, "%s.tmp%d", file, (int)getpid());
        _cleanup_close_ int fd = text ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644) : -1;
        r = fd < 0 ? (text ? negerrno() : -ENOMEM) : 0;
        if (r == 0 && (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || write(fd, "\n", 1) != 1 ||
                       fsync(fd) < 0))
                r = negerrno();
        json_free(&j);
        if (r == 0 && rename(tmp, file) < 0)
                r = negerrno();
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

/* What mise printed as PATH, kept to the directories inside the volume.
 * host_vol is where the volume's files are on the host now (a staging
 * directory during a rebuild). */
static int read_tool_path(const char *file, const char *vol, const char *host_vol, char ***ret)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = jv_read_file(AT_FDCWD, file, RECORD_MAX_BYTES, &text, &len);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **out = NULL;
        for (char *save = NULL, *d = strtok_r(text, ":\n", &save); d; d = strtok_r(NULL, ":\n", &save)) {
                _cleanup_free_ char *norm = NULL;
                struct stat st;
                char host[PATH_MAX];
                if (path_normalize(d, &norm) < 0 || !path_is_below_or_equal(norm, vol) || strcmp(norm, vol) == 0 ||
                    snprintf(host, sizeof host, "%s%s", host_vol, norm + strlen(vol)) >= (int)sizeof host ||
                    lstat(host, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                bool dup = false;
                for (size_t i = 0; out && out[i] && !dup; i++)
                        dup = strcmp(out[i], norm) == 0;
                if (!dup && (r = strv_push(&out, norm)) < 0)
                        return r;
        }
        if (!out)
                return -ENOENT;
        *ret = TAKE_PTR(out);
        return 0;
}

/* The install itself, in a child process: sandbox_run owns the process's
 * signals and terminal while it runs, and the run that follows needs them
 * fresh. */
static int install_in_sandbox(const struct profile *p, const char *mise, const char *src, const char *vol,
                              char *const *hosts, const char *npm_registry, const char *out_file)
{
        struct run_options o;
        struct build_env be;
        _cleanup_free_ char *cwd = NULL;
        struct policy pol = { 0 };
        struct moat_error e = { 0 };
        memset(&o, 0, sizeof o);
        o.json_fd = -1;
        o.no_cwd = true;
        o.tty = TTY_NEVER;
        o.limits.timeout_s = INSTALL_TIMEOUT_S;
        o.limits_set = LIMIT_TIMEOUT;
        int r = 0;
        _cleanup_free_ char *mise_dir = strndup(mise, (size_t)(strrchr(mise, '/') - mise));
        _cleanup_free_ char *cache = path_join(vol, "cache");
        if (!cache) {
                r = -ENOMEM;
                goto out;
        }
        if ((r = run_options_add_mount(&o, MOUNT_BIND, mise, mise, false, "mise")) < 0 ||
            (r = run_options_add_mount(&o, MOUNT_BIND, src, vol, true, "volume")) < 0)
                goto out;
        o.net = hosts && hosts[0] ? NET_PROXY : NET_NONE;
        for (size_t i = 0; hosts && hosts[i]; i++)
                if ((r = strv_push(&o.allow, hosts[i])) < 0)
                        goto out;
        /* The user's own mise and aube settings come along (a minimum
         * package age, a mirror); moat's come after and win. */
        extern char **environ;
        for (size_t i = 0; environ[i]; i++)
                if ((str_startswith(environ[i], "MISE_") || str_startswith(environ[i], "AUBE_")) &&
                    strchr(environ[i], '=') && (r = strv_push(&o.env_set, environ[i])) < 0)
                        goto out;
        const char *vars[][2] = {
                { "MISE_DATA_DIR", vol },
                { "MISE_CACHE_DIR", cache }, /* aube's store: installs are hard links into it */
                { "MISE_NO_CONFIG", "1" },   /* no config file of any directory is read, none trusted */
                { "MISE_YES", "1" },
                { "MISE_DISABLE_UPDATE_WARNING", "1" },
        };
        for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
                _cleanup_free_ char *kv = str_printf("%s=%s", vars[i][0], vars[i][1]);
                if (!kv || (r = strv_push(&o.env_set, kv)) < 0)
                        goto out;
        }
        if (npm_registry) {
                _cleanup_free_ char *kv = str_printf("npm_config_registry=%s", npm_registry);
                if (!kv || (r = strv_push(&o.env_set, kv)) < 0)
                        goto out;
        }
        if (!mise_dir || (r = strv_push(&o.path_prepend, mise_dir)) < 0)
                goto out;
        /* mise installs the tool and its dependencies, then prints the PATH
         * it would run them with; moat keeps the volume's part of it. */
        static const char script[] =
                "set -e; out=$1; shift; mise install \"$@\"; "
                "mise exec \"$@\" -- sh -c 'printf %s \"$PATH\"' > \"$out.tmp\"; mv \"$out.tmp\" \"$out\"";
        char *argv0[] = { "/bin/sh", "-c", (char *)script, "moat-install", (char *)out_file, p->tool, NULL };
        for (size_t i = 0; argv0[i]; i++)
                if ((r = strv_push(&o.argv, argv0[i])) < 0)
                        goto out;
        for (size_t i = 0; p->deps_mise && p->deps_mise[i]; i++)
                if ((r = strv_push(&o.argv, p->deps_mise[i])) < 0)
                        goto out;
        if (build_env_from_process(&be, &cwd) < 0)
                r = -errno;
        else if ((r = policy_build(&o, &be, &pol, &e)) == 0) {
                struct sandbox_result res;
                r = sandbox_run(&pol, &res, &e);
                if (r == 0)
                        r = res.status == 0 ? 0 : -ECANCELED;
                else
                        log_error("%s", e.msg);
                sandbox_result_free(&res);
        } else
                log_error("%s", e.msg);
        policy_free(&pol);
out:
        run_options_free(&o);
        return r;
}

/* staging: NULL to install into the volume itself, or an empty directory
 * next to it that the install sees at the volume's path. */
static int install_tool(const struct profile *p, const char *staging, struct moat_error *e)
{
        char vol[PATH_MAX], mise[PATH_MAX], lockfile[PATH_MAX], backend[64];
        int r;
        if (!p->tool)
                return error_set(e, EINVAL, "%s: no \"tool\" to install; the profile runs \"%s\" from the system", p->origin,
                                 p->command ? p->command : p->name);
        if ((r = find_mise(mise, sizeof mise, e)) < 0)
                return r;
        if ((r = tool_volume(p, vol, sizeof vol)) == -EEXIST)
                return error_set(e, EEXIST, "%s: an isolated tool cannot be named \"shared\" (that is the shared "
                                 "volume's name); rename the profile", p->origin);
        if (r < 0 || !data_path(lockfile, sizeof lockfile, "install.lock", NULL))
                return error_set(e, ENOENT, "cannot find moat's data directory: set HOME or XDG_DATA_HOME");
        if ((r = path_mkdir_p(vol, 0755)) < 0)
                return error_set(e, -r, "creating %s: %s", vol, strerror(-r));
        /* One install at a time per user: two mise runs in one volume
         * would step on each other's files. */
        _cleanup_close_ int lock = open(lockfile, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lock < 0 || RETRY_EINTR(flock(lock, LOCK_EX)) < 0)
                return error_set(e, errno, "locking %s: %s", lockfile, strerror(errno));

        _cleanup_strv_free_ char **hosts = NULL;
        _cleanup_free_ char *npm_registry = NULL;
        if ((r = backend_hosts(profile_backend(p->tool, backend, sizeof backend), &hosts, &npm_registry)) < 0)
                return r;
        for (size_t i = 0; p->install_hosts && p->install_hosts[i]; i++)
                if ((r = strv_push(&hosts, p->install_hosts[i])) < 0)
                        return r;
        if (!hosts)
                return error_set(e, EINVAL, "%s: moat cannot tell which hosts installing \"%s\" needs (the %s%s%s backend "
                                 "has no registry setting it can read); list them in the profile's \"install_hosts\"",
                                 p->origin, p->tool, backend[0] ? "" : "default", backend, backend[0] ? ":" : "");
        /* out_file as the install sees it; host_out where it lands. */
        const char *src = staging ? staging : vol;
        char out_file[PATH_MAX + 64], host_out[PATH_MAX + 64];
        snprintf(out_file, sizeof out_file, "%s/.moat-path-%s", vol, p->name);
        snprintf(host_out, sizeof host_out, "%s/.moat-path-%s", src, p->name);
        (void)unlink(host_out);
        char esc[1024];
        size_t off = 0;
        esc[0] = '\0';
        for (size_t i = 0; hosts[i] && off < sizeof esc - 2; i++)
                off += (size_t)snprintf(esc + off, sizeof esc - off, "%s%s", i ? ", " : "", hosts[i]);
        log_info("installing %s for %s with mise (network: %s only)", p->tool, p->name, esc);

        pid_t pid = fork();
        if (pid < 0)
                return error_set(e, errno, "fork: %s", strerror(errno));
        if (pid == 0)
                _exit(install_in_sandbox(p, mise, src, vol, hosts, npm_registry, out_file) == 0 ? 0 : 1);
        int status;
        if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
                return error_set(e, errno, "waitpid: %s", strerror(errno));
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                (void)unlink(host_out);
                return error_set(e, EIO, "installing %s failed (mise's messages are above); nothing was recorded, the "
                                 "next run tries again", p->tool);
        }
        _cleanup_strv_free_ char **path = NULL;
        r = read_tool_path(host_out, vol, src, &path);
        (void)unlink(host_out);
        if (r < 0)
                return error_set(e, -r, "installing %s: mise reported no directory of the tool inside %s", p->tool, vol);
        /* The new install takes the volume's place in one step; the old
         * one stays whole until then, and is left at staging. */
        if (staging && renameat2(AT_FDCWD, staging, AT_FDCWD, vol, RENAME_EXCHANGE) < 0)
                return error_set(e, errno, "replacing %s with the new install: %s", vol, strerror(errno));
        if ((r = write_record(p, vol, path)) < 0) {
                if (staging)
                        (void)renameat2(AT_FDCWD, staging, AT_FDCWD, vol, RENAME_EXCHANGE);
                return error_set(e, -r, "recording the install of %s: %s", p->tool, strerror(-r));
        }
        log_info("installed %s in %s", p->tool, vol);
        return 0;
}

int tool_install(const struct profile *p, struct moat_error *e)
{
        return install_tool(p, NULL, e);
}

int tool_install_staged(const struct profile *p, const char *staging, struct moat_error *e)
{
        return install_tool(p, staging, e);
}

int tool_prepare_run(const struct profile *p, struct run_options *o, bool install, struct moat_error *e)
{
        if (!p->tool)
                return 0;
        _cleanup_strv_free_ char **path = NULL;
        int r = read_record(p, &path);
        if (r < 0 && !install)
                return 0; /* explain: the run would install first */
        if (r < 0) {
                if ((r = tool_install(p, e)) < 0)
                        return r;
                if ((r = read_record(p, &path)) < 0)
                        return error_set(e, -r, "the install of %s left no usable record", p->tool);
        }
        char vol[PATH_MAX];
        if ((r = tool_volume(p, vol, sizeof vol)) < 0)
                return error_set(e, ENOENT, "cannot find moat's data directory: set HOME or XDG_DATA_HOME");
        /* Read-only at run time: the tool cannot change installed code. */
        if ((r = run_options_add_mount(o, MOUNT_BIND, vol, vol, false, "tool volume")) < 0)
                return r;
        for (size_t i = 0; path[i]; i++)
                if ((r = strv_push(&o->path_prepend, path[i])) < 0)
                        return r;
        return 0;
}

/* SPDX-License-Identifier: MIT */
#include "policy/build.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/egress.h"
#include "policy/gitindex.h"
#include "policy/protect.h"
#include "util/log.h"
#include "util/path.h"
#include "util/strv.h"

/* Variables that carry no secrets and that tools need to behave: terminal
 * type, language, time zone. Everything else is dropped. */
static const char *const safe_env[] = { "TERM", "COLORTERM", "LANG", "LANGUAGE", "TZ", "NO_COLOR" };

/* Host directories bound read-only into every sandbox. On merged-/usr systems
 * /bin, /lib... are symlinks and are recreated as symlinks. */
static const char *const system_dirs[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };

/* Directories whose contents the user's home, secrets and sockets live in:
 * the project may not be one of them or contain them. */
static const char *const forbidden_project[] = { "/", "/home", "/root", "/etc", "/usr", "/proc", "/sys", "/dev",
                                                 "/run", "/var", "/tmp", "/boot" };

int build_env_from_process(struct build_env *env, char **ret_cwd_storage)
{
        extern char **environ;
        memset(env, 0, sizeof *env);
        env->environ = environ;
        char *cwd = getcwd(NULL, 0);
        if (!cwd)
                return negerrno();
        *ret_cwd_storage = cwd;
        env->cwd = cwd;
        env->uid = getuid();
        env->gid = getgid();
        struct passwd *pw = getpwuid(env->uid);
        env->user = pw && pw->pw_name ? pw->pw_name : (env->uid == 0 ? "root" : "user");
        env->home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : (env->uid == 0 ? "/root" : "/home/user");
        FILE *f = fopen("/proc/meminfo", "re");
        if (f) {
                unsigned long long kib;
                if (fscanf(f, "MemTotal: %llu kB", &kib) == 1)
                        env->mem_total_mib = kib / 1024;
                fclose(f);
        }
        return 0;
}

static const char *env_get(char *const *environ, const char *name)
{
        ssize_t i = strv_env_find(environ, name, strlen(name));
        return i >= 0 ? environ[i] + strlen(name) + 1 : NULL;
}

static int build_environment(const struct run_options *o, const struct build_env *be, struct policy *p,
                             struct moat_error *e)
{
        int r;
        for (size_t i = 0; i < ARRAY_SIZE(safe_env); i++) {
                const char *v = env_get(be->environ, safe_env[i]);
                if (v && (r = strv_env_set(&p->env, safe_env[i], v)) < 0)
                        return r;
        }
        for (size_t i = 0; be->environ && be->environ[i]; i++)
                if (str_startswith(be->environ[i], "LC_") && (r = strv_push(&p->env, be->environ[i])) < 0)
                        return r;
        _cleanup_free_ char *path = NULL;
        for (size_t i = 0; o->path_prepend && o->path_prepend[i]; i++) {
                char *n = str_printf("%s%s%s", path ? path : "", path ? ":" : "", o->path_prepend[i]);
                free(path);
                if (!(path = n))
                        return -ENOMEM;
        }
        if (path) {
                char *n = str_printf("%s:%s", path, SANDBOX_PATH);
                free(path);
                if (!(path = n))
                        return -ENOMEM;
        }
        if ((r = strv_env_set(&p->env, "PATH", path ? path : SANDBOX_PATH)) < 0 ||
            (r = strv_env_set(&p->env, "HOME", p->home)) < 0 ||
            (r = strv_env_set(&p->env, "USER", p->user)) < 0 ||
            (r = strv_env_set(&p->env, "LOGNAME", p->user)) < 0)
                return r;
        if (!env_get(p->env, "TERM") && (r = strv_env_set(&p->env, "TERM", "dumb")) < 0)
                return r;
        for (size_t i = 0; o->env_pass && o->env_pass[i]; i++) {
                const char *v = env_get(be->environ, o->env_pass[i]);
                if (v && (r = strv_env_set(&p->env, o->env_pass[i], v)) < 0)
                        return r;
        }
        for (size_t i = 0; o->env_set && o->env_set[i]; i++) {
                const char *eq = strchr(o->env_set[i], '=');
                _cleanup_free_ char *name = strndup(o->env_set[i], (size_t)(eq - o->env_set[i]));
                if (!name || (r = strv_env_set(&p->env, name, eq + 1)) < 0)
                        return r;
        }
        (void)e;
        return 0;
}

/* Makes a user-supplied host path absolute and canonical. Symlinks in paths
 * the user typed are followed: that is the user's intent, unlike links found
 * inside the project, which are never followed out of it. */
static int host_path(const char *flag, const char *in, const char *cwd, char **ret, struct moat_error *e)
{
        _cleanup_free_ char *joined = NULL;
        if (in[0] == '~' && (in[1] == '/' || in[1] == '\0'))
                return error_set(e, EINVAL, "%s %s: '~' was not expanded; write the full path", flag, in);
        if (in[0] != '/') {
                joined = path_join(cwd, in);
                if (!joined)
                        return -ENOMEM;
        }
        const char *typed = joined ? joined : in;
        char *real = realpath(typed, NULL);
        /* A path inside the project that resolves outside it went through a
         * symlink the project holds, maybe one a sandboxed tool planted:
         * refuse rather than mount what it points at. */
        _cleanup_free_ char *typed_norm = NULL;
        if (real && path_normalize(typed, &typed_norm) == 0 && path_is_below_or_equal(typed_norm, cwd) &&
            !path_is_below_or_equal(real, cwd)) {
                int r = error_set(e, EXDEV, "%s %s: leads out of the project through a symlink (to %s); name the "
                                  "target itself if you mean it", flag, in, real);
                free(real);
                return r;
        }
        if (!real) {
                int err = errno;
                if (err == ENOENT || err == ENOTDIR)
                        return error_set(e, err, "%s %s: no such file or directory (moat never creates mount sources)", flag, in);
                return error_set(e, err, "%s %s: %s", flag, in, strerror(err));
        }
        *ret = real;
        return 0;
}

/* A destination inside the sandbox: absolute, no "..", and not a place that
 * would hide the sandbox's own masks. */
static int sandbox_path(const char *flag, const char *in, char **ret, struct moat_error *e)
{
        _cleanup_free_ char *n = NULL;
        if (in[0] != '/')
                return error_set(e, EINVAL, "%s %s: the path inside the sandbox must be absolute", flag, in);
        if (path_normalize(in, &n) < 0)
                return error_set(e, EINVAL, "%s %s: contains '..' or control characters", flag, in);
        static const char *const reserved[] = { "/proc", "/sys", "/dev" };
        if (strcmp(n, "/") == 0)
                return error_set(e, EINVAL, "%s %s: cannot replace the sandbox's root", flag, in);
        for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
                if (path_is_below_or_equal(n, reserved[i]))
                        return error_set(e, EINVAL, "%s %s: %s is built by moat and cannot be mounted over", flag, in,
                                         reserved[i]);
        *ret = TAKE_PTR(n);
        return 0;
}

static int add(struct policy *p, enum mount_type t, const char *src, const char *dst, bool writable,
               uint64_t size, const char *origin)
{
        struct mount_entry m = { .type = t, .src = (char *)src, .dst = (char *)dst, .writable = writable,
                                 .size = size, .origin = origin };
        return policy_add_mount(p, &m);
}

static int add_system_mounts(struct policy *p, const struct run_options *o)
{
        int r;
        uint64_t tmpfs = p->limits.tmpfs_mib << 20;
        if ((r = add(p, MOUNT_ROOT, NULL, "/", false, 0, "system")) < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(system_dirs); i++) {
                struct stat st;
                if (lstat(system_dirs[i], &st) < 0)
                        continue;
                if (S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t n = readlink(system_dirs[i], target, sizeof target - 1);
                        if (n <= 0)
                                continue;
                        target[n] = '\0';
                        r = add(p, MOUNT_SYMLINK, target, system_dirs[i], false, 0, "system");
                } else if (S_ISDIR(st.st_mode))
                        r = add(p, MOUNT_BIND, system_dirs[i], system_dirs[i], false, 0, "system");
                else
                        continue;
                if (r < 0)
                        return r;
        }
        if ((r = add(p, MOUNT_ETC, "/etc", "/etc", false, 0, "system")) < 0 ||
            (r = add(p, MOUNT_PROC, NULL, "/proc", false, 0, "system")) < 0 ||
            (r = add(p, MOUNT_SYS, NULL, "/sys", false, 0, "system")) < 0 ||
            (r = add(p, MOUNT_DEV, NULL, "/dev", true, tmpfs, "system")) < 0 ||
            (r = add(p, MOUNT_TMPFS, NULL, "/tmp", true, tmpfs, "system")) < 0 ||
            (r = add(p, MOUNT_TMPFS, NULL, "/run", true, (uint64_t)DEFAULT_RUN_TMPFS_MIB << 20, "system")) < 0 ||
            (r = add(p, MOUNT_SYMLINK, "/tmp", "/var/tmp", false, 0, "system")) < 0)
                return r;
        /* $HOME: an empty tmpfs, or a box's own home that persists. */
        if (o->home_dir)
                r = add(p, MOUNT_BIND, o->home_dir, p->home, true, 0, "box home");
        else
                r = add(p, MOUNT_TMPFS, NULL, p->home, true, tmpfs, "home");
        if (r < 0)
                return r;
        return 0;
}

static int check_project(const char *cwd, const struct build_env *be, struct moat_error *e)
{
        for (size_t i = 0; i < ARRAY_SIZE(forbidden_project); i++)
                if (strcmp(cwd, forbidden_project[i]) == 0)
                        return error_set(e, EPERM,
                                         "the current directory %s is a system directory; run from a project "
                                         "directory or pass --no-cwd", cwd);
        if (path_is_below_or_equal(be->home, cwd))
                return error_set(e, EPERM,
                                 "the current directory %s holds your home directory (%s), and with it ~/.ssh and "
                                 "every other secret; run from a project directory, or pass --no-cwd", cwd, be->home);
        return 0;
}

/* Each gitlink's .git: the host's `git status` runs git inside every
 * submodule the index names (see policy/gitindex.h). Protected whether or not
 * it exists, like --protect: a missing submodule directory gets the
 * placeholder itself. */
static int add_submodule_gits(struct policy *p)
{
        _cleanup_close_ int proj = open(p->project, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proj < 0)
                return 0; /* mounting the project reports it */
        _cleanup_strv_free_ char **links = NULL;
        int r = gitindex_read_gitlinks(proj, &links);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* The host's git cannot read such an index either, so it
                 * runs nothing from the submodules it would name. */
                log_warn("%s/.git/index: %s; submodules it may list are not protected",
                         p->project, r == -EINVAL ? "not a git index moat can read" : strerror(-r));
                return 0;
        }
        for (size_t i = 0; links[i]; i++) {
                _cleanup_free_ char *dst = str_printf("%s/%s/.git", p->project, links[i]);
                if (!dst)
                        return -ENOMEM;
                struct mount_entry m = { .type = MOUNT_PROTECT, .dst = dst, .stub = true, .origin = "submodule" };
                if ((r = policy_add_mount(p, &m)) < 0)
                        return r;
        }
        return 0;
}

static int add_protected(struct policy *p, const struct run_options *o, struct moat_error *e)
{
        size_t n;
        const struct protected_path *d = protect_defaults(&n);
        int r;
        for (size_t i = 0; i < n; i++) {
                /* Without --git-write all of .git is read-only, which covers
                 * its hooks, config, commondir and index (a staged gitlink to
                 * a repository the command wrote would otherwise run that
                 * repository's config on the host's next `git status`). */
                bool in_git = str_startswith(d[i].path, ".git/");
                if (in_git && !o->git_write)
                        continue;
                _cleanup_free_ char *dst = path_join(p->project, d[i].path);
                if (!dst)
                        return -ENOMEM;
                bool whole_git = strcmp(d[i].path, ".git") == 0;
                struct mount_entry m = { .type = MOUNT_PROTECT, .dst = dst, .stub = d[i].stub,
                                         .skip_if_dir = whole_git ? o->git_write : d[i].skip_if_dir,
                                         .origin = "protected" };
                if ((r = policy_add_mount(p, &m)) < 0)
                        return r;
        }
        if ((r = add_submodule_gits(p)) < 0)
                return r;
        for (size_t i = 0; o->protect && o->protect[i]; i++) {
                const char *rel = o->protect[i];
                _cleanup_free_ char *abs = NULL, *norm = NULL;
                if (rel[0] == '/') {
                        if (path_normalize(rel, &norm) < 0)
                                return error_set(e, EINVAL, "--protect %s: contains '..' or control characters", rel);
                        if (!path_is_below_or_equal(norm, p->project) || strcmp(norm, p->project) == 0)
                                return error_set(e, EINVAL, "--protect %s: must name a path inside the project %s",
                                                 rel, p->project);
                } else {
                        abs = path_join(p->project, rel);
                        if (!abs)
                                return -ENOMEM;
                        if (path_normalize(abs, &norm) < 0 || strcmp(norm, p->project) == 0)
                                return error_set(e, EINVAL, "--protect %s: must name a path inside the project "
                                                 "without '..'", rel);
                }
                struct mount_entry m = { .type = MOUNT_PROTECT, .dst = norm, .stub = true, .origin = "--protect" };
                if ((r = policy_add_mount(p, &m)) < 0)
                        return r;
        }
        return 0;
}

static int add_user_mounts(struct policy *p, const struct run_options *o, const char *cwd, struct moat_error *e)
{
        int r;
        for (size_t i = 0; i < o->n_mounts; i++) {
                const struct mount_request *m = &o->mounts[i];
                _cleanup_free_ char *src = NULL, *dst = NULL;
                if (m->type == MOUNT_TMPFS) {
                        if ((r = sandbox_path(m->flag, m->dst, &dst, e)) < 0)
                                return r;
                        if ((r = add(p, MOUNT_TMPFS, NULL, dst, true, p->limits.tmpfs_mib << 20, m->flag)) < 0)
                                return r;
                        continue;
                }
                if ((r = host_path(m->flag, m->src, cwd, &src, e)) < 0)
                        return r;
                if ((r = sandbox_path(m->flag, m->dst ? m->dst : src, &dst, e)) < 0)
                        return r;
                if ((r = add(p, MOUNT_BIND, src, dst, m->writable, 0, m->flag)) < 0)
                        return r;
        }
        return 0;
}

static bool sockaddr_port_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
        if (a->ss_family != b->ss_family)
                return false;
        if (a->ss_family == AF_INET) {
                const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
                return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
        }
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

static int parse_port(const char *s, uint16_t *ret)
{
        unsigned long long v;
        if (parse_u64(s, 65535, &v) < 0 || v == 0)
                return -EINVAL;
        *ret = (uint16_t)v;
        return 0;
}

/* -p [HOST_IP:]HOST_PORT:SANDBOX_PORT and --host-port PORT. */
static int build_ports(const struct run_options *o, struct policy *p, struct moat_error *e)
{
        size_t n = strv_length(o->publish), m = strv_length(o->host_ports);
        if ((n || m) && p->net == NET_HOST)
                return error_set(e, EINVAL, "%s: with --net host the sandbox shares the host's ports already",
                                 n ? "--publish" : "--host-port");
        p->publish = calloc(n ? n : 1, sizeof *p->publish);
        p->host_ports = calloc(m ? m : 1, sizeof *p->host_ports);
        if (!p->publish || !p->host_ports)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *spec = o->publish[i];
                struct publish *pub = &p->publish[i];
                _cleanup_free_ char *copy = strdup(spec);
                if (!copy)
                        return -ENOMEM;
                /* The address part may itself hold colons (IPv6 in brackets). */
                char *last = strrchr(copy, ':');
                if (!last)
                        return error_set(e, EINVAL, "--publish %s: expected [HOST_IP:]HOST_PORT:SANDBOX_PORT, "
                                         "e.g. -p 8080:3000", spec);
                *last = '\0';
                char *hostport = strrchr(copy, ':');
                const char *ip = "127.0.0.1";
                if (hostport) {
                        *hostport++ = '\0';
                        ip = copy;
                } else
                        hostport = copy;
                uint16_t hp, sp;
                if (parse_port(hostport, &hp) < 0 || parse_port(last + 1, &sp) < 0)
                        return error_set(e, EINVAL, "--publish %s: ports must be numbers from 1 to 65535", spec);
                char addr[64];
                size_t len = strlen(ip);
                if (ip[0] == '[' && len > 2 && ip[len - 1] == ']')
                        snprintf(addr, sizeof addr, "%.*s", (int)(len - 2), ip + 1);
                else
                        snprintf(addr, sizeof addr, "%s", ip);
                struct sockaddr_in *a4 = (struct sockaddr_in *)&pub->host;
                struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&pub->host;
                if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
                        a4->sin_family = AF_INET;
                        a4->sin_port = htons(hp);
                } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
                        a6->sin6_family = AF_INET6;
                        a6->sin6_port = htons(hp);
                } else
                        return error_set(e, EINVAL, "--publish %s: '%s' is not an IP address", spec, ip);
                pub->sandbox_port = sp;
                snprintf(pub->text, sizeof pub->text, "%s", spec);
                for (size_t k = 0; k < i; k++)
                        if (sockaddr_port_equal(&p->publish[k].host, &pub->host))
                                return error_set(e, EINVAL, "--publish %s: conflicts with --publish %s (same host "
                                                 "address and port)", spec, p->publish[k].text);
        }
        p->n_publish = n;
        for (size_t i = 0; i < m; i++) {
                if (parse_port(o->host_ports[i], &p->host_ports[i]) < 0)
                        return error_set(e, EINVAL, "--host-port %s: expected a port from 1 to 65535",
                                         o->host_ports[i]);
                if (p->host_ports[i] == EGRESS_PORT && p->net == NET_PROXY)
                        return error_set(e, EINVAL, "--host-port %s: the egress proxy uses that port inside "
                                         "the sandbox", o->host_ports[i]);
                for (size_t k = 0; k < i; k++)
                        if (p->host_ports[k] == p->host_ports[i])
                                return error_set(e, EINVAL, "--host-port %s: given twice", o->host_ports[i]);
        }
        p->n_host_ports = m;
        return 0;
}

/* The allowlist, and the variables that point clients at the proxy. One
 * port serves HTTP, CONNECT and SOCKS5 (told apart by the first byte). */
static int build_network(const struct run_options *o, const struct build_env *be, struct policy *p,
                         struct moat_error *e)
{
        size_t n = strv_length(o->allow);
        int r;
        if (o->log_path) {
                if (o->log_path[0] == '/')
                        p->log_path = strdup(o->log_path);
                else
                        p->log_path = path_join(be->cwd, o->log_path);
                if (!p->log_path)
                        return -ENOMEM;
                if (p->net != NET_PROXY)
                        return error_set(e, EINVAL, "--log: records the egress proxy's decisions; it needs --allow "
                                         "or --net proxy");
        }
        if ((r = build_ports(o, p, e)) < 0)
                return r;
        if (p->net != NET_PROXY)
                return 0;
        p->rules = calloc(n ? n : 1, sizeof *p->rules);
        if (!p->rules)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char err[256];
                if (hostrule_parse(o->allow[i], &p->rules[i], err, sizeof err) < 0)
                        return error_set(e, EINVAL, "--allow %s: %s", o->allow[i], err);
        }
        p->n_rules = n;
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", EGRESS_PORT);
        static const char *const http_vars[] = { "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy" };
        for (size_t i = 0; i < ARRAY_SIZE(http_vars); i++)
                if ((r = strv_env_set(&p->env, http_vars[i], url)) < 0)
                        return r;
        snprintf(url, sizeof url, "socks5h://127.0.0.1:%d", EGRESS_PORT);
        if ((r = strv_env_set(&p->env, "ALL_PROXY", url)) < 0 || (r = strv_env_set(&p->env, "all_proxy", url)) < 0)
                return r;
        /* The sandbox's own loopback is reached directly. */
        if ((r = strv_env_set(&p->env, "NO_PROXY", "localhost,127.0.0.1,::1")) < 0 ||
            (r = strv_env_set(&p->env, "no_proxy", "localhost,127.0.0.1,::1")) < 0)
                return r;
        return 0;
}

int policy_build(const struct run_options *o, const struct build_env *be, struct policy *p,
                 struct moat_error *e)
{
        int r;
        memset(p, 0, sizeof *p);
        p->json_fd = o->json_fd;
        p->json_stdout = o->json && o->json_fd < 0;
        p->net = o->net;
        p->tty = o->tty;
        p->allow_weaker = o->allow_weaker;
        p->uid = be->uid;
        p->gid = be->gid;
        if (!o->argv || !o->argv[0])
                return error_set(e, EINVAL, "run: no command given; usage: moat run [OPTIONS] [--] COMMAND [ARGS...]");
        if (!(p->user = strdup(be->user)) || !(p->hostname = strdup(SANDBOX_HOSTNAME)))
                return -ENOMEM;
        if (path_normalize(be->home, &p->home) < 0 || strcmp(p->home, "/") == 0) {
                free(p->home);
                if (!(p->home = strdup(be->uid == 0 ? "/root" : "/home/user")))
                        return -ENOMEM;
        }

        /* Limits: flags win; defaults stop a fork bomb or a memory bomb
         * without getting in the way of real builds. */
        p->limits = (struct limits){
                .memory_mib = be->mem_total_mib ? be->mem_total_mib / 2 : 4096,
                .pids = DEFAULT_PIDS,
                .nofile = DEFAULT_NOFILE,
                .tmpfs_mib = DEFAULT_TMPFS_MIB,
        };
        if (o->limits_set & LIMIT_MEMORY)
                p->limits.memory_mib = o->limits.memory_mib;
        if (o->limits_set & LIMIT_PIDS)
                p->limits.pids = o->limits.pids;
        if (o->limits_set & LIMIT_CPU_TIME)
                p->limits.cpu_time_s = o->limits.cpu_time_s;
        if (o->limits_set & LIMIT_TIMEOUT)
                p->limits.timeout_s = o->limits.timeout_s;
        if (o->limits_set & LIMIT_NOFILE)
                p->limits.nofile = o->limits.nofile;
        if (o->limits_set & LIMIT_FSIZE)
                p->limits.fsize_mib = o->limits.fsize_mib;
        if (o->limits_set & LIMIT_TMPFS)
                p->limits.tmpfs_mib = o->limits.tmpfs_mib;
        if (p->limits.nofile && p->limits.nofile < 8)
                return error_set(e, EINVAL, "--nofile %llu: too low for any program to start (at least 8)",
                                 (unsigned long long)p->limits.nofile);

        if ((r = add_system_mounts(p, o)) < 0)
                return r;
        if (!o->no_cwd) {
                if ((r = path_normalize(be->cwd, &p->project)) < 0)
                        return error_set(e, EINVAL, "the current directory %s cannot be used as a project path", be->cwd);
                if ((r = check_project(p->project, be, e)) < 0)
                        return r;
                if ((r = add(p, MOUNT_BIND, p->project, p->project, !o->cwd_ro, 0, "project")) < 0)
                        return r;
        }
        if ((r = add_user_mounts(p, o, be->cwd, e)) < 0)
                return r;
        if (p->project && !o->cwd_ro && !o->no_protect && (r = add_protected(p, o, e)) < 0)
                return r;
        if (!p->project && o->protect)
                return error_set(e, EINVAL, "--protect: needs the project directory; it cannot be used with --no-cwd");
        if (!p->project && o->git_write)
                return error_set(e, EINVAL, "--git-write: needs the project directory; it cannot be used with --no-cwd");
        p->git_write = o->git_write;

        if (o->workdir) {
                if ((r = sandbox_path("--workdir", o->workdir, &p->workdir, e)) < 0)
                        return r;
        } else if (!(p->workdir = strdup(p->project ? p->project : p->home)))
                return -ENOMEM;

        if ((r = build_network(o, be, p, e)) < 0)
                return r;
        if ((r = build_environment(o, be, p, e)) < 0)
                return r;
        for (size_t i = 0; o->argv[i]; i++)
                if ((r = strv_push(&p->argv, o->argv[i])) < 0)
                        return r;
        return 0;
}

/* SPDX-License-Identifier: MIT */
#include "profile/apply.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/json_read.h"
#include "util/log.h"
#include "util/path.h"
#include "util/strv.h"

/* "~" and "~/x" are the home; "." and "./x" the current directory; other
 * relative paths are relative to the current directory, as coco's
 * `realpath -m` made them. */
static char *expand(const char *src, const struct apply_env *env)
{
        if (strcmp(src, "~") == 0)
                return strdup(env->home);
        if (str_startswith(src, "~/"))
                return path_join(env->home, src + 2);
        if (src[0] == '/')
                return strdup(src);
        return path_join(env->cwd, src);
}

/* coco's containers run as root with HOME=/root, so its profiles put a
 * tool's settings under /root. Here $HOME is the user's home path. */
static char *sandbox_dst(const char *dst, const struct apply_env *env)
{
        if (strcmp(dst, "/root") == 0)
                return strdup(env->home);
        if (str_startswith(dst, "/root/"))
                return path_join(env->home, dst + 6);
        return strdup(dst);
}

static int add_mounts(const struct profile *p, const struct apply_env *env, struct run_options *o,
                      const char **ret_project_dst, struct moat_error *e)
{
        bool have_project = false;
        int r;
        for (size_t i = 0; i < p->n_mounts; i++) {
                const struct profile_mount *m = &p->mounts[i];
                _cleanup_free_ char *src = expand(m->src, env), *norm = NULL;
                if (!src)
                        return -ENOMEM;
                if (path_normalize(src, &norm) < 0)
                        return error_set(e, EINVAL, "%s:%u:%u: mount source \"%s\": contains '..' or control characters",
                                         p->origin, m->line, m->col, m->src);
                if (strcmp(norm, env->cwd) == 0) {
                        /* The current directory is the project: mounted at
                         * its own path with its protected paths, wherever
                         * the profile put it (a workdir there follows). */
                        have_project = true;
                        o->cwd_ro = m->ro;
                        *ret_project_dst = m->dst;
                        continue;
                }
                struct stat st;
                if (stat(norm, &st) < 0)
                        return error_set(e, errno, "%s:%u:%u: mount source %s: %s (moat does not create it; make it "
                                         "or drop the mount)", p->origin, m->line, m->col, norm, strerror(errno));
                _cleanup_free_ char *dst = m->dst ? sandbox_dst(m->dst, env) : strdup(norm);
                if (!dst)
                        return -ENOMEM;
                if ((r = run_options_add_mount(o, MOUNT_BIND, norm, dst, !m->ro, "profile mount")) < 0)
                        return r;
        }
        o->no_cwd = !have_project;
        return 0;
}

/* Xauthority entries are keyed by host name, and the sandbox has its own
 * ("moat"): the cookies for this display are copied with the wildcard
 * family (0xffff), which matches any host, into a file of the run's. Each
 * entry: family, then address, display number, auth name and data, each a
 * 16-bit big-endian length and bytes. Returns the bytes written or -errno. */
ssize_t xauth_for_display(const uint8_t *in, size_t n, const char *number, uint8_t *out, size_t size)
{
        size_t i = 0, o = 0;
        while (i < n) {
                size_t start = i, fields[4][2];
                if (n - i < 2)
                        return -EINVAL;
                i += 2;
                for (int f = 0; f < 4; f++) {
                        if (n - i < 2)
                                return -EINVAL;
                        size_t len = (size_t)in[i] << 8 | in[i + 1];
                        if (n - i - 2 < len)
                                return -EINVAL;
                        fields[f][0] = i + 2;
                        fields[f][1] = len;
                        i += 2 + len;
                }
                if (fields[1][1] != strlen(number) || memcmp(in + fields[1][0], number, fields[1][1]) != 0)
                        continue;
                if (size - o < i - start)
                        return -ENOBUFS;
                memcpy(out + o, in + start, i - start);
                out[o] = 0xff;
                out[o + 1] = 0xff;
                o += i - start;
        }
        return (ssize_t)o;
}

static char *xauth_copy;

static void xauth_remove(void)
{
        if (xauth_copy)
                (void)unlink(xauth_copy);
        free(xauth_copy);
        xauth_copy = NULL;
}

/* Writes the wildcard copy for display (":N[.S]") into a private file that
 * is removed when moat exits. */
static int write_xauth(const char *xa, const char *display, char **ret)
{
        char number[16];
        const char *colon = strrchr(display, ':');
        size_t len = colon ? strcspn(colon + 1, ".") : 0;
        if (!colon || len == 0 || len >= sizeof number)
                return -EINVAL;
        memcpy(number, colon + 1, len);
        number[len] = '\0';
        _cleanup_free_ char *text = NULL;
        size_t n;
        int r = jv_read_file(AT_FDCWD, xa, 1 << 20, &text, &n);
        if (r < 0)
                return r;
        _cleanup_free_ uint8_t *out = malloc(n ? n : 1);
        if (!out)
                return -ENOMEM;
        ssize_t m = xauth_for_display((const uint8_t *)text, n, number, out, n);
        if (m < 0)
                return (int)m;
        const char *rt = getenv("XDG_RUNTIME_DIR");
        _cleanup_free_ char *path = str_printf("%s/moat-xauth-XXXXXX", rt && rt[0] == '/' ? rt : "/tmp");
        if (!path)
                return -ENOMEM;
        _cleanup_close_ int fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return negerrno();
        if (write(fd, out, (size_t)m) != m) {
                r = negerrno();
                (void)unlink(path);
                return r;
        }
        *ret = TAKE_PTR(path);
        return 0;
}

/* "x11": the X server's socket directory and the user's Xauthority, both
 * read-only, and DISPLAY. Only when asked: an X client can read every
 * window and send keystrokes to them. */
static int add_x11(const struct profile *p, const struct apply_env *env, struct run_options *o, struct moat_error *e)
{
        const char *display = getenv("DISPLAY");
        if (!display || !*display)
                return error_set(e, EINVAL, "%s: \"x11\" is set but DISPLAY is not: start the tool from an X session "
                                 "or drop the key", p->origin);
        if (display[0] != ':' && !str_startswith(display, "unix:"))
                return error_set(e, EINVAL, "%s: \"x11\": DISPLAY=%s is a network display; only local displays "
                                 "(:N, reached through /tmp/.X11-unix) can be passed into the sandbox", p->origin, display);
        int r;
        struct stat st;
        if (stat("/tmp/.X11-unix", &st) < 0 || !S_ISDIR(st.st_mode))
                return error_set(e, ENOENT, "%s: \"x11\": /tmp/.X11-unix is missing: is an X server running?",
                                 p->origin);
        if ((r = run_options_add_mount(o, MOUNT_BIND, "/tmp/.X11-unix", NULL, false, "x11")) < 0)
                return r;
        _cleanup_free_ char *kv = str_printf("DISPLAY=%s", display);
        if (!kv || (r = strv_push(&o->env_set, kv)) < 0)
                return -ENOMEM;
        const char *xa = getenv("XAUTHORITY");
        _cleanup_free_ char *def = path_join(env->home, ".Xauthority");
        if (!def)
                return -ENOMEM;
        if (!xa || xa[0] != '/')
                xa = def;
        if (stat(xa, &st) == 0 && S_ISREG(st.st_mode)) {
                /* At a fixed place inside: the host path may be in the
                 * hidden home or a private /run directory. */
                _cleanup_free_ char *dst = path_join(env->home, ".Xauthority");
                _cleanup_free_ char *x = str_printf("XAUTHORITY=%s", dst ? dst : "");
                if (!dst || !x)
                        return -ENOMEM;
                xauth_remove();
                if ((r = write_xauth(xa, display, &xauth_copy)) < 0)
                        return error_set(e, -r, "%s: \"x11\": reading the X cookies in %s: %s", p->origin, xa,
                                         strerror(-r));
                atexit(xauth_remove);
                if ((r = run_options_add_mount(o, MOUNT_BIND, xauth_copy, dst, false, "x11")) < 0 ||
                    (r = strv_push(&o->env_set, x)) < 0)
                        return r;
        }
        return 0;
}

int profile_to_options(const struct profile *p, const struct apply_env *env, struct run_options *o,
                       struct moat_error *e)
{
        int r;
        memset(o, 0, sizeof *o);
        o->json_fd = -1;
        const char *project_dst = NULL;
        if ((r = add_mounts(p, env, o, &project_dst, e)) < 0)
                return r;
        for (size_t i = 0; p->read_only && p->read_only[i]; i++) {
                _cleanup_free_ char *src = expand(p->read_only[i], env);
                if (!src || (r = run_options_add_mount(o, MOUNT_BIND, src, NULL, false, "profile read_only")) < 0)
                        return src ? r : -ENOMEM;
        }
        for (size_t i = 0; p->tmpfs && p->tmpfs[i]; i++)
                if ((r = run_options_add_mount(o, MOUNT_TMPFS, NULL, p->tmpfs[i], true, "profile tmpfs")) < 0)
                        return r;
        if (p->workdir) {
                /* A workdir inside where the profile put "." means the same
                 * place in the project. */
                size_t n = project_dst ? strlen(project_dst) : 0;
                if (project_dst && strncmp(p->workdir, project_dst, n) == 0 &&
                    (p->workdir[n] == '\0' || p->workdir[n] == '/'))
                        o->workdir = str_printf("%s%s", env->cwd, p->workdir + n);
                else
                        o->workdir = sandbox_dst(p->workdir, env);
                if (!o->workdir)
                        return -ENOMEM;
        }
        for (size_t i = 0; p->env && p->env[i]; i++)
                if ((r = strv_push(&o->env_set, p->env[i])) < 0)
                        return r;
        for (size_t i = 0; p->env_passthrough && p->env_passthrough[i]; i++)
                if ((r = strv_push(&o->env_pass, p->env_passthrough[i])) < 0)
                        return r;
        switch (p->net) {
        case PROFILE_NET_UNSET:
                o->net = p->allowed_hosts ? NET_PROXY : NET_NONE;
                break;
        case PROFILE_NET_NONE:
                o->net = NET_NONE;
                break;
        case PROFILE_NET_HOST:
                o->net = NET_HOST;
                break;
        case PROFILE_NET_PROXY:
        case PROFILE_NET_MAX:
                o->net = NET_PROXY;
                break;
        }
        for (size_t i = 0; p->allowed_hosts && p->allowed_hosts[i]; i++)
                if ((r = strv_push(&o->allow, p->allowed_hosts[i])) < 0)
                        return r;
        for (size_t i = 0; p->ports && p->ports[i]; i++)
                if ((r = strv_push(&o->publish, p->ports[i])) < 0)
                        return r;
        for (size_t i = 0; p->protect && p->protect[i]; i++)
                if ((r = strv_push(&o->protect, p->protect[i])) < 0)
                        return r;
        o->limits = p->limits;
        o->limits_set = p->limits_set;
        o->tty = p->tty;
        o->git_write = p->git_write;
        if (p->x11 && (r = add_x11(p, env, o, e)) < 0)
                return r;
        if (p->deps_apt)
                return error_set(e, ENOTSUP, "%s: \"dependencies.apt\" needs a root filesystem image, which moat does "
                                 "not build yet; install %s on the host (it is visible read-only inside) or drop the key",
                                 p->origin, p->deps_apt[0]);
        if (p->podman_args)
                log_warn("%s: \"podman_args\" means nothing without podman; ignored", p->origin);
        return 0;
}

static int append(char ***dst, char ***src)
{
        for (size_t i = 0; *src && (*src)[i]; i++)
                if (strv_push(dst, (*src)[i]) < 0)
                        return -ENOMEM;
        strv_free(*src);
        *src = NULL;
        return 0;
}

int run_options_overlay(struct run_options *b, struct run_options *c)
{
        int r;
        for (size_t i = 0; i < c->n_mounts; i++) {
                const struct mount_request *m = &c->mounts[i];
                if ((r = run_options_add_mount(b, m->type, m->src, m->dst, m->writable, m->flag)) < 0)
                        return r;
        }
        if ((r = append(&b->protect, &c->protect)) < 0 || (r = append(&b->env_set, &c->env_set)) < 0 ||
            (r = append(&b->env_pass, &c->env_pass)) < 0 || (r = append(&b->publish, &c->publish)) < 0 ||
            (r = append(&b->host_ports, &c->host_ports)) < 0 || (r = append(&b->path_prepend, &c->path_prepend)) < 0)
                return r;
        if (c->net_set) {
                b->net = c->net;
                b->net_set = true;
                strv_free(b->allow);
                b->allow = NULL;
        }
        if (c->allow) {
                if (!c->net_set && b->net != NET_PROXY) {
                        b->net = NET_PROXY;
                        b->net_set = false;
                }
                if ((r = append(&b->allow, &c->allow)) < 0)
                        return r;
        }
        if (c->workdir) {
                free(b->workdir);
                b->workdir = TAKE_PTR(c->workdir);
        }
        if (c->log_path) {
                free(b->log_path);
                b->log_path = TAKE_PTR(c->log_path);
        }
        b->no_cwd |= c->no_cwd;
        b->git_write |= c->git_write;
        for (size_t i = 0; i < LIMIT_FIELDS; i++)
                if (c->limits_set & limit_fields[i].bit)
                        *limit_ref(&b->limits, &limit_fields[i]) = *limit_ref(&c->limits, &limit_fields[i]);
        b->limits_set |= c->limits_set;
        if (c->tty != TTY_AUTO)
                b->tty = c->tty;
        b->json |= c->json;
        if (c->json_fd >= 0)
                b->json_fd = c->json_fd;
        if (c->verbose > b->verbose)
                b->verbose = c->verbose;
        b->allow_weaker |= c->allow_weaker;
        return 0;
}

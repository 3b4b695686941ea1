/* SPDX-License-Identifier: MIT */
#include "profile/profile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/hostmatch.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

struct ctx {
        const char *file;
        struct profile *p;
        struct moat_error *e;
};

static int at(struct ctx *c, const struct jv *v, const char *fmt, ...) _printf_(3, 4);
static int at(struct ctx *c, const struct jv *v, const char *fmt, ...)
{
        char msg[768];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return error_set(c->e, EINVAL, "%s:%u:%u: %s", c->file, v ? v->line : 1, v ? v->col : 1, msg);
}

static int want(struct ctx *c, const char *key, const struct jv *v, enum jv_type t)
{
        if (v->type == t)
                return 0;
        return at(c, v, "\"%s\": expected %s %s, found %s", key, t == JV_ARRAY || t == JV_OBJECT ? "an" : "a",
                  jv_type_name(t), jv_type_name(v->type));
}

/* Strings users write: no control characters (they would reach argv, the
 * environment or a terminal). */
static int get_string(struct ctx *c, const char *key, const struct jv *v, char **ret)
{
        int r = want(c, key, v, JV_STRING);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->str.len; i++)
                if ((unsigned char)v->str.s[i] < 0x20 || v->str.s[i] == 0x7f)
                        return at(c, v, "\"%s\": control characters are not allowed", key);
        if (v->str.len == 0)
                return at(c, v, "\"%s\": must not be empty", key);
        free(*ret);
        *ret = strdup(v->str.s);
        return *ret ? 0 : -ENOMEM;
}

static int get_bool(struct ctx *c, const char *key, const struct jv *v, bool *ret)
{
        int r = want(c, key, v, JV_BOOL);
        if (r == 0)
                *ret = v->b;
        return r;
}

static int get_strings(struct ctx *c, const char *key, const struct jv *v, char ***ret)
{
        int r = want(c, key, v, JV_ARRAY);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->arr.n; i++) {
                _cleanup_free_ char *s = NULL;
                char k[96];
                snprintf(k, sizeof k, "%s[%zu]", key, i);
                if ((r = get_string(c, k, v->arr.items[i], &s)) < 0)
                        return r;
                if ((r = strv_consume(ret, TAKE_PTR(s))) < 0)
                        return r;
        }
        return 0;
}

static bool env_name_valid(const char *s)
{
        if (!*s || (*s >= '0' && *s <= '9'))
                return false;
        for (; *s; s++)
                if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
                        return false;
        return true;
}

static int k_tool(struct ctx *c, const char *key, const struct jv *v)
{
        int r = get_string(c, key, v, &c->p->tool);
        if (r < 0)
                return r;
        for (const char *s = c->p->tool; *s; s++)
                if (*s == ' ' || (*s == '/' && s == c->p->tool))
                        return at(c, v, "\"tool\": \"%s\" is not a mise tool spec (e.g. \"npm:eslint@9\")",
                                  c->p->tool);
        return 0;
}

static int k_command(struct ctx *c, const char *key, const struct jv *v)
{
        return get_string(c, key, v, &c->p->command);
}

static int k_args(struct ctx *c, const char *key, const struct jv *v)
{
        return get_strings(c, key, v, &c->p->args);
}

static int k_description(struct ctx *c, const char *key, const struct jv *v)
{
        return get_string(c, key, v, &c->p->description);
}

static int k_mounts(struct ctx *c, const char *key, const struct jv *v)
{
        int r = want(c, key, v, JV_ARRAY);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->arr.n; i++) {
                const struct jv *m = v->arr.items[i];
                char k[64];
                snprintf(k, sizeof k, "mounts[%zu]", i);
                if ((r = want(c, k, m, JV_OBJECT)) < 0)
                        return r;
                struct profile_mount pm = { .line = m->line, .col = m->col };
                for (size_t j = 0; j < m->obj.n && r == 0; j++) {
                        const struct jv_member *mm = &m->obj.members[j];
                        char kk[96];
                        snprintf(kk, sizeof kk, "%s.%s", k, mm->key);
                        if (strcmp(mm->key, "src") == 0)
                                r = get_string(c, kk, mm->value, &pm.src);
                        else if (strcmp(mm->key, "dst") == 0) {
                                if ((r = get_string(c, kk, mm->value, &pm.dst)) == 0 && pm.dst[0] != '/')
                                        r = at(c, mm->value, "\"%s\": \"%s\" must be an absolute path", kk, pm.dst);
                        } else if (strcmp(mm->key, "opts") == 0) {
                                _cleanup_free_ char *opts = NULL;
                                if ((r = get_string(c, kk, mm->value, &opts)) < 0)
                                        break;
                                /* podman's volume options: ro/rw matter here;
                                 * SELinux relabelling (z, Z) has nothing to
                                 * do without a container engine. */
                                for (char *save = NULL, *t = strtok_r(opts, ",", &save); t && r == 0;
                                     t = strtok_r(NULL, ",", &save)) {
                                        if (strcmp(t, "ro") == 0)
                                                pm.ro = true;
                                        else if (strcmp(t, "rw") == 0)
                                                pm.ro = false;
                                        else if (strcmp(t, "z") != 0 && strcmp(t, "Z") != 0)
                                                r = at(c, mm->value, "\"%s\": unknown option \"%s\" (expected ro or rw)",
                                                       kk, t);
                                }
                        } else {
                                const char *names[] = { "src", "dst", "opts" };
                                const char *s = str_suggest(mm->key, names, ARRAY_SIZE(names));
                                char esc[128];
                                r = error_set(c->e, EINVAL, "%s:%u:%u: \"%s\": unknown key in a mount%s%s%s", c->file,
                                              mm->line, mm->col, log_escape(mm->key, esc, sizeof esc),
                                              s ? " (did you mean \"" : " (expected src, dst and opts)",
                                              s ? s : "", s ? "\"?)" : "");
                        }
                }
                if (r == 0 && !pm.src)
                        r = at(c, m, "\"%s\": \"src\" is missing", k);
                if (r == 0) {
                        struct profile_mount *n = reallocarray(c->p->mounts, c->p->n_mounts + 1, sizeof *n);
                        if (!n)
                                r = -ENOMEM;
                        else {
                                c->p->mounts = n;
                                n[c->p->n_mounts++] = pm;
                                continue;
                        }
                }
                free(pm.src);
                free(pm.dst);
                return r;
        }
        return 0;
}

static int k_env(struct ctx *c, const char *key, const struct jv *v)
{
        int r = want(c, key, v, JV_OBJECT);
        if (r < 0)
                return r;
        for (size_t i = 0; i < v->obj.n; i++) {
                const struct jv_member *m = &v->obj.members[i];
                char esc[128];
                if (!env_name_valid(m->key))
                        return error_set(c->e, EINVAL, "%s:%u:%u: \"env\": \"%s\" is not a valid variable name", c->file,
                                         m->line, m->col, log_escape(m->key, esc, sizeof esc));
                const struct jv *val = m->value;
                _cleanup_free_ char *s = NULL;
                if (val->type == JV_NUMBER && val->num.is_int)
                        s = str_printf("%s=%lld", m->key, val->num.i);
                else if (val->type == JV_BOOL)
                        s = str_printf("%s=%s", m->key, val->b ? "true" : "false");
                else if (val->type == JV_STRING) {
                        if (strlen(val->str.s) != val->str.len || strchr(val->str.s, '\n'))
                                return at(c, val, "\"env.%s\": the value holds a line break", m->key);
                        s = str_printf("%s=%s", m->key, val->str.s);
                } else
                        return at(c, val, "\"env.%s\": expected a string, found %s", m->key, jv_type_name(val->type));
                if (!s || strv_consume(&c->p->env, TAKE_PTR(s)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int k_env_passthrough(struct ctx *c, const char *key, const struct jv *v)
{
        int r = get_strings(c, key, v, &c->p->env_passthrough);
        for (size_t i = 0; r == 0 && c->p->env_passthrough && c->p->env_passthrough[i]; i++)
                if (!env_name_valid(c->p->env_passthrough[i]))
                        return at(c, v->arr.items[i], "\"%s\": \"%s\" is not a valid variable name", key,
                                  c->p->env_passthrough[i]);
        return r;
}

static int k_workdir(struct ctx *c, const char *key, const struct jv *v)
{
        int r = get_string(c, key, v, &c->p->workdir);
        if (r == 0 && c->p->workdir[0] != '/')
                return at(c, v, "\"workdir\": \"%s\" must be an absolute path", c->p->workdir);
        return r;
}

static int k_network(struct ctx *c, const char *key, const struct jv *v)
{
        _cleanup_free_ char *s = NULL;
        int r = get_string(c, key, v, &s);
        if (r < 0)
                return r;
        if (strcmp(s, "none") == 0)
                c->p->net = PROFILE_NET_NONE;
        else if (strcmp(s, "proxy") == 0)
                c->p->net = PROFILE_NET_PROXY;
        /* podman's network modes: every one but none is the open network. */
        else if (strcmp(s, "host") == 0 || strcmp(s, "bridge") == 0 || strcmp(s, "pasta") == 0 ||
                 strcmp(s, "slirp4netns") == 0 || strcmp(s, "private") == 0 || strcmp(s, "default") == 0)
                c->p->net = PROFILE_NET_HOST;
        else
                return at(c, v, "\"network\": unknown mode \"%s\" (expected none, proxy or host)", s);
        return 0;
}

static int k_hosts(struct ctx *c, const char *key, const struct jv *v, char ***ret)
{
        int r = get_strings(c, key, v, ret);
        for (size_t i = 0; r == 0 && *ret && (*ret)[i]; i++) {
                struct host_rule rule;
                char err[256];
                if (hostrule_parse((*ret)[i], &rule, err, sizeof err) < 0)
                        return at(c, v->arr.items[i], "\"%s\": %s", key, err);
        }
        return r;
}

static int k_allowed_hosts(struct ctx *c, const char *key, const struct jv *v)
{
        return k_hosts(c, key, v, &c->p->allowed_hosts);
}

static int k_install_hosts(struct ctx *c, const char *key, const struct jv *v)
{
        return k_hosts(c, key, v, &c->p->install_hosts);
}

static int k_isolated(struct ctx *c, const char *key, const struct jv *v)
{
        return get_bool(c, key, v, &c->p->isolated);
}

static int k_x11(struct ctx *c, const char *key, const struct jv *v)
{
        return get_bool(c, key, v, &c->p->x11);
}

static int k_git_write(struct ctx *c, const char *key, const struct jv *v)
{
        return get_bool(c, key, v, &c->p->git_write);
}

static int k_ports(struct ctx *c, const char *key, const struct jv *v)
{
        int r = want(c, key, v, JV_ARRAY);
        for (size_t i = 0; r == 0 && i < v->arr.n; i++) {
                const struct jv *it = v->arr.items[i];
                _cleanup_free_ char *s = NULL;
                if (it->type == JV_NUMBER && it->num.is_int && it->num.i > 0 && it->num.i < 65536)
                        s = str_printf("%lld:%lld", it->num.i, it->num.i);
                else if (it->type == JV_STRING) {
                        char k[64];
                        snprintf(k, sizeof k, "ports[%zu]", i);
                        if ((r = get_string(c, k, it, &s)) < 0)
                                return r;
                        /* podman writes "8080:80/tcp"; only TCP exists here. */
                        char *proto = strchr(s, '/');
                        if (proto && strcmp(proto, "/tcp") != 0)
                                return at(c, it, "\"ports[%zu]\": only TCP ports can be published", i);
                        if (proto)
                                *proto = '\0';
                        if (!strchr(s, ':')) {
                                char *both = str_printf("%s:%s", s, s);
                                free(s);
                                s = both;
                        }
                } else
                        return at(c, it, "\"ports[%zu]\": expected \"HOST:SANDBOX\" or a port number", i);
                if (!s || strv_consume(&c->p->ports, TAKE_PTR(s)) < 0)
                        return -ENOMEM;
        }
        return r;
}

static int k_dependencies(struct ctx *c, const char *key, const struct jv *v)
{
        int r = want(c, key, v, JV_OBJECT);
        for (size_t i = 0; r == 0 && i < v->obj.n; i++) {
                const struct jv_member *m = &v->obj.members[i];
                if (strcmp(m->key, "apt") == 0)
                        r = get_strings(c, "dependencies.apt", m->value, &c->p->deps_apt);
                else if (strcmp(m->key, "mise") == 0)
                        r = get_strings(c, "dependencies.mise", m->value, &c->p->deps_mise);
                else {
                        char esc[128];
                        r = error_set(c->e, EINVAL, "%s:%u:%u: \"dependencies\": unknown key \"%s\" (expected apt or mise)",
                                      c->file, m->line, m->col, log_escape(m->key, esc, sizeof esc));
                }
        }
        return r;
}

static int k_podman_args(struct ctx *c, const char *key, const struct jv *v)
{
        return get_strings(c, key, v, &c->p->podman_args);
}

static int k_protect(struct ctx *c, const char *key, const struct jv *v)
{
        return get_strings(c, key, v, &c->p->protect);
}

static int k_read_only(struct ctx *c, const char *key, const struct jv *v)
{
        return get_strings(c, key, v, &c->p->read_only);
}

static int k_tmpfs(struct ctx *c, const char *key, const struct jv *v)
{
        int r = get_strings(c, key, v, &c->p->tmpfs);
        for (size_t i = 0; r == 0 && c->p->tmpfs && c->p->tmpfs[i]; i++)
                if (c->p->tmpfs[i][0] != '/')
                        return at(c, v->arr.items[i], "\"tmpfs\": \"%s\" must be an absolute path", c->p->tmpfs[i]);
        return r;
}

static int k_tty(struct ctx *c, const char *key, const struct jv *v)
{
        if (v->type == JV_BOOL) {
                c->p->tty = v->b ? TTY_ALWAYS : TTY_NEVER;
                return 0;
        }
        _cleanup_free_ char *s = NULL;
        int r = get_string(c, key, v, &s);
        if (r < 0)
                return r;
        if (strcmp(s, "auto") == 0)
                c->p->tty = TTY_AUTO;
        else if (strcmp(s, "always") == 0)
                c->p->tty = TTY_ALWAYS;
        else if (strcmp(s, "never") == 0)
                c->p->tty = TTY_NEVER;
        else
                return at(c, v, "\"tty\": unknown value \"%s\" (expected auto, always or never)", s);
        return 0;
}

static int k_limits(struct ctx *c, const char *key, const struct jv *v)
{
        int r = want(c, key, v, JV_OBJECT);
        for (size_t i = 0; r == 0 && i < v->obj.n; i++) {
                const struct jv_member *m = &v->obj.members[i];
                const struct limit_field *f = limit_field_find(m->key);
                if (!f) {
                        const char *names[LIMIT_FIELDS];
                        for (size_t j = 0; j < LIMIT_FIELDS; j++)
                                names[j] = limit_fields[j].name;
                        const char *s = str_suggest(m->key, names, ARRAY_SIZE(names));
                        char esc[128];
                        return error_set(c->e, EINVAL, "%s:%u:%u: \"limits\": unknown limit \"%s\"%s%s%s", c->file,
                                         m->line, m->col, log_escape(m->key, esc, sizeof esc),
                                         s ? " (did you mean \"" : " (expected memory, pids, cpu_time, timeout, nofile, fsize or tmpfs_size)",
                                         s ? s : "", s ? "\"?)" : "");
                }
                const struct jv *n = m->value;
                if (n->type != JV_NUMBER || !n->num.is_int || n->num.i < 1 || (uint64_t)n->num.i > f->max)
                        return at(c, n, "\"limits.%s\": expected a whole number from 1 to %llu", m->key,
                                  (unsigned long long)f->max);
                *limit_ref(&c->p->limits, f) = (uint64_t)n->num.i;
                c->p->limits_set |= f->bit;
        }
        return r;
}

/* Keys coco's own files carry that coco ignores: accepted, with a warning. */
static int k_ignored(struct ctx *c, const char *key, const struct jv *v)
{
        log_warn("%s:%u:%u: \"%s\" is ignored (coco ignores it too)", c->file, v->line, v->col, key);
        return 0;
}

static const struct {
        const char *name;
        int (*fn)(struct ctx *, const char *, const struct jv *);
} keys[] = {
        { "tool", k_tool },
        { "command", k_command },
        { "args", k_args },
        { "description", k_description },
        { "mounts", k_mounts },
        { "env", k_env },
        { "env_passthrough", k_env_passthrough },
        { "workdir", k_workdir },
        { "network", k_network },
        { "allowed_hosts", k_allowed_hosts },
        { "install_hosts", k_install_hosts },
        { "isolated", k_isolated },
        { "ports", k_ports },
        { "x11", k_x11 },
        { "dependencies", k_dependencies },
        { "podman_args", k_podman_args },
        { "limits", k_limits },
        { "protect", k_protect },
        { "read_only", k_read_only },
        { "tmpfs", k_tmpfs },
        { "tty", k_tty },
        { "git_write", k_git_write },
        { "pre-cmd", k_ignored },
};

bool profile_name_valid(const char *name)
{
        size_t n = strlen(name);
        if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
                return false;
        for (const char *s = name; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
                      *s == '_' || *s == '+' || *s == '-'))
                        return false;
        return true;
}

const char *profile_backend(const char *tool, char *buf, size_t size)
{
        const char *colon = tool ? strchr(tool, ':') : NULL;
        snprintf(buf, size, "%.*s", colon ? (int)(colon - tool) : 0, tool ? tool : "");
        return buf;
}

/* Keys whose object values merge across layers (jq's '*', as coco's
 * config.d did); every other key takes the last layer's value. */
static bool merges(const char *key)
{
        return strcmp(key, "env") == 0 || strcmp(key, "dependencies") == 0 || strcmp(key, "limits") == 0;
}

static int unknown_key(struct ctx *c, const struct jv_member *m)
{
        const char *names[ARRAY_SIZE(keys)];
        for (size_t j = 0; j < ARRAY_SIZE(keys); j++)
                names[j] = keys[j].name;
        const char *s = str_suggest(m->key, names, ARRAY_SIZE(names));
        char esc[128];
        return error_set(c->e, EINVAL, "%s:%u:%u: \"%s\": unknown key%s%s%s", c->file, m->line, m->col,
                         log_escape(m->key, esc, sizeof esc), s ? " (did you mean \"" : "", s ? s : "",
                         s ? "\"?)" : " (see docs/profiles.md)");
}

int profile_from_layers(const char *name, const struct jv *const *objs, const char *const *files, size_t n,
                        struct profile *p, struct moat_error *e)
{
        memset(p, 0, sizeof *p);
        struct ctx c = { .file = n ? files[n - 1] : "", .p = p, .e = e };
        int r;
        if (!profile_name_valid(name))
                return error_set(e, EINVAL, "%s: \"%s\" is not a tool name (letters, digits, '.', '_', '+' and '-'; "
                                 "no '/')", c.file, name);
        for (size_t l = 0; l < n; l++)
                if (objs[l]->type != JV_OBJECT) {
                        c.file = files[l];
                        return at(&c, objs[l], "a profile is a JSON object, found %s", jv_type_name(objs[l]->type));
                }
        if (!(p->name = strdup(name)) || !(p->origin = strdup(files[n - 1])))
                goto oom;
        for (size_t l = 0; l < n; l++) {
                c.file = files[l];
                for (size_t i = 0; i < objs[l]->obj.n; i++) {
                        const struct jv_member *m = &objs[l]->obj.members[i];
                        size_t k = 0;
                        while (k < ARRAY_SIZE(keys) && strcmp(keys[k].name, m->key) != 0)
                                k++;
                        if (k == ARRAY_SIZE(keys)) {
                                r = unknown_key(&c, m);
                                goto fail;
                        }
                        bool later = false;
                        for (size_t j = l + 1; j < n && !later; j++)
                                later = jv_member_get(objs[j], m->key) != NULL;
                        if (later && !merges(m->key))
                                continue; /* a later file sets it again */
                        if ((r = keys[k].fn(&c, m->key, m->value)) < 0)
                                goto fail;
                }
        }
        for (size_t l = n; l-- > 0;) {
                const struct jv_member *m = jv_member_get(objs[l], "allowed_hosts");
                if (!m || !p->allowed_hosts)
                        continue;
                c.file = files[l];
                if (p->net == PROFILE_NET_NONE) {
                        r = error_set(e, EINVAL, "%s:%u:%u: \"allowed_hosts\" conflicts with \"network\": \"none\"; "
                                      "drop one", c.file, m->line, m->col);
                        goto fail;
                }
                if (p->net == PROFILE_NET_HOST) {
                        r = error_set(e, EINVAL, "%s:%u:%u: \"allowed_hosts\" needs \"network\" unset or \"proxy\" "
                                      "(the open network would not check them)", c.file, m->line, m->col);
                        goto fail;
                }
                break;
        }
        return 0;
oom:
        r = -ENOMEM;
fail:
        if (r == -ENOMEM && !e->msg[0])
                error_set(e, ENOMEM, "%s: out of memory", c.file);
        profile_free(p);
        return r;
}

int profile_from_json(const char *name, const char *file, const struct jv *obj, struct profile *p,
                      struct moat_error *e)
{
        return profile_from_layers(name, &obj, &file, 1, p, e);
}

int profile_parse(const char *name, const char *file, const char *text, size_t len, struct profile *p,
                  struct moat_error *e)
{
        struct jv_error je;
        _cleanup_jv_free_ struct jv *v = jv_parse(text, len, &je);
        memset(p, 0, sizeof *p);
        if (!v)
                return error_set(e, EINVAL, "%s:%u:%u: %s", file, je.line, je.col, je.msg);
        return profile_from_json(name, file, v, p, e);
}

void profile_free(struct profile *p)
{
        free(p->name);
        free(p->origin);
        free(p->tool);
        free(p->command);
        strv_free(p->args);
        for (size_t i = 0; i < p->n_mounts; i++) {
                free(p->mounts[i].src);
                free(p->mounts[i].dst);
        }
        free(p->mounts);
        strv_free(p->env);
        strv_free(p->env_passthrough);
        free(p->workdir);
        strv_free(p->allowed_hosts);
        strv_free(p->install_hosts);
        strv_free(p->ports);
        strv_free(p->deps_apt);
        strv_free(p->deps_mise);
        strv_free(p->podman_args);
        strv_free(p->protect);
        strv_free(p->read_only);
        strv_free(p->tmpfs);
        free(p->description);
        memset(p, 0, sizeof *p);
}

/* SPDX-License-Identifier: MIT */
/* `moat get NAME...`: copies ready profiles from moat's store into
 * $XDG_CONFIG_HOME/moat/tools after showing what each one grants.
 *
 * What is trusted: the store's index.json is pinned by this binary (its
 * SHA-256 is compiled in from the tree moat was built from, or named by the
 * user in MOAT_STORE_SHA256 for a store of their own), and the index pins
 * every profile by its SHA-256. A mirror reached over plain HTTP, or a store
 * directory someone else can write, therefore yields exactly the bytes this
 * moat was built with, or nothing is saved. Every check runs before the
 * first byte is written, and the files appear by rename, all or none. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sha2.h>

#include "cmd/cmd.h"
#include "config.h"
#include "profile/locate.h"
#include "profile/profile.h"
#include "store-pin.h"
#include "util/path.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

#define INDEX_MAX_BYTES (1u << 20)
#define CURL_MAX_TIME_S "60"

struct store {
        char *where;     /* the directory, or the base URL without a trailing '/' */
        const char *var; /* "MOAT_STORE" when the user named it */
        bool url;
        int dirfd;
};

struct store_entry {
        char *name;
        char sha256[65];
        char *description;
};

struct store_index {
        struct store_entry *v;
        size_t n;
};

struct wanted {
        const struct store_entry *entry;
        char *text;
        size_t len;
        struct profile p;
        bool replaces; /* a file is there and --force replaces it */
        bool placed;   /* renamed into place by this run */
        char tmp[96];
};

static void store_close(struct store *s)
{
        free(s->where);
        if (s->dirfd >= 0)
                close(s->dirfd);
        *s = (struct store){ .dirfd = -1 };
}

static void index_free(struct store_index *ix)
{
        for (size_t i = 0; i < ix->n; i++) {
                free(ix->v[i].name);
                free(ix->v[i].description);
        }
        free(ix->v);
        *ix = (struct store_index){ 0 };
}

static void sha256_hex(const char *buf, size_t len, char out[SHA256_DIGEST_STRING_LENGTH])
{
        SHA256Data((const uint8_t *)buf, len, out); /* lowercase hex, NUL-terminated */
}

static bool sha256_valid(const char *s)
{
        size_t i = 0;
        for (; s[i]; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return i == 64;
}

static bool is_url(const char *s)
{
        return str_startswith(s, "http://") || str_startswith(s, "https://");
}

/* Fetches url with the host's curl into a NUL-terminated buffer of at most
 * max bytes. curl is the user's own program, run as the user: what it
 * returns is checked against the pins before anything uses it. */
static int curl_fetch(const char *url, size_t max, char **ret, size_t *ret_len, struct moat_error *e)
{
        char maxs[32];
        snprintf(maxs, sizeof maxs, "%zu", max);
        /* -q first: no ~/.curlrc adds options. --proto holds redirects to
         * http(s) too; --globoff keeps [] and {} in a URL literal. */
        char *argv[] = { "curl", "-q", "-fsSL", "--globoff", "--proto", "=http,https", "--max-filesize", maxs,
                         "--max-time", CURL_MAX_TIME_S, "--", (char *)url, NULL };
        _cleanup_close_ int err_fd = memfd_create("moat-curl-stderr", MFD_CLOEXEC);
        int fds[2];
        if (err_fd < 0 || pipe2(fds, O_CLOEXEC) < 0)
                return error_set(e, errno, "fetching %s: %s", url, strerror(errno));
        pid_t pid = fork();
        if (pid < 0) {
                int err = errno;
                close(fds[0]);
                close(fds[1]);
                return error_set(e, err, "fetching %s: fork: %s", url, strerror(err));
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(fds[1], STDOUT_FILENO) < 0 ||
                    dup2(err_fd, STDERR_FILENO) < 0)
                        _exit(126);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(fds[1]);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        bool over = false;
        int r = 0;
        for (;;) {
                if (len == cap) {
                        size_t ncap = cap ? cap * 2 : 16384;
                        if (ncap > max + 1)
                                ncap = max + 1;
                        if (ncap == cap) {
                                over = true;
                                break;
                        }
                        char *nb = realloc(buf, ncap + 1);
                        if (!nb) {
                                r = -ENOMEM;
                                break;
                        }
                        buf = nb;
                        cap = ncap;
                }
                ssize_t n = RETRY_EINTR(read(fds[0], buf + len, cap - len));
                if (n <= 0) {
                        r = n < 0 ? negerrno() : 0;
                        break;
                }
                len += (size_t)n;
        }
        if (over || r < 0)
                (void)kill(pid, SIGKILL);
        close(fds[0]);
        int status;
        if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
                return error_set(e, errno, "fetching %s: waitpid: %s", url, strerror(errno));
        if (over)
                return error_set(e, EFBIG, "%s: larger than %zu bytes, which no store file is", url, max);
        if (r < 0)
                return error_set(e, -r, "fetching %s: %s", url, strerror(-r));
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return error_set(e, ENOENT, "fetching %s needs curl, which is not on PATH: install curl, or point "
                                 "MOAT_STORE at a directory", url);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char msg[320] = "", esc[640];
                ssize_t n = pread(err_fd, msg, sizeof msg - 1, 0);
                msg[n > 0 ? n : 0] = '\0';
                msg[strcspn(msg, "\r\n")] = '\0';
                return error_set(e, EIO, "fetching %s: %s", url,
                                 msg[0] ? log_escape(msg, esc, sizeof esc) : "curl failed");
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* One file of the store, by its name in the store (never a path). */
static int store_read(const struct store *s, const char *file, size_t max, char **ret, size_t *ret_len,
                      struct moat_error *e)
{
        if (s->url) {
                _cleanup_free_ char *url = str_printf("%s/%s", s->where, file);
                return url ? curl_fetch(url, max, ret, ret_len, e) : -ENOMEM;
        }
        char esc[1024];
        int r = jv_read_file(s->dirfd, file, max, ret, ret_len);
        if (r < 0)
                return error_set(e, -r, "%s/%s: %s", log_escape(s->where, esc, sizeof esc), file,
                                 r == -EFBIG ? "larger than any store file can be"
                                 : r == -EINVAL ? "not a regular file" : strerror(-r));
        return 0;
}

static int store_open(struct store *s, const char *where, const char *var, struct moat_error *e)
{
        *s = (struct store){ .dirfd = -1, .var = var, .url = is_url(where) };
        char esc[1024];
        if (!(s->where = strdup(where)))
                return -ENOMEM;
        if (s->url) {
                for (const char *c = where; *c; c++)
                        if ((unsigned char)*c <= ' ' || *c == 0x7f)
                                return error_set(e, EINVAL, "%s=%s: a URL has no spaces or control characters", var,
                                                 log_escape(where, esc, sizeof esc));
                for (size_t n = strlen(s->where); n > 0 && s->where[n - 1] == '/'; n--)
                        s->where[n - 1] = '\0';
                return 0;
        }
        if (strstr(where, "://"))
                return error_set(e, EINVAL, "%s=%s: expected a directory or an http:// or https:// URL", var,
                                 log_escape(where, esc, sizeof esc));
        s->dirfd = open(where, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0)
                return error_set(e, errno, "%s%s%s: %s", var ? var : "", var ? "=" : "",
                                 log_escape(where, esc, sizeof esc), strerror(errno));
        return 0;
}

/* The index's pin: MOAT_STORE_SHA256 when set, else the index this moat
 * was built with. */
static int index_pin(char pin[65], bool *ret_user, struct moat_error *e)
{
        const char *v = getenv("MOAT_STORE_SHA256");
        *ret_user = v && *v;
        if (!*ret_user) {
                snprintf(pin, 65, "%s", MOAT_STORE_INDEX_SHA256);
                return 0;
        }
        size_t i = 0;
        for (; v[i] && i < 64; i++)
                pin[i] = (char)((v[i] >= 'A' && v[i] <= 'F') ? v[i] - 'A' + 'a' : v[i]);
        pin[i] = '\0';
        char esc[256];
        if (v[i] || !sha256_valid(pin))
                return error_set(e, EINVAL, "MOAT_STORE_SHA256=%s: expected 64 hex digits, the sha256sum of the "
                                 "store's index.json", log_escape(v, esc, sizeof esc));
        return 0;
}

static int index_mismatch(const struct store *s, const char *got, const char *pin, bool user, struct moat_error *e)
{
        char esc[1024];
        const char *where = log_escape(s->where, esc, sizeof esc);
        if (user)
                return error_set(e, EBADMSG, "%s/index.json has sha256 %s, but MOAT_STORE_SHA256 is %s; nothing was "
                                 "saved", where, got, pin);
        if (s->var)
                return error_set(e, EBADMSG, "MOAT_STORE=%s: index.json has sha256 %s, but this moat was built with "
                                 "the store whose index has %s; nothing was saved (for a store of your own, check it "
                                 "and set MOAT_STORE_SHA256=%s)", where, got, pin, got);
        return error_set(e, EBADMSG, "%s/index.json has sha256 %s, but this moat was built with the store whose index "
                         "has %s; nothing was saved (reinstall moat so its store matches, or set MOAT_STORE)", where,
                         got, pin);
}

/* Finds the store and reads its index, checked against the pin:
 *   1. MOAT_STORE, a directory or an http(s) URL;
 *   2. DATADIR/moat/store, installed with moat;
 *   3. store/ of the source tree moat was built from (a build-directory run).
 * Of 2 and 3, the first whose index is the pinned one: an older install
 * next to a newer build is passed over, not mistaken for tampering. */
static int store_find(struct store *s, char **ret_text, size_t *ret_len, struct moat_error *e)
{
        char pin[65], got[65];
        bool user;
        int r = index_pin(pin, &user, e);
        if (r < 0)
                return r;
        const char *named = getenv("MOAT_STORE");
        if (named && *named) {
                if ((r = store_open(s, named, "MOAT_STORE", e)) < 0 ||
                    (r = store_read(s, "index.json", INDEX_MAX_BYTES, ret_text, ret_len, e)) < 0)
                        return r;
                sha256_hex(*ret_text, *ret_len, got);
                if (strcmp(got, pin) != 0) {
                        free(TAKE_PTR(*ret_text));
                        return index_mismatch(s, got, pin, user, e);
                }
                return 0;
        }
        const char *candidates[] = { MOAT_DATADIR "/moat/store", MOAT_SOURCE_STORE };
        struct moat_error first = { 0 };
        for (size_t i = 0; i < ARRAY_SIZE(candidates); i++) {
                struct moat_error ignored = { 0 };
                _cleanup_free_ char *text = NULL;
                size_t len;
                if (store_open(s, candidates[i], NULL, &ignored) < 0 ||
                    store_read(s, "index.json", INDEX_MAX_BYTES, &text, &len, &ignored) < 0) {
                        store_close(s);
                        continue;
                }
                sha256_hex(text, len, got);
                if (strcmp(got, pin) == 0) {
                        *ret_text = TAKE_PTR(text);
                        *ret_len = len;
                        return 0;
                }
                if (!first.msg[0])
                        index_mismatch(s, got, pin, user, &first);
                store_close(s);
        }
        if (first.msg[0]) {
                *e = first;
                return -EBADMSG;
        }
        return error_set(e, ENOENT, "no store found (looked in %s and %s): set MOAT_STORE to a directory or an "
                         "http(s) URL holding index.json", candidates[0], candidates[1]);
}

static int index_entry(const char *file, const struct jv_member *m, struct store_entry *out, struct moat_error *e)
{
        char esc[256];
        const struct jv *v = m->value;
        if (!profile_name_valid(m->key))
                return error_set(e, EINVAL, "%s:%u:%u: \"%s\" is not a tool name", file, m->line, m->col,
                                 log_escape(m->key, esc, sizeof esc));
        if (v->type != JV_OBJECT)
                return error_set(e, EINVAL, "%s:%u:%u: \"tools.%s\": expected an object, found %s", file, v->line,
                                 v->col, m->key, jv_type_name(v->type));
        for (size_t i = 0; i < v->obj.n; i++) {
                const struct jv_member *f = &v->obj.members[i];
                bool sum = strcmp(f->key, "sha256") == 0;
                if (!sum && strcmp(f->key, "description") != 0)
                        return error_set(e, EINVAL, "%s:%u:%u: \"tools.%s\": unknown key \"%s\" (expected sha256 and "
                                         "description)", file, f->line, f->col, m->key,
                                         log_escape(f->key, esc, sizeof esc));
                if (f->value->type != JV_STRING)
                        return error_set(e, EINVAL, "%s:%u:%u: \"tools.%s.%s\": expected a string, found %s", file,
                                         f->value->line, f->value->col, m->key, f->key, jv_type_name(f->value->type));
                if (sum && !sha256_valid(f->value->str.s))
                        return error_set(e, EINVAL, "%s:%u:%u: \"tools.%s.sha256\": expected 64 lowercase hex digits",
                                         file, f->value->line, f->value->col, m->key);
                if (sum)
                        memcpy(out->sha256, f->value->str.s, 65);
                else if (!(out->description = strdup(f->value->str.s)))
                        return -ENOMEM;
        }
        if (!out->sha256[0])
                return error_set(e, EINVAL, "%s:%u:%u: \"tools.%s\": \"sha256\" is missing", file, v->line, v->col,
                                 m->key);
        return (out->name = strdup(m->key)) ? 0 : -ENOMEM;
}

/* {"version": 1, "tools": {"NAME": {"sha256": "...", "description": "..."}}} */
static int index_parse(const char *file, const char *text, size_t len, struct store_index *ix, struct moat_error *e)
{
        struct jv_error je;
        _cleanup_jv_free_ struct jv *v = jv_parse(text, len, &je);
        if (!v)
                return error_set(e, EINVAL, "%s:%u:%u: %s", file, je.line, je.col, je.msg);
        const struct jv *ver = jv_get(v, "version"), *tools = jv_get(v, "tools");
        if (v->type != JV_OBJECT || !ver || !tools || tools->type != JV_OBJECT)
                return error_set(e, EINVAL, "%s: not a store index ({\"version\": 1, \"tools\": {...}})", file);
        if (ver->type != JV_NUMBER || !ver->num.is_int || ver->num.i != 1)
                return error_set(e, EINVAL, "%s:%u:%u: index version is not 1, the one this moat reads: use the "
                                 "store of this moat's release", file, ver->line, ver->col);
        if (!(ix->v = calloc(tools->obj.n ? tools->obj.n : 1, sizeof *ix->v)))
                return -ENOMEM;
        for (size_t i = 0; i < tools->obj.n; i++) {
                int r = index_entry(file, &tools->obj.members[i], &ix->v[ix->n], e);
                ix->n++; /* freed with the index, complete or not */
                if (r < 0)
                        return r;
        }
        return 0;
}

static const struct store_entry *index_find(const struct store_index *ix, const char *name)
{
        for (size_t i = 0; i < ix->n; i++)
                if (strcmp(ix->v[i].name, name) == 0)
                        return &ix->v[i];
        return NULL;
}

static int check_name(const char *name, const struct store_index *ix, const struct store *s,
                      const struct store_entry **ret, struct moat_error *e)
{
        char esc[256], wesc[1024];
        const char *n = log_escape(name, esc, sizeof esc);
        if (strchr(name, '/'))
                return error_set(e, EINVAL, "\"%s\": a store name has no '/' (names are like \"rg\" or \"prettier\"; "
                                 "`moat get --list` shows them)", n);
        if (strstr(name, ".."))
                return error_set(e, EINVAL, "\"%s\": a store name has no \"..\"", n);
        if (!profile_name_valid(name))
                return error_set(e, EINVAL, "\"%s\" is not a tool name (letters, digits, '.', '_', '+' and '-', not "
                                 "starting with '.' or '-')", n);
        if ((*ret = index_find(ix, name)))
                return 0;
        _cleanup_free_ const char **names = calloc(ix->n ? ix->n : 1, sizeof *names);
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < ix->n; i++)
                names[i] = ix->v[i].name;
        const char *s2 = str_suggest(name, names, ix->n);
        return error_set(e, ENOENT, "\"%s\" is not in the store at %s%s%s%s", n, log_escape(s->where, wesc, sizeof wesc),
                         s2 ? " (did you mean \"" : " (`moat get --list` shows what it has)", s2 ? s2 : "",
                         s2 ? "\"?)" : "");
}

/* Fetches, verifies and parses one entry. */
static int fetch_entry(const struct store *s, struct wanted *w, struct moat_error *e)
{
        const char *name = w->entry->name;
        char file[96], got[65], label[4200], esc[1024];
        snprintf(file, sizeof file, "%s.json", name);
        snprintf(label, sizeof label, "%s/%s", log_escape(s->where, esc, sizeof esc), file);
        int r = store_read(s, file, PROFILE_MAX_BYTES, &w->text, &w->len, e);
        if (r < 0)
                return r;
        sha256_hex(w->text, w->len, got);
        if (strcmp(got, w->entry->sha256) != 0)
                return error_set(e, EBADMSG, "store entry \"%s\" (%s): its sha256 is %s, but the store's index pins %s; "
                                 "nothing was saved", name, label, got, w->entry->sha256);
        return profile_parse(name, label, w->text, w->len, &w->p, e);
}

/* "~/x" shown as written; "/root/x" (coco's home) is the sandbox's ~/x. */
static void print_dst(const char *dst)
{
        char esc[1024];
        if (strcmp(dst, "/root") == 0 || str_startswith(dst, "/root/"))
                printf(" at ~%s inside", log_escape(dst + 5, esc, sizeof esc));
        else
                printf(" at %s inside", log_escape(dst, esc, sizeof esc));
}

static void print_mounts(const struct profile *p)
{
        char esc[1024];
        const char *home = getenv("HOME");
        for (size_t i = 0; i < p->n_mounts; i++) {
                const struct profile_mount *m = &p->mounts[i];
                printf("  %-13s", i ? "" : "files:");
                if (strcmp(m->src, ".") == 0) {
                        printf("the project (the current directory), %s\n",
                               m->ro ? "read-only" : "read-write (.git and the other protected paths stay read-only)");
                        continue;
                }
                printf("%s, %s", log_escape(m->src, esc, sizeof esc), m->ro ? "read-only" : "read-write");
                if (m->dst && strcmp(m->dst, m->src) != 0)
                        print_dst(m->dst);
                _cleanup_free_ char *path = NULL;
                if (str_startswith(m->src, "~/") && home && home[0] == '/')
                        path = str_printf("%s/%s", home, m->src + 2);
                else if (m->src[0] == '/')
                        path = strdup(m->src);
                struct stat st;
                printf("%s\n", path && stat(path, &st) < 0 ? " (missing: create it before the first run)" : "");
        }
        if (!p->n_mounts)
                printf("  %-13snone: not even the project\n", "files:");
        for (size_t i = 0; p->read_only && p->read_only[i]; i++)
                printf("  %-13s%s, read-only\n", "", log_escape(p->read_only[i], esc, sizeof esc));
}

static void print_list(const char *label, const char *intro, char *const *v, const char *sep)
{
        char esc[1024];
        printf("  %-13s%s", label, intro);
        for (size_t i = 0; v[i]; i++)
                printf("%s%s", i ? sep : "", log_escape(v[i], esc, sizeof esc));
        printf("\n");
}

static void print_network(const struct profile *p)
{
        bool proxy = p->net == PROFILE_NET_PROXY || (p->net == PROFILE_NET_UNSET && p->allowed_hosts);
        if (p->net == PROFILE_NET_HOST)
                printf("  %-13sthe host's network, all of it (services on its localhost too)\n", "network:");
        else if (proxy && p->allowed_hosts)
                print_list("network:", "only these hosts, through moat's egress proxy: ", p->allowed_hosts, ", ");
        else if (proxy)
                printf("  %-13snone allowed: moat's egress proxy refuses every connection and names it at exit;\n"
                       "  %-13s`moat run --allow HOST %s ...` opens one host for a run\n",
                       "network:", "", p->name);
        else
                printf("  %-13snone\n", "network:");
}

/* The backends whose registry moat asks the package manager for when it
 * installs (profile/install.c); every other backend needs "install_hosts". */
static bool backend_asked(const char *tool)
{
        char b[64];
        profile_backend(tool, b, sizeof b);
        return strcmp(b, "npm") == 0 || strcmp(b, "pipx") == 0 || strcmp(b, "pip") == 0 || strcmp(b, "uv") == 0;
}

static void print_grants(const struct wanted *w, const char *path)
{
        const struct profile *p = &w->p;
        char esc[1024];
        printf("%s: %s\n", p->name, log_escape(p->description ? p->description : w->entry->description
                                               ? w->entry->description : "", esc, sizeof esc));
        printf("  %-13s%s%s\n", "saves to:", log_escape(path, esc, sizeof esc),
               w->replaces ? " (replacing the file there: --force)" : "");
        if (p->tool) {
                printf("  %-13s%s, installed by mise on first run in a sandbox of its own\n", "tool:",
                       log_escape(p->tool, esc, sizeof esc));
                if (p->deps_mise)
                        print_list("", "with ", p->deps_mise, ", ");
                bool asked = backend_asked(p->tool);
                if (asked)
                        printf("  %-13sthe install reaches only the registry your package manager is set to use%s\n",
                               "", p->install_hosts ? "," : "");
                if (p->install_hosts)
                        print_list("", asked ? "and " : "the install reaches only ", p->install_hosts, ", ");
                else if (!asked)
                        printf("  %-13sthe install needs hosts moat does not name for this backend: list them as "
                               "\"install_hosts\" in the saved file\n", "");
        } else
                printf("  %-13snone: the command comes from the host's system directories\n", "tool:");
        printf("  %-13s%s", "command:", log_escape(p->command ? p->command : p->name, esc, sizeof esc));
        for (size_t i = 0; p->args && p->args[i]; i++)
                printf(" %s", log_escape(p->args[i], esc, sizeof esc));
        printf(" [your arguments]\n");
        print_mounts(p);
        print_network(p);
        if (!p->env && !p->env_passthrough)
                printf("  %-13snothing of yours\n", "environment:");
        for (size_t i = 0; p->env_passthrough && p->env_passthrough[i]; i++)
                printf("  %-13s%s: yours, when set\n", i ? "" : "environment:",
                       log_escape(p->env_passthrough[i], esc, sizeof esc));
        for (size_t i = 0; p->env && p->env[i]; i++)
                printf("  %-13s%s\n", i || p->env_passthrough ? "" : "environment:",
                       log_escape(p->env[i], esc, sizeof esc));
        if (p->ports) {
                print_list("ports:", "", p->ports, ", ");
                printf("  %-13s(HOST:SANDBOX: the host's 127.0.0.1:HOST reaches the sandbox's port)\n", "");
        } else
                printf("  %-13snone\n", "ports:");
        if (p->x11)
                printf("  %-13syour X display: an X client can read every window and type into them\n", "x11:");
        if (p->git_write)
                printf("  %-13s.git writable, to commit (its hooks and config stay read-only)\n", "git:");
        if (p->deps_apt)
                print_list("apt:", "needs packages moat does not install (runs fail until it can): ", p->deps_apt, ", ");
        if (p->podman_args)
                printf("  %-13s\"podman_args\" (ignored by moat)\n", "ignored:");
        printf("\n");
}

static bool confirm(size_t n, const char *path, const char *dir)
{
        char line[64], esc[1024];
        if (n == 1)
                printf("Save it to %s? [y/N] ", log_escape(path, esc, sizeof esc));
        else
                printf("Save these %zu profiles in %s? [y/N] ", n, log_escape(dir, esc, sizeof esc));
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin))
                return false;
        line[strcspn(line, "\r\n")] = '\0';
        return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = RETRY_EINTR(write(fd, buf, len));
                if (n < 0)
                        return negerrno();
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

static int write_temp(int dfd, struct wanted *w)
{
        snprintf(w->tmp, sizeof w->tmp, ".%s.json.%d.tmp", w->entry->name, (int)getpid());
        _cleanup_close_ int fd = openat(dfd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) {
                w->tmp[0] = '\0';
                return negerrno();
        }
        int r = write_all(fd, w->text, w->len);
        /* 0644 whatever the umask: a profile is no secret, and the user's
         * other tools (an editor, `moat explain`) read it. */
        if (r == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
                r = negerrno();
        return r;
}

/* Moves a temporary file into place; without --force, never over a file
 * that appeared since the check. */
static int place(int dfd, struct wanted *w, const char *final, bool force)
{
        if (renameat2(dfd, w->tmp, dfd, final, force ? 0 : RENAME_NOREPLACE) == 0)
                return 0;
        if (force || errno != EINVAL)
                return negerrno();
        /* A file system without RENAME_NOREPLACE: link() refuses to replace. */
        if (linkat(dfd, w->tmp, dfd, final, 0) < 0)
                return negerrno();
        (void)unlinkat(dfd, w->tmp, 0);
        return 0;
}

/* Writes every temporary file, then renames them all: a failure before the
 * renames leaves nothing, and one during them takes back the files this run
 * created. */
static int save_all(struct wanted *w, size_t n, const char *dir, bool force, struct moat_error *e)
{
        char esc[1024], final[96];
        const char *d = log_escape(dir, esc, sizeof esc);
        int r = path_mkdir_p(dir, 0755);
        if (r < 0)
                return error_set(e, -r, "creating %s: %s; nothing was saved", d, strerror(-r));
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return error_set(e, errno, "%s: %s; nothing was saved", d, strerror(errno));
        size_t i;
        for (i = 0; i < n && r == 0; i++)
                if ((r = write_temp(dfd, &w[i])) < 0)
                        error_set(e, -r, "writing in %s: %s; nothing was saved", d, strerror(-r));
        for (i = 0; i < n && r == 0; i++) {
                snprintf(final, sizeof final, "%s.json", w[i].entry->name);
                if ((r = place(dfd, &w[i], final, force)) < 0)
                        error_set(e, -r, "%s/%s: %s; nothing was saved", d, final,
                                  r == -EEXIST ? "appeared while saving and was left alone (--force replaces it)"
                                               : strerror(-r));
                else
                        w[i].placed = true;
        }
        for (i = 0; i < n; i++) {
                if (w[i].tmp[0] && !w[i].placed)
                        (void)unlinkat(dfd, w[i].tmp, 0);
                if (r < 0 && w[i].placed && !w[i].replaces) {
                        snprintf(final, sizeof final, "%s.json", w[i].entry->name);
                        (void)unlinkat(dfd, final, 0);
                }
        }
        if (r == 0)
                (void)fsync(dfd);
        return r;
}

static void usage(void)
{
        printf("Usage: moat get NAME [NAME...] [--force] [--yes]\n"
               "       moat get --list\n\n"
               "Copies tool profiles from moat's store into ~/.config/moat/tools, after showing\n"
               "what each grants (files, network, environment, ports, the tool it installs) and\n"
               "asking. Every file is checked against the store's pinned SHA-256 sums first.\n\n"
               "  -f, --force   replace a profile that is already there\n"
               "  -y, --yes     save without asking (needed when stdin is not a terminal)\n"
               "  -l, --list    list the store's profiles\n\n"
               "MOAT_STORE names another store: a directory or an http(s) URL holding index.json;\n"
               "MOAT_STORE_SHA256 pins the index of a store other than this moat's own.\n"
               "See docs/store.md.\n");
}

static int list_store(const struct store *s, const struct store_index *ix)
{
        char esc[1024];
        printf("store: %s\n", log_escape(s->where, esc, sizeof esc));
        for (size_t i = 0; i < ix->n; i++)
                printf("  %-15s %s\n", ix->v[i].name,
                       log_escape(ix->v[i].description ? ix->v[i].description : "", esc, sizeof esc));
        return 0;
}

struct get_args {
        bool force, yes, list, help;
        char **names;
};

static int parse_args(int argc, char **argv, struct get_args *a, struct moat_error *e)
{
        static const char *const flags[] = { "--force", "--yes", "--list", "--help" };
        bool dashdash = false;
        for (int i = 1; i < argc; i++) {
                const char *s = argv[i];
                char esc[256];
                if (!dashdash && s[0] == '-') {
                        if (strcmp(s, "--") == 0)
                                dashdash = true;
                        else if (strcmp(s, "--force") == 0 || strcmp(s, "-f") == 0)
                                a->force = true;
                        else if (strcmp(s, "--yes") == 0 || strcmp(s, "-y") == 0)
                                a->yes = true;
                        else if (strcmp(s, "--list") == 0 || strcmp(s, "-l") == 0)
                                a->list = true;
                        else if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)
                                a->help = true;
                        else {
                                const char *sug = str_suggest(s, flags, ARRAY_SIZE(flags));
                                return error_set(e, EINVAL, "get: unknown option '%s'%s%s%s", log_escape(s, esc, sizeof esc),
                                                 sug ? " (did you mean '" : "; see 'moat get --help'", sug ? sug : "",
                                                 sug ? "'?)" : "");
                        }
                        continue;
                }
                bool dup = false;
                for (size_t j = 0; a->names && a->names[j] && !dup; j++)
                        dup = strcmp(a->names[j], s) == 0;
                if (!dup && strv_push(&a->names, s) < 0)
                        return -ENOMEM;
        }
        if (!a->help && !a->list && !a->names)
                return error_set(e, EINVAL, "get: name the tools to get (`moat get --list` shows the store's)");
        return 0;
}

/* Everything that can fail before asking: the names, the files already
 * there, and each entry fetched, verified and parsed. */
static int prepare(const struct store *s, const struct store_index *ix, char **names, bool force, const char *dir,
                   struct wanted *w, struct moat_error *e)
{
        char path[4200], esc[4200];
        int r;
        for (size_t i = 0; names[i]; i++)
                if ((r = check_name(names[i], ix, s, &w[i].entry, e)) < 0)
                        return r;
        for (size_t i = 0; names[i]; i++) {
                struct stat st;
                snprintf(path, sizeof path, "%s/%s.json", dir, names[i]);
                w[i].replaces = fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
                if (w[i].replaces && !force)
                        return error_set(e, EEXIST, "%s already exists: pass --force to replace it with the store's; "
                                         "nothing was saved", log_escape(path, esc, sizeof esc));
        }
        for (size_t i = 0; names[i]; i++)
                if ((r = fetch_entry(s, &w[i], e)) < 0)
                        return r;
        return 0;
}

int cmd_get(int argc, char **argv)
{
        struct get_args a = { 0 };
        struct moat_error e = { 0 };
        struct store s = { .dirfd = -1 };
        struct store_index ix = { 0 };
        struct wanted *w = NULL;
        _cleanup_free_ char *index_text = NULL;
        size_t index_len = 0, n = 0;
        char dir[4096], path[4200], label[4200];
        int status = 125, r;

        if ((r = parse_args(argc, argv, &a, &e)) < 0)
                goto out;
        if (a.help) {
                usage();
                status = 0;
                goto out;
        }
        if ((r = store_find(&s, &index_text, &index_len, &e)) < 0)
                goto out;
        snprintf(label, sizeof label, "%s/index.json", s.where);
        if ((r = index_parse(label, index_text, index_len, &ix, &e)) < 0)
                goto out;
        if (a.list) {
                status = list_store(&s, &ix);
                goto out;
        }
        if (!profile_home_path(HOME_MOAT_TOOLS, dir, sizeof dir)) {
                r = error_set(&e, ENOENT, "cannot find your configuration directory: set HOME or XDG_CONFIG_HOME");
                goto out;
        }
        n = strv_length(a.names);
        if (!(w = calloc(n, sizeof *w))) {
                r = -ENOMEM;
                goto out;
        }
        if ((r = prepare(&s, &ix, a.names, a.force, dir, w, &e)) < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                snprintf(path, sizeof path, "%s/%s.json", dir, w[i].entry->name);
                print_grants(&w[i], path);
        }
        fflush(stdout);
        if (!a.yes && !isatty(STDIN_FILENO)) {
                r = error_set(&e, EINVAL, "nothing was saved: stdin is not a terminal, so moat cannot ask; read the "
                              "above and pass --yes to save");
                goto out;
        }
        if (!a.yes && !confirm(n, path, dir)) {
                printf("Nothing was saved.\n");
                status = 1;
                goto out;
        }
        if ((r = save_all(w, n, dir, a.force, &e)) < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                char esc[4200];
                snprintf(path, sizeof path, "%s/%s.json", dir, w[i].entry->name);
                printf("saved %s: run it with `moat run %s ARGS...`\n", log_escape(path, esc, sizeof esc),
                       w[i].entry->name);
        }
        status = 0;
out:
        if (r < 0)
                log_error("%s", e.msg[0] ? e.msg : strerror(-r));
        for (size_t i = 0; w && i < n; i++) {
                free(w[i].text);
                profile_free(&w[i].p);
        }
        free(w);
        index_free(&ix);
        store_close(&s);
        strv_free(a.names);
        return status;
}

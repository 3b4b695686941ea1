/* SPDX-License-Identifier: MIT */
/* `moat list`: every profile moat would find, where it came from, and what
 * it may touch. An invalid profile is listed with its error: the listing is
 * where a user goes to find out why a tool does not start. */
#include "cmd/tools.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "profile/install.h"
#include "profile/locate.h"
#include "util/json.h"
#include "util/json_read.h"
#include "util/log.h"
#include "util/strv.h"

const char *tools_display_path(const char *path, char *buf, size_t size)
{
        const char *home = getenv("HOME");
        size_t n = home ? strlen(home) : 0;
        char tmp[4200];
        if (n > 1 && home[0] == '/' && strncmp(path, home, n) == 0 && (path[n] == '/' || path[n] == '\0'))
                snprintf(tmp, sizeof tmp, "~%s", path + n);
        else
                snprintf(tmp, sizeof tmp, "%s", path);
        return log_escape(tmp, buf, size);
}


int tools_load(const char *name, struct profile *p, struct moat_error *e)
{
        int r = profile_load(name, p, e);
        if (r == -ENOENT) {
                char dir[4096] = "~/.config/moat/tools", shown[4200];
                (void)profile_home_path(HOME_MOAT_TOOLS, dir, sizeof dir);
                return error_set(e, ENOENT, "no profile named \"%s\": write %s/%s.json, or `moat get %s` from the store "
                                 "(`moat list` shows the profiles there are)", name,
                                 tools_display_path(dir, shown, sizeof shown), name, name);
        }
        return r;
}

bool tools_is_help(const char *arg)
{
        return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

enum col { COL_NAME, COL_TOOL, COL_COMMAND, COL_NETWORK, COL_WRITABLE, COL_INSTALLED, COL_FROM, _COL_MAX };

static const char *const col_titles[_COL_MAX] = { "NAME", "TOOL", "COMMAND", "NETWORK", "WRITABLE", "INSTALLED", "FROM" };

static const char *const home_names[_HOME_MAX] = {
        [HOME_MOAT_TOOLS] = "moat",
        [HOME_COCO_TOOLS] = "coco tools",
        [HOME_COCO_CONFIG] = "coco config",
};

struct row {
        char *name;  /* NULL: a coco config file nothing could be read from */
        char *file;
        enum profile_home home;
        bool valid;
        struct profile p;
        char *error;
};

static void rows_free(struct row *rows, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(rows[i].name);
                free(rows[i].file);
                free(rows[i].error);
                if (rows[i].valid)
                        profile_free(&rows[i].p);
        }
        free(rows);
}

/* The location a loaded profile came from, by its file: a file that vanished
 * between listing and loading leaves the name to a later location. */
static enum profile_home home_of(const char *file, enum profile_home fallback)
{
        char dir[4096];
        for (enum profile_home h = HOME_MOAT_TOOLS; h < _HOME_MAX; h++)
                if (profile_home_path(h, dir, sizeof dir) && strncmp(file, dir, strlen(dir)) == 0 &&
                    file[strlen(dir)] == '/')
                        return h;
        return fallback;
}

static int push_row(struct row **rows, size_t *n, struct row *r)
{
        struct row *nv = reallocarray(*rows, *n + 1, sizeof **rows);
        if (!nv)
                return -ENOMEM;
        nv[(*n)++] = *r;
        *rows = nv;
        return 0;
}

/* coco's config files that cannot be read as an object of tools: none of
 * their tools would show up otherwise. */
static int broken_config_files(struct row **rows, size_t *n)
{
        _cleanup_strv_free_ char **files = NULL;
        int r = profile_coco_config_files(&files);
        for (size_t i = 0; r == 0 && files && files[i]; i++) {
                _cleanup_free_ char *text = NULL;
                size_t len;
                char msg[1024] = "";
                int rr = jv_read_file(AT_FDCWD, files[i], PROFILE_MAX_BYTES, &text, &len);
                if (rr == -ENOENT)
                        continue;
                if (rr < 0)
                        snprintf(msg, sizeof msg, "%s: %s", files[i],
                                 rr == -EFBIG ? "larger than a profile can be (256 KiB)"
                                 : rr == -EINVAL ? "not a regular file" : strerror(-rr));
                else {
                        struct jv_error je;
                        _cleanup_jv_free_ struct jv *v = jv_parse(text, len, &je);
                        if (!v)
                                snprintf(msg, sizeof msg, "%s:%u:%u: %s", files[i], je.line, je.col, je.msg);
                        else if (v->type != JV_OBJECT)
                                snprintf(msg, sizeof msg, "%s:%u:%u: expected an object of tools ({\"NAME\": {...}}), "
                                         "found %s", files[i], v->line, v->col, jv_type_name(v->type));
                }
                if (!msg[0])
                        continue;
                /* Already shown against the tools it breaks. */
                bool shown = false;
                for (size_t k = 0; k < *n && !shown; k++)
                        shown = (*rows)[k].error && strcmp((*rows)[k].error, msg) == 0;
                if (shown)
                        continue;
                struct row row = { .file = strdup(files[i]), .home = HOME_COCO_CONFIG, .error = strdup(msg) };
                if (!row.file || !row.error || push_row(rows, n, &row) < 0) {
                        free(row.file);
                        free(row.error);
                        return -ENOMEM;
                }
        }
        return r;
}

static int collect(struct row **ret, size_t *ret_n)
{
        struct profile_entry *ents = NULL;
        size_t n_ents = 0, n = 0;
        struct row *rows = NULL;
        int r = profile_list_names(&ents, &n_ents);
        for (size_t i = 0; r == 0 && i < n_ents; i++) {
                struct moat_error e = { 0 };
                struct row row = { .home = ents[i].home };
                int lr = profile_load(ents[i].name, &row.p, &e);
                if (lr == -ENOENT)
                        continue; /* removed while listing */
                row.valid = lr == 0;
                row.name = strdup(ents[i].name);
                row.file = strdup(row.valid ? row.p.origin : ents[i].file);
                if (row.valid)
                        row.home = home_of(row.p.origin, ents[i].home);
                else
                        row.error = strdup(e.msg[0] ? e.msg : strerror(-lr));
                if (!row.name || !row.file || (!row.valid && !row.error) || push_row(&rows, &n, &row) < 0) {
                        free(row.name);
                        free(row.file);
                        free(row.error);
                        if (row.valid)
                                profile_free(&row.p);
                        r = -ENOMEM;
                }
        }
        profile_entries_free(ents, n_ents);
        if (r == 0)
                r = broken_config_files(&rows, &n);
        if (r < 0) {
                rows_free(rows, n);
                return r;
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

/* The mount of "." is the project, wherever the profile puts it. */
static bool is_project(const struct profile_mount *m)
{
        return strcmp(m->src, ".") == 0 || strcmp(m->src, "./") == 0;
}

static size_t n_hosts(const struct profile *p)
{
        return strv_length(p->allowed_hosts);
}

static const char *net_mode(const struct profile *p)
{
        switch (p->net) {
        case PROFILE_NET_UNSET:
                return p->allowed_hosts ? "proxy" : "none";
        case PROFILE_NET_NONE:
                return "none";
        case PROFILE_NET_HOST:
                return "host";
        case PROFILE_NET_PROXY:
        case PROFILE_NET_MAX:
                break;
        }
        return "proxy";
}

static void net_text(const struct profile *p, char *buf, size_t size)
{
        const char *mode = net_mode(p);
        if (strcmp(mode, "proxy") == 0)
                snprintf(buf, size, "proxy: %zu host%s", n_hosts(p), n_hosts(p) == 1 ? "" : "s");
        else
                snprintf(buf, size, "%s", mode);
}

/* The writable mounts, the project first, as shown in the table. */
static int writable_list(const struct profile *p, char ***ret)
{
        for (size_t i = 0; i < p->n_mounts; i++)
                if (is_project(&p->mounts[i]) && strv_push(ret, p->mounts[i].ro ? "project (ro)" : "project") < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < p->n_mounts; i++)
                if (!is_project(&p->mounts[i]) && !p->mounts[i].ro && strv_push(ret, p->mounts[i].src) < 0)
                        return -ENOMEM;
        return 0;
}

static const char *installed_text(const struct profile *p)
{
        if (!p->tool)
                return "\u2014"; /* nothing to install: the command comes from the system */
        return tool_installed(p) ? "yes" : "no";
}

/* Display width of escaped (ASCII or UTF-8) text: one column per character. */
static size_t width(const char *s)
{
        size_t w = 0;
        for (; *s; s++)
                w += ((unsigned char)*s & 0xc0) != 0x80;
        return w;
}

static int print_table(const struct row *rows, size_t n)
{
        char *(*cells)[_COL_MAX] = calloc(n ? n : 1, sizeof *cells);
        size_t w[_COL_MAX];
        char esc[4200];
        int r = 0;
        if (!cells)
                return -ENOMEM;
        for (size_t c = 0; c < _COL_MAX; c++)
                w[c] = strlen(col_titles[c]);
        for (size_t i = 0; i < n && r == 0; i++) {
                const struct row *row = &rows[i];
                char net[64], from[4400];
                _cleanup_free_ char *writes = NULL;
                snprintf(from, sizeof from, "%s %s", home_names[row->home],
                         tools_display_path(row->file, esc, sizeof esc));
                if (row->valid) {
                        _cleanup_strv_free_ char **wl = NULL;
                        if (writable_list(&row->p, &wl) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        size_t len = 1;
                        for (size_t k = 0; wl && wl[k]; k++)
                                len += strlen(wl[k]) + 2;
                        if (!(writes = calloc(1, len))) {
                                r = -ENOMEM;
                                break;
                        }
                        for (size_t k = 0; wl && wl[k]; k++)
                                strcat(strcat(writes, k ? ", " : ""), wl[k]);
                        net_text(&row->p, net, sizeof net);
                }
                const char *v[_COL_MAX] = {
                        [COL_NAME] = row->name ? row->name : "?",
                        [COL_TOOL] = !row->valid ? "?" : row->p.tool ? row->p.tool : "(system)",
                        [COL_COMMAND] = !row->valid ? "?" : row->p.command ? row->p.command : row->p.name,
                        [COL_NETWORK] = row->valid ? net : "?",
                        [COL_WRITABLE] = !row->valid ? "?" : writes[0] ? writes : "none",
                        [COL_INSTALLED] = row->valid ? installed_text(&row->p) : "?",
                        [COL_FROM] = from,
                };
                for (size_t c = 0; c < _COL_MAX; c++) {
                        /* The FROM cell is escaped already; the others come
                         * straight from the profile. */
                        const char *s = c == COL_FROM || c == COL_INSTALLED ? v[c] : log_escape(v[c], esc, sizeof esc);
                        if (!(cells[i][c] = strdup(s))) {
                                r = -ENOMEM;
                                break;
                        }
                        if (width(s) > w[c])
                                w[c] = width(s);
                }
        }
        for (size_t c = 0; r == 0 && c < _COL_MAX; c++) {
                if (c + 1 < _COL_MAX)
                        printf("%-*s  ", (int)w[c], col_titles[c]);
                else
                        printf("%s\n", col_titles[c]);
        }
        for (size_t i = 0; r == 0 && i < n; i++) {
                for (size_t c = 0; c < _COL_MAX; c++) {
                        const char *s = cells[i][c];
                        if (c + 1 == _COL_MAX)
                                printf("%s\n", s);
                        else
                                printf("%s%*s  ", s, (int)(w[c] - width(s)), "");
                }
                if (rows[i].error)
                        printf("    error: %s\n", log_escape_controls(rows[i].error, esc, sizeof esc));
                else if (rows[i].p.description)
                        printf("    %s\n", log_escape(rows[i].p.description, esc, sizeof esc));
        }
        for (size_t i = 0; i < n; i++)
                for (size_t c = 0; c < _COL_MAX; c++)
                        free(cells[i][c]);
        free(cells);
        return r;
}

static int print_json(const struct row *rows, size_t n)
{
        struct json j = { 0 };
        json_begin_array(&j, NULL);
        for (size_t i = 0; i < n; i++) {
                const struct row *row = &rows[i];
                const struct profile *p = &row->p;
                json_begin_object(&j);
                json_str(&j, "name", row->name);
                json_str(&j, "origin", home_names[row->home]);
                json_str(&j, "file", row->file);
                json_str(&j, "error", row->error);
                if (!row->valid) {
                        /* The same keys, unknown. */
                        static const char *const keys[] = { "tool", "command", "args", "network", "allowed_hosts",
                                                            "project", "writable", "isolated", "installed",
                                                            "description" };
                        for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
                                json_null(&j, keys[k]);
                        json_end_object(&j);
                        continue;
                }
                json_str(&j, "tool", p->tool);
                json_str(&j, "command", p->command ? p->command : p->name);
                json_begin_array(&j, "args");
                for (size_t k = 0; p->args && p->args[k]; k++)
                        json_str(&j, NULL, p->args[k]);
                json_end_array(&j);
                json_str(&j, "network", net_mode(p));
                json_begin_array(&j, "allowed_hosts");
                for (size_t k = 0; p->allowed_hosts && p->allowed_hosts[k]; k++)
                        json_str(&j, NULL, p->allowed_hosts[k]);
                json_end_array(&j);
                const char *project = NULL;
                for (size_t k = 0; k < p->n_mounts; k++)
                        if (is_project(&p->mounts[k]))
                                project = p->mounts[k].ro ? "ro" : "rw";
                json_str(&j, "project", project);
                _cleanup_strv_free_ char **wl = NULL;
                if (writable_list(p, &wl) < 0)
                        j.oom = true;
                json_begin_array(&j, "writable");
                for (size_t k = 0; wl && wl[k]; k++)
                        json_str(&j, NULL, wl[k]);
                json_end_array(&j);
                json_bool(&j, "isolated", p->isolated);
                if (p->tool)
                        json_bool(&j, "installed", tool_installed(p));
                else
                        json_null(&j, "installed");
                json_str(&j, "description", p->description);
                json_end_object(&j);
        }
        json_end_array(&j);
        const char *t = json_text(&j);
        if (t)
                printf("%s\n", t);
        json_free(&j);
        return t ? 0 : -ENOMEM;
}

static void usage(void)
{
        printf("Usage: moat list [--json]\n\n"
               "Every tool profile moat finds, first location winning: ~/.config/moat/tools/NAME.json,\n"
               "coco's ~/.local/share/coco/tools/NAME.json, coco's ~/.config/coco/config.json and\n"
               "config.d/*.json. For each: the mise tool (or \"(system)\"), the command, the network,\n"
               "what it may write (\"project\" is the current directory), whether the tool is\n"
               "installed, and the file it came from. Invalid profiles are listed with their error.\n\n"
               "  --json   one JSON array of objects, for scripts\n");
}

int cmd_list(int argc, char **argv)
{
        bool json = false;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0)
                        json = true;
                else if (tools_is_help(argv[i])) {
                        usage();
                        return 0;
                } else {
                        char esc[256];
                        log_error("list: unknown option '%s'; see moat list --help", log_escape(argv[i], esc, sizeof esc));
                        return 125;
                }
        }
        struct row *rows = NULL;
        size_t n = 0;
        int r = collect(&rows, &n);
        if (r < 0) {
                log_error("listing profiles: %s", strerror(-r));
                return 1;
        }
        if (json)
                r = print_json(rows, n);
        else if (n == 0) {
                char dir[4096] = "~/.config/moat/tools", esc[4200];
                (void)profile_home_path(HOME_MOAT_TOOLS, dir, sizeof dir);
                printf("No tool profiles yet. Write one as %s/NAME.json (see moat(1)), or fetch\n"
                       "one from the store with `moat get NAME`. coco's profiles are read where coco keeps them.\n",
                       tools_display_path(dir, esc, sizeof esc));
        } else
                r = print_table(rows, n);
        rows_free(rows, n);
        if (r < 0) {
                log_error("listing profiles: %s", strerror(-r));
                return 1;
        }
        return fflush(stdout) == 0 ? 0 : 1;
}

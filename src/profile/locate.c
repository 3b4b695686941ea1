/* SPDX-License-Identifier: MIT */
#include "profile/locate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/json_read.h"
#include "util/strv.h"

static bool xdg(const char *var, const char *fallback, const char *sub, char *buf, size_t size)
{
        const char *x = getenv(var);
        const char *home = getenv("HOME");
        int n;
        if (x && x[0] == '/')
                n = snprintf(buf, size, "%s/%s", x, sub);
        else if (home && home[0] == '/')
                n = snprintf(buf, size, "%s/%s/%s", home, fallback, sub);
        else
                return false;
        return n > 0 && (size_t)n < size;
}

bool profile_home_path(enum profile_home h, char *buf, size_t size)
{
        switch (h) {
        case HOME_MOAT_TOOLS:
                return xdg("XDG_CONFIG_HOME", ".config", "moat/tools", buf, size);
        case HOME_COCO_TOOLS:
                return xdg("XDG_DATA_HOME", ".local/share", "coco/tools", buf, size);
        case HOME_COCO_CONFIG:
                return xdg("XDG_CONFIG_HOME", ".config", "coco", buf, size);
        case _HOME_MAX:
                break;
        }
        return false;
}

bool moat_data_dir(char *buf, size_t size)
{
        return xdg("XDG_DATA_HOME", ".local/share", "moat", buf, size);
}

static int read_json(const char *path, struct jv **ret, struct moat_error *e)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = jv_read_file(AT_FDCWD, path, PROFILE_MAX_BYTES, &text, &len);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return error_set(e, -r, "%s: %s", path,
                                 r == -EFBIG ? "larger than a profile can be (256 KiB)"
                                 : r == -EINVAL ? "not a regular file" : strerror(-r));
        struct jv_error je;
        if (!(*ret = jv_parse(text, len, &je)))
                return error_set(e, EINVAL, "%s:%u:%u: %s", path, je.line, je.col, je.msg);
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* coco's older layout: config.json, then config.d/ *.json in name order. */
static int coco_config_files(char ***ret)
{
        char dir[4096], path[4200];
        if (!profile_home_path(HOME_COCO_CONFIG, dir, sizeof dir))
                return 0;
        snprintf(path, sizeof path, "%s/config.json", dir);
        if (access(path, F_OK) == 0 && strv_push(ret, path) < 0)
                return -ENOMEM;
        snprintf(path, sizeof path, "%s/config.d", dir);
        _cleanup_closedir_ DIR *d = opendir(path);
        if (!d)
                return 0;
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
                        continue;
                if (strv_push(&names, de->d_name) < 0)
                        return -ENOMEM;
        }
        if (!names)
                return 0;
        qsort(names, strv_length(names), sizeof *names, cmp_str);
        for (size_t i = 0; names[i]; i++) {
                char *f = str_printf("%s/config.d/%s", dir, names[i]);
                if (!f || strv_consume(ret, f) < 0) {
                        free(f);
                        return -ENOMEM;
                }
        }
        return 0;
}

int profile_coco_config_files(char ***ret)
{
        return coco_config_files(ret);
}

static int load_single(const char *name, const char *dir, struct profile *p, struct moat_error *e)
{
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.json", dir, name);
        _cleanup_jv_free_ struct jv *v = NULL;
        int r = read_json(path, &v, e);
        if (r < 0)
                return r;
        return profile_from_json(name, path, v, p, e);
}

static int load_coco_config(const char *name, struct profile *p, struct moat_error *e)
{
        _cleanup_strv_free_ char **files = NULL;
        int r = coco_config_files(&files);
        if (r < 0 || !files)
                return r < 0 ? r : -ENOENT;
        size_t n = strv_length(files), used = 0;
        struct jv **docs = calloc(n, sizeof *docs);
        const struct jv **layers = calloc(n, sizeof *layers);
        const char **layer_files = calloc(n, sizeof *layer_files);
        if (!docs || !layers || !layer_files)
                r = -ENOMEM;
        for (size_t i = 0; r == 0 && i < n; i++) {
                if ((r = read_json(files[i], &docs[i], e)) == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                if (docs[i]->type != JV_OBJECT) {
                        r = error_set(e, EINVAL, "%s:%u:%u: expected an object of tools ({\"NAME\": {...}}), found %s",
                                      files[i], docs[i]->line, docs[i]->col, jv_type_name(docs[i]->type));
                        break;
                }
                const struct jv *t = jv_get(docs[i], name);
                if (t) {
                        layers[used] = t;
                        layer_files[used++] = files[i];
                }
        }
        if (r == 0)
                r = used ? profile_from_layers(name, layers, layer_files, used, p, e) : -ENOENT;
        for (size_t i = 0; docs && i < n; i++)
                jv_free(docs[i]);
        free(docs);
        free(layers);
        free(layer_files);
        return r;
}

int profile_load(const char *name, struct profile *p, struct moat_error *e)
{
        char dir[4096];
        int r;
        memset(p, 0, sizeof *p);
        if (!profile_name_valid(name))
                return error_set(e, EINVAL, "\"%s\" is not a tool name (letters, digits, '.', '_', '+' and '-'; no '/')",
                                 name);
        for (enum profile_home h = HOME_MOAT_TOOLS; h <= HOME_COCO_TOOLS; h++)
                if (profile_home_path(h, dir, sizeof dir) && (r = load_single(name, dir, p, e)) != -ENOENT)
                        return r;
        return load_coco_config(name, p, e);
}

static int add_entry(struct profile_entry **v, size_t *n, const char *name, const char *file, enum profile_home h)
{
        for (size_t i = 0; i < *n; i++)
                if (strcmp((*v)[i].name, name) == 0)
                        return 0; /* an earlier location wins */
        struct profile_entry *nv = reallocarray(*v, *n + 1, sizeof **v);
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n] = (struct profile_entry){ .name = strdup(name), .file = strdup(file), .home = h };
        if (!nv[*n].name || !nv[*n].file) {
                free(nv[*n].name);
                free(nv[*n].file);
                return -ENOMEM;
        }
        (*n)++;
        return 0;
}

static int cmp_entry(const void *a, const void *b)
{
        return strcmp(((const struct profile_entry *)a)->name, ((const struct profile_entry *)b)->name);
}

int profile_list_names(struct profile_entry **ret, size_t *ret_n)
{
        struct profile_entry *v = NULL;
        size_t n = 0;
        char dir[4096], file[4400];
        int r = 0;
        for (enum profile_home h = HOME_MOAT_TOOLS; r == 0 && h <= HOME_COCO_TOOLS; h++) {
                if (!profile_home_path(h, dir, sizeof dir))
                        continue;
                _cleanup_closedir_ DIR *d = opendir(dir);
                struct dirent *de;
                while (r == 0 && d && (de = readdir(d))) {
                        size_t len = strlen(de->d_name);
                        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
                                continue;
                        char name[256];
                        snprintf(name, sizeof name, "%.*s", (int)(len - 5), de->d_name);
                        if (!profile_name_valid(name))
                                continue;
                        snprintf(file, sizeof file, "%s/%s", dir, de->d_name);
                        r = add_entry(&v, &n, name, file, h);
                }
        }
        _cleanup_strv_free_ char **files = NULL;
        if (r == 0)
                r = coco_config_files(&files);
        for (size_t i = 0; r == 0 && files && files[i]; i++) {
                struct moat_error e = { 0 };
                _cleanup_jv_free_ struct jv *doc = NULL;
                if (read_json(files[i], &doc, &e) < 0 || doc->type != JV_OBJECT)
                        continue; /* reported when a profile from it is loaded */
                for (size_t k = 0; r == 0 && k < doc->obj.n; k++)
                        if (profile_name_valid(doc->obj.members[k].key))
                                r = add_entry(&v, &n, doc->obj.members[k].key, files[i], HOME_COCO_CONFIG);
        }
        if (r < 0) {
                profile_entries_free(v, n);
                return r;
        }
        if (n)
                qsort(v, n, sizeof *v, cmp_entry);
        *ret = v;
        *ret_n = n;
        return 0;
}

void profile_entries_free(struct profile_entry *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].file);
        }
        free(v);
}

/* SPDX-License-Identifier: MIT */
/* Where profiles live, first match winning:
 *   1. $XDG_CONFIG_HOME/moat/tools/NAME.json   (moat's own)
 *   2. $XDG_DATA_HOME/coco/tools/NAME.json     (coco's current layout)
 *   3. $XDG_CONFIG_HOME/coco/config.json, then config.d/ *.json in name
 *      order, each {"NAME": {...}}, merged with later files winning (coco's
 *      older layout).
 * The data directory for installs is $XDG_DATA_HOME/moat. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "profile/profile.h"
#include "util/error.h"

enum profile_home {
        HOME_MOAT_TOOLS,
        HOME_COCO_TOOLS,
        HOME_COCO_CONFIG,
        _HOME_MAX,
};

/* Fills buf with the directory (or file) of a location. Returns false when
 * neither XDG variable nor HOME gives an absolute path. */
bool profile_home_path(enum profile_home h, char *buf, size_t size);
/* $XDG_DATA_HOME/moat (default ~/.local/share/moat). */
bool moat_data_dir(char *buf, size_t size);

/* Loads the profile NAME. Returns 0, -ENOENT when no location has it (e is
 * left empty), or -errno with e filled in (an invalid profile). */
int profile_load(const char *name, struct profile *p, struct moat_error *e);

/* Every profile name found, each once, sorted, with the location that wins. */
struct profile_entry {
        char *name;
        char *file;
        enum profile_home home;
};
int profile_list_names(struct profile_entry **ret, size_t *ret_n);
void profile_entries_free(struct profile_entry *v, size_t n);

/* coco's older layout as files, in the order they are merged: config.json,
 * then config.d/ *.json in name order (appended to *ret; existing ones). */
int profile_coco_config_files(char ***ret);

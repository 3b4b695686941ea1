/* SPDX-License-Identifier: MIT */
/* Tool profiles: one JSON object per tool saying what it may touch. coco's
 * keys keep coco's meaning, so a coco user's files run unchanged; moat's own
 * keys reach everything `moat run` can do. Parsing is pure (bytes in,
 * struct out) and strict: an unknown key, a wrong type or a bad value is an
 * error at FILE:LINE:COL, and nothing runs on an invalid profile. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cli/run_args.h"
#include "util/error.h"

struct jv;

enum profile_net {
        PROFILE_NET_UNSET, /* none, or the proxy when allowed_hosts is given */
        PROFILE_NET_NONE,
        PROFILE_NET_HOST,  /* also podman's bridge, pasta, slirp4netns: all mean the open network */
        PROFILE_NET_PROXY,
        PROFILE_NET_MAX,
};

struct profile_mount {
        char *src;        /* as written: "~" and "." are expanded when the run is built */
        char *dst;        /* NULL: same as src */
        bool ro;
        unsigned line, col;
};

struct profile {
        char *name;
        char *origin;          /* the file it came from */
        char *tool;            /* mise spec ("npm:eslint@9"), or NULL: a command of the root filesystem */
        char *command;         /* NULL: the profile's name */
        char **args;           /* moat: arguments placed before the user's */
        struct profile_mount *mounts;
        size_t n_mounts;
        char **env;            /* NAME=VALUE */
        char **env_passthrough;
        char *workdir;
        enum profile_net net;
        char **allowed_hosts;
        char **install_hosts;  /* moat: hosts the install phase may reach besides the backend's registry */
        bool isolated;
        char **ports;          /* publish specs, as for -p */
        bool x11;
        char **deps_apt;
        char **deps_mise;
        char **podman_args;    /* accepted for coco's files; meaningless here */
        /* moat's own keys */
        struct limits limits;
        unsigned limits_set;   /* enum limit_bit */
        char **protect;
        char **read_only;      /* extra read-only paths, as --ro */
        char **tmpfs;
        enum tty_mode tty;
        bool git_write;
        char *description;
};

/* Longest profile file read; a profile is a few hundred bytes. */
#define PROFILE_MAX_BYTES (256u << 10)

/* Builds p from one parsed object. file names the source for messages.
 * Returns 0, or -EINVAL with e holding "FILE:LINE:COL: message". */
int profile_from_json(const char *name, const char *file, const struct jv *obj, struct profile *p,
                      struct moat_error *e);
/* The same from layers, first to last: coco's config.json and config.d/
 * files merged as jq's '*' does (objects merge key by key, everything else
 * is replaced by the later file). */
int profile_from_layers(const char *name, const struct jv *const *objs, const char *const *files, size_t n,
                        struct profile *p, struct moat_error *e);
/* Parses text as a single profile object. */
int profile_parse(const char *name, const char *file, const char *text, size_t len, struct profile *p,
                  struct moat_error *e);
void profile_free(struct profile *p);

/* A tool name is a file name: [A-Za-z0-9._+-], not starting with '.' or '-',
 * at most 64 bytes. */
bool profile_name_valid(const char *name);

/* The mise backend of a tool spec ("npm" for "npm:eslint@9"; "" for a plain
 * "node@20"), into buf. */
const char *profile_backend(const char *tool, char *buf, size_t size);

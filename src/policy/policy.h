/* SPDX-License-Identifier: MIT */
/* The policy: the one structure the sandbox engine consumes. Every front end
 * (the `run` flags today, tool profiles and the JSON API later) produces one,
 * and nothing below knows which front end it came from. All paths in it are
 * absolute and normalised; the mount list is the complete root filesystem, in
 * the order it is built. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "net/hostmatch.h"

enum mount_type {
        MOUNT_ROOT,    /* the tmpfs that becomes "/" (first, always) */
        MOUNT_BIND,    /* bind src onto dst, read-only unless .writable */
        MOUNT_SYMLINK, /* dst is a symlink to src (/bin -> usr/bin) */
        MOUNT_TMPFS,   /* a size-capped tmpfs at dst */
        MOUNT_ETC,     /* the curated /etc: allowlisted host entries + synthesized files */
        MOUNT_PROC,    /* fresh procfs, kernel internals masked */
        MOUNT_SYS,     /* minimal read-only /sys: cpu and node topology only */
        MOUNT_DEV,     /* minimal /dev with a private devpts instance */
        MOUNT_PROTECT, /* a path inside a writable tree kept read-only, existing or not */
        MOUNT_TYPE_MAX,
};

struct mount_entry {
        enum mount_type type;
        char *src;          /* host path (BIND), link target (SYMLINK) */
        char *dst;          /* path inside the sandbox */
        bool writable;
        bool optional;      /* skip quietly when the host source is missing */
        bool stub;          /* PROTECT: when missing, pin a placeholder for the run */
        bool skip_if_dir;   /* PROTECT: leave an existing directory alone (".git") */
        uint64_t size;      /* TMPFS: bytes */
        const char *origin; /* "system", "project", "--ro", ... (static string) */
};

enum net_mode {
        NET_NONE,  /* own loopback only */
        NET_HOST,  /* the host's network: explicit, loudly reported opt-out */
        NET_PROXY, /* own loopback plus the egress proxy, deciding by host name */
        NET_MODE_MAX,
};

/* Resource limits. 0 means "no limit" for every field. */
struct limits {
        uint64_t memory_mib;
        uint64_t pids;
        uint64_t cpu_time_s;
        uint64_t timeout_s;
        uint64_t nofile;
        uint64_t fsize_mib;
        uint64_t tmpfs_mib;
};

/* Protections the user may knowingly go without (--allow-weaker). */
enum weaker {
        WEAKER_LANDLOCK = 1u << 0, /* run without a Landlock ruleset */
        WEAKER_USERNS = 1u << 1,   /* no namespaces: Landlock + seccomp + rlimits only */
};

enum tty_mode { TTY_AUTO, TTY_ALWAYS, TTY_NEVER };

/* -p: the host reaches a server inside the sandbox. */
struct publish {
        struct sockaddr_storage host; /* where the host listens (127.0.0.1 unless named) */
        uint16_t sandbox_port;        /* 127.0.0.1:PORT inside the sandbox */
        char text[96];                /* as written */
};

struct policy {
        char **argv;          /* the command; argv[0] looked up on the sandbox PATH */
        char *workdir;        /* absolute, inside the sandbox */
        char *project;        /* host directory mounted read-write at the same path, or NULL */
        bool git_write;       /* the project's .git is writable but for hooks and config */
        struct mount_entry *mounts;
        size_t n_mounts;
        char **env;           /* the complete environment of the command */
        enum net_mode net;
        struct limits limits;
        unsigned allow_weaker; /* enum weaker bits */
        enum tty_mode tty;
        uid_t uid;
        gid_t gid;
        char *user;           /* login name, for the synthesized passwd */
        char *home;           /* $HOME inside (a tmpfs) */
        char *hostname;
        struct host_rule *rules; /* NET_PROXY: the allowlist, parsed */
        size_t n_rules;
        char *log_path;       /* --log: JSON lines of every egress decision */
        struct publish *publish;
        size_t n_publish;
        uint16_t *host_ports; /* --host-port: the host's 127.0.0.1:PORT, reachable from inside */
        size_t n_host_ports;
        int json_fd;          /* -1: no JSON result; else where to write it */
        bool json_stdout;     /* print the JSON result on stdout after the run */
};

/* Defaults, documented in moat(1). */
#define DEFAULT_PIDS 4096
#define DEFAULT_NOFILE 65536
#define DEFAULT_TMPFS_MIB 1024
#define DEFAULT_RUN_TMPFS_MIB 16
#define SANDBOX_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SANDBOX_HOSTNAME "moat"


void policy_free(struct policy *p);
int policy_add_mount(struct policy *p, const struct mount_entry *m);
const char *mount_type_name(enum mount_type t);
const char *net_mode_name(enum net_mode n);

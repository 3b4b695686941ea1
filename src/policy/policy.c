/* SPDX-License-Identifier: MIT */
#include "policy/policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/strv.h"

void policy_free(struct policy *p)
{
        strv_free(p->argv);
        free(p->workdir);
        free(p->project);
        for (size_t i = 0; i < p->n_mounts; i++) {
                free(p->mounts[i].src);
                free(p->mounts[i].dst);
        }
        free(p->mounts);
        strv_free(p->env);
        free(p->user);
        free(p->home);
        free(p->hostname);
        free(p->rules);
        free(p->log_path);
        free(p->publish);
        free(p->host_ports);
        memset(p, 0, sizeof *p);
        p->json_fd = -1;
}

int policy_add_mount(struct policy *p, const struct mount_entry *m)
{
        struct mount_entry *n = realloc(p->mounts, (p->n_mounts + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        p->mounts = n;
        n = &p->mounts[p->n_mounts];
        *n = *m;
        n->src = m->src ? strdup(m->src) : NULL;
        n->dst = m->dst ? strdup(m->dst) : NULL;
        if ((m->src && !n->src) || (m->dst && !n->dst)) {
                free(n->src);
                free(n->dst);
                return -ENOMEM;
        }
        p->n_mounts++;
        return 0;
}

const char *mount_type_name(enum mount_type t)
{
        static const char *const names[MOUNT_TYPE_MAX] = {
                [MOUNT_ROOT] = "root",   [MOUNT_BIND] = "bind", [MOUNT_SYMLINK] = "symlink",
                [MOUNT_TMPFS] = "tmpfs", [MOUNT_ETC] = "etc",   [MOUNT_PROC] = "proc",
                [MOUNT_SYS] = "sys",     [MOUNT_DEV] = "dev",   [MOUNT_PROTECT] = "protect",
        };
        return t < MOUNT_TYPE_MAX ? names[t] : "?";
}

const char *net_mode_name(enum net_mode n)
{
        static const char *const names[NET_MODE_MAX] = { [NET_NONE] = "none", [NET_HOST] = "host",
                                                          [NET_PROXY] = "proxy" };
        return n < NET_MODE_MAX ? names[n] : "?";
}

/* SPDX-License-Identifier: MIT */
#include "profile/resolve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile/apply.h"
#include "profile/install.h"
#include "profile/locate.h"
#include "profile/profile.h"
#include "util/strv.h"

int profile_resolve(struct run_options *o, enum resolve_mode mode, bool install, struct moat_error *e)
{
        if (!o->argv || !o->argv[0] || o->dashdash || strchr(o->argv[0], '/'))
                return 0;
        const char *name = o->argv[0];
        struct profile p;
        int r = profile_load(name, &p, e);
        if (r == -ENOENT) {
                if (mode == RESOLVE_MAYBE)
                        return 0;
                char dir[4096] = "~/.config/moat/tools";
                (void)profile_home_path(HOME_MOAT_TOOLS, dir, sizeof dir);
                return error_set(e, ENOENT, "no profile named \"%s\": write %s/%s.json, or `moat get %s` from the "
                                 "store", name, dir, name, name);
        }
        if (r < 0)
                return r;
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        const char *home = getenv("HOME");
        struct apply_env env = { .cwd = cwd, .home = home && home[0] == '/' ? home : "/" };
        struct run_options base;
        if (!cwd)
                r = error_set(e, errno, "cannot determine the current directory: %s", strerror(errno));
        else
                r = profile_to_options(&p, &env, &base, e);
        if (r == 0)
                r = tool_prepare_run(&p, &base, install, e);
        /* The command: the profile's, its fixed args, then the user's. */
        if (r == 0)
                r = strv_push(&base.argv, p.command ? p.command : p.name);
        for (size_t i = 0; r == 0 && p.args && p.args[i]; i++)
                r = strv_push(&base.argv, p.args[i]);
        for (size_t i = 1; r == 0 && o->argv[i]; i++)
                r = strv_push(&base.argv, o->argv[i]);
        if (r == 0) {
                strv_free(o->argv);
                o->argv = NULL;
                r = run_options_overlay(&base, o);
        }
        profile_free(&p);
        if (r < 0) {
                if (r == -ENOMEM && !e->msg[0])
                        error_set(e, ENOMEM, "out of memory");
                run_options_free(&base);
                return r;
        }
        run_options_free(o);
        *o = base;
        return 1;
}

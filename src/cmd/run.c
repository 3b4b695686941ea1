/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli/run_args.h"
#include "cmd/cmd.h"
#include "policy/build.h"
#include "policy/gitindex.h"
#include "profile/resolve.h"
#include "runner/runner.h"
#include "sandbox/sandbox.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"

static void write_json(const struct policy *p, const struct sandbox_result *r, const struct moat_error *e, int fd)
{
        struct json j = { 0 };
        json_begin_object(&j);
        json_int(&j, "status", e ? e->exit_status : r->status);
        if (e) {
                json_null(&j, "exit_code");
                json_str(&j, "error", e->msg);
        } else {
                if (r->exit_code >= 0)
                        json_int(&j, "exit_code", r->exit_code);
                else
                        json_null(&j, "exit_code");
                if (r->signal)
                        json_int(&j, "signal", r->signal);
                else
                        json_null(&j, "signal");
        }
        json_bool(&j, "timed_out", r->timed_out);
        json_bool(&j, "oom", r->oom);
        json_double(&j, "duration_s", r->duration_s);
        if (r->peak_memory)
                json_uint(&j, "peak_memory_bytes", r->peak_memory);
        json_begin_array(&j, "limits_hit");
        if (r->hits & HIT_TIMEOUT)
                json_str(&j, NULL, "timeout");
        if (r->hits & HIT_MEMORY)
                json_str(&j, NULL, "memory");
        if (r->hits & HIT_CPU)
                json_str(&j, NULL, "cpu_time");
        if (r->hits & HIT_FSIZE)
                json_str(&j, NULL, "fsize");
        json_end_array(&j);
        json_key_object(&j, "limits");
        json_uint(&j, "memory_mib", p->limits.memory_mib);
        json_uint(&j, "pids", p->limits.pids);
        json_uint(&j, "cpu_time_s", p->limits.cpu_time_s);
        json_uint(&j, "timeout_s", p->limits.timeout_s);
        json_uint(&j, "nofile", p->limits.nofile);
        json_uint(&j, "fsize_mib", p->limits.fsize_mib);
        json_uint(&j, "tmpfs_mib", p->limits.tmpfs_mib);
        json_end_object(&j);
        json_str(&j, "network", net_mode_name(p->net));
        json_str(&j, "protection", r->level[0] ? r->level : NULL);
        if (p->net == NET_PROXY) {
                json_uint(&j, "network_allowed", r->n_allowed);
                json_begin_array(&j, "network_refusals");
                for (size_t i = 0; i < r->n_refusals; i++) {
                        const struct egress_decision *d = &r->refusals[i];
                        json_begin_object(&j);
                        json_str(&j, "proto", d->proto);
                        json_str(&j, "host", d->host);
                        json_uint(&j, "port", d->port);
                        json_str(&j, "reason", d->reason);
                        json_end_object(&j);
                }
                json_end_array(&j);
                if (r->n_refusals_dropped)
                        json_uint(&j, "network_refusals_not_listed", r->n_refusals_dropped);
        }
        json_end_object(&j);
        const char *t = json_text(&j);
        if (t) {
                size_t len = strlen(t);
                char *out = malloc(len + 2);
                if (out) {
                        memcpy(out, t, len);
                        out[len] = '\n';
                        if (write(fd, out, len + 1) < 0)
                                log_warn("writing the JSON result to fd %d: %s", fd, strerror(errno));
                        free(out);
                }
        }
        json_free(&j);
}

static int run_with_options(struct run_options *o_in, enum resolve_mode mode);

/* MOAT_EXTRA_PORTS (coco's COCO_EXTRA_PORTS): more -p specs, comma-separated,
 * for scripts that cannot add a flag. */
static int extra_ports(struct run_options *o)
{
        const char *var = "MOAT_EXTRA_PORTS";
        const char *v = getenv(var);
        if (!v || !*v)
                v = getenv(var = "COCO_EXTRA_PORTS");
        if (!v || !*v)
                return 0;
        _cleanup_free_ char *copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (strv_push(&o->publish, t) < 0)
                        return -ENOMEM;
        return 0;
}

int cmd_run(int argc, char **argv)
{
        struct run_options o;
        struct moat_error e = { 0 };

        if (run_args_parse("run", argc - 1, argv + 1, &o, &e) < 0) {
                error_print(&e);
                run_options_free(&o);
                return 125;
        }
        if (o.help) {
                help_run("run");
                run_options_free(&o);
                return 0;
        }
        if (o.lang || o.code)
                return cmd_code_run(&o);
        return run_with_options(&o, RESOLVE_MAYBE);
}

int cmd_run_options(struct run_options *o)
{
        return run_with_options(o, RESOLVE_MAYBE);
}

/* A symlink named after a profile: every argument belongs to the tool. */
int cmd_run_tool(const char *name, int argc, char **argv)
{
        struct run_options o;
        memset(&o, 0, sizeof o);
        o.json_fd = -1;
        if (strv_push(&o.argv, name) < 0)
                return 125;
        for (int i = 1; i < argc; i++)
                if (strv_push(&o.argv, argv[i]) < 0)
                        return 125;
        return run_with_options(&o, RESOLVE_REQUIRED);
}

static int run_with_options(struct run_options *o_in, enum resolve_mode mode)
{
        struct run_options o = *o_in;
        struct moat_error e = { 0 };
        struct policy p = { 0 };
        struct build_env be;
        _cleanup_free_ char *cwd = NULL;
        int status;

        /* MOAT_DEBUG (coco's COCO_DEBUG): narrate the set-up, for a
         * symlinked tool that takes no moat flags. */
        const char *dbg = getenv("MOAT_DEBUG");
        if (!dbg || !*dbg)
                dbg = getenv("COCO_DEBUG");
        if (!o.verbose && dbg && (strcmp(dbg, "1") == 0 || strcmp(dbg, "true") == 0))
                o.verbose = 1;
        log_verbose = o.verbose;
        bool cli_net = o.net_set || o.allow, cli_allow = o.allow != NULL;
        if (profile_resolve(&o, mode, true, &e) < 0) {
                error_print(&e);
                run_options_free(&o);
                return 125;
        }
        if (extra_ports(&o) < 0) {
                run_options_free(&o);
                return 125;
        }
        /* A limit set, mode or policy file for a plain command too. */
        if (!o.lang && (o.limit_set || o.mode || o.policy_file)) {
                struct runner_request req = { 0 };
                if (runner_settle(&o, &req, &e) < 0) {
                        error_print(&e);
                        run_options_free(&o);
                        return 125;
                }
        }
        log_verbose = o.verbose;
        /* The environment's switch to the host's network (coco's spelling
         * too), for scripts that cannot add a flag. Loudly. */
        bool env_net = false;
        const char *net_var = "MOAT_ALLOW_NETWORK";
        const char *allow_net = getenv(net_var);
        if (!allow_net || !*allow_net)
                allow_net = getenv(net_var = "COCO_ALLOW_NETWORK");
        if (allow_net && *allow_net && strcmp(allow_net, "0") != 0 && strcmp(allow_net, "false") != 0) {
                if (cli_net) {
                        log_error("%s is set and so is %s; drop one of them", net_var, cli_allow ? "--allow" : "--net");
                        run_options_free(&o);
                        return 125;
                }
                strv_free(o.allow); /* a profile's allowed hosts: the variable overrides them, as coco's did */
                o.allow = NULL;
                o.net = NET_HOST;
                o.net_set = true;
                env_net = true;
                log_warn("%s is set: the command shares the host's network, including services on localhost",
                         net_var);
        }
        if (o.json_fd >= 0 && fcntl(o.json_fd, F_GETFD) < 0) {
                log_error("--json-fd %d: not an open file descriptor (e.g. --json-fd 3 3>result.json)", o.json_fd);
                run_options_free(&o);
                return 125;
        }
        if (build_env_from_process(&be, &cwd) < 0) {
                log_error("cannot determine the current directory: %s", strerror(errno));
                run_options_free(&o);
                return 125;
        }
        int r = policy_build(&o, &be, &p, &e);
        run_options_free(&o);
        if (r < 0) {
                if (!e.msg[0])
                        error_set(&e, -r, "%s", strerror(-r));
                error_print(&e);
                policy_free(&p);
                return 125;
        }
        if (p.net == NET_HOST && !env_net)
                log_warn("--net host: the command shares the host's network, including services on localhost");

        struct git_snapshot git = { 0 };
        if (p.git_write && git_snapshot_take(p.project, &git) < 0) {
                log_error("out of memory");
                policy_free(&p);
                return 125;
        }
        struct sandbox_result res;
        r = sandbox_run(&p, &res, &e);
        git_snapshot_check(p.project, &git);
        git_snapshot_free(&git);
        if (r < 0) {
                error_print(&e);
                status = e.exit_status ? e.exit_status : 125;
                e.exit_status = status;
                if (p.json_fd >= 0 || p.json_stdout)
                        write_json(&p, &res, &e, p.json_fd >= 0 ? p.json_fd : STDOUT_FILENO);
        } else {
                status = res.status;
                if (res.timed_out)
                        log_error("timed out after %llu s (--timeout)", (unsigned long long)p.limits.timeout_s);
                else if (res.oom)
                        log_error("killed: out of memory (--memory %llu MiB)", (unsigned long long)p.limits.memory_mib);
                if (p.json_fd >= 0 || p.json_stdout)
                        write_json(&p, &res, NULL, p.json_fd >= 0 ? p.json_fd : STDOUT_FILENO);
        }
        sandbox_result_free(&res);
        policy_free(&p);
        return status;
}

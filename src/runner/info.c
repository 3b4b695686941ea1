/* SPDX-License-Identifier: MIT */
#include "runner/info.h"

#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "runner/runner.h"
#include "util/log.h"

static const struct {
        enum runner_mode mode;
        const char *what;
} modes[] = {
        { MODE_BALANCED, "the protections this kernel has; options it cannot enforce are refused (default)" },
        { MODE_STRICT, "refuses unless every protection is in force and nothing is opened up" },
        { MODE_DEV, "runs with whatever is missing, and says so" },
};

void info_json(const struct system_facts *f, struct json *j)
{
        json_begin_object(j);
        json_str(j, "version", MOAT_VERSION);
        json_key_object(j, "protection");
        json_str(j, "level", probe_level_name(probe_level(f)));
        json_str(j, "limits", probe_limits_name(f));
        json_end_object(j);
        /* The whole of `moat doctor --json`, for programs that want the detail. */
        probe_facts_json(f, "system", j);

        size_t n;
        const struct limit_set *sets = limit_sets(&n);
        json_begin_array(j, "limit_sets");
        for (size_t i = 0; i < n; i++) {
                const struct limit_set *s = &sets[i];
                json_begin_object(j);
                json_str(j, "name", s->name);
                json_bool(j, "default", strcmp(s->name, "safe") == 0);
                json_uint(j, "memory_mib", s->limits.memory_mib);
                json_uint(j, "pids", s->limits.pids);
                json_uint(j, "cpu_time_s", s->limits.cpu_time_s);
                json_uint(j, "timeout_s", s->limits.timeout_s);
                json_uint(j, "nofile", s->limits.nofile);
                json_uint(j, "fsize_mib", s->limits.fsize_mib);
                json_uint(j, "tmpfs_mib", s->limits.tmpfs_mib);
                json_uint(j, "output_bytes", s->output_bytes);
                json_uint(j, "code_bytes", s->code_bytes);
                json_end_object(j);
        }
        json_end_array(j);

        const struct lang *langs = lang_all(&n);
        json_begin_array(j, "languages");
        for (size_t i = 0; i < n; i++) {
                char path[128];
                bool have = lang_path(&langs[i], path, sizeof path);
                json_begin_object(j);
                json_str(j, "name", langs[i].name);
                json_str(j, "program", langs[i].program);
                json_begin_array(j, "aliases");
                for (const char *const *a = langs[i].aliases; *a; a++)
                        json_str(j, NULL, *a);
                json_end_array(j);
                json_bool(j, "installed", have);
                json_str(j, "path", have ? path : NULL);
                json_end_object(j);
        }
        json_end_array(j);

        json_begin_array(j, "modes");
        for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
                json_begin_object(j);
                json_str(j, "name", runner_mode_name(modes[i].mode));
                json_bool(j, "default", modes[i].mode == MODE_BALANCED);
                json_str(j, "description", modes[i].what);
                json_end_object(j);
        }
        json_end_array(j);
        json_end_object(j);
}

/* 1048576 -> "1 MiB", 262144 -> "256 KiB" */
static const char *bytes_str(uint64_t b, char *buf, size_t size)
{
        if (b >= (1u << 20) && b % (1u << 20) == 0)
                snprintf(buf, size, "%llu MiB", (unsigned long long)(b >> 20));
        else if (b >= 1024 && b % 1024 == 0)
                snprintf(buf, size, "%llu KiB", (unsigned long long)(b >> 10));
        else
                snprintf(buf, size, "%llu B", (unsigned long long)b);
        return buf;
}

void info_text(const struct system_facts *f, FILE *out)
{
        enum protection_level l = probe_level(f);
        char esc[512], limits[32];
        bool cg = f->cgroup.kind == CGROUP_V2 || f->cgroup.kind == CGROUP_V1;
        snprintf(limits, sizeof limits, "%s%s", cg ? probe_limits_name(f) : "", cg ? " + rlimits" : "rlimits");
        fprintf(out, "moat %s\n\n", MOAT_VERSION);
        fprintf(out, "Protection on this machine: %s", probe_level_name(l));
        switch (l) {
        case PROTECTION_FULL:
                fprintf(out, " (namespaces + Landlock + seccomp + %s)\n", limits);
                break;
        case PROTECTION_NO_LANDLOCK:
                fprintf(out, " (namespaces + seccomp + %s; runs need --allow-weaker landlock or --mode dev)\n",
                        limits);
                break;
        case PROTECTION_LANDLOCK_ONLY:
                fprintf(out, " (Landlock + seccomp + %s; runs need --allow-weaker userns or --mode dev)\n",
                        limits);
                break;
        case PROTECTION_NONE:
        case _PROTECTION_MAX:
                fprintf(out, " (moat cannot sandbox anything here)\n");
                break;
        }
        fprintf(out, "  kernel %s; user namespaces %s; Landlock %s; seccomp %s\n",
                log_escape(f->kernel, esc, sizeof esc), f->userns ? "yes" : "no",
                f->landlock_abi > 0 ? "yes" : "no", f->seccomp ? "yes" : "no");
        fprintf(out, "  `moat doctor` gives the detail and the fix for whatever is missing.\n\n");

        size_t n;
        const struct lang *langs = lang_all(&n);
        fprintf(out, "Languages (--lang):\n");
        for (size_t i = 0; i < n; i++) {
                char path[128];
                bool have = lang_path(&langs[i], path, sizeof path);
                fprintf(out, "  %-8s %s\n", langs[i].name, have ? path : "not installed");
        }

        const struct limit_set *sets = limit_sets(&n);
        fprintf(out, "\nLimit sets (--profile; safe is the default):\n");
        fprintf(out, "  %-6s %9s %6s %6s %6s %7s %9s %9s %9s %9s\n", "", "memory", "pids", "cpu", "wall", "nofile",
                "fsize", "tmpfs", "output", "code");
        for (size_t i = 0; i < n; i++) {
                const struct limit_set *s = &sets[i];
                char mem[32], cpu[32], wall[32], fsz[32], tmp[32], outb[32], code[32];
                snprintf(cpu, sizeof cpu, "%llu s", (unsigned long long)s->limits.cpu_time_s);
                snprintf(wall, sizeof wall, "%llu s", (unsigned long long)s->limits.timeout_s);
                bytes_str(s->limits.memory_mib << 20, mem, sizeof mem);
                bytes_str(s->limits.fsize_mib << 20, fsz, sizeof fsz);
                bytes_str(s->limits.tmpfs_mib << 20, tmp, sizeof tmp);
                fprintf(out, "  %-6s %9s %6llu %6s %6s %7llu %9s %9s %9s %9s\n", s->name, mem,
                        (unsigned long long)s->limits.pids, cpu, wall, (unsigned long long)s->limits.nofile, fsz, tmp,
                        bytes_str(s->output_bytes, outb, sizeof outb), bytes_str(s->code_bytes, code, sizeof code));
        }
        fprintf(out, "  output is per stream; code is the largest snippet or file.\n");

        fprintf(out, "\nModes (--mode):\n");
        for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
                fprintf(out, "  %-9s %s\n", runner_mode_name(modes[i].mode), modes[i].what);
        fprintf(out, "\nInterfaces: moat run --lang, moat api, moat serve, moat mcp (see moat examples).\n");
}

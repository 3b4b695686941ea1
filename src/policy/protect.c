/* SPDX-License-Identifier: MIT */
#include "policy/protect.h"

#include "util/macro.h"

/* Each entry names how the host would run code from it later. Entries marked
 * stub are protected even when missing: a dangling-symlink placeholder is
 * pinned there for the run (see sandbox/stubs.c). The others are protected
 * when they exist. */
static const struct protected_path defaults[] = {
        { ".git", true, true,
          "a planted repository (or a .git file pointing elsewhere) runs its hooks and core.fsmonitor on the host's next git command" },
        { ".git/hooks", true, false, "git runs hooks on commit, checkout, merge and push" },
        { ".git/config", true, false, "core.fsmonitor, core.hooksPath, aliases and filters run commands" },
        { ".git/modules", false, false, "submodule repositories carry their own hooks and config" },
        { ".git/commondir", false, false, "points git at another repository, whose config then runs" },
        { ".gitmodules", true, false, "submodule URLs and update commands (update = !cmd)" },
        { ".gitattributes", false, false, "selects filter and diff drivers that run programs" },
        { ".husky", false, false, "git hooks managed by husky (core.hooksPath)" },
        { ".githooks", false, false, "a common core.hooksPath directory" },
        { ".pre-commit-config.yaml", false, false, "pre-commit runs the hooks it lists on every commit" },
        { ".envrc", true, false, "direnv runs it on entering the directory" },
        { ".vscode", true, false, "tasks, launch configurations and settings that run programs" },
        { ".idea", true, false, "run configurations and external tools of JetBrains IDEs" },
        { ".claude", true, false, "Claude Code hooks, settings and commands" },
        { ".mcp.json", true, false, "MCP servers an agent starts" },
        { ".cursor", true, false, "Cursor rules and MCP servers" },
        { ".gemini", false, false, "Gemini CLI settings and MCP servers" },
        { ".codex", false, false, "Codex settings" },
        { ".devcontainer", false, false, "commands an editor runs when it opens the container" },
        { ".npmrc", true, false, "npm settings such as script-shell and node-options" },
        { ".yarnrc.yml", true, false, "yarnPath runs an arbitrary script as yarn" },
        { ".mise.toml", false, false, "mise tasks, hooks and env templates" },
        { "mise.toml", false, false, "mise tasks, hooks and env templates" },
        { ".tool-versions", false, false, "selects the tool versions the host runs" },
};

const struct protected_path *protect_defaults(size_t *ret_n)
{
        *ret_n = ARRAY_SIZE(defaults);
        return defaults;
}

/* SPDX-License-Identifier: MIT */
/* One function per subcommand. argv[0] is the subcommand's name; the return
 * value is the process exit status. */
#pragma once

int cmd_run(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_api(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_rebuild(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_box(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_mcp(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_examples(int argc, char **argv);
/* `moat run` with options already parsed (the runner's child). */
struct run_options;
int cmd_run_options(struct run_options *o);
/* `moat run --lang`: consumes o. */
int cmd_code_run(struct run_options *o);
/* Invoked through a symlink named after a profile. */
int cmd_run_tool(const char *name, int argc, char **argv);

/* Prints `moat run --help` (shared by run and explain). */
void help_run(const char *cmd);

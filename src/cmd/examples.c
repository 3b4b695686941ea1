/* SPDX-License-Identifier: MIT */
/* `moat examples`: a page of commands to copy. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static const char page[] =
        "Run a snippet (a fresh sandbox each time; no network, no project):\n"
        "  moat run --lang python -c 'print(6*7)'\n"
        "  moat run --lang node -c 'console.log(process.version)'\n"
        "  moat run --lang bash script.sh\n"
        "  echo 'print(1)' | moat run --lang python\n"
        "  moat run --lang python --profile dev --timeout 120 train.py\n"
        "  moat run --lang python --json -c 'import sys; sys.exit(3)'    # the result as JSON\n"
        "\n"
        "One JSON request in, one JSON result out:\n"
        "  moat api '{\"lang\": \"python\", \"code\": \"print(1)\"}'\n"
        "  echo '{\"command\": [\"sh\", \"-c\", \"uname -a\"], \"limits\": {\"timeout\": 5}}' | moat api\n"
        "\n"
        "A server on a Unix socket, one JSON request per line:\n"
        "  moat serve --socket \"$XDG_RUNTIME_DIR/moat.sock\" &\n"
        "  echo '{\"op\": \"ping\"}' | socat -t 60 - UNIX-CONNECT:\"$XDG_RUNTIME_DIR/moat.sock\"\n"
        "  echo '{\"id\": 1, \"lang\": \"python\", \"code\": \"print(1)\"}' |\n"
        "          socat -t 60 - UNIX-CONNECT:\"$XDG_RUNTIME_DIR/moat.sock\"\n"
        "  python3 - \"$XDG_RUNTIME_DIR/moat.sock\" <<'PY'\n"
        "  import json, socket, sys\n"
        "  s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')\n"
        "  f.write(json.dumps({'lang': 'python', 'code': 'print(6*7)'}) + '\\n'); f.flush()\n"
        "  print(json.loads(f.readline())['stdout'], end='')\n"
        "  PY\n"
        "  kill %1                       # SIGTERM: runs in flight finish, the socket is removed\n"
        "\n"
        "For MCP clients (Claude Code, Codex, ...), over stdio:\n"
        "  claude mcp add moat -- moat mcp\n"
        "  codex mcp add moat -- moat mcp\n"
        "  {\"mcpServers\": {\"moat\": {\"command\": \"moat\", \"args\": [\"mcp\"]}}}      # .mcp.json\n"
        "  claude mcp add moat -- moat mcp --policy ~/.config/moat/agent-policy.json  # with ceilings\n"
        "\n"
        "What this machine offers (protections, languages, limit sets, modes):\n"
        "  moat info\n"
        "  moat info --json\n"
        "\n"
        "Boxes, sandboxes whose workspace and home persist between runs:\n"
        "  moat box create scratch --profile dev\n"
        "  moat box run scratch -- sh -c 'echo one >> notes.txt'\n"
        "  moat box run scratch --lang python -c 'print(open(\"notes.txt\").read())'\n"
        "  moat box create web --allow example.org              # network: only the hosts named\n"
        "  moat box run web -- sh -c 'curl -s https://example.org > page.html'\n"
        "  moat box ls\n"
        "  moat box history scratch\n"
        "  moat box reset scratch                               # empty it, keep its settings\n"
        "  moat box rm scratch\n"
        "  echo '{\"op\": \"box.run\", \"box\": \"scratch\", \"command\": [\"ls\"]}' |\n"
        "          socat -t 60 - UNIX-CONNECT:\"$XDG_RUNTIME_DIR/moat.sock\"\n";

int cmd_examples(int argc, char **argv)
{
        (void)argv;
        if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
                printf("Usage: moat examples\n\nA page of commands to copy.\n");
                return 0;
        }
        fputs(page, stdout);
        return fflush(stdout) == 0 ? 0 : 125;
}

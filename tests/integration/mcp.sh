#!/bin/bash
# moat mcp: the Model Context Protocol server over stdio. First by hand
# (the JSON-RPC corners), then with the official MCP TypeScript SDK's
# client, installed with npm from the registry npm is configured for.
#
# The SDK is installed once per version and user into
# /tmp/moat-mcp-sdk-VERSION-uUID and reused; MCP_SDK_VERSION picks another
# version. Without node and npm, or when the install fails (no network),
# the SDK checks are skipped with the reason.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
new_project

MARK="moat-mcp-test-$$"
_cleanup+=('pkill -9 -f "$MARK" 2>/dev/null')
export XDG_RUNTIME_DIR="$PROJECT/rt" XDG_DATA_HOME="$PROJECT/data"
mkdir -m 700 "$XDG_RUNTIME_DIR"

tap_from() { # reads "ok<TAB>what" / "not ok<TAB>what<TAB>detail" lines
        local st what detail n=0
        while IFS=$'\t' read -r st what detail; do
                case $st in
                ok) pass "$what" ;;
                "not ok") fail "$what"; [ -n "$detail" ] && diag "$detail" ;;
                *) continue ;;
                esac
                n=$((n + 1))
        done
        [ "$n" -gt 0 ] || fail "the checks produced no results"
}

tap_from < <(python3 "$TESTS/mcp-raw.py" "$MOAT" "$MARK" 2>&1)
is "$(pgrep -f "$MARK" | tr '\n' ' ')" "" "no sandbox process is left"
is "$(ls -A "$XDG_RUNTIME_DIR")" "" "no temporary files are left"

# ---- the official SDK's client ----

VERSION=${MCP_SDK_VERSION:-1.32.2}
sdk_skip() { skip "MCP SDK client: $1"; done_testing; exit; }
command -v node >/dev/null || sdk_skip "node is not installed"
command -v npm >/dev/null || sdk_skip "npm is not installed"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
        sdk_skip "node $(node --version) is older than 18, which the SDK needs"

CACHE="/tmp/moat-mcp-sdk-$VERSION-u$(id -u)"
# Someone else's directory at that name is not trusted: its code would run.
if [ -e "$CACHE" ] && { [ ! -d "$CACHE" ] || [ -L "$CACHE" ] || [ "$(stat -c %u "$CACHE")" != "$(id -u)" ] ||
        [ -n "$(find "$CACHE" -maxdepth 0 -perm /022)" ]; }; then
        diag "ignoring $CACHE: not a private directory of this user"
        CACHE="$PROJECT/sdk"
fi
if [ ! -f "$CACHE/node_modules/@modelcontextprotocol/sdk/package.json" ]; then
        staging=$(mktemp -d "/tmp/moat-mcp-sdk-$VERSION-u$(id -u).XXXXXX")
        _cleanup+=("rm -rf '$staging'")
        echo '{"private": true, "type": "module"}' >"$staging/package.json"
        if ! (cd "$staging" && timeout 300 npm install --no-audit --no-fund --loglevel=error \
                "@modelcontextprotocol/sdk@$VERSION") >"$PROJECT/npm.log" 2>&1; then
                diag "$(tail -5 "$PROJECT/npm.log")"
                sdk_skip "npm could not install @modelcontextprotocol/sdk@$VERSION (offline?)"
        fi
        rm -rf "$CACHE" 2>/dev/null
        mv -T "$staging" "$CACHE" 2>/dev/null || CACHE=$staging
fi
pass "the MCP SDK $VERSION is installed ($CACHE)"

# ESM resolves packages from the script's directory.
mkdir "$PROJECT/client"
cp "$TESTS/mcp-sdk.mjs" "$PROJECT/client/"
ln -s "$CACHE/node_modules" "$PROJECT/client/node_modules"
tap_from < <(cd "$PROJECT/client" && timeout 300 node mcp-sdk.mjs "$MOAT" 2>&1)
is "$(ls -A "$XDG_RUNTIME_DIR")" "" "no temporary files are left"

done_testing

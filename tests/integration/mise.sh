#!/bin/bash
# A real npm tool through a profile: mise installs it from the npm registry
# inside a sandbox, then it runs by name and through its symlink on a real
# project, with its installed files read-only and no network.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox

mise=${MOAT_TEST_MISE:-}
[ -x "$mise" ] || mise=/usr/local/lib/moat-test-mise/node_modules/@jdxcode/mise-linux-x64/bin/mise
[ -x "$mise" ] || mise=$HOME/.cache/moat-test-mise/node_modules/@jdxcode/mise-linux-x64/bin/mise
[ -x "$mise" ] || mise=$(command -v mise || true)
if [ ! -x "$mise" ] || ! command -v npm >/dev/null; then
        skip "mise or npm is not installed (./bootstrap check installs mise from the npm registry)"
        done_testing
        exit 0
fi
# npm's own configuration names the registry; moat asks npm the same way.
registry=$(npm config get registry 2>/dev/null)
case $registry in https://*|http://*) ;; *)
        skip "npm has no registry configured"
        done_testing
        exit 0
esac

new_project
base=$(mktemp -d /tmp/moat-mise.XXXXXX)
_cleanup+=("rm -rf '$base'")
export XDG_CONFIG_HOME=$base/config XDG_DATA_HOME=$base/data MOAT_MISE=$mise
# The registry this machine reaches lists no creation time for packages,
# which mise's npm client needs for its minimum-package-age check. The user's
# AUBE_* settings pass into the install sandbox; this one makes the install
# possible here.
export AUBE_MINIMUM_PACKAGE_AGE=0
mkdir -p "$XDG_CONFIG_HOME/moat/tools"
cat >"$XDG_CONFIG_HOME/moat/tools/prettier.json" <<'EOF'
{
  "tool": "npm:prettier@3",
  "command": "prettier",
  "mounts": [{ "src": ".", "dst": "/workspace" }],
  "workdir": "/workspace",
  "network": "none"
}
EOF
# The same install, with a shell as the command: to look around inside.
cat >"$XDG_CONFIG_HOME/moat/tools/prettier-shell.json" <<'EOF'
{ "tool": "npm:prettier@3", "command": "sh", "mounts": [{ "src": ".", "dst": "/w", "opts": "ro" }] }
EOF

printf 'const a = {b:1,\n  c:2}\n' >bad.js
printf 'const a = { b: 1, c: 2 };\n' >good.js

run run prettier --version
is "$RC" 0 "the first run installs the tool with mise, then runs it"
like "$OUT" '^3\.[0-9]+\.[0-9]+$' "prettier 3 answers"
like "$ERR" "installing npm:prettier@3" "the install is announced"
test -f "$XDG_DATA_HOME/moat/installed/prettier.json" && pass "the install is recorded" || fail "the install is recorded"

run run prettier --check good.js bad.js
is "$RC" 1 "prettier --check finds the badly formatted file"
like "$OUT$ERR" "bad.js" "and names it"
unlike "$ERR" "installing" "the second run does not install again"
run run prettier --write bad.js
is "$RC" 0 "prettier --write"
is "$(cat bad.js)" "const a = { b: 1, c: 2 };" "rewrote the file in the project"

links=$(mktemp -d /tmp/moat-links.XXXXXX)
_cleanup+=("rm -rf '$links'")
ln -s "$MOAT" "$links/prettier"
printf 'let x   = 1\n' >sym.js
"$links/prettier" --check sym.js >sym.out 2>&1 </dev/null
is "$?" 1 "through its symlink, prettier runs sandboxed (exit 1: sym.js needs formatting)"
"$links/prettier" --write sym.js >/dev/null 2>&1 </dev/null
is "$(cat sym.js)" "let x = 1;" "and its --write reaches the project"

vol="$XDG_DATA_HOME/moat/volumes/shared"
run run prettier-shell -c "touch '$vol/installs/planted' && echo WROTE; rm -rf '$vol/installs/npm-prettier' && echo REMOVED; ls '$vol/installs'"
unlike "$OUT" "WROTE|REMOVED" "the installed files are read-only at run time"
like "$OUT" "npm-prettier" "and visible"
test -e "$vol/installs/planted" && fail "nothing was planted in the volume" || pass "nothing was planted in the volume"
run run prettier-shell -c 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; env | grep -ci "_proxy="'
is "$(printf '%s' "$OUT" | tr '\n' ' ')" "lo 0" "the run phase has no network: loopback only, no proxy"
run run prettier-shell -c 'echo x > /w/new.txt && echo WROTE'
unlike "$OUT" WROTE "\"opts\": \"ro\" makes the project read-only"

# A profile change (another version) means a new install; a broken spec
# fails with mise's words and records nothing.
sed -i 's/npm:prettier@3/npm:prettier-does-not-exist-moat-test@1/' "$XDG_CONFIG_HOME/moat/tools/prettier.json"
run run prettier --version
is "$RC" 125 "a tool that cannot be installed: status 125"
like "$ERR" "installing npm:prettier-does-not-exist-moat-test@1 failed" "with one line saying so"

done_testing

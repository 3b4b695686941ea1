#!/bin/bash
# Tool profiles end to end: moat list, up, down, install, rebuild and prune
# over profiles in every location moat reads, and profile errors at run
# time. Installs use a stand-in for mise (a shell script that writes a tiny
# program into the volume), so no network and no real mise are needed.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1

HAVE_SANDBOX=1
"$MOAT" run --no-cwd -- true >/dev/null 2>&1 || HAVE_SANDBOX=
PY=
for p in /usr/bin/python3 python3; do
        if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import json' >/dev/null 2>&1; then PY=$p; break; fi
done

T=$(mktemp -d /tmp/moat-profiles.XXXXXX)
_cleanup+=("chmod -R u+rwX '$T' 2>/dev/null; rm -rf '$T'")
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_DATA_HOME=$T/data
unset MOAT_MISE MOAT_DEBUG COCO_DEBUG MOAT_ALLOW_NETWORK COCO_ALLOW_NETWORK MISE_FAKE_FAIL MISE_FAKE_MARK
TOOLS=$XDG_CONFIG_HOME/moat/tools
COCO_TOOLS=$XDG_DATA_HOME/coco/tools
COCO_CONFIG=$XDG_CONFIG_HOME/coco
VOL=$XDG_DATA_HOME/moat/volumes
mkdir -p "$HOME" "$TOOLS" "$COCO_TOOLS" "$COCO_CONFIG/config.d"
new_project

# Like run, for any program (a link, a shell).
runx() {
        local o e
        o=$(mktemp) e=$(mktemp)
        "$@" >"$o" 2>"$e" </dev/null
        RC=$?
        OUT=$(cat "$o"); ERR=$(cat "$e")
        rm -f "$o" "$e"
}

# A Python check over the JSON in $OUT; prints nothing when it holds.
json_check() { # python expression over `d`, description
        if [ -z "$PY" ]; then skip "$2 (no python3 to read JSON)"; return; fi
        local got
        got=$(printf '%s' "$OUT" | "$PY" -c "import json, sys
d = json.load(sys.stdin)
by = {o['name']: o for o in d}
print('ok' if ($1) else 'no')" 2>&1)
        if [ "$got" = ok ]; then pass "$2"; else fail "$2"; diag "$got" "$OUT"; fi
}

# --- moat list --------------------------------------------------------------

run list
is "$RC" 0 "list with no profiles succeeds"
like "$OUT" "moat/tools/NAME.json" "an empty list says where profiles go"
like "$OUT" "moat get NAME" "an empty list mentions moat get"
run list --json
is "$OUT" "[]" "list --json with no profiles is an empty array"

cat > "$TOOLS/hello.json" <<'EOF'
{
  "command": "sh",
  "args": ["-c", "echo hi"],
  "mounts": [{ "src": ".", "dst": "/workspace" }],
  "description": "says hi"
}
EOF
echo '{"command": "cat", "mounts": [{"src": ".", "opts": "ro"}, {"src": "~/.cache/tool"}], "network": "none"}' > "$TOOLS/reader.json"
echo '{"command": "true", "allowed_hosts": ["example.com", "*.example.org"]}' > "$TOOLS/web.json"
echo '{"command": "true", "network": "host"}' > "$TOOLS/opennet.json"
printf '{\n  "command": "touch",\n  "args": ["ran"],\n  "mounts": [{"src": "."}],\n  "netwrok": "none"\n}\n' > "$TOOLS/bad.json"
echo '{"tool": "npm:eslint@9", "command": "eslint", "mounts": [{"src": ".", "dst": "/workspace"}], "network": "none"}' \
        > "$COCO_TOOLS/cocotool.json"
echo '{"command": "false"}' > "$COCO_TOOLS/hello.json" # hidden by moat's own hello
echo '{"legacy": {"command": "true"}, "../evil": {"command": "true"}}' > "$COCO_CONFIG/config.json"
echo '{"legacy": {"env": {"A": "1"}}, "layered": {"command": "true"}}' > "$COCO_CONFIG/config.d/10-more.json"

run list
is "$RC" 0 "list succeeds with an invalid profile among them"
line() { printf '%s\n' "$OUT" | grep -E "^$1 "; }
like "$(line hello)" '^hello +\(system\) +sh +none +project +— +moat .*/moat/tools/hello\.json$' \
        "hello: system command, no network, project writable, nothing to install, from moat"
like "$OUT" "says hi" "a profile's description is shown"
like "$(line reader)" ' cat +none +project \(ro\), ~/\.cache/tool ' "a read-only project and a writable mount"
like "$(line web)" 'proxy: 2 hosts' "allowed_hosts make the proxy with its host count"
like "$(line opennet)" ' host ' "network host"
like "$(line cocotool)" '^cocotool +npm:eslint@9 +eslint +none +project +no +coco tools .*/coco/tools/cocotool\.json$' \
        "a profile in coco's tools directory, not installed"
like "$(line legacy)" 'coco config .*/coco/config\.d/10-more\.json$' "a profile from coco's config.json + config.d"
like "$(line layered)" 'coco config .*/coco/config\.d/10-more\.json$' "a profile only in config.d"
like "$(line bad)" '^bad +\? ' "an invalid profile is listed"
like "$OUT" 'error: .*bad\.json:5:3: "netwrok": unknown key \(did you mean "network"\?\)' \
        "with its error at FILE:LINE:COL"
unlike "$OUT" "evil" "a coco key that is not a tool name is not listed"

run list --json
is "$RC" 0 "list --json succeeds"
json_check "by['hello']['tool'] is None and by['hello']['installed'] is None and by['hello']['command'] == 'sh' \
and by['hello']['args'] == ['-c', 'echo hi'] and by['hello']['project'] == 'rw' and by['hello']['writable'] == ['project'] \
and by['hello']['origin'] == 'moat' and by['hello']['file'].endswith('/moat/tools/hello.json')" \
        "list --json: a system profile's fields"
json_check "by['reader']['project'] == 'ro' and by['reader']['writable'] == ['project (ro)', '~/.cache/tool'] \
and by['web']['network'] == 'proxy' and by['web']['allowed_hosts'] == ['example.com', '*.example.org'] \
and by['opennet']['network'] == 'host' and by['reader']['network'] == 'none'" \
        "list --json: network and mounts"
json_check "by['cocotool']['origin'] == 'coco tools' and by['cocotool']['installed'] is False \
and by['legacy']['origin'] == 'coco config' and by['legacy']['file'].endswith('config.d/10-more.json')" \
        "list --json: coco's locations and installed"
json_check "'did you mean' in by['bad']['error'] and by['bad']['tool'] is None and by['hello']['error'] is None \
and len({tuple(sorted(o)) for o in d}) == 1" \
        "list --json: an invalid profile with its error, every object with the same keys"

echo '{"legacy": ' > "$COCO_CONFIG/config.d/20-broken.json"
run list
is "$RC" 0 "list succeeds with a broken coco config file"
like "$(line hello)" "moat" "profiles elsewhere still listed"
like "$OUT" "error: .*config\.d/20-broken\.json:2:1: " "the broken coco file is named with its position"
rm "$COCO_CONFIG/config.d/20-broken.json"

# --- moat up / down ----------------------------------------------------------

BIN=$T/bin
mkdir -p "$BIN"
echo "my own script" > "$BIN/reader"
ln -s /bin/true "$BIN/web"
ln -s "$MOAT" "$BIN/moat"
runx env PATH=/usr/bin:/bin "$MOAT" up --dir "$BIN"
is "$RC" 0 "up succeeds"
like "$OUT" "linked +hello -> " "up links a profile"
[ -L "$BIN/hello" ] && [ "$(readlink "$BIN/hello")" = "$(readlink -f "$MOAT")" ]
ok $? "the link points at the moat binary"
[ -L "$BIN/cocotool" ] && [ -L "$BIN/legacy" ] && [ -L "$BIN/layered" ]
ok $? "coco's profiles are linked too"
like "$OUT" "skipped +reader: .*reader is a file, not a link to moat" "a foreign file is skipped, saying why"
is "$(cat "$BIN/reader")" "my own script" "the foreign file is untouched"
like "$OUT" "skipped +web: .*is a link to /bin/true, not to moat" "a foreign link is skipped"
is "$(readlink "$BIN/web")" /bin/true "the foreign link is untouched"
like "$OUT" "linked, .*already linked, 2 skipped" "a one-line summary"
like "$ERR" "bin is not on PATH" "a DIR not on PATH is warned about"
[ ! -e "$T/evil" ] && [ ! -e "$BIN/../evil" ] && [ -z "$(ls -A "$BIN" | grep -v -E '^[A-Za-z0-9][A-Za-z0-9._+-]*$')" ]
ok $? "no link is made outside DIR or under an odd name"

runx env PATH="$BIN:/usr/bin:/bin" "$MOAT" up --dir "$BIN"
like "$OUT" "already linked hello" "an existing link is left as is"
like "$OUT" " 0 linked" "nothing new is linked"
unlike "$ERR" "not on PATH" "no PATH warning when DIR is on PATH"

echo '{"command": "ls"}' > "$TOOLS/ls.json"
lsdir=$(dirname "$(command -v ls)")
runx env PATH="$lsdir:$BIN" "$MOAT" up --dir "$BIN"
like "$ERR" "ls comes before .*bin on PATH" "a same-named program earlier on PATH is warned about"
rm -f "$TOOLS/ls.json"

mkdir -p "$HOME/.local"
runx "$MOAT" up
[ -L "$HOME/.local/bin/hello" ]
ok $? "up defaults to ~/.local/bin and creates it"
runx "$MOAT" down
[ ! -e "$HOME/.local/bin/hello" ]
ok $? "down defaults to ~/.local/bin"

touch "$T/afile"
runx "$MOAT" up --dir "$T/afile/sub"
unlike "$RC" "^0$" "up into a path under a file fails"
like "$ERR" "cannot use .*afile/sub: Not a directory; nothing was linked" "with one clear error"
if [ "$(id -u)" != 0 ]; then
        mkdir "$T/locked" && chmod 555 "$T/locked"
        runx "$MOAT" up --dir "$T/locked"
        unlike "$RC" "^0$" "up into a read-only directory fails"
        like "$ERR" "cannot make links in .*locked.*nothing was linked" "with one clear error"
        is "$(ls -A "$T/locked")" "" "and nothing half-done"
else
        skip "up into a read-only directory: root writes anywhere (the unprivileged pass runs it)"
        skip "up into a read-only directory: one clear error"
        skip "up into a read-only directory: nothing half-done"
fi
runx "$MOAT" up --frobnicate
is "$RC" 125 "up with an unknown option fails with 125"

if [ -n "$HAVE_SANDBOX" ]; then
        cd "$PROJECT" || exit 1
        runx "$BIN/hello"
        is "$OUT" "hi" "a link runs its profile (command and args)"
        is "$RC" 0 "with the tool's status"
        runx "$BIN/bad"
        is "$RC" 125 "a link to an invalid profile fails with 125"
        [ ! -e ran ]
        ok $? "and runs nothing"
else
        skip "running a link: moat cannot create a sandbox here"
        skip "running a link: status"
        skip "a link to an invalid profile"
        skip "a link to an invalid profile runs nothing"
fi

runx "$MOAT" down --dir "$BIN"
is "$RC" 0 "down succeeds"
like "$OUT" "removed hello -> " "down reports each link it removes"
[ ! -e "$BIN/hello" ] && [ ! -e "$BIN/cocotool" ] && [ ! -L "$BIN/legacy" ]
ok $? "our links are gone"
is "$(cat "$BIN/reader")" "my own script" "a foreign file survives down"
is "$(readlink "$BIN/web")" /bin/true "a foreign link survives down"
[ -L "$BIN/moat" ]
ok $? "a link named moat itself survives down"
ln -s /opt/old-build/moat "$BIN/oldlink"
runx "$MOAT" down --dir "$BIN"
like "$OUT" "removed oldlink -> /opt/old-build/moat" "a link to another moat binary is ours too"
runx "$MOAT" down --dir "$T/nonexistent"
is "$RC" 0 "down on a missing directory is not an error"

# --- profile errors at run time ---------------------------------------------

if [ -n "$HAVE_SANDBOX" ]; then
        cd "$PROJECT" || exit 1
        run run bad
        is "$RC" 125 "run of a profile with an unknown key: status 125"
        like "$ERR" 'bad\.json:5:3: "netwrok": unknown key \(did you mean "network"\?\)' "FILE:LINE:COL and did you mean"
        [ ! -e ran ]
        ok $? "nothing ran"
        printf '{\n  "command": "touch",\n  "args": ["ran"]\n' > "$TOOLS/broken.json"
        run run broken
        is "$RC" 125 "malformed JSON: status 125"
        like "$ERR" 'broken\.json:4:1: ' "malformed JSON is reported at its position"
        [ ! -e ran ]
        ok $? "nothing ran"
        echo '{"command": "touch", "args": ["ran"], "mounts": [{"src": "/nonexistent/moat-src"}]}' > "$TOOLS/nosrc.json"
        run run nosrc
        is "$RC" 125 "a missing mount source: status 125"
        like "$ERR" "nosrc\.json:1:[0-9]+: mount source /nonexistent/moat-src: .*moat does not create it" \
                "the missing source is named"
        [ ! -e /nonexistent/moat-src ] && [ ! -e ran ]
        ok $? "the source was not created and nothing ran"
        ln -s "$MOAT" "$T/.hidden"
        runx "$T/.hidden"
        is "$RC" 125 "a link whose name is not a tool name: status 125"
        like "$ERR" "not a tool name" "and says why"
        echo '{"command": "touch", "args": ["ran"], "mounts": [{"src": "."}]}' > "$XDG_CONFIG_HOME/moat/evil.json"
        runx bash -c 'exec -a ../evil "$0"' "$MOAT"
        is "$RC" 125 "a tool name is the link's base name: ../evil finds no profile outside the tools directory"
        like "$ERR" 'no profile named "evil"' "it looks up \"evil\" only"
        [ ! -e ran ]
        ok $? "nothing ran"
        rm -f "$TOOLS/broken.json" "$TOOLS/nosrc.json" "$XDG_CONFIG_HOME/moat/evil.json"
else
        for i in $(seq 1 14); do skip "profile errors at run time: moat cannot create a sandbox here"; done
fi

# --- moat install / rebuild / prune -------------------------------------------

run install hello
is "$RC" 1 "install of a profile without a tool fails"
like "$ERR" 'hello\.json: nothing to install: the profile has no "tool" and runs "sh" from the system' \
        "with a clear error naming the file"
run install nosuchtool
like "$ERR" 'no profile named "nosuchtool"' "install of a missing profile says so"
run install
is "$RC" 125 "install without a name is a usage error"
run rebuild --frobnicate
is "$RC" 125 "rebuild with an unknown option is a usage error"
run lst
like "$ERR" "did you mean 'list'" "a mistyped command suggests list"
run prune
like "$OUT" "Nothing to prune" "prune with no data directory"

# A stand-in for mise: `install SPEC...` writes a program per spec into
# $MISE_DATA_DIR plus a cache and downloads; `exec SPEC... -- CMD` runs CMD
# with those programs on PATH. MISE_FAKE_FAIL makes the install fail,
# MISE_FAKE_MARK is printed by the installed program (a rebuild's mark).
mkdir -p "$T/mise"
cat > "$T/mise/mise" <<'EOF'
#!/bin/sh
dir_of() { printf '%s/installs/%s' "$MISE_DATA_DIR" "$(printf '%s' "$1" | tr ':@/' '---')"; }
case "$1" in
install)
        shift
        if [ -n "${MISE_FAKE_FAIL:-}" ]; then echo "fake mise: failing on purpose" >&2; exit 1; fi
        for spec in "$@"; do
                d=$(dir_of "$spec")
                mkdir -p "$d/bin" "$MISE_CACHE_DIR/blobs" "$MISE_DATA_DIR/downloads"
                printf '#!/bin/sh\necho "%s %s $*"\n' "$spec" "${MISE_FAKE_MARK:-v1}" > "$d/bin/fake"
                chmod +x "$d/bin/fake"
                head -c 300000 /dev/zero > "$MISE_CACHE_DIR/blobs/$(printf '%s' "$spec" | tr ':@/' '---')"
                head -c 200000 /dev/zero > "$MISE_DATA_DIR/downloads/dl"
        done ;;
exec)
        shift
        p=
        while [ "$1" != "--" ]; do p="$(dir_of "$1")/bin:$p"; shift; done
        shift
        PATH="$p$PATH" exec "$@" ;;
*) echo "fake mise: $*" >&2; exit 2 ;;
esac
EOF
chmod +x "$T/mise/mise"
export MOAT_MISE=$T/mise/mise
fake() { # name, spec, isolated
        printf '{"tool": "%s", "command": "fake", "install_hosts": ["example.invalid"], "isolated": %s}\n' "$2" "$3" \
                > "$TOOLS/$1.json"
}

if [ -n "$HAVE_SANDBOX" ]; then
        cd "$PROJECT" || exit 1
        fake ft fake@1 false
        fake iso fake@2 true
        run install ft iso
        is "$RC" 0 "install of two tools (shared and isolated volume)"
        run run ft a
        is "$OUT" "fake@1 v1 a" "the installed tool runs"
        run run iso b
        is "$OUT" "fake@2 v1 b" "the isolated tool runs"
        run list
        like "$(line ft)" "^ft +fake@1 +fake .* yes " "list shows the tool installed"

        runx env MISE_FAKE_FAIL=1 "$MOAT" rebuild iso
        is "$RC" 1 "a failing rebuild fails"
        like "$ERR" "previous install is unchanged" "and says the old install is kept"
        run run iso c
        is "$OUT" "fake@2 v1 c" "the old install still runs after a failed rebuild"
        is "$(ls -A "$VOL" | grep -c '^\.rebuild')" 0 "a failed rebuild leaves no staging directory"
        runx env MISE_FAKE_MARK=v2 "$MOAT" rebuild iso
        is "$RC" 0 "a rebuild succeeds"
        like "$OUT" "removed the previous install of iso" "and removes the old volume"
        run run iso d
        is "$OUT" "fake@2 v2 d" "the rebuilt tool runs"
        runx env MISE_FAKE_MARK=v3 "$MOAT" rebuild
        is "$RC" 0 "rebuild without names rebuilds every installed tool"
        run run ft e
        is "$OUT" "fake@1 v3 e" "the shared-volume tool is rebuilt in place"
        run run iso f
        is "$OUT" "fake@2 v3 f" "the isolated tool is rebuilt"
        run rebuild hello
        like "$ERR" 'nothing to rebuild: the profile has no "tool"' "rebuild of a system profile is a clear error"

        # Things prune removes: an orphaned isolated volume with its record,
        # a volume whose profile is no longer isolated, a leftover staging
        # directory. Things it must not follow: links planted in caches.
        fake gone fake@3 true
        fake wasiso fake@4 true
        run install gone wasiso
        is "$RC" 0 "two more isolated tools installed"
        rm "$TOOLS/gone.json"
        fake wasiso fake@4 false
        mkdir "$VOL/.rebuild-iso.XXXX"
        mkdir -p "$T/outside/dir"
        echo precious > "$T/outside/file"
        echo precious > "$T/outside/dir/inner"
        ln -s "$T/outside/file" "$VOL/shared/cache/evil-file"
        ln -s "$T/outside/dir" "$VOL/shared/cache/evil-dir"
        ln -s "$T/outside" "$VOL/shared/cache/blobs/evil-parent"
        rm -rf "$VOL/iso/downloads"
        ln -s "$T/outside/dir" "$VOL/iso/downloads"
        mkdir -p "$VOL/shared/cache/ro/sub"
        echo x > "$VOL/shared/cache/ro/sub/f"
        chmod 555 "$VOL/shared/cache/ro/sub" "$VOL/shared/cache/ro"

        run prune
        is "$RC" 0 "prune without --yes (not a terminal) succeeds"
        like "$OUT" "would remove .*volumes/shared/cache \(cache, " "it lists the caches"
        like "$OUT" "run \`moat prune --yes\`" "and says how to remove them"
        [ -d "$VOL/shared/cache" ] && [ -d "$VOL/gone" ]
        ok $? "and removes nothing"

        run prune --yes
        is "$RC" 0 "prune --yes succeeds"
        like "$OUT" "removed .*volumes/shared/cache \(cache, [0-9.]+ MiB\)" "each removal is printed with its size"
        like "$OUT" "removed .*volumes/shared/downloads \(mise's downloads" "mise's downloads are removed"
        like "$OUT" "removed .*volumes/gone \(no profile \"gone\" any more" "an orphaned isolated volume is removed"
        like "$OUT" "removed .*installed/gone\.json" "its record is removed"
        like "$OUT" "removed .*volumes/wasiso \(profile \"wasiso\" is no longer isolated" \
                "a volume of a profile no longer isolated is removed"
        like "$OUT" "removed .*volumes/\.rebuild-iso\.XXXX" "a leftover staging directory is removed"
        like "$OUT" "freed [0-9]+\.[0-9] MiB" "a total is printed"
        is "$(cat "$T/outside/file" 2>&1)" precious "a file a planted link pointed at survives"
        is "$(cat "$T/outside/dir/inner" 2>&1)" precious "a directory a planted link pointed at survives"
        [ ! -e "$VOL/shared/cache" ] && [ ! -e "$VOL/iso/downloads" ] && [ ! -e "$VOL/gone" ] && \
                [ ! -e "$XDG_DATA_HOME/moat/installed/gone.json" ] && [ ! -e "$VOL/wasiso" ]
        ok $? "what was listed is gone"
        [ -e "$XDG_DATA_HOME/moat/installed/ft.json" ] && [ -e "$XDG_DATA_HOME/moat/installed/iso.json" ]
        ok $? "records of tools in use are kept"
        run run ft g
        is "$OUT" "fake@1 v3 g" "a shared-volume tool still runs after prune"
        run run iso h
        is "$OUT" "fake@2 v3 h" "an isolated tool still runs after prune"
        run prune --yes
        like "$OUT" "Nothing to prune" "a second prune finds nothing"
else
        for i in $(seq 1 35); do skip "install, rebuild and prune: moat cannot create a sandbox here"; done
fi

done_testing

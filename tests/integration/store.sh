#!/bin/bash
# moat get and the store: every profile pinned and loadable, nothing saved
# unless everything checks out, the same store served over HTTP.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
new_project

scratch=$(mktemp -d /tmp/moat-store.XXXXXX)
_cleanup+=("rm -rf '$scratch'")
export HOME=$scratch/home XDG_CONFIG_HOME=$scratch/config XDG_DATA_HOME=$scratch/data
mkdir -p "$HOME"
unset MOAT_STORE MOAT_STORE_SHA256
tools=$XDG_CONFIG_HOME/moat/tools

# Every run's stderr is kept: most runs here fail on purpose, so a sanitizer
# report on those paths shows only in what they print.
eval "$(declare -f run | sed '1s/^run /lib_run /')"
run() { lib_run "$@"; printf '%s\n' "$ERR" >> "$scratch/stderr"; }

# The store this moat finds by itself (the source tree's, or the installed one).
run get --list
STORE=$(printf '%s\n' "$OUT" | sed -n '1s/^store: //p')
if [ "$RC" -ne 0 ] || [ ! -f "$STORE/index.json" ]; then
        echo "1..0 # SKIP moat finds no store directory: $ERR"
        exit 0
fi
pass "moat get --list finds the store at $STORE"

# --- the committed store -------------------------------------------------
names=$(sed -n 's/^    "\([^"]*\)": {"sha256".*/\1/p' "$STORE/index.json")
"$STORE/update-index" --check 2>&1
ok $? "index.json pins exactly the profiles in store/ (store/update-index --check)"
bad=""
for n in $names; do
        want=$(sed -n "s/^    \"$n\": {\"sha256\": \"\\([0-9a-f]*\\)\".*/\\1/p" "$STORE/index.json")
        got=$(sha256sum < "$STORE/$n.json" | cut -c1-64)
        [ "$want" = "$got" ] || bad="$bad $n"
done
is "$bad" "" "every index entry's sha256 is its file's"
missing=""
for n in bat black cargo claude eslint fd go gofmt golangci-lint hyperfine mypy node npm npx pip prettier pytest \
        python python3 rg ruff rustc rustfmt tokei tsc typst uv uvx; do
        printf '%s\n' "$names" | grep -qx -- "$n" || missing="$missing $n"
done
is "$missing" "" "the store has coco's 28 tools"
hosts=$(grep -ho '"allowed_hosts": \[[^]]*\]\|"install_hosts": \[[^]]*\]' "$STORE"/*.json | sort -u)
is "$hosts" '"allowed_hosts": ["api.anthropic.com"]' "the only host the store names is claude's API"

# Every profile loads through moat's own parser, with what it says.
mkdir -p "$tools" "$HOME/.local/share/claude"
for n in $names; do cp "$STORE/$n.json" "$tools/"; done
failed=""
for n in $names; do
        run explain "$n"
        [ "$RC" -eq 0 ] || { failed="$failed $n"; diag "$n: $ERR"; }
done
is "$failed" "" "moat explain loads every store profile ($(printf '%s\n' "$names" | wc -l | tr -d ' '))"
run explain rg
like "$OUT" "$PROJECT +read-only" "rg: the project is read-only"
like "$OUT" "network: +none" "rg: no network"
run explain prettier
like "$OUT" "$PROJECT +read-write" "prettier: the project is writable"
run explain npm
like "$OUT" "no rules: every connection is refused" "npm: the proxy, no host allowed until named"
run explain claude
like "$OUT" "allow api.anthropic.com" "claude: only the API host"
rm -rf "$tools"

# --- moat get from the store ----------------------------------------------
run get rg --yes
is "$RC" 0 "get rg --yes"
cmp -s "$STORE/rg.json" "$tools/rg.json"
ok $? "the saved profile is the store's, byte for byte"
is "$(stat -c %a "$tools/rg.json")" 644 "saved with mode 0644"
like "$OUT" "files: +the project \(the current directory\), read-only" "the summary shows the read-only project"
like "$OUT" "network: +none" "the summary shows no network"
like "$OUT" "tool: +aqua:BurntSushi/ripgrep" "the summary shows the tool spec"
is "$(ls -A "$tools")" rg.json "no temporary file is left"

echo "# mine" > "$tools/rg.json"
run get rg --yes
unlike "$RC" "^0$" "an existing profile is not replaced without --force"
like "$ERR" "$tools/rg.json already exists: pass --force" "the error names the file and the flag"
is "$(cat "$tools/rg.json")" "# mine" "the existing file is untouched"
run get rg --yes --force
is "$RC" 0 "--force replaces it"
cmp -s "$STORE/rg.json" "$tools/rg.json"
ok $? "with the store's bytes"

run get fd
unlike "$RC" "^0$" "without --yes and without a terminal, get refuses"
like "$ERR" "pass --yes" "and says to pass --yes"
like "$OUT" "fd: " "after showing what fd grants"
[ ! -e "$tools/fd.json" ]
ok $? "nothing was saved"

if command -v script >/dev/null; then
        printf 'n\n' > "$scratch/answer"
        script -qec "$MOAT get fd" /dev/null < "$scratch/answer" > "$scratch/tty.out" 2>&1
        like "$(cat "$scratch/tty.out")" "Save it to .*fd.json\? \[y/N\]" "on a terminal, get asks"
        [ ! -e "$tools/fd.json" ]
        ok $? "answering n saves nothing"
        printf 'y\n' > "$scratch/answer"
        script -qec "$MOAT get fd" /dev/null < "$scratch/answer" > "$scratch/tty.out" 2>&1
        cmp -s "$STORE/fd.json" "$tools/fd.json"
        ok $? "answering y saves it"
        rm -f "$tools/fd.json"
else
        skip "script(1) missing: the terminal prompt is not tested"
        skip "script(1) missing"
        skip "script(1) missing"
fi

run get claude npm --yes
is "$RC" 0 "get two at once"
like "$OUT" "~/.local/share/claude, read-write at ~/.claude inside" "claude's state directory is shown, writable"
like "$OUT" "ANTHROPIC_API_KEY: yours, when set" "the variable passed in is shown"
like "$OUT" "network: +only these hosts, through moat's egress proxy: api.anthropic.com" "claude's network is shown"
like "$OUT" "network: +none allowed: moat's egress proxy refuses every connection" "npm's network is shown"
rm -f "$tools"/*

# --- names --------------------------------------------------------------
for bad in a/b ../rg rg/.. .. ; do
        run get "$bad" --yes
        unlike "$RC" "^0$" "'$bad' is refused"
done
run get a/b --yes
like "$ERR" "\"a/b\": a store name has no '/'" "a slash: one clear error"
run get .. --yes
like "$ERR" "a store name has no \"..\"" "'..': one clear error"
run get prettir --yes
like "$ERR" "\"prettir\" is not in the store at .*did you mean \"prettier\"" "an unknown name: did you mean"
run get bat nosuch --yes
unlike "$RC" "^0$" "one unknown name among several fails the lot"
[ -z "$(ls -A "$tools" 2>/dev/null)" ]
ok $? "nothing was saved, not even the good one"
run get --frce rg
like "$ERR" "unknown option '--frce' \(did you mean '--force'\?\)" "an unknown flag: did you mean"

# --- a tampered store -----------------------------------------------------
copy=$scratch/store-copy
cp -r "$STORE" "$copy"
printf ' ' >> "$copy/fd.json"
tampered=$(sha256sum < "$copy/fd.json" | cut -c1-64)
pinned=$(sed -n 's/^    "fd": {"sha256": "\([0-9a-f]*\)".*/\1/p' "$copy/index.json")
MOAT_STORE=$copy run get bat fd --yes
unlike "$RC" "^0$" "a profile that does not match its checksum is refused"
like "$ERR" "store entry \"fd\" .*sha256 is $tampered, but the store's index pins $pinned; nothing was saved" \
        "the error names the entry and both sums"
[ -z "$(ls -A "$tools" 2>/dev/null)" ]
ok $? "nothing was written, not even the good entry"

# A consistent forgery (profile and index rewritten) fails on the index,
# which this moat pins; MOAT_STORE_SHA256 pins a store of one's own.
cat > "$copy/web.json" <<'EOF'
{
  "description": "a test profile with every grant",
  "tool": "npm:example-web@1",
  "mounts": [
    {"src": ".", "dst": "/workspace"},
    {"src": "~/data", "dst": "/data", "opts": "ro"}
  ],
  "env": {"MODE": "dev"},
  "env_passthrough": ["TOKEN"],
  "network": "host",
  "ports": ["8080:3000"]
}
EOF
"$copy/update-index"
own=$(sha256sum < "$copy/index.json" | cut -c1-64)
MOAT_STORE=$copy run get fd --yes
unlike "$RC" "^0$" "an index other than the pinned one is refused"
like "$ERR" "index.json has sha256 $own, but this moat was built with" "the error names the index's sum"
like "$ERR" "MOAT_STORE_SHA256=$own" "and how to pin a store of one's own"
MOAT_STORE=$copy MOAT_STORE_SHA256=$own run get web --yes
is "$RC" 0 "MOAT_STORE_SHA256 pins another index"
like "$OUT" "network: +the host's network, all of it" "host network is shown"
like "$OUT" "ports: +8080:3000" "ports are shown"
like "$OUT" "~/data, read-only at /data inside \(missing" "a read-only mount is shown, missing source noted"
like "$OUT" "TOKEN: yours, when set" "a passed variable is shown"
like "$OUT" "MODE=dev" "a set variable is shown"
MOAT_STORE=$copy MOAT_STORE_SHA256=$pinned run get web --yes --force
like "$ERR" "but MOAT_STORE_SHA256 is $pinned" "a wrong MOAT_STORE_SHA256 is refused"
rm -f "$tools"/*

# --- the store over HTTP --------------------------------------------------
if command -v python3 >/dev/null && command -v curl >/dev/null; then
        served=$scratch/served
        cp -r "$STORE" "$served"
        python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$served" > "$scratch/http.log" 2>&1 &
        http_pid=$!
        _cleanup+=("kill $http_pid 2>/dev/null")
        port=""
        for _ in $(seq 50); do
                port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$scratch/http.log" | head -1)
                [ -n "$port" ] && break
                sleep 0.1
        done
        export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
        unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY ALL_PROXY all_proxy
        url=http://127.0.0.1:$port
        MOAT_STORE=$url/ run get tokei black --yes
        is "$RC" 0 "get from a store served over HTTP"
        cmp -s "$STORE/tokei.json" "$tools/tokei.json" && cmp -s "$STORE/black.json" "$tools/black.json"
        ok $? "the fetched profiles are the store's"
        MOAT_STORE=$url run get --list
        like "$OUT" "^store: $url" "--list names the URL"
        printf ' ' >> "$served/pip.json"
        MOAT_STORE=$url run get pip --yes
        like "$ERR" "store entry \"pip\" \($url/pip.json\): its sha256 is" "a tampered file over HTTP is refused"
        [ ! -e "$tools/pip.json" ]
        ok $? "and not saved"
        MOAT_STORE=$url/missing run get rg --yes
        like "$ERR" "fetching $url/missing/index.json: curl: \(22\)" "a missing store says what curl said"
        head -c 2000000 /dev/zero | tr '\0' ' ' > "$served/big.json"
        mkdir "$served/big" && mv "$served/big.json" "$served/big/index.json"
        MOAT_STORE=$url/big run get rg --yes
        like "$ERR" "big/index.json.*(larger than|Maximum file size)" "an oversized index is cut off"
        kill $http_pid 2>/dev/null

        # A server that never says how long its answer is: curl cannot
        # stop it, so moat's own cap must.
        python3 -u -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        self.send_response(200); self.end_headers()
        try:
            while True: self.wfile.write(b" " * 65536)
        except OSError: pass
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("port", s.server_address[1], "ready")
s.serve_forever()' > "$scratch/endless.log" 2>&1 &
        endless_pid=$!
        _cleanup+=("kill $endless_pid 2>/dev/null")
        port=""
        for _ in $(seq 50); do
                port=$(sed -n 's/^port \([0-9]*\) ready/\1/p' "$scratch/endless.log")
                [ -n "$port" ] && break
                sleep 0.1
        done
        MOAT_STORE=http://127.0.0.1:$port run get rg --yes
        like "$ERR" "index.json: larger than 1048576 bytes" "an endless answer is cut off by moat's own cap"
        kill $endless_pid 2>/dev/null
else
        skip "python3 or curl missing: the HTTP store is not tested"
fi

unlike "$(cat "$scratch/stderr")" "Sanitizer|runtime error:" "no sanitizer report on any path, failing ones included"
done_testing

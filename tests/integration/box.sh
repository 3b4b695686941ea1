#!/bin/bash
# Boxes: a workspace and a home that persist between runs, settings kept
# with the box, a history, one run at a time, and clear errors.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
new_project
base=$(mktemp -d /tmp/moat-box.XXXXXX)
_cleanup+=("rm -rf '$base'")
export XDG_DATA_HOME=$base
json() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2" 2>&1; }

run box create b1 --profile fast --memory 300 --env GREETING=hi
is "$RC" 0 "box create"
test -f "$base/moat/boxes/b1/box.json" && pass "the box is a directory with its settings" || fail "the box is a directory with its settings"
run box create b1
like "$ERR" "box b1 exists" "creating it again is refused"

run box run b1 -- sh -c 'echo data > kept.txt; touch ~/.in-home; echo "$GREETING"; pwd'
is "$RC" 0 "box run"
like "$OUT" "^hi" "the box's settings apply (--env)"
like "$OUT" "moat/boxes/b1/workspace$" "the workspace is the working directory"
run box run b1 -- sh -c 'cat kept.txt; ls -A ~; ls -A | tr "\n" " "'
is "$(printf '%s' "$OUT" | head -2 | tr '\n' ' ')" "data .in-home " "the workspace and the home persist between runs"
unlike "$OUT" "\.claude|\.envrc" "no protected-path placeholders in a box's workspace"
run box run b1 --lang python -c 'import os; print(open("kept.txt").read().strip(), os.environ["GREETING"])'
is "$OUT" "data hi" "a snippet runs in the box too"
run box run b1 --json -- sh -c 'echo out; exit 3'
is "$RC" 3 "the box run's status is the command's"
is "$(json "$OUT" 'j["stdout"], j["exit_code"], j["limits"]["memory_mib"], j["limits"]["timeout_s"]')" "('out\\n', 3, 300, 60)" \
        "--json: the result, with the box's limit set and its override"
printf 'print("from a file")\n' >script.py
run box exec b1 script.py
is "$OUT" "from a file" "box exec runs a file by its extension"
OUT=$(echo 'cat kept.txt' | "$MOAT" box shell b1 2>/dev/null)
is "$OUT" "data" "box shell reads commands from stdin when it is not a terminal"

# One run at a time.
"$MOAT" box run b1 -- sleep 2 >/dev/null 2>&1 &
bg=$!
sleep 0.7
run box run b1 -- true
is "$RC" 125 "a second run while one is going: 125"
like "$ERR" "busy: box b1 is running another command" "with a clear busy message"
wait $bg

run box history b1 --json
is "$(json "$OUT" 'len(j), j[0]["command"][0], j[2]["language"], j[3]["status"]')" "(6, 'sh', 'python', 3)" \
        "history lists every run with its result, oldest first"
run box ls --json
is "$(json "$OUT" '[(b["name"], b["runs"]) for b in j]')" "[('b1', 6)]" "box ls"

# A crash mid-write leaves the box readable: a torn last history line.
printf '{"started": 1, "sta' >>"$base/moat/boxes/b1/history.jsonl"
run box history b1 --json
is "$(json "$OUT" 'len(j)')" 6 "a torn history line is skipped"

run box reset b1
is "$RC" 0 "box reset"
run box run b1 -- sh -c 'ls -A; ls -A ~; echo "$GREETING"'
is "$OUT" "hi" "reset empties workspace and home, keeps the settings"

# A symlink planted inside must not make reset or rm delete outside.
echo precious >"$base/outside.txt"
run box run b1 -- sh -c "ln -s '$base/outside.txt' link; mkdir d; ln -s '$base' d/up"
run box reset b1
is "$(cat "$base/outside.txt")" precious "reset removes links, never what they point to"
run box rm b1
is "$RC" 0 "box rm"
test -e "$base/moat/boxes/b1" && fail "the box is gone" || pass "the box is gone"
is "$(cat "$base/outside.txt")" precious "and nothing outside it"

run box run b1 -- true
like "$ERR" "no box named b1" "a missing box"
for bad in ../x a/b .hidden -x ''; do
        run box create "$bad"
        [ "$RC" = 125 ] && printf '%s' "$ERR" | grep -q "box name\|a name is needed" && pass "bad box name '$bad' refused" ||
                { fail "bad box name '$bad' refused"; diag "$ERR"; }
done
run box create b2 -- ls
like "$ERR" "only \`moat run\` options" "create with a command is refused"
run box create b3 --memroy 5
like "$ERR" "did you mean '--memory'" "create checks its options"
test -e "$base/moat/boxes/b3" && fail "and leaves nothing behind" || pass "and leaves nothing behind"
run box frobnicate
like "$ERR" "unknown command" "an unknown box command"
# The same through the JSON API (moat api, serve and mcp share it).
run api '{"op": "box.create", "box": "j1", "profile": "dev", "env": {"X": "1"}, "limits": {"timeout": 20}}'
is "$(json "$OUT" 'j["ok"]')" True "api: box.create"
run api '{"op": "box.run", "box": "j1", "command": ["sh", "-c", "echo $X > f; cat f"]}'
is "$(json "$OUT" 'j["stdout"], j["limits"]["timeout_s"]')" "('1\\n', 20)" "api: box.run with the box's settings"
run api '{"op": "box.run", "box": "j1", "lang": "python", "code": "print(open(\"f\").read().strip())"}'
is "$(json "$OUT" 'j["stdout"]')" "1" "api: a snippet sees what the last run wrote"
run api '{"op": "box.history", "box": "j1"}'
is "$(json "$OUT" 'len(j["history"]), j["history"][1]["language"]')" "(2, 'python')" "api: box.history"
run api '{"op": "box.ls"}'
is "$(json "$OUT" '[b["name"] for b in j["boxes"]]')" "['j1']" "api: box.ls"
run api '{"op": "box.rm", "box": "j1"}'
run api '{"op": "box.run", "box": "j1", "command": ["true"]}'
like "$(json "$OUT" 'j["error"]')" "no box named j1" "api: a missing box"
run api '{"op": "box.create", "box": "../x"}'
like "$(json "$OUT" 'j["error"]')" "box name" "api: a hostile box name"
run api '{"op": "box.frob", "box": "x"}'
like "$(json "$OUT" 'j["error"]')" "unknown op" "api: an unknown op"
done_testing

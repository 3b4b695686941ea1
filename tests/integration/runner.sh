#!/bin/bash
# The code runner: snippets, files and stdin in python, bash, sh and node;
# limit sets; output captured to a limit; the JSON result; `moat api`.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
new_project

json() { # json TEXT EXPR: evaluates a python expression over the parsed object j
        python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2" 2>&1
}

run run --lang python -c 'print(6*7)'
is "$OUT" 42 "--lang python -c runs a snippet"
run run --lang bash -c 'echo "${BASH_VERSION%%.*}" | grep -q . && echo bash'
is "$OUT" bash "--lang bash"
run run --lang sh -c 'echo sh; exit 3'
is "$RC:$OUT" "3:sh" "--lang sh: the exit status passes through"
if command -v node >/dev/null; then
        run run --lang node -c 'console.log([1,2].map(x => x * 2).join(","))'
        is "$OUT" "2,4" "--lang node"
else
        skip "node is not installed"
fi
printf 'import sys\nprint("file", sys.argv[0])\n' >prog.py
run run --lang python prog.py
like "$OUT" "^file /run/moat/main.py" "--lang python FILE runs the file (read-only, in the sandbox)"
OUT=$(printf 'echo from stdin\n' | "$MOAT" run --lang sh 2>/dev/null)
is "$OUT" "from stdin" "code on stdin"
run run --lang python -c 'import os; print(os.getcwd() == os.path.expanduser("~"), os.path.exists("'"$PROJECT"'"))'
is "$OUT" "True False" "a snippet runs in an empty sandbox: no project"

# The result object.
run run --lang python --json -c 'import sys; print("out"); print("err", file=sys.stderr); sys.exit(5)'
is "$RC" 5 "--json: the exit status is still the program's"
is "$(json "$OUT" 'j["stdout"], j["stderr"], j["exit_code"], j["language"]')" "('out\\n', 'err\\n', 5, 'python')" \
        "--json: stdout and stderr apart, exit code, language"
is "$(json "$OUT" 'j["limits"]["memory_mib"], j["limits"]["timeout_s"], j["timed_out"], j["oom_killed"]')" \
        "(256, 30, False, False)" "the safe limit set is the default, and is reported"
run run --lang python --json -c 'import os; os.write(1, b"\xff\x00ok")'
is "$(json "$OUT" 'j["stdout"] == "\ufffd\x00ok"')" True \
        "binary output stays valid JSON (NUL escaped, bad bytes as U+FFFD)"

# Output past the limit is counted and dropped while the program runs on.
run run --lang python --json --output-limit 1000 -c 'import sys
for i in range(20000): print("x" * 99)
print("done", file=sys.stderr)'
is "$(json "$OUT" 'j["output_truncated"], j["stdout_bytes"], j["stderr"]')" "(True, 2000000, 'done\\n')" \
        "output past the limit: truncated, counted, and the program finished"
like "$(json "$OUT" 'j["stdout"][-60:]')" "output truncated: 1999000 more bytes" "with a marker saying how much"
run run --lang python --output-limit 10 -c 'print("y" * 100)'
is "$OUT" "yyyyyyyyyy" "without --json the output is passed on up to the limit"
like "$ERR" "output truncated" "and the cut is reported"

# Limits by name, and flags over them.
run run --lang python --json --timeout 1 -c 'while True: pass'
is "$(json "$OUT" 'j["status"], j["timed_out"]')" "(124, True)" "a busy loop hits the timeout: 124"
run run --lang python --json --profile safe -c 'x = bytearray(512 << 20)'
is "$(json "$OUT" 'j["status"] != 0, j["limits"]["memory_mib"]')" "(True, 256)" "the safe set's memory limit holds"
run run --lang python --json --profile dev -c 'x = bytearray(512 << 20); print(len(x))'
is "$(json "$OUT" 'j["stdout"], j["limits"]["memory_mib"]')" "('536870912\\n', 2048)" "the dev set has room for it"
run run --lang sh --json --profile safe -c 'for i in $(seq 100); do sleep 2 & done; wait'
is "$(json "$OUT" 'j["limits"]["pids"]')" 64 "the safe set caps processes"
like "$(json "$OUT" 'j["stderr"]')" "fork|Resource|retry" "and a fork loop runs into it"
head -c 300000 /dev/zero | tr '\0' '#' >big.sh
run run --lang sh big.sh
like "$ERR" "above the safe limit set's" "code above the limit set's size is refused"
run run --lang cobol -c 'x'
is "$RC" 125 "an unknown language: 125"
like "$ERR" "unknown language \"cobol\" \\(expected python, bash, sh, node\\)" "naming the languages"
run run --lang python --profile huge -c 'x'
like "$ERR" "unknown limit set" "an unknown limit set"
run run --lang python --mode paranoid -c 'x'
like "$ERR" "expected strict, balanced or dev" "an unknown mode"
run run --lang python --mode strict --net host -c 'x'
like "$ERR" "strict refuses --net host" "strict refuses the host's network"
run run --lang python --mode strict --rw "$PROJECT" -c 'x'
like "$ERR" "strict refuses writable host mounts" "strict refuses writable host mounts"
run run --lang python --mode strict --json -c 'print(1)'
is "$(json "$OUT" 'j["stdout"], j["protection"]')" "('1\\n', 'full')" "strict runs when every protection is in force"

# Ceilings.
cat >policy.json <<'EOF'
{ "limits": { "memory": 512, "timeout": 60, "output": 2000000 }, "network": false, "languages": ["python"] }
EOF
run run --lang python --policy policy.json -c 'print("ok")'
is "$OUT" ok "a request under the ceilings runs"
run run --lang python --policy policy.json --profile dev -c 'print("ok")'
like "$ERR" "\"memory\" is 2048, above the policy's ceiling of 512" "a request above a ceiling is refused, not lowered"
run run --lang sh --policy policy.json -c 'echo x'
like "$ERR" "does not allow language sh" "a language the policy does not list"
run run --lang python --policy policy.json --allow example.com -c 'x'
like "$ERR" "allows no network" "network the policy forbids"
echo '{ "limits": { "memroy": 1 } }' >bad-policy.json
run run --lang python --policy bad-policy.json -c 'x'
like "$ERR" "bad-policy.json:1:15: \"limits\": unknown limit \"memroy\"" "a bad policy file: FILE:LINE:COL"

# moat api: one request in, one response out.
run api '{"lang": "python", "code": "import sys; print(sys.stdin.read().upper())", "stdin": "abc"}'
is "$(json "$OUT" 'j["stdout"], j["status"]')" "('ABC\\n', 0)" "api: a snippet with stdin"
OUT=$(echo '{"command": ["sh", "-c", "echo hi; exit 4"], "profile": "fast", "limits": {"timeout": 5}}' | "$MOAT" api)
is "$(json "$OUT" 'j["stdout"], j["exit_code"], j["limits"]["timeout_s"], j["limits"]["memory_mib"]')" \
        "('hi\\n', 4, 5, 512)" "api: a command from stdin, a limit set with an override"
run api '{"lang": "python", "cod": "x"}'
is "$(json "$OUT" 'j["status"], j["error"]')" "(125, 'request:1:20: \"cod\": unknown field (did you mean \"code\"?)')" \
        "api: an unknown field, with its position and a suggestion"
run api '{"lang": "python"'
like "$(json "$OUT" 'j["error"]')" "^request:1:" "api: malformed JSON is an error object"
run api '{"lang": "python", "code": 5}'
like "$(json "$OUT" 'j["error"]')" "expected a string, found number" "api: a wrong type"
run api '{"command": []}'
like "$(json "$OUT" 'j["error"]')" "\"command\" is empty" "api: an empty command"
OUT=$(head -c 9000000 /dev/zero | tr '\0' ' ' | "$MOAT" api)
like "$(json "$OUT" 'j["error"]')" "larger than 8 MiB" "api: an oversized request is refused"
run api '{"lang": "python", "code": "print(1)", "allow": ["not a host!"]}'
is "$(json "$OUT" 'j["status"]')" 125 "api: a bad host rule"
run api '{"lang": "python", "code": "import time; time.sleep(30)", "limits": {"timeout": 1}}'
is "$(json "$OUT" 'j["timed_out"], j["stderr"]')" "(True, '')" "api: moat's own messages stay out of the program's stderr"

done_testing

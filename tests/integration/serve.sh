#!/bin/bash
# moat serve: the code runner on a Unix socket. Requests and their answers,
# many clients at once, bad input, the bounded queue, the socket's mode and
# the refusals around its path, and a clean stop that leaves nothing behind.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
new_project

CLIENT="$TESTS/serve-client.py"
json() { # json TEXT EXPR: evaluates a python expression over the parsed object j
        python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2" 2>&1
}
client() { python3 "$CLIENT" "$@" 2>&1; }
# A marker only the sandboxes of this test carry on their command line:
# requests that hold it reach the client in a file (@FILE), not in argv.
MARK="moat-serve-test-$$"
sandboxes() { pgrep -f "$MARK" | tr '\n' ' '; }
running() { pgrep -f "$MARK-$1" >/dev/null; }
gone() { ! pgrep -f "$MARK-$1" >/dev/null; }
request() { # NAME JSON: writes the request to a file, prints @FILE
        printf '%s\n' "$2" >"$PROJECT/$1.json"
        echo "@$PROJECT/$1.json"
}
# The jobs' temporary files go under here, where the test can see them.
# and boxes under here.
export XDG_RUNTIME_DIR="$PROJECT/rt" XDG_DATA_HOME="$PROJECT/data"
mkdir -m 700 "$XDG_RUNTIME_DIR"

PIDS=()
_cleanup+=('for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; pkill -9 -f "$MARK" 2>/dev/null')
start_server() { # SOCK ARGS...: starts moat serve in the background, waits until it answers
        local sock=$1; shift
        "$MOAT" serve --socket "$sock" "$@" 2>>"$PROJECT/serve.log" &
        SERVER=$!
        PIDS+=("$SERVER")
        for _ in $(seq 100); do
                [ "$(client one "$sock" '{"op": "ping"}')" = '{"ok":true}' ] && return 0
                kill -0 "$SERVER" 2>/dev/null || return 1
                sleep 0.05
        done
        return 1
}
stop_server() { # PID: SIGTERM, then waits up to 20 s; sets STOP_RC
        kill -TERM "$1" 2>/dev/null
        for _ in $(seq 200); do
                kill -0 "$1" 2>/dev/null || break
                sleep 0.1
        done
        if kill -0 "$1" 2>/dev/null; then STOP_RC=timeout; else wait "$1"; STOP_RC=$?; fi
}
wait_for() { # N_TENTHS CMD...: until CMD succeeds
        local n=$1; shift
        for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
        return 1
}

S="$PROJECT/s.sock"
if ! start_server "$S" --workers 4 --queue 16 --grace 5; then
        fail "moat serve starts"; diag "$(cat "$PROJECT/serve.log")"
        done_testing; exit
fi
pass "moat serve starts and listens"
SERVER1=$SERVER

is "$(stat -c '%F %a' "$S")" "socket 600" "the socket is mode 0600"

OUT=$(client one "$S" '{"op": "ping"}' '{"op": "ping", "id": 7}' '{"op": "ping", "id": "x"}')
is "$OUT" $'{"ok":true}\n{"id":7,"ok":true}\n{"id":"x","ok":true}' "ping, with ids echoed"

OUT=$(client one "$S" '{"op": "run", "lang": "python", "code": "print(6*7)"}')
is "$(json "$OUT" 'j["status"], j["stdout"], j["language"], j["limits"]["memory_mib"]')" "(0, '42\\n', 'python', 256)" \
        "a run: the runner's result object"
OUT=$(client one "$S" '{"id": 3, "command": ["sh", "-c", "cat; exit 4"], "stdin": "in", "profile": "fast"}')
is "$(json "$OUT" 'j["id"], j["exit_code"], j["stdout"], j["limits"]["memory_mib"]')" "(3, 4, 'in', 512)" \
        "op defaults to run: a command with stdin and a limit set"

OUT=$(client one "$S" '{"op": "info"}')
is "$(json "$OUT" 'j["version"] == "'"$("$MOAT" version | cut -d' ' -f2)"'", [l["name"] for l in j["limit_sets"]]')" \
        "(True, ['safe', 'fast', 'dev'])" "info: version and limit sets"
INFO=$("$MOAT" info --json)
is "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]) == json.loads(sys.argv[2]))' "$OUT" "$INFO" 2>&1)" \
        "True" "info: the same object as moat info --json"

OUT=$(client pipeline "$S" '{"id": 1, "command": ["sh", "-c", "sleep 0.3; echo first"]}' '{"id": 2, "op": "ping"}' \
        '{"id": 3, "command": ["echo", "third"]}')
is "$(python3 -c 'import json,sys; print([json.loads(l).get("stdout", "ping") for l in sys.stdin])' <<<"$OUT")" \
        "['first\\n', 'ping', 'third\\n']" "pipelined requests on one connection: answered in order"

OUT=$(client concurrent "$S" 8)
is "$OUT" "all 8 answered" "8 clients at once: all answered, each its own"

# Bad input: an error object with a code, and the connection keeps serving.
OUT=$(client one "$S" '{"lang": "python", "code": ' '{"op": "ping"}')
is "$(json "$(head -1 <<<"$OUT")" 'j["status"], j["code"], j["error"][:10]')" "(125, 'bad_request', 'request:1:')" \
        "malformed JSON: bad_request with the position"
is "$(tail -1 <<<"$OUT")" '{"ok":true}' "and the connection keeps serving"
OUT=$(client one "$S" '{"op": "box.frobnicate"}' '[1, 2]' '{"op": 5}' '{"id": [1], "op": "ping"}')
like "$(sed -n 1p <<<"$OUT")" 'unknown op \\"box.frobnicate\\" \(known: run, ping, info, box.create, box.run, box.ls, box.history, box.reset, box.rm\)","code":"unknown_op"' \
        "an unknown op names the known ones"
like "$(sed -n 2p <<<"$OUT")" 'a request is a JSON object' "a request that is no object"
like "$(sed -n 3p <<<"$OUT")" '"op\\": expected a string' "op of the wrong type"
like "$(sed -n 4p <<<"$OUT")" '"id\\": expected a string or a whole number' "id of the wrong type"
OUT=$(client one "$S" '{"lang": "python", "cod": "x"}' '{"lang": "cobol", "code": "x"}' '{"command": ["echo"], "profile": "huge"}')
like "$(sed -n 1p <<<"$OUT")" 'unknown field \(did you mean \\"code\\"\?\)' "an unknown field, with a suggestion"
like "$(sed -n 2p <<<"$OUT")" 'unknown language' "an unknown language"
like "$(sed -n 3p <<<"$OUT")" 'unknown limit set' "an unknown limit set"
OUT=$(client oversize "$S" 9)
is "$(json "$(head -1 <<<"$OUT")" 'j["code"], j["error"]')" \
        "('too_large', 'the request is larger than 8 MiB; the connection is closed')" "an oversized request is refused"
is "$(tail -1 <<<"$OUT")" closed "and its connection closed"
is "$(client one "$S" '{"op": "ping"}')" '{"ok":true}' "the server keeps serving others"

# Boxes through the socket: moat api's box operations.
OUT=$(client one "$S" '{"op": "box.create", "box": "b1", "profile": "fast", "env": {"G": "hi"}, "limits": {"timeout": 20}}' \
        '{"op": "box.run", "box": "b1", "command": ["sh", "-c", "echo $G >> notes; cat notes"]}' \
        '{"op": "box.run", "box": "b1", "id": 5, "lang": "python", "code": "print(open(\"notes\").read().split())"}' \
        '{"op": "box.ls"}' '{"op": "box.history", "box": "b1"}' '{"op": "box.create", "box": "b1"}' \
        '{"op": "box.run", "box": "../etc", "command": ["true"]}' '{"op": "box.run", "box": "nope", "command": ["true"]}' \
        '{"op": "box.reset", "box": "b1"}' '{"op": "box.run", "box": "b1", "command": ["ls", "-A"]}' \
        '{"op": "box.rm", "box": "b1", "id": "rm"}' '{"op": "box.ls"}')
line() { sed -n "$1p" <<<"$OUT"; }
is "$(json "$(line 1)" 'j["status"], j["ok"]')" "(0, True)" "box.create"
is "$(json "$(line 2)" 'j["stdout"], j["limits"]["timeout_s"], j["limits"]["memory_mib"]')" "('hi\n', 20, 512)" \
        "box.run: the box's settings"
is "$(json "$(line 3)" 'j["id"], j["stdout"], j["language"]')" "(5, \"['hi']\\n\", 'python')" \
        "box.run: code in the box sees what the last run wrote"
is "$(json "$(line 4)" '[(b["name"], b["runs"]) for b in j["boxes"]]')" "[('b1', 2)]" "box.ls"
is "$(json "$(line 5)" '[h["status"] for h in j["history"]]')" "[0, 0]" "box.history"
like "$(json "$(line 6)" 'j["status"], j["error"]')" "125, 'box b1 exists" "an existing box: refused"
like "$(json "$(line 7)" 'j["error"]')" "a box name is letters" "a box name with / or ..: refused"
like "$(json "$(line 8)" 'j["error"]')" "no box named nope" "a missing box: refused"
is "$(json "$(line 9)" 'j["ok"]')" True "box.reset"
is "$(json "$(line 10)" 'j["stdout"]')" "" "after a reset the workspace is empty"
is "$(json "$(line 11)" 'j["id"], j["ok"]')" "('rm', True)" "box.rm, with its id"
is "$(json "$(line 12)" 'j["boxes"]')" "[]" "and it is gone"

# A client that hangs up takes its run with it.
client hangup "$S" "$(request hangup '{"command": ["sh", "-c", "sleep 300; : '"$MARK"'-hangup"], "limits": {"timeout": 600}}')"
wait_for 50 running hangup
if wait_for 60 gone hangup; then
        pass "a client hanging up stops its run"
else
        fail "a client hanging up stops its run"; diag "still running: $(pgrep -af "$MARK-hangup")"
fi

# The path: a live socket is not replaced; other files are not touched.
run serve --socket "$S"
is "$RC" 125 "a second server on a live socket is refused"
like "$ERR" "already listening on" "saying why"
is "$(client one "$S" '{"op": "ping"}')" '{"ok":true}' "and the first keeps serving"
echo data >"$PROJECT/file"
run serve --socket "$PROJECT/file"
is "$RC:$(cat "$PROJECT/file")" "125:data" "a file that is not a socket is refused and left alone"
like "$ERR" "is not a socket" "saying why"
mkdir "$PROJECT/elsewhere"
ln -s "$PROJECT/elsewhere/target.sock" "$PROJECT/link.sock"
run serve --socket "$PROJECT/link.sock"
is "$RC" 125 "a symlink planted at the path is refused"
like "$ERR" "is a symbolic link; refusing" "saying why"
is "$(ls -A "$PROJECT/elsewhere")" "" "and not followed: nothing is created at its target"
client stale "$PROJECT/elsewhere/stale.sock"
ln -sf "$PROJECT/elsewhere/stale.sock" "$PROJECT/link2.sock"
run serve --socket "$PROJECT/link2.sock"
is "$RC:$(stat -c %F "$PROJECT/elsewhere/stale.sock")" "125:socket" \
        "a symlink to a stale socket is refused; the socket it names is left alone"

# --policy: ceilings for every request, which a request cannot name away.
echo '{"limits": {"memory": 128}, "languages": ["sh"]}' >"$PROJECT/policy.json"
if start_server "$PROJECT/p.sock" --policy "$PROJECT/policy.json"; then
        OUT=$(client one "$PROJECT/p.sock" '{"command": ["echo", "x"]}' '{"command": ["echo", "x"], "limits": {"memory": 100}}' \
                '{"lang": "python", "code": "print(1)", "limits": {"memory": 100}}' '{"command": ["true"], "policy": "/dev/null"}')
        like "$(sed -n 1p <<<"$OUT")" 'above the policy' "--policy: a request above a ceiling is refused"
        is "$(json "$(sed -n 2p <<<"$OUT")" 'repr(j["stdout"])')" "'x\\n'" "--policy: a request under it runs"
        like "$(sed -n 3p <<<"$OUT")" 'does not allow language python' "--policy: languages"
        like "$(sed -n 4p <<<"$OUT")" 'policy.*: unknown field' "a request cannot name a policy"
        stop_server "$SERVER"
else
        fail "moat serve --policy starts"; diag "$(tail -3 "$PROJECT/serve.log")"
fi
run serve --socket "$PROJECT/q.sock" --policy "$PROJECT/nonexistent.json"
is "$RC" 125 "--policy with a missing file is refused at start"

# A stale socket (nobody listening) is replaced.
S2="$PROJECT/stale.sock"
client stale "$S2"
is "$(stat -c %F "$S2")" socket "a stale socket file is there"
if start_server "$S2" --workers 1 --queue 1 --grace 1; then
        SERVER2=$SERVER
        pass "a server starts over a stale socket"
        like "$(cat "$PROJECT/serve.log")" "replaced the stale socket" "saying so"
else
        fail "a server starts over a stale socket"; diag "$(cat "$PROJECT/serve.log")"
        done_testing; exit
fi

# A full queue: one run, one waiting, the next is busy at once.
LONG=$(request long '{"command": ["sh", "-c", "sleep 300; : '"$MARK"'-busy"], "limits": {"timeout": 600}}')
client one "$S2" "$LONG" >"$PROJECT/a.out" &
PIDS+=($!)
A=$!
wait_for 50 running busy
client one "$S2" "$LONG" >"$PROJECT/b.out" &
PIDS+=($!)
B=$!
sleep 0.5
T0=$(date +%s%N)
OUT=$(client one "$S2" "$LONG")
T1=$(date +%s%N)
is "$(json "$OUT" 'j["status"], j["code"], j["error"][:5]')" "(125, 'busy', 'busy:')" "a full queue answers busy"
like "$OUT" "1 runs in progress and 1 waiting \(--workers 1, --queue 1\)" "saying how full"
is "$(( (T1 - T0) / 1000000 < 2000 ))" 1 "at once"
is "$(client one "$S2" '{"op": "ping"}')" '{"ok":true}' "ping is answered while the workers are busy"

# SIGTERM: the waiting request is answered, the run in flight is stopped
# after the grace period, the socket is removed, nothing is left.
stop_server "$SERVER2"
is "$STOP_RC" 0 "SIGTERM stops the server with status 0"
wait "$A" "$B" 2>/dev/null
like "$(cat "$PROJECT/b.out")" '"code":"stopping"' "the waiting request is answered: stopping"
is "$(json "$(cat "$PROJECT/a.out")" 'j["status"], j["signal"]')" "(143, 15)" \
        "the run in flight is stopped after the grace period, and answered"
is "$(test -e "$S2" && echo there || echo gone)" gone "the socket file is removed"
is "$(sandboxes)" "" "no sandbox process is left"
is "$(ls "$XDG_RUNTIME_DIR" | grep -c moat-serve- || true)" 1 "the stopped server's temporary files are gone"

# The first server: a run in flight finishes within the grace period.
client one "$S" "$(request grace '{"command": ["sh", "-c", "sleep 1; echo finished; : '"$MARK"'-grace"]}')" \
        >"$PROJECT/c.out" &
C=$!
wait_for 50 running grace
stop_server "$SERVER1"
is "$STOP_RC" 0 "SIGTERM with a run in flight: status 0"
wait "$C"
is "$(json "$(cat "$PROJECT/c.out")" 'j["status"], j["stdout"]')" "(0, 'finished\\n')" \
        "the run in flight finished within the grace period, and was answered"
is "$(test -e "$S" && echo there || echo gone)" gone "the socket file is removed"
is "$(sandboxes)" "" "no sandbox process is left"
is "$(ls -A "$XDG_RUNTIME_DIR")" "" "no temporary files are left"
like "$(cat "$PROJECT/serve.log")" "serve: stopped" "the log says it stopped"
unlike "$(cat "$PROJECT/serve.log")" "AddressSanitizer|LeakSanitizer|runtime error" "no sanitizer reports"

done_testing

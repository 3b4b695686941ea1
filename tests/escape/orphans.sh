#!/bin/bash
# Nothing of the sandbox outlives the command or a SIGKILLed supervisor.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
new_project
marker="moat-orphan-$$-$RANDOM"

# Only processes whose argv[0] is the marker: the sleeps, not the shells
# and the moat whose command lines mention it.
count() { pgrep -f "^$marker" | wc -l | tr -d ' '; }

# Background children of a command that exits.
"$MOAT" run -- bash -c "(exec -a $marker-a sleep 300) & (setsid bash -c 'exec -a $marker-b sleep 300' &) ; exit 0" \
        </dev/null >/dev/null 2>&1
sleep 0.3
is "$(count)" 0 "daemonized children die with the command"

# SIGKILL the supervisor while the command and its children run.
"$MOAT" run -- bash -c "(exec -a $marker-c sleep 300) & exec -a $marker-d sleep 300" </dev/null >/dev/null 2>&1 &
sup=$!
for _ in $(seq 50); do [ "$(count)" -ge 2 ] && break; sleep 0.1; done
is "$(count)" 2 "the sandbox's processes are running"
kill -KILL "$sup"
wait "$sup" 2>/dev/null
for _ in $(seq 50); do [ "$(count)" = 0 ] && break; sleep 0.1; done
is "$(count)" 0 "no process remains after the supervisor is SIGKILLed"

# The placeholders of a killed run are removed by the next one.
"$MOAT" run -- sleep 300 </dev/null >/dev/null 2>&1 &
sup=$!
for _ in $(seq 50); do [ -L .envrc ] && break; sleep 0.1; done
kill -KILL "$sup"; wait "$sup" 2>/dev/null
"$MOAT" run -- true </dev/null >/dev/null 2>&1
leftover=$(find . -maxdepth 1 -lname '*moat-protected*' | head -3)
is "$leftover" "" "placeholders of a killed run are swept by the next run"
done_testing

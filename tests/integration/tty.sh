#!/bin/bash
# The supervisor's signals and terminal relay.
# Without a terminal: SIGPIPE, and signals that arrive during set-up.
# A real terminal (tmux): the command gets its own pty, relayed by moat.
# Resize, Ctrl-C, Ctrl-Z/fg, mode restoration, no input injection, and a
# relay that never wedges: a paste the command does not read, an answerback
# flood, a terminal that stops reading.
. "${TESTS}/lib.sh"
require_sandbox
new_project
me=$(id -u)

# Waits for a file to be non-empty; generous bounds only.
wait_file() { # file, timeout(s)
        for _ in $(seq $((${2:-10} * 10))); do [ -s "$1" ] && return 0; sleep 0.1; done
        return 1
}
placeholders() { find "$PROJECT" -maxdepth 2 -lname '*moat-protected*' 2>/dev/null | head -3; }

# To catch moat in the middle of its set-up for sure, a test holds the lock
# moat takes to create its placeholders, on descriptor 9 (which moat must not
# inherit: the lock would be its own).
state_locked() { # -> STATE, a fresh XDG_STATE_HOME whose lock we hold
        STATE=$(mktemp -d /tmp/moat-state.XXXXXX)
        _cleanup+=("rm -rf '$STATE'")
        mkdir -p "$STATE/moat/placeholders"
        exec 9>"$STATE/moat/placeholders/.lock"
        flock -x 9
}
holds_file() { # pid, path
        local f
        for f in /proc/"$1"/fd/*; do [ "$(readlink "$f" 2>/dev/null)" = "$2" ] && return 0; done
        return 1
}
wait_for_lock() { # pid: until moat waits for our lock (30 s at most)
        local waited=0
        while ! holds_file "$1" "$STATE/moat/placeholders/.lock" && [ $waited -lt 300 ]; do
                kill -0 "$1" 2>/dev/null || return 1
                sleep 0.1; waited=$((waited + 1))
        done
}
wait_gone() { # pid, timeout(s)
        local waited=0
        while kill -0 "$1" 2>/dev/null && [ $waited -lt $(($2 * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
        ! kill -0 "$1" 2>/dev/null
}
have_flock=yes
command -v flock >/dev/null || have_flock=

# SIGPIPE: moat's stderr (-v) is a pipe whose reader goes away while moat
# sets up. Writing to it must fail with EPIPE, not kill moat between
# creating its placeholders and removing them.
if [ -n "$have_flock" ]; then
        state_locked
        mkfifo "$STATE/err"
        exec 8<>"$STATE/err"
        XDG_STATE_HOME=$STATE "$MOAT" run -v -- sh -c 'echo ran > sigpipe.marker' </dev/null >/dev/null 2>"$STATE/err" 8<&- 9>&- &
        pid=$!
        wait_for_lock "$pid"
        exec 8<&-  # no reader any more
        exec 9>&-  # moat goes on
        if wait_gone "$pid" 30; then
                wait "$pid"; rc=$?
                is "$rc" 0 "moat survives a stderr nobody reads (no SIGPIPE) and returns the command's status"
                is "$(cat sigpipe.marker 2>/dev/null)" ran "  the command ran"
                is "$(placeholders)" "" "  and the placeholders are removed"
        else
                kill -KILL "$pid"; fail "moat with a broken stderr ends"
        fi
        rm -f sigpipe.marker
else
        skip "SIGPIPE during set-up: flock(1) is not installed"
fi

# ... while the command still gets SIGPIPE as usual: moat's own SIG_IGN is
# not inherited (an ignored signal survives execve).
mark="moat-sigpipe-$$"
out=$(timeout 60 "$MOAT" run -- sh -c "exec yes $mark" </dev/null 2>sigpipe.err | head -1; echo "status ${PIPESTATUS[0]}")
is "$out" "$mark
status 141" "yes | head -1: the first line arrives, the command dies of SIGPIPE and moat says so (128+13)"
unlike "$(cat sigpipe.err)" "Broken pipe" "the command did not see SIGPIPE ignored (no EPIPE message)"
sleep 0.5
pgrep -u "$me" -f "$mark" >/dev/null && fail "nothing of the run is left" || pass "nothing of the run is left"
is "$(placeholders)" "" "no placeholder left after the pipe closed"

# A signal that arrives while moat is still setting up is kept, not lost:
# the relayed signals are blocked from the start of the run, so it waits in
# the signalfd and reaches the command as soon as it runs; set-up and
# clean-up complete.
in_mask() { # pid, SigBlk: or SigIgn:, signal number
        local k v
        while read -r k v; do
                [ "$k" = "$2" ] && { [ $((0x$v & (1 << ($3 - 1)))) -ne 0 ]; return; }
        done <"/proc/$1/status" 2>/dev/null
        return 1
}
signal_during_setup() { # signal name, number
        local name=$1 num=$2 pid rc
        state_locked
        # Job control on: a background job of a script starts with SIGINT
        # ignored.
        set -m
        XDG_STATE_HOME=$STATE "$MOAT" run -vv -- sleep 100 </dev/null >/dev/null 2>"$STATE/log" 9>&- &
        pid=$!
        set +m
        wait_for_lock "$pid"
        if in_mask "$pid" SigIgn: "$num"; then
                # Ignored on entry (a test runner started in the background):
                # the kernel discards it, nothing moat could keep.
                skip "SIG$name during set-up: SIG$name is ignored in this environment"
                kill -KILL "$pid"; exec 9>&-; wait "$pid" 2>/dev/null
                return
        fi
        if in_mask "$pid" SigBlk: "$num"; then pass "SIG$name is held while moat sets up"; else fail "SIG$name is held while moat sets up"; fi
        kill -"$name" "$pid"
        sleep 0.2
        exec 9>&-
        if wait_gone "$pid" 30; then
                wait "$pid"; rc=$?
                is "$rc" $((128 + num)) "SIG$name during set-up ends the run with its status ($((128 + num)))"
                like "$(cat "$STATE/log")" "starting the command" "  through the command: set-up completed"
                is "$(placeholders)" "" "  and nothing is left behind"
        else
                kill -KILL "$pid"; wait "$pid" 2>/dev/null
                fail "SIG$name during set-up ends the run (moat still runs 30 s later: the signal was lost)"
        fi
}
if [ -n "$have_flock" ]; then
        signal_during_setup TERM 15
        signal_during_setup INT 2
else
        skip "signals during set-up: flock(1) is not installed"
fi

if ! command -v tmux >/dev/null; then
        skip "the terminal tests: tmux is not installed"
        done_testing
        exit
fi
sock="$PROJECT/tmux.sock"
T() { tmux -S "$sock" "$@"; }
if ! T -f /dev/null new-session -d -s t -x 100 -y 30 "env PS1='host$ ' bash --norc --noprofile"; then
        skip "the terminal tests: tmux cannot start here"
        done_testing
        exit
fi
# Before the project (and the socket in it) is removed: a server whose
# socket is gone can no longer be told to quit.
_cleanup=("tmux -S '$sock' kill-server 2>/dev/null" "${_cleanup[@]}")
screen() { T capture-pane -p -t t; }
send() { T send-keys -t t "$@"; }
wait_for() { # regex, timeout(s)
        for _ in $(seq $((${2:-10} * 10))); do screen | grep -qE -- "$1" && return 0; sleep 0.1; done
        return 1
}
wait_for 'host\$' 5

send "stty -g > $PROJECT/modes.before; cd $PROJECT" Enter
send "$MOAT run -- bash --norc --noprofile" Enter
wait_for 'bash-[0-9.]+\$|\$ $' 10
send "tty; stty size" Enter
wait_for '^30 100' 5 && pass "the command has a pty with the user's window size" || { fail "pty size"; diag "$(screen)"; }
like "$(screen)" "/dev/pts/0" "a pty of the sandbox's own devpts"

T resize-window -t t -x 80 -y 20 2>/dev/null || T resize-pane -t t -x 80 -y 20
sleep 0.3
send "stty size" Enter
wait_for '^20 80' 5 && pass "a resize reaches the command" || { fail "resize"; diag "$(screen)"; }

send "sleep 100; echo after-sleep" Enter
sleep 0.5
send C-c
wait_for 'bash-[0-9.]+\$ $|\$ $' 5
sleep 0.3
unlike "$(screen)" "^after-sleep" "Ctrl-C interrupts the foreground job inside"
send "echo still-here" Enter
wait_for '^still-here' 5 && pass "the sandboxed shell survives its job's Ctrl-C" || fail "shell alive after Ctrl-C"

send "sleep 100" Enter
sleep 0.5
send C-z
wait_for 'Stopped' 5 && pass "Ctrl-Z stops the job inside (job control)" || { fail "Ctrl-Z"; diag "$(screen)"; }
send "kill %1" Enter
sleep 0.3

# TIOCSTI from inside must not reach the host shell.
if [ -n "$PROBE_IN" ]; then
        send "clear; ./probe tiocsti; echo probe-done" Enter
        wait_for '^probe-done' 5
        blocked "$(screen)" "TIOCSTI and TIOCLINUX are denied"
else
        skip "no probe binary (PROBE)"
fi
send "exit" Enter
wait_for 'host\$ $' 5
sleep 0.3
send "echo injected-check" Enter
wait_for '^injected-check' 5
unlike "$(screen | grep -v 'echo injected-check')" "^x+host|host\\$ x" "nothing was pushed into the host shell"

send "stty -g > $PROJECT/modes.after" Enter
sleep 0.5
is "$(cat "$PROJECT/modes.after" 2>/dev/null)" "$(cat "$PROJECT/modes.before" 2>/dev/null)" "terminal modes are restored on exit"

# A whole-screen program: the sandbox's terminal works for TUIs.
if command -v vi >/dev/null; then
        send "clear; $MOAT run -- vi -u NONE notes.txt" Enter
        sleep 1
        send "i" "hello from vi" Escape ":wq" Enter
        for _ in $(seq 30); do [ -s notes.txt ] && break; sleep 0.1; done
        is "$(cat notes.txt 2>/dev/null)" "hello from vi" "a full-screen editor works in the sandbox's pty"
else
        skip "vi is not installed"
fi

# Ctrl-Z on a command run directly: moat stops with it and resumes with fg.
wait_for 'host\$ $' 5
send "clear" Enter
sleep 0.3
send "$MOAT run -- sh -c 'echo started; sleep 3; echo resumed-ok'" Enter
wait_for '^started' 5
sleep 0.3
send C-z
wait_for 'Stopped|stopped' 5 && pass "Ctrl-Z on the command gives the shell back" || { fail "moat stops with its command"; diag "$(screen)"; }
send "fg" Enter
wait_for 'resumed-ok$' 8 && pass "fg resumes it" || { fail "fg resumes"; diag "$(screen)"; }

# The relay never blocks. Each run gets a window of its own, started from a
# script (not an interactive shell): what is left of a paste once moat has
# exited is swallowed by cat, not run as commands. NAME.status and
# NAME.before/NAME.after (stty -g) tell how it ended.
in_window() { # name, moat run arguments... (PRE: a command to run first)
        local name=$1; shift
        {
                echo "cd $(printf '%q' "$PROJECT")"
                echo "${PRE:-:}"
                echo "stty -g > $name.before"
                echo "$(printf '%q ' "$MOAT" run "$@"); echo \$? > $name.status"
                echo "stty -g > $name.after"
                echo "exec cat > /dev/null"
        } >"$PROJECT/$name.sh"
        T new-window -d -n "$name" "bash --norc --noprofile $PROJECT/$name.sh"
}
window_wait_for() { # name, regex, timeout(s)
        for _ in $(seq $((${3:-10} * 10))); do
                T capture-pane -p -t "$1" | grep -qE -- "$2" && return 0
                sleep 0.1
        done
        return 1
}
# A moat that wedged ignores the SIGHUP of a closing window: kill it (the
# sandbox goes with it).
kill_window_moat() { # name
        local pane
        pane=$(T display-message -p -t "$1" '#{pane_pid}' 2>/dev/null) || return 0
        pkill -KILL -P "$pane" 2>/dev/null
}
ended() { # name, timeout(s), wanted status, description
        if wait_file "$PROJECT/$1.after" "$2"; then
                is "$(cat "$PROJECT/$1.status")" "$3" "$4"
                is "$(cat "$PROJECT/$1.after")" "$(cat "$PROJECT/$1.before")" "  and the terminal's modes are restored"
        else
                fail "$4 (moat still runs after $2 s: the relay is wedged)"
                diag "$(T capture-pane -p -t "$1" | tail -5)"
                kill_window_moat "$1"
        fi
}

# About 1 MiB of lines, to paste.
for i in $(seq 10500); do printf '# line %05d of a paste the command never reads ........................................\n' "$i"; done >"$PROJECT/paste.txt"
head -c 40000 "$PROJECT/paste.txt" >"$PROJECT/paste-40k.txt"

# A command that never reads its terminal while 1 MiB is pasted: the input
# fills the pty and moat's queue, moat stops reading the user's terminal, and
# keeps serving signals and the clock.
in_window paste --timeout 5 -- sh -c 'echo relay-ready; exec sleep 1000'
if window_wait_for paste '^relay-ready' 20; then
        T load-buffer -b big "$PROJECT/paste.txt"
        T paste-buffer -b big -t paste
        ended paste 60 124 "a 1 MiB paste into a command that does not read: --timeout still ends the run (124)"
else
        fail "the paste test's command did not start"; kill_window_moat paste
fi

# Ctrl-C typed behind input the command has not taken: the line discipline
# cannot see it, so moat delivers the interrupt itself (as the line
# discipline would, dropping the pending input).
in_window intr --timeout 60 -- sh -c 'echo relay-ready; exec sleep 1000'
if window_wait_for intr '^relay-ready' 20; then
        T load-buffer -b mid "$PROJECT/paste-40k.txt"
        T paste-buffer -b mid -t intr
        sleep 0.5
        T send-keys -t intr C-c
        ended intr 40 130 "Ctrl-C behind 40 KB of unread input interrupts the command (130)"
else
        fail "the Ctrl-C test's command did not start"; kill_window_moat intr
fi

# An answerback flood: the command asks for the cursor position 30000 times
# without reading the answers (raw mode, as a TUI would be). The answers
# pile up towards the sandbox; output must keep flowing. (-echo: the answers
# still queued when moat exits must not scroll its last output away.)
PRE="stty -echo" in_window dsr --timeout 60 -- sh -c 'stty raw -echo; i=0; while [ $i -lt 30000 ]; do printf "\033[6n"; i=$((i + 1)); done; stty sane; echo; echo flood-done'
ended dsr 80 0 "30000 ESC[6n queries nobody reads: the command completes"
if [ "$(cat "$PROJECT/dsr.status" 2>/dev/null)" = 0 ]; then
        is "$(T capture-pane -p -t dsr | grep -c flood-done)" 1 "  and its last output arrives"
fi
T kill-window -t dsr 2>/dev/null
T kill-window -t paste 2>/dev/null
T kill-window -t intr 2>/dev/null

# A terminal that stops reading: script(1) relays moat's output into a pipe
# nobody reads. The relay stops reading the sandbox, the command blocks on
# its output, and the wall clock still ends it.
if command -v script >/dev/null; then
        mark="moat-stall-$$"
        SHELL=/bin/sh script -qfec "$(printf '%q ' "$MOAT") run --timeout 3 -- yes $mark" /dev/null </dev/null | sleep 120 &
        stall=$!
        for _ in $(seq 200); do pgrep -u "$me" -x yes >/dev/null && pgrep -u "$me" -f "^yes $mark" >/dev/null && break; sleep 0.1; done
        pgrep -u "$me" -f "^yes $mark" >/dev/null && pass "output nobody reads: the command runs" || fail "output nobody reads: the command runs"
        gone=no
        for _ in $(seq 400); do pgrep -u "$me" -f "^yes $mark" >/dev/null || { gone=yes; break; }; sleep 0.1; done
        if [ $gone = yes ]; then
                pass "  --timeout still ends it"
        else
                fail "  --timeout still ends it (the relay is wedged)"
        fi
        kill "$stall" 2>/dev/null
        wait "$stall" 2>/dev/null
        sleep 1
        pgrep -u "$me" -f "$mark" >/dev/null && fail "  nothing of that run is left" || pass "  nothing of that run is left"
        is "$(placeholders)" "" "  no placeholder left"

        # A command that closes its terminal and goes on: the master then
        # reports a hang-up for ever, and moat must wait, not spin.
        mark="moat-hup-$$"
        SHELL=/bin/sh script -qfec "$(printf '%q ' "$MOAT") run -- sh -c 'exec </dev/null >/dev/null 2>&1; exec sleep 6' $mark" /dev/null </dev/null >/dev/null &
        hup=$!
        sleep 2
        sup=
        for p in $(pgrep -u "$me" -f "$mark"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = moat ] && sup=$p; done
        hz=$(getconf CLK_TCK)
        cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
        c0=$(cpu "$sup")
        sleep 2
        c1=$(cpu "$sup")
        if [ -n "$c0" ] && [ -n "$c1" ]; then
                used=$((c1 - c0))
                [ "$used" -lt $((hz / 4)) ] && pass "a command that closed its terminal: moat waits without spinning" ||
                        { fail "a command that closed its terminal: moat waits without spinning"; diag "$used ticks of CPU in 2 s"; }
        else
                fail "a command that closed its terminal: moat found"; diag "pid '$sup'"
        fi
        wait "$hup"
else
        skip "script(1) is not installed"
fi
done_testing

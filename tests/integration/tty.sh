#!/bin/bash
# A real terminal (tmux): the command gets its own pty, relayed by moat.
# Resize, Ctrl-C, Ctrl-Z/fg, mode restoration, and no input injection.
. "${TESTS}/lib.sh"
require_sandbox
command -v tmux >/dev/null || { echo "1..0 # SKIP tmux is not installed"; exit 0; }
new_project

sock="$PROJECT/tmux.sock"
T() { tmux -S "$sock" "$@"; }
T -f /dev/null new-session -d -s t -x 100 -y 30 "env PS1='host$ ' bash --norc --noprofile" || {
        echo "1..0 # SKIP tmux cannot start here"; exit 0; }
_cleanup+=("tmux -S '$sock' kill-server 2>/dev/null")
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
done_testing

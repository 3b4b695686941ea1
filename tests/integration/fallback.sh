#!/bin/bash
# Fail closed, and the weaker modes only when named: run moat under a filter
# that takes user namespaces or Landlock away.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
SHIM=${SHIM:?set SHIM to the test shim}
new_project
nouserns() { "$SHIM" --no-userns -- "$MOAT" "$@"; }

out=$("$SHIM" --no-userns -- "$MOAT" run -- true 2>&1); rc=$?
is "$rc" 125 "without user namespaces moat refuses to run"
like "$out" "namespaces" "and says what is missing"
like "$out" "--allow-weaker userns" "and how to accept a weaker sandbox"

out=$("$SHIM" --no-userns -- "$MOAT" doctor 2>&1)
like "$out" "user namespaces +not available|user namespaces.*NO" "doctor reports missing user namespaces"
like "$out" "landlock-only" "and the level moat can offer"

secret_dir="$HOME/.moat-fallback-secret.$$"
mkdir -p "$secret_dir" && echo TOPSECRET > "$secret_dir/key"
_cleanup+=("rm -rf '$secret_dir'")
weak() { "$SHIM" --no-userns -- "$MOAT" run --allow-weaker userns "$@"; }

out=$(weak -- sh -c 'echo ok > file && cat file' 2>&1)
like "$out" "^ok|\nok" "--allow-weaker userns runs the command"
like "$out" "warning: user namespaces are unavailable" "with a warning saying what is missing"
out=$(weak -- cat "$secret_dir/key" 2>&1)
unlike "$out" TOPSECRET "weak mode: the home directory is not readable (Landlock)"
out=$(weak -- sh -c 'echo x > /usr/moat-pwned && echo WROTE; echo x > "$HOME/../moat-pwned" && echo WROTE' 2>&1)
unlike "$out" WROTE "weak mode: nothing outside the project and a private tmp is writable"
out=$(weak -- sh -c 'echo x > "$HOME/f" && cat "$HOME/f"' 2>&1)
like "$out" "x" "weak mode: a private, writable \$HOME"
if command -v python3 >/dev/null; then
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1 & srv=$!
        _cleanup+=("kill $srv 2>/dev/null")
        sleep 0.5
        out=$(weak -- ./probe connect 127.0.0.1 "$port" 2>&1)
        blocked "$out" "weak mode with --net none: no inet sockets"
fi
sleep 300 & victim=$!
_cleanup+=("kill $victim 2>/dev/null")
out=$(weak -- ./probe signal "$victim" 2>&1)
blocked "$out" "weak mode: host processes cannot be signalled (Landlock scope)"
out=$(weak -- ./probe syscalls 2>&1)
blocked "$out" "weak mode: the seccomp filter is in force"
out=$(weak --mount /usr:/elsewhere -- true 2>&1); rc=$?
is "$rc" 125 "weak mode refuses what it cannot do (moving a mount)"

out=$("$SHIM" --no-landlock -- "$MOAT" run -- true 2>&1); rc=$?
is "$rc" 125 "without Landlock moat refuses to run"
like "$out" "Landlock" "and names it"
out=$("$SHIM" --no-landlock -- "$MOAT" run --allow-weaker landlock -- sh -c 'cat '"$secret_dir"'/key; echo ran' 2>&1)
like "$out" "ran" "--allow-weaker landlock runs with namespaces and seccomp"
unlike "$out" TOPSECRET "and the mount namespace still hides the home directory"

out=$("$SHIM" --no-userns --no-landlock -- "$MOAT" run --allow-weaker userns,landlock -- true 2>&1); rc=$?
is "$rc" 125 "with neither, nothing runs"
done_testing

# Shared helpers for the shell tests: TAP output, temporary projects that
# clean up after themselves, and a few assertions. Source it, call the
# helpers, end with `done_testing`.
set -u
MOAT=${MOAT:?set MOAT to the moat binary}
PROBE=${PROBE:-}
TESTS=${TESTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
_n=0
_failed=0
_cleanup=()

cleanup() { for c in "${_cleanup[@]}"; do eval "$c"; done; }
trap cleanup EXIT

ok() { # cond-status, description
        _n=$((_n + 1))
        if [ "$1" -eq 0 ]; then echo "ok $_n - $2"; else echo "not ok $_n - $2"; _failed=$((_failed + 1)); fi
}
pass() { _n=$((_n + 1)); echo "ok $_n - $1"; }
fail() { _n=$((_n + 1)); echo "not ok $_n - $1"; _failed=$((_failed + 1)); }
skip() { _n=$((_n + 1)); echo "ok $_n # SKIP $1"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

is() { # got, want, description
        if [ "$1" = "$2" ]; then pass "$3"; else fail "$3"; diag "got:  $1" "want: $2"; fi
}
like() { # got, regex, description
        if printf '%s' "$1" | grep -qE -- "$2"; then pass "$3"; else fail "$3"; diag "got: $1" "want match: $2"; fi
}
unlike() {
        if printf '%s' "$1" | grep -qE -- "$2"; then fail "$3"; diag "got: $1" "must not match: $2"; else pass "$3"; fi
}

# A fresh project directory owned by the caller; cd into it. The attack
# probe is copied in as ./probe: the sandbox sees the project, not the
# directory the tests were staged in.
new_project() {
        PROJECT=$(mktemp -d /tmp/moat-proj.XXXXXX)
        _cleanup+=("rm -rf '$PROJECT'")
        cd "$PROJECT" || exit 1
        PROBE_IN=""
        if [ -n "$PROBE" ] && [ -x "$PROBE" ]; then
                cp "$PROBE" "$PROJECT/probe" && PROBE_IN="$PROJECT/probe"
        fi
}

# Passes when the probe ran and reported its attempts blocked: some BLOCKED
# line and no ALLOWED one. A probe that did not run fails, never passes.
blocked() { # output, description
        if printf '%s' "$1" | grep -q ALLOWED; then
                fail "$2"; diag "$(printf '%s' "$1" | grep ALLOWED)"
        elif printf '%s' "$1" | grep -q BLOCKED; then
                pass "$2"
        else
                fail "$2 (the probe did not run)"; diag "$1"
        fi
}

# Runs moat, capturing stdout, stderr and status into OUT, ERR, RC.
run() {
        local o e
        o=$(mktemp) e=$(mktemp)
        "$MOAT" "$@" >"$o" 2>"$e" </dev/null
        RC=$?
        OUT=$(cat "$o"); ERR=$(cat "$e")
        rm -f "$o" "$e"
}

# Skips the whole file (with a reason) when moat cannot sandbox here.
require_sandbox() {
        if ! "$MOAT" run --no-cwd -- true >/dev/null 2>&1; then
                echo "1..0 # SKIP moat cannot create a sandbox here: $("$MOAT" run --no-cwd -- true 2>&1 | head -1)"
                exit 0
        fi
}

done_testing() {
        echo "1..$_n"
        [ "$_failed" -eq 0 ]
}

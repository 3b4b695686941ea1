#!/bin/bash
# A profile's "x11": a real X client under Xvfb reaches the display only
# when the profile asks, through the socket and the Xauthority cookie.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
for p in Xvfb xdpyinfo xauth mcookie; do
        if ! command -v $p >/dev/null; then
                skip "$p is not installed (./bootstrap check installs xvfb, x11-utils and xauth)"
                done_testing
                exit 0
        fi
done
new_project
base=$(mktemp -d /tmp/moat-x11.XXXXXX)
_cleanup+=("rm -rf '$base'")
export XDG_CONFIG_HOME=$base/config
mkdir -p "$XDG_CONFIG_HOME/moat/tools"
echo '{ "command": "xdpyinfo", "x11": true }' >"$XDG_CONFIG_HOME/moat/tools/xinfo.json"
echo '{ "command": "xdpyinfo" }' >"$XDG_CONFIG_HOME/moat/tools/xinfo-plain.json"

# A display number of our own, with a cookie: the client must present it.
for n in $(seq 70 99); do [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || break; done
export XAUTHORITY=$base/xauth DISPLAY=:$n
xauth -q -f "$XAUTHORITY" add "$DISPLAY" . "$(mcookie)"
Xvfb "$DISPLAY" -nolisten tcp -auth "$XAUTHORITY" >/dev/null 2>&1 &
xpid=$!
_cleanup+=("kill $xpid 2>/dev/null")
for _ in $(seq 50); do [ -S "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done

run run xinfo
is "$RC" 0 "an X client runs with \"x11\": true"
like "$OUT" "name of display: +:$n" "and talks to the display"
run run xinfo-plain
isnt_zero=$([ "$RC" -ne 0 ] && echo yes)
is "$isnt_zero" yes "without \"x11\", the display cannot be opened"
run run xinfo-plain --display "$DISPLAY"
[ "$RC" -ne 0 ] && pass "not even when named: no socket inside" || fail "not even when named: no socket inside"
run run -- sh -c 'ls -A /tmp; echo "$DISPLAY"'
unlike "$OUT" "X11|:$n" "a plain run sees no X socket and no DISPLAY"
XAUTHORITY=$base/missing run run xinfo
[ "$RC" -ne 0 ] && pass "the cookie is required: a wrong XAUTHORITY fails" || fail "the cookie is required: a wrong XAUTHORITY fails"
DISPLAY= run run xinfo
like "$ERR" "DISPLAY is not" "\"x11\" without DISPLAY: one clear error"
done_testing

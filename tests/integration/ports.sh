#!/bin/bash
# Port publishing (-p) and host services on purpose (--host-port).
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is not installed"; exit 0; }
command -v curl >/dev/null || { echo "1..0 # SKIP curl is not installed"; exit 0; }
new_project
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }

# A server inside the sandbox, published on the host.
echo published > index.html
hp=$(free_port)
"$MOAT" run -p "$hp:8000" -- python3 -m http.server 8000 --bind 127.0.0.1 </dev/null >/dev/null 2>&1 &
sup=$!
_cleanup+=("kill $sup 2>/dev/null")
if wait_port "$hp"; then
        is "$(curl -s "http://127.0.0.1:$hp/index.html")" published "-p HOSTPORT:PORT reaches the server inside"
        # Many clients at once.
        ok=0
        for i in $(seq 20); do curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$hp/" & done > codes.txt
        wait $(jobs -p | grep -v "^$sup$") 2>/dev/null
        is "$(grep -c 200 codes.txt)" 20 "20 concurrent connections through the published port"
        # Clients that hang up before the connection inside is made must
        # not take the supervisor down (a use-after-free found in review).
        python3 -c "
import socket
for _ in range(300):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\\x01\\0\\0\\0\\0\\0\\0\\0')
    s.connect(('127.0.0.1', $hp)); s.close()"
        sleep 0.3
        is "$(curl -s "http://127.0.0.1:$hp/index.html")" published "300 clients hanging up at once leave the forward working"
else
        fail "-p HOSTPORT:PORT reaches the server inside"
        skip "concurrent connections (the published port never answered)"
        skip "clients hanging up"
fi
ss -ltn 2>/dev/null | grep -q "127.0.0.1:$hp " && pass "published on 127.0.0.1 unless an address is named" ||
        skip "ss is not available to check the bound address"
kill "$sup" 2>/dev/null; wait "$sup" 2>/dev/null

# Nothing listens inside: the host's client sees the connection close.
hp=$(free_port)
"$MOAT" run -p "$hp:8001" -- sleep 3 </dev/null >/dev/null 2>&1 &
sup=$!
sleep 0.5
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$hp/")
is "$code" 000 "a published port with no server inside closes the connection"
kill "$sup" 2>/dev/null; wait "$sup" 2>/dev/null

# A host service reachable on purpose, and only that one.
hp=$(free_port) other=$(free_port)
python3 -m http.server "$hp" --bind 127.0.0.1 >/dev/null 2>&1 & srv=$!
python3 -m http.server "$other" --bind 127.0.0.1 >/dev/null 2>&1 & srv2=$!
_cleanup+=("kill $srv $srv2 2>/dev/null")
wait_port "$hp"; wait_port "$other"
run run --host-port "$hp" -- curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hp/"
is "$OUT" 200 "--host-port PORT reaches the host's 127.0.0.1:PORT"
run run --host-port "$hp" -- curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$other/"
is "$OUT" 000 "and no other port of the host"
run run -- curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$hp/"
is "$OUT" 000 "without --host-port the host's service is out of reach"

# Bad input: one line naming the spec, nothing runs.
busy=$(free_port)
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$busy)); s.listen(); time.sleep(20)" & holder=$!
_cleanup+=("kill $holder 2>/dev/null")
sleep 0.3
run run -p "$busy:80" -- touch ran
is "$RC" 125 "a taken host port gives 125"
like "$ERR" "already in use" "and says so"
test -e ran && fail "nothing ran" || pass "nothing ran"
run run -p 70000:80 -- true
like "$ERR" "from 1 to 65535" "a port out of range is named"
run run -p 9000:80 -p 9000:81 -- true
like "$ERR" "conflicts" "two publishes of one host port conflict"
run run -p nonsense -- true
is "$RC" 125 "a malformed spec gives 125"
run run --net host -p 9000:80 -- true
like "$ERR" "net host" "publishing with --net host is refused"
run run --host-port 0 -- true
is "$RC" 125 "--host-port 0 is refused"
done_testing

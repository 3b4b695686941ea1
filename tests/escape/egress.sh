#!/bin/bash
# Attacks on the egress proxy from inside the sandbox: going around it,
# spelling a forbidden host so that it reads as an allowed one, and
# smuggling a second host past the decision. Each asserts that the
# forbidden thing did not happen (the server saw nothing, or the probe was
# blocked) and, where the proxy is involved, that it refused. Servers are
# on loopback only (and on this machine's own address for the no-route
# test); test names resolve through tests/egress-helpers.sh's hosts file.
. "${TESTS}/lib.sh"
require_sandbox
new_project
. "${TESTS}/egress-helpers.sh"
require_python
require_with_hosts
write_clients

# probe must be inside the project to run inside the sandbox. A sanitizer
# build of it cannot run there (ASan's shadow memory exceeds RLIMIT_DATA):
# then a python equivalent with the same output takes its place.
cat >probe.py <<'EOF'
import errno, socket, sys
host, port = sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET)
s.settimeout(3)
name = 'connect(%s:%d)' % ('[%s]' % host if ':' in host else host, port)
try:
    s.connect((host, port))
    print('ALLOWED ' + name)
except socket.timeout:
    print('BLOCKED %s ETIMEDOUT' % name)
except OSError as e:
    print('BLOCKED %s %s' % (name, errno.errorcode.get(e.errno, e.errno)))
EOF
probe=(./probe)
[ -n "$PROBE" ] && [ -x "$PROBE" ] && cp "$PROBE" "$PROJECT/probe"
run run -- ./probe connect 127.0.0.1 1
if ! printf '%s' "$OUT" | grep -qE '^(BLOCKED|ALLOWED)'; then
        diag "the probe does not run in the sandbox (${ERR%%$'\n'*}): using probe.py"
        probe=("$PY_IN" probe.py)
fi

for f in index.html control first second tunnel userinfo mismatch; do echo "$f" >"$EGRESS_WORK/www/$f"; done
start_server web http --bind 127.0.0.1 --bind ::1 || { fail "the HTTP test server starts on 127.0.0.1 and ::1"; done_testing; exit; }
P=$web_port
ALLOW=(--allow "allowed.test:$P" --allow "127.0.0.1:$P")
# Did any request reach the server since the log was last cleared?
reached() { [ -s "$EGRESS_WORK/web.log" ]; }
clear_log() { : >"$EGRESS_WORK/web.log"; }

# ---- around the proxy ----------------------------------------------------------

hrun run "${ALLOW[@]}" -- "${probe[@]}" connect 127.0.0.1 "$P"
like "$OUT" "^BLOCKED" "direct TCP to the host's 127.0.0.1:$P is blocked ($OUT)"
hrun run "${ALLOW[@]}" -- "${probe[@]}" connect ::1 "$P"
like "$OUT" "^BLOCKED" "direct TCP to the host's [::1]:$P is blocked ($OUT)"
# This machine's own non-loopback address, with a server on it.
own=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)
if [ -n "$own" ] && start_server own echo --bind "$own"; then
        if "$PY_IN" -c "import socket; socket.create_connection(('$own', $own_port), timeout=2)" 2>/dev/null; then
                # The server logs that check on its own time (late under
                # ASan on a loaded machine): wait for it before clearing.
                for _ in $(seq 100); do [ -n "$(server_log own)" ] && break; sleep 0.05; done
                : >"$EGRESS_WORK/own.log"
                hrun run "${ALLOW[@]}" -- "${probe[@]}" connect "$own" "$own_port"
                like "$OUT" "^BLOCKED" "no route to this machine's address $own ($OUT)"
                sleep 0.2
                is "$(server_log own)" "" "and the server there saw no connection"
                # An allowed name that resolves to this machine's own address
                # is the host's services by another door: refused.
                echo "$own own.test" >>"$EGRESS_HOSTS"
                hrun run --allow "own.test:$own_port" -- "$PY_IN" -c "
import socket
s = socket.create_connection(('127.0.0.1', 3128), timeout=5)
s.sendall(b'CONNECT own.test:$own_port HTTP/1.1\\r\\nHost: own.test:$own_port\\r\\n\\r\\n')
print(s.recv(200).decode(errors='replace').splitlines()[0])"
                like "$OUT" "403" "an allowed name resolving to this machine's own address is refused ($OUT)"
                like "$ERR" "an address of this machine" "and the summary says why"
                sleep 0.2
                is "$(server_log own)" "" "and the server there saw no connection"
        else
                skip "this machine's address $own is not reachable from the host itself"
        fi
else
        skip "no non-loopback IPv4 address on this machine"
fi

# UDP and DNS: no resolver inside, no datagram gets out.
hrun run "${ALLOW[@]}" -- sh -c 's=$(date +%s%N); getent hosts allowed.test; r=$?; echo "rc=$r ms=$((($(date +%s%N) - s) / 1000000))"'
like "$OUT" "^rc=[1-9]" "getent hosts allowed.test fails inside (no resolver)"
ms=$(printf '%s' "$OUT" | grep -oE 'ms=[0-9]+' | cut -d= -f2)
[ -n "$ms" ] && [ "$ms" -lt 1000 ] && pass "and fails fast (${ms} ms)" || fail "and fails fast (${ms:-?} ms)"

start_server udp udp || fail "the UDP test server starts"
if "$PY_IN" "$PROJECT/udp.py" 127.0.0.1 "$udp_port" | grep -q ANSWER; then
        : >"$EGRESS_WORK/udp.log"
        hrun run "${ALLOW[@]}" -- "$PY_IN" udp.py 127.0.0.1 "$udp_port"
        like "$OUT" "^(NOANSWER|ERROR)" "a UDP datagram to the host's 127.0.0.1:$udp_port gets no answer ($OUT)"
        is "$(server_log udp)" "" "and never reaches it"
else
        skip "the UDP server does not answer on the host"
fi
hrun run "${ALLOW[@]}" -- "$PY_IN" udp.py 127.0.0.53 53
like "$OUT" "^(NOANSWER|ERROR)" "a DNS query to 127.0.0.53:53 gets no answer ($OUT)"
ns=$(awk '$1 == "nameserver" {print $2; exit}' /etc/resolv.conf 2>/dev/null)
if [ -n "$ns" ]; then
        hrun run "${ALLOW[@]}" -- "$PY_IN" udp.py "$ns" 53
        like "$OUT" "^(NOANSWER|ERROR)" "a DNS query to the host's nameserver $ns gets no answer ($OUT)"
else
        skip "no nameserver in /etc/resolv.conf"
fi

# ---- loopback, spelled every way, when only allowed.test is allowed -----------

clear_log
if command -v curl >/dev/null; then
        for u in "127.0.0.1" "2130706433" "0x7f.1" "0177.0.0.1" "[::1]" "[::ffff:127.0.0.1]" "localhost"; do
                hrun run --allow "allowed.test:$P" -- curl -sS -o /dev/null -w '%{http_code}' --noproxy '' \
                        --max-time 10 "http://$u:$P/"
                is "$OUT" 403 "curl http://$u:$P/ through the proxy: 403"
        done
else
        skip "curl not installed"
fi
# The same spellings as raw bytes: curl may tidy some of them up first.
# 0.0.0.0 and :: reach this machine's loopback when connected to.
for u in "127.0.0.1" "2130706433" "0x7f.1" "0177.0.0.1" "0x7f000001" "127.1" "[::1]" "[::ffff:127.0.0.1]" \
        "[::ffff:7f00:1]" "[0:0:0:0:0:ffff:7f00:1]" "localhost" "LOCALHOST." "%31%32%37.0.0.1" "%6cocalhost" \
        "0.0.0.0" "0" "[::]" "[::ffff:0.0.0.0]"; do
        hrun run --allow "allowed.test:$P" -- "$PY_IN" raw.py "GET http://$u:$P/ HTTP/1.1\r\nHost: $u:$P\r\n\r\n"
        st=$(http_status "$OUT")
        is "$st" 403 "raw GET http://$u:$P/: 403"
done
reached && { fail "the server saw none of them"; diag "$(server_log web)"; } || pass "the server saw none of them"

# ---- names: only the one the rule means ---------------------------------------

clear_log
hrun run --allow "allowed.test:$P" -- "$PY_IN" raw.py "GET http://allowed.test:$P/ HTTP/1.1\r\nHost: allowed.test:$P\r\n\r\n"
is "$(http_status "$OUT")" 403 "an allowed name that resolves to loopback, without an address rule: 403"
like "$OUT" "resolves to 127\.0\.0\.1" "the reason says where it resolves"
reached && fail "the server saw nothing" || pass "the server saw nothing"

hrun run --allow "six.test:$P" -- "$PY_IN" raw.py "GET http://six.test:$P/ HTTP/1.1\r\nHost: six.test:$P\r\n\r\n"
like "$OUT" "RESPONSE 1: HTTP/1.1 403" "an allowed name that resolves to ::1: 403"
like "$OUT" "resolves to ::1" "the reason says where it resolves"
hrun run --allow "zero.test:$P" --allow "127.0.0.1:$P" -- "$PY_IN" raw.py "GET http://zero.test:$P/ HTTP/1.1\r\nHost: zero.test:$P\r\n\r\n"
like "$OUT" "RESPONSE 1: HTTP/1.1 403" "an allowed name that resolves to 0.0.0.0 (which is this machine), even with 127.0.0.1:$P allowed: 403"
like "$OUT" "resolves to 0\.0\.0\.0" "the reason says where it resolves"
hrun run --allow "allowed.test:$P" --allow 127.0.0.1 -- "$PY_IN" raw.py "GET http://allowed.test:$P/ HTTP/1.1\r\nHost: allowed.test:$P\r\n\r\n"
like "$OUT" "RESPONSE 1: HTTP/1.1 403" "an address rule without a port covers 80 and 443, not $P"
like "$OUT" "resolves to 127\.0\.0\.1" "the reason says where it resolves"
hrun run "${ALLOW[@]}" --allow '!127.0.0.1' -- "$PY_IN" raw.py "GET http://allowed.test:$P/ HTTP/1.1\r\nHost: allowed.test:$P\r\n\r\n"
like "$OUT" "RESPONSE 1: HTTP/1.1 403" "a deny address rule wins over the allow for the address a name resolves to"
reached && { fail "the server saw none of them"; diag "$(server_log web)"; } || pass "the server saw none of them"

WILD=(--allow "*.allowed.test:$P" --allow "127.0.0.1:$P")
hrun run "${WILD[@]}" -- "$PY_IN" raw.py "GET http://sub.allowed.test:$P/ HTTP/1.1\r\nHost: sub.allowed.test:$P\r\n\r\n"
is "$(http_status "$OUT")" 200 "*.allowed.test allows sub.allowed.test (the control)"
clear_log
for h in allowed.test evilallowed.test allowed.test.evil.test; do
        hrun run "${WILD[@]}" -- "$PY_IN" raw.py "GET http://$h:$P/ HTTP/1.1\r\nHost: $h:$P\r\n\r\n"
        is "$(http_status "$OUT")" 403 "*.allowed.test does not allow $h"
done
hrun run "${WILD[@]}" --allow '!sub.allowed.test' -- "$PY_IN" raw.py "GET http://sub.allowed.test:$P/ HTTP/1.1\r\nHost: sub.allowed.test:$P\r\n\r\n"
like "$OUT" "RESPONSE 1: HTTP/1.1 403" "!sub.allowed.test (no port) wins over *.allowed.test:$P"
like "$OUT" "denied by rule !sub\.allowed\.test" "the reason names the deny rule"
reached && { fail "the server saw none of them"; diag "$(server_log web)"; } || pass "the server saw none of them"

# ---- one host to the proxy, another to the server ------------------------------

hrun run "${ALLOW[@]}" -- "$PY_IN" raw.py "GET http://allowed.test:$P/control HTTP/1.1\r\nHost: allowed.test:$P\r\n\r\n"
is "$(http_status "$OUT")" 200 "a raw request with a matching Host header passes (the control)"
clear_log
hrun run "${ALLOW[@]}" -- "$PY_IN" raw.py "GET http://allowed.test:$P/mismatch HTTP/1.1\r\nHost: evil.test\r\n\r\n"
is "$(http_status "$OUT")" 400 "a Host header naming another host: 400"
unlike "$(server_log web)" "evil|mismatch" "the server never sees evil.test"

if command -v curl >/dev/null; then
        hrun run "${ALLOW[@]}" -- curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "http://allowed.test@evil.test:$P/userinfo"
        is "$OUT" 403 "userinfo: http://allowed.test@evil.test:$P/ is decided as evil.test"
fi
hrun run "${ALLOW[@]}" -- "$PY_IN" raw.py "GET http://allowed.test@evil.test:$P/userinfo HTTP/1.1\r\nHost: evil.test:$P\r\n\r\n"
is "$(http_status "$OUT")" 403 "userinfo in a raw absolute URL: 403"
unlike "$(server_log web)" "userinfo" "the server never sees it"

# The upstream is told the host that was decided on, in its canonical
# spelling, not the client's: a server (or a CDN's default virtual host)
# must never read a name the policy did not decide on.
clear_log
hrun run "${ALLOW[@]}" -- "$PY_IN" raw.py "GET http://allowed%2eTEST.:$P/index.html HTTP/1.1\r\n\r\n"
is "$(http_status "$OUT")" 200 "allowed%2eTEST. normalises to allowed.test and is allowed"
like "$(server_log web)" "host=allowed\.test:$P code" "the Host header sent upstream is the normalised name ($(server_log web | grep -oE 'host=[^ ]*'))"

# A second host on a kept-alive connection is decided on its own.
clear_log
A="GET http://allowed.test:$P/first HTTP/1.1\r\nHost: allowed.test:$P\r\n\r\n"
B="GET http://evil.test:$P/second HTTP/1.1\r\nHost: evil.test:$P\r\n\r\n"
hrun run "${ALLOW[@]}" -- "$PY_IN" raw.py "$A" "$B"
like "$OUT" "RESPONSE 1: HTTP/1.1 200" "kept alive: the first request, to allowed.test, gets 200"
like "$OUT" "RESPONSE 2: HTTP/1.1 403" "the second, to evil.test on the same connection, gets 403"
hrun run "${ALLOW[@]}" -- "$PY_IN" raw.py --pipeline "$A" "$B"
like "$OUT" "RESPONSE 1: HTTP/1.1 200" "pipelined: the first gets 200"
like "$OUT" "RESPONSE 2: HTTP/1.1 403" "pipelined: the second gets 403"
is "$(server_log web | grep -c /first) $(server_log web | grep -c -E 'second|evil')" "2 0" \
        "the server saw only the first requests"

# A server that sends more than its response must not answer the client's
# next request, which goes to another host (response queue poisoning).
if start_server smug smuggle; then
        S=$smug_port
        hrun run "${ALLOW[@]}" --allow "allowed.test:$S" --allow "127.0.0.1:$S" -- "$PY_IN" raw.py \
                "GET http://allowed.test:$S/one HTTP/1.1\r\nHost: allowed.test:$S\r\n\r\n" \
                "GET http://allowed.test:$P/second HTTP/1.1\r\nHost: allowed.test:$P\r\n\r\n"
        like "$OUT" "BODY 1: real" "a server that appends a response nobody asked for: its real answer arrives"
        unlike "$OUT" "injected" "the appended response never reaches the client"
        # Closed, not reset: the proxy closes in two steps (it was reset
        # when the next request arrived just before the close).
        like "$OUT" "RESPONSE 2: HTTP/1.1 200|CLOSED 2" "and the client's connection goes on or closes; it does not hang"
        like "$(server_log smug)" "smuggle GET /one" "(the server did answer)"
else
        fail "the smuggling test server starts"
fi

# ---- CONNECT and SOCKS5 ----------------------------------------------------------

clear_log
hrun run "${ALLOW[@]}" -- "$PY_IN" raw.py "CONNECT allowed.test:$P HTTP/1.1\r\nHost: allowed.test:$P\r\n\r\n" \
        "GET /tunnel HTTP/1.1\r\nHost: allowed.test:$P\r\n\r\n"
like "$OUT" "RESPONSE 2: HTTP/1.1 200" "CONNECT to allowed.test works (the control)"
clear_log
hrun run "${ALLOW[@]}" -- "$PY_IN" raw.py "CONNECT evil.test:$P HTTP/1.1\r\nHost: evil.test:$P\r\n\r\n" \
        "GET /tunnel HTTP/1.1\r\nHost: evil.test:$P\r\n\r\n"
is "$(http_status "$OUT")" 403 "CONNECT to evil.test:$P: 403"
hrun run "${ALLOW[@]}" -- "$PY_IN" raw.py "CONNECT allowed.test@evil.test:$P HTTP/1.1\r\nHost: evil.test:$P\r\n\r\n" \
        "GET /tunnel HTTP/1.1\r\nHost: evil.test:$P\r\n\r\n"
like "$(http_status "$OUT")" "^4" "CONNECT allowed.test@evil.test:$P is refused ($(http_status "$OUT"))"
reached && { fail "no refused tunnel reached the server"; diag "$(server_log web)"; } || pass "no refused tunnel reached the server"

start_server echo echo || fail "the echo server starts"
E=$echo_port
hrun run --allow "allowed.test:$E" --allow "127.0.0.1:$E" -- "$PY_IN" socks.py 3 allowed.test "$E" hello
is "$OUT" "REPLY 0
ECHO hello" "SOCKS5 by name with the address rule works (the control)"
: >"$EGRESS_WORK/echo.log"
hrun run --allow "allowed.test:$E" -- "$PY_IN" socks.py 1 127.0.0.1 "$E" hello
like "$OUT" "^REPLY [1-9]" "SOCKS5 to 127.0.0.1 by address (ATYP 1) when only a name is allowed: refused ($OUT)"
hrun run --allow "allowed.test:$E" -- "$PY_IN" socks.py 4 ::1 "$E" hello
like "$OUT" "^REPLY [1-9]" "SOCKS5 to ::1 (ATYP 4): refused ($OUT)"
hrun run --allow "allowed.test:$E" -- "$PY_IN" socks.py 3 127.0.0.1 "$E" hello
like "$OUT" "^REPLY [1-9]" "SOCKS5 with 127.0.0.1 as a name (ATYP 3): refused ($OUT)"
sleep 0.2
is "$(server_log echo)" "" "the echo server saw none of them"

# ---- running the proxy out of descriptors, and the connection cap ---------------

# hold.py N: opens up to N connections to the proxy and keeps them open (at
# the first error it stops and closes the last three), touches held.flag,
# waits 3 s, prints how many of them the proxy has closed ("closed K"),
# closes one more to make room, then asks the proxy one more question:
# "ANSWER <status line>" or "NOANSWER".
cat >hold.py <<'EOF'
import socket, sys, time
held = []
for _ in range(int(sys.argv[1])):
    try:
        held.append(socket.create_connection(('127.0.0.1', 3128), timeout=2))
    except OSError:
        for c in held[-3:]:  # descriptors for what follows
            c.close()
        del held[-3:]
        break
print('held %d' % len(held))
open('held.flag', 'w').close()
time.sleep(3)
closed = 0
for c in held:
    c.setblocking(False)
    try:
        closed += c.recv(1) == b''
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print('closed %d' % closed)
held[0].close()
time.sleep(0.5)
try:
    s = socket.create_connection(('127.0.0.1', 3128), timeout=2)
    s.sendall(b'GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n')
    print('ANSWER %s' % s.recv(100).split(b'\r\n')[0].decode())
except OSError:
    print('NOANSWER')
EOF
# Runs hold.py N under moat, whose sandbox gets NOFILE open files and whose
# own limits are the remaining ulimit options, and measures the supervisor's
# CPU while the connections are held (BUSY). --log goes to hold.jsonl.
hold() { # n, nofile, ulimit options...
        local n=$1 nofile=$2
        shift 2
        rm -f "$EGRESS_WORK/hold.jsonl"
        busy_run held.flag "$@" -- run --nofile "$nofile" --log "$EGRESS_WORK/hold.jsonl" --allow "allowed.test:$P" \
                -- "$PY_IN" hold.py "$n"
}
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=65536
if [ "$hard" -ge 1024 ]; then
        hold 100 "$hard" -Sn 1024
        like "$OUT" "ANSWER HTTP/1.1 403" "100 connections held: the proxy answers (the control)"
        busy_ok "$BUSY" "and idles"
        # With every limit at 1024 the supervisor runs out of descriptors: it
        # must wait (or refuse), not spin on a listener it cannot accept from.
        hold 1100 1024 -n 1024
        like "$OUT" "held [0-9]{3,}" "the sandbox opened its connections ($(echo "$OUT" | head -1))"
        busy_ok "$BUSY" "a supervisor out of descriptors does not spin"
else
        skip "the hard open-files limit ($hard) is below 1024"
fi
# The common default soft limit must not cap the proxy at a few hundred
# connections when the hard limit allows more.
if [ "$hard" -ge 4096 ]; then
        hold 1000 "$hard" -Sn 512
        like "$OUT" "held 1000" "1000 connections held open to the proxy (soft limit 512, hard $hard)"
        like "$OUT" "closed 0" "none of them closed"
        like "$OUT" "ANSWER HTTP/1.1 403" "the proxy still answers"
        busy_ok "$BUSY" "and does not spin"
        # Each connection costs the host memory outside the sandbox's limits:
        # beyond 1024 at once, new ones are closed at once and logged.
        hold 1100 "$hard" -Sn 1024
        like "$OUT" "held 1100" "1100 connections opened to the proxy"
        like "$OUT" "closed 76" "the 76 beyond 1024 are closed at once"
        like "$OUT" "ANSWER HTTP/1.1 403" "once one closes, a new connection is served"
        busy_ok "$BUSY" "and the proxy does not spin"
        is "$(grep -c '"decision":"refused","reason":"too many connections' "$EGRESS_WORK/hold.jsonl")" 76 \
                "--log has a refusal for each ($(grep -m1 'too many' "$EGRESS_WORK/hold.jsonl"))"
        like "$OUT" "blocked 77 connections: 127\.0\.0\.1:3128 x76 — too many connections" "and the exit summary counts them"
else
        skip "the hard open-files limit ($hard) is below 4096: cannot test beyond the default soft limit"
fi

# ---- hang-ups and stalls: the proxy never spins ----------------------------------

start_server hold hold --flag "$PROJECT/up.flag" || fail "the holding test server starts"
H=$hold_port
HALLOW=(--allow "allowed.test:$H" --allow "127.0.0.1:$H")

# After answering a SOCKS5 greeting the proxy waits for the request; it
# must not keep polling a socket it has nothing to write to.
busy_run ready.flag -- run "${HALLOW[@]}" -- "$PY_IN" misuse.py socks-greet ready.flag
like "$OUT" "GREETED 0500" "a SOCKS5 greeting is answered"
busy_ok "$BUSY" "a client that then says nothing costs the proxy no CPU"

# A client that resets while its request waits for the server: its end
# reports an error whatever the proxy watches it for.
rm -f "$PROJECT/up.flag"
busy_run ready.flag -- run "${HALLOW[@]}" --log "$EGRESS_WORK/reset.jsonl" -- \
        "$PY_IN" misuse.py reset-waiting "http://allowed.test:$H/slow" up.flag ready.flag
like "$OUT" "RESET" "a client resets while the server has its request and has not answered"
busy_ok "$BUSY" "the proxy idles"
like "$(cat "$EGRESS_WORK/reset.jsonl")" "\"host\":\"allowed.test\",\"port\":$H,\"decision\":\"allowed\"" \
        "and the request is logged"
touch "$EGRESS_WORK/hold.release"
sleep 0.2
rm -f "$EGRESS_WORK/hold.release"

# The same in a tunnel whose server reads nothing: the pipe towards it is
# full, so the proxy wants nothing from the client when the client resets.
busy_run ready.flag -- run "${HALLOW[@]}" -- "$PY_IN" misuse.py reset-tunnel "allowed.test:$H" ready.flag
like "$OUT" "HTTP/1.1 200" "a tunnel to a server that reads nothing"
like "$OUT" "SENT [0-9]{6,}" "the client fills it ($(echo "$OUT" | grep SENT)), then resets"
busy_ok "$BUSY" "the proxy idles"
touch "$EGRESS_WORK/hold.release"

# ---- what tunnels hold --------------------------------------------------------------

# Idle tunnels keep the kernel's default pipes; a tunnel moving bulk data
# gets 1 MiB ones, and only so many of them at once. Pipe sizes are read
# from the supervisor's descriptors.
echo small >"$EGRESS_WORK/www/small"
head -c $((4 << 20)) /dev/urandom >"$EGRESS_WORK/www/bulk.bin"
BUSY_HOOK='PIPES=$(proxy_pipes "$BUSY_PID")'
busy_run tunnels.flag -- run "${ALLOW[@]}" -- "$PY_IN" misuse.py tunnels 20 "allowed.test:$P" /bulk.bin 2 tunnels.flag
like "$OUT" "FETCHED 20 small, 2 of 4194304 bytes" "20 idle tunnels and 2 that moved 4 MiB each"
small=$(printf '%s\n' "$PIPES" | awk '$1 && $1 <= 65536' | wc -l)
big=$(printf '%s\n' "$PIPES" | awk '$1 > 65536' | wc -l)
[ "$small" -ge 42 ] && pass "the idle tunnels' pipes are the default 64 KiB ($small small, $big large)" ||
        { fail "the idle tunnels' pipes are the default 64 KiB ($small small, $big large)"; diag "$PIPES"; }
if [ "$(cat /proc/sys/fs/pipe-max-size)" -ge $((1 << 20)) ]; then
        [ "$big" -ge 1 ] && [ "$big" -le 2 ] && pass "the bulk tunnels' download pipes grew ($big)" ||
                fail "the bulk tunnels' download pipes grew ($big)"
        busy_run tunnels.flag -- run "${ALLOW[@]}" -- "$PY_IN" misuse.py tunnels 0 "allowed.test:$P" /bulk.bin 70 \
                tunnels.flag
        like "$OUT" "FETCHED 0 small, 70 of 4194304 bytes" "70 tunnels that moved 4 MiB each"
        big=$(printf '%s\n' "$PIPES" | awk '$1 > 65536' | wc -l)
        [ "$big" -ge 1 ] && [ "$big" -le 64 ] && pass "at most 64 pipes grow ($big)" ||
                fail "at most 64 pipes grow ($big)"
else
        skip "fs.pipe-max-size is below 1 MiB: pipes cannot grow"
fi
unset BUSY_HOOK

# ---- one request's bytes never reach the next request's server ---------------------

# A server that answers before reading the request body, on a slow path (4
# KiB send buffers): part of the body is still in the proxy when the answer
# is complete. The client's next request on the same connection is a
# tunnel to another server, which must get the tunnel's bytes only.
if small_net_ok; then
        small_net_run "tinywin echo" -- run --allow "allowed.test:@PORT1@" --allow "127.0.0.1:@PORT1@" \
                --allow "allowed.test:@PORT2@" --allow "127.0.0.1:@PORT2@" -- \
                "$PY_IN" misuse.py leak "http://allowed.test:@PORT1@/upload" "allowed.test:@PORT2@"
        like "$OUT" "RESPONSE 1 HTTP/1.1 200 OK ok" "a server answers a 20000-byte POST without reading the body"
        like "$OUT" "RESPONSE 2 HTTP/1.1 200" "then CONNECT on the same connection to an echo server"
        like "$OUT" "ECHO b'hello' LEN 5" "the echo server gets the tunnel's bytes and nothing of the earlier body ($(echo "$OUT" | grep ECHO))"
        [ "$RC" = 0 ] || diag "$ERR"
else
        skip "cannot make a private network namespace with small send buffers"
fi

# ---- what a proxy does not take -------------------------------------------------

clear_log
hrun run "${ALLOW[@]}" -- "$PY_IN" raw.py "GET / HTTP/1.1\r\nHost: allowed.test:$P\r\n\r\n"
is "$(http_status "$OUT")" 400 "an origin-form request (GET / HTTP/1.1): 400"
reached && fail "and nothing is forwarded" || pass "and nothing is forwarded"

done_testing

#!/bin/bash
# `moat run --allow`: real clients that honour the proxy variables (curl,
# python3 urllib, git, npm) reach allowed hosts through the egress proxy
# over HTTP, CONNECT and SOCKS5; refusals are explained in the response,
# the exit summary, --log and --json-fd; bad rules stop the run. Every
# server is on loopback; the test names resolve through a hosts file
# bind-mounted in a private mount namespace (tests/egress-helpers.sh).
. "${TESTS}/lib.sh"
require_sandbox
new_project
. "${TESTS}/egress-helpers.sh"
require_python
require_with_hosts
write_clients

have() { command -v "$1" >/dev/null; }

# The files the servers hand out.
echo "hello from allowed.test" >"$EGRESS_WORK/www/hello.txt"
head -c $((50 * 1024 * 1024)) /dev/urandom >"$EGRESS_WORK/www/big.bin"
big_sum=$(sha256sum "$EGRESS_WORK/www/big.bin" | cut -d' ' -f1)

start_server web http || { fail "the HTTP test server starts"; done_testing; exit; }
P=$web_port
# allowed.test resolves to 127.0.0.1: the address rule lets the proxy
# connect there, the name rule is what the client asks for.
ALLOW=(--allow "allowed.test:$P" --allow "127.0.0.1:$P")

# ---- plain HTTP through the forwarder ---------------------------------------

if have curl; then
        hrun run "${ALLOW[@]}" -- curl -sS --max-time 10 "http://allowed.test:$P/hello.txt"
        is "$OUT" "hello from allowed.test" "curl: plain HTTP to an allowed host through the proxy"
        like "$(server_log web)" "GET /hello.txt host=allowed.test:$P code=200" "the server saw the request for allowed.test"
else
        skip "curl not installed"
fi

hrun run "${ALLOW[@]}" -- "$PY_IN" -c "import urllib.request
print(urllib.request.urlopen('http://allowed.test:$P/hello.txt', timeout=10).read().decode().strip())"
is "$OUT" "hello from allowed.test" "python3 urllib: plain HTTP through the proxy"
[ "$RC" = 0 ] || diag "$ERR"

if have git; then
        (
                cd "$EGRESS_WORK" && git init -q --bare www/repo.git && git init -q src && cd src &&
                        echo content >file && git add file &&
                        git -c user.email=t@t -c user.name=t commit -qm "egress clone" &&
                        git push -q ../www/repo.git HEAD:refs/heads/main &&
                        git -C ../www/repo.git symbolic-ref HEAD refs/heads/main &&
                        git -C ../www/repo.git update-server-info
        ) >/dev/null 2>&1
        hrun run "${ALLOW[@]}" -- sh -c "git clone -q http://allowed.test:$P/repo.git /tmp/clone &&
                git -C /tmp/clone log --format=%s && cat /tmp/clone/file"
        is "$OUT" "egress clone
content" "git clone over dumb HTTP through the proxy"
        [ "$RC" = 0 ] || diag "$ERR"
else
        skip "git not installed"
fi

# ---- HTTPS through CONNECT -------------------------------------------------

if make_test_ca && start_server tls http --tls; then
        T=$tls_port
        cp "$EGRESS_WORK/ca.pem" "$PROJECT/ca.pem"
        TALLOW=(--allow "allowed.test:$T" --allow "127.0.0.1:$T")
        if have curl; then
                hrun run "${TALLOW[@]}" -- curl -sS --max-time 10 --cacert ca.pem "https://allowed.test:$T/hello.txt"
                is "$OUT" "hello from allowed.test" "curl: HTTPS through CONNECT, certificate checked against the test CA"
                [ "$RC" = 0 ] || diag "$ERR"
                hrun run "${TALLOW[@]}" -- curl -sS --max-time 10 "https://allowed.test:$T/hello.txt"
                is "$RC" 60 "curl without the CA fails verification: the tunnel is end to end (curl status 60)"

                start=$(date +%s%N)
                hrun run "${TALLOW[@]}" -- sh -c "curl -sS --max-time 60 --cacert ca.pem -o /tmp/big.bin https://allowed.test:$T/big.bin &&
                        sha256sum /tmp/big.bin"
                ms=$((($(date +%s%N) - start) / 1000000))
                is "${OUT%% *}" "$big_sum" "a 50 MB download through CONNECT arrives intact (${ms} ms)"
        else
                skip "curl not installed: HTTPS with curl"
        fi

        hrun run "${TALLOW[@]}" --env SSL_CERT_FILE="$PROJECT/ca.pem" -- "$PY_IN" -c "import urllib.request
print(urllib.request.urlopen('https://allowed.test:$T/hello.txt', timeout=10).read().decode().strip())"
        is "$OUT" "hello from allowed.test" "python3 urllib: HTTPS through CONNECT with SSL_CERT_FILE"
        [ "$RC" = 0 ] || diag "$ERR"

        # node itself ignores the proxy variables; npm honours them.
        if have npm && have node; then
                : >"$EGRESS_WORK/tls.log"
                hrun run "${TALLOW[@]}" -- npm ping --registry "https://allowed.test:$T/" --cafile "$PROJECT/ca.pem" \
                        --fetch-retries 0 --fetch-timeout 20000 --no-update-notifier
                if [ "$RC" = 0 ]; then
                        pass "npm ping through CONNECT with --cafile"
                else
                        fail "npm ping through CONNECT with --cafile"
                        diag "$ERR"
                fi
                like "$(server_log tls)" "GET /-/ping" "the registry saw npm's ping"
        else
                skip "node/npm not installed"
        fi
else
        skip "openssl could not make a test CA, or the TLS server did not start: HTTPS tests"
fi

# ---- SOCKS5 ------------------------------------------------------------------

start_server echo echo || fail "the echo server starts"
E=$echo_port
hrun run --allow "allowed.test:$E" --allow "127.0.0.1:$E" -- "$PY_IN" socks.py 3 allowed.test "$E" hello
is "$OUT" "REPLY 0
ECHO hello" "SOCKS5 with a host name to a TCP echo server: hello comes back"
like "$(server_log echo)" "connect from 127\.0\.0\.1" "the echo server saw the connection"
if have curl; then
        hrun run "${ALLOW[@]}" -- curl -sS --max-time 10 -x socks5h://127.0.0.1:3128 "http://allowed.test:$P/hello.txt"
        is "$OUT" "hello from allowed.test" "curl -x socks5h:// through the proxy"
fi

# ---- servers as they are -------------------------------------------------------

# A body without Content-Length or chunked framing ends when the server
# closes: every byte of it reaches the client, also when the client reads
# slower than the server writes (the proxy then still holds some when the
# server closes).
if start_server eof eof; then
        F=$eof_port
        FALLOW=(--allow "allowed.test:$F" --allow "127.0.0.1:$F")
        head -c $((16 << 20)) /dev/urandom >"$EGRESS_WORK/www/eof.bin"
        eof_sum=$(sha256sum "$EGRESS_WORK/www/eof.bin" | cut -d' ' -f1)
        hrun run "${FALLOW[@]}" -- "$PY_IN" misuse.py slow-reader "http://allowed.test:$F/eof.bin"
        is "$OUT" "HTTP/1.1 200 OK LEN 16777216 SHA256 $eof_sum" \
                "a 16 MiB body delimited by the server closing arrives whole to a client that reads late"
        # Sizes around what the proxy and the kernel hold for a client that
        # does not read yet: for some of them, bytes are still in the proxy
        # when the server's close arrives.
        sizes=()
        for k in $(seq 0 16 384); do
                sizes+=($((k * 1024 + 100)))
                head -c "${sizes[-1]}" /dev/urandom >"$EGRESS_WORK/www/eof-${sizes[-1]}.bin"
        done
        hrun run "${FALLOW[@]}" -- "$PY_IN" misuse.py late-readers "http://allowed.test:$F" "${sizes[@]}"
        is "$OUT" "SHORT " "bodies of ${#sizes[@]} sizes from 100 B to 384 KiB delimited by the close: none cut short"
        if have curl; then
                hrun run "${FALLOW[@]}" -- sh -c "curl -sS --max-time 60 http://allowed.test:$F/big.bin | sha256sum"
                is "${OUT%% *}" "$big_sum" "curl: a 50 MB body delimited by the close arrives intact"
                hrun run "${FALLOW[@]}" -- curl -sS --max-time 10 "http://allowed.test:$F/hello.txt"
                is "$OUT" "hello from allowed.test" "curl: a small one too"
        fi
else
        fail "the until-close test server starts"
fi

# A server that answers (or just closes) in the middle of a request body:
# the client gets the answer, or a 502, then its connection closes; the
# decision is logged; the proxy does not spin on the closed connection.
for mode in early mute; do
        if ! start_server "$mode" "$mode"; then
                fail "the $mode test server starts"
                continue
        fi
        port_var=${mode}_port
        M=${!port_var}
        busy_run early.flag -- run --allow "allowed.test:$M" --allow "127.0.0.1:$M" --log "$EGRESS_WORK/$mode.jsonl" \
                -- "$PY_IN" misuse.py early "http://allowed.test:$M/upload" early.flag
        if [ "$mode" = early ]; then
                like "$OUT" "RESPONSE HTTP/1.1 413" "a server that answers 413 and closes in the middle of the body: the answer arrives"
                like "$OUT" "BODY large" "with its body"
        else
                like "$OUT" "RESPONSE HTTP/1.1 502" "a server that closes in the middle of the body without answering: 502"
        fi
        like "$OUT" "CLOSED" "$mode: then the proxy closes the client's connection"
        busy_ok "$BUSY" "$mode: and does not spin"
        like "$(cat "$EGRESS_WORK/$mode.jsonl" 2>/dev/null)" "\"host\":\"allowed.test\",\"port\":$M,\"decision\":\"allowed\".*\"bytes_up\":[0-9]{4}" \
                "$mode: the request is logged with the bytes sent"
        like "$(server_log "$mode")" "$mode POST /upload HTTP/1.1 body 1000" "(the server saw the request)"
done

# An upload to a server slower than the client: the proxy's buffers fill
# both ways, and it must keep moving the body as the server reads.
if start_server slow slowread; then
        hrun run --allow "allowed.test:$slow_port" --allow "127.0.0.1:$slow_port" -- \
                "$PY_IN" misuse.py upload "http://allowed.test:$slow_port/up" $((16 << 20))
        is "$OUT" "HTTP/1.1 200 OK got 16777216" "a 16 MiB upload to a server that starts reading late arrives whole"
        # A connection the proxy closes after its last answer is closed in
        # two steps: a request the client sent meanwhile does not get the
        # connection reset under it, which could destroy the answer before
        # the client read it.
        hrun run --allow "allowed.test:$slow_port" --allow "127.0.0.1:$slow_port" -- \
                "$PY_IN" misuse.py one-more "http://allowed.test:$slow_port/x"
        is "$OUT" "RESPONSE HTTP/1.1 200 OK
END" "a request sent before the last answer came: the connection then ends cleanly, without a reset"
else
        fail "the slow-reading test server starts"
fi

# ---- upstream connections kept between requests -----------------------------

# Requests to the same name and port on one kept-alive client connection
# share an upstream connection; each is still decided on its own, and
# another name, even at the same address and port, gets its own.
: >"$EGRESS_WORK/web.log"
R1="GET http://allowed.test:$P/hello.txt HTTP/1.1\r\nHost: allowed.test:$P\r\n\r\n"
R2="GET http://sub.allowed.test:$P/hello.txt HTTP/1.1\r\nHost: sub.allowed.test:$P\r\n\r\n"
hrun run "${ALLOW[@]}" --allow "sub.allowed.test:$P" -- "$PY_IN" raw.py "$R1" "$R1" "$R2" "$R1"
like "$OUT" "RESPONSE 4: HTTP/1.1 200" "four requests on one client connection are answered"
mapfile -t from < <(server_log web | grep -oE 'from=[0-9]+' | cut -d= -f2)
if [ "${#from[@]}" = 4 ] && [ "${from[0]}" = "${from[1]}" ] && [ "${from[2]}" != "${from[1]}" ] &&
        [ "${from[3]}" != "${from[2]}" ]; then
        pass "the first two share one upstream connection, the other name gets its own, and so does the way back"
else
        fail "the first two share one upstream connection, the other name gets its own, and so does the way back"
        diag "$(server_log web)"
fi

# A server that closes a connection after one answer without saying so (a
# keep-alive timeout running out): the next request, which may already be
# on its way over the kept connection, is sent again over a new one.
if start_server once once; then
        Q="GET http://allowed.test:$once_port/x HTTP/1.1\r\nHost: allowed.test:$once_port\r\n\r\n"
        OALLOW=(--allow "allowed.test:$once_port" --allow "127.0.0.1:$once_port")
        hrun run "${OALLOW[@]}" -- "$PY_IN" raw.py --pipeline "$Q" "$Q" "$Q"
        like "$OUT" "RESPONSE 3: HTTP/1.1 200" "a server closing after each answer: three pipelined requests answered"
        hrun run "${OALLOW[@]}" -- "$PY_IN" raw.py "$Q" "$Q" "$Q"
        like "$OUT" "RESPONSE 3: HTTP/1.1 200" "and three in turn"
        is "$(server_log once | grep -c '^once GET /x')" 6 "(each reached the server once)"
else
        fail "the closing test server starts"
fi

# A name is resolved once per 30 s, not per request: a change to it within
# that time is not seen (the address is still checked at every connect).
cat >cache.py <<'EOF'
import os, socket, time
def get():
    s = socket.create_connection(('127.0.0.1', 3128), timeout=10)
    s.sendall(b'GET http://allowed.test:%s/hello.txt HTTP/1.1\r\nHost: allowed.test:%s\r\nConnection: close\r\n\r\n'
              % ((os.environ['P'].encode(),) * 2))
    return s.recv(100).split(b'\r\n')[0].decode()
print('FIRST %s' % get())
open('asked.flag', 'w').close()
for _ in range(200):
    if os.path.exists('go.flag'):
        break
    time.sleep(0.05)
print('SECOND %s' % get())
EOF
hosts_saved=$(cat "$EGRESS_HOSTS")
# In place: the bind mount shows this inode, not a replacement.
BUSY_HOOK='sed "s/^127\.0\.0\.1 allowed\.test /0.0.0.0 allowed.test /" <<<"$hosts_saved" >"$EGRESS_HOSTS"; touch "$PROJECT/go.flag"'
rm -f "$PROJECT/go.flag"
busy_run asked.flag -- run "${ALLOW[@]}" --env "P=$P" -- "$PY_IN" cache.py
unset BUSY_HOOK
printf '%s\n' "$hosts_saved" >"$EGRESS_HOSTS"
like "$OUT" "FIRST HTTP/1.1 200" "a first request resolves allowed.test"
like "$OUT" "SECOND HTTP/1.1 200" "a second, after allowed.test was changed to resolve to 0.0.0.0, uses the address resolved seconds ago"

# ---- refusals ----------------------------------------------------------------

if have curl; then
        : >"$EGRESS_WORK/web.log"
        hrun run "${ALLOW[@]}" -- curl -sS -i --max-time 10 "http://evil.test:$P/hello.txt"
        like "$OUT" "^HTTP/1\.1 403" "a host not allowed gets 403"
        like "$OUT" "moat: not in allowed hosts" "the 403 body gives the reason"
        like "$ERR" "moat: blocked 1 connection: evil\.test:$P — not in allowed hosts" \
                "the exit summary on stderr names the host and the reason"
        is "$(server_log web)" "" "the server saw nothing"

        # An IPv6 host is written in brackets, or "2002:7f00:1:::80" could be read
        # as several things.
        hrun run "${ALLOW[@]}" -- curl -sS -o /dev/null --noproxy '' --max-time 10 "http://[::1]:$P/"
        like "$ERR" "blocked 1 connection: \[::1\]:$P " "the exit summary writes an IPv6 host in brackets"

        rm -f "$EGRESS_WORK/decisions.log"
        hrun run "${ALLOW[@]}" --log "$EGRESS_WORK/decisions.log" --json-fd 3 -- sh -c \
                "curl -sS -o /dev/null --max-time 10 http://allowed.test:$P/hello.txt;
                 curl -sS -o /dev/null --max-time 10 http://evil.test:$P/x" 3>"$EGRESS_WORK/result.json"
        checks=$("$PY_IN" - "$EGRESS_WORK/decisions.log" "$EGRESS_WORK/result.json" "$P" <<'EOF'
import json, sys
log, result, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    lines = [json.loads(l) for l in open(log)]
except Exception as e:
    print('log unreadable: %s' % e); sys.exit()
print('lines=%d' % len(lines))
for d in lines:
    print('%s %s:%s %s up=%s down=%s' % (d['proto'], d['host'], d['port'], d['decision'],
                                         d['bytes_up'] > 0, d['bytes_down'] > 0))
try:
    r = json.loads(open(result).read())
    for x in r.get('network_refusals', ['missing']):
        print('refusal %s %s:%s %s' % (x['proto'], x['host'], x['port'], x['reason']))
    print('allowed=%s' % r.get('network_allowed'))
except Exception as e:
    print('result unreadable: %s' % e)
EOF
        )
        like "$checks" "lines=2" "--log: one JSON line per decision"
        like "$checks" "http allowed\.test:$P allowed up=True down=True" "--log: the allowed request, with its bytes"
        like "$checks" "http evil\.test:$P refused up=False down=False" "--log: the refused one"
        like "$checks" "refusal http evil\.test:$P not in allowed hosts" "--json-fd: network_refusals lists it"
        like "$checks" "allowed=1" "--json-fd: network_allowed counts the allowed one"
        [ "$(printf '%s\n' "$checks" | grep -c refusal)" = 1 ] && pass "--json-fd: and only it" ||
                { fail "--json-fd: and only it"; diag "$checks"; }
else
        skip "curl not installed: refusal tests"
fi

# ---- bad rules: status 125, one line naming the rule, nothing runs ---------

bad_rule() { # description, moat arguments...
        local what=$1
        shift
        rm -f ran
        hrun run "$@" -- touch ran
        is "$RC" 125 "$what: status 125"
        [ "$(printf '%s\n' "$ERR" | grep -c .)" = 1 ] && pass "$what: one line" ||
                { fail "$what: one line"; diag "$ERR"; }
        [ -e ran ] && fail "$what: nothing ran" || pass "$what: nothing ran"
}
bad_rule "--allow 'exa mple'" --allow 'exa mple'
like "$ERR" "exa mple" "and names the rule"
bad_rule "--allow '*.com'" --allow '*.com'
like "$ERR" "\*\.com" "and names the rule"
bad_rule "--allow host:70000" --allow host:70000
like "$ERR" "host:70000" "and names the rule"
bad_rule "--allow 10.0.0.1/8" --allow 10.0.0.1/8
like "$ERR" "10\.0\.0\.1/8" "and names the rule"
bad_rule "--net none --allow x" --net none --allow x
like "$ERR" "--allow" "and names the flag"

# Decisions kept in memory are bounded (a loop of requests must not grow
# the supervisor); the counts, the summary and --log stay whole.
biglog=$EGRESS_WORK/many.jsonl
hrun run "${ALLOW[@]}" --log "$biglog" --json -- "$PY_IN" -c "
import socket
for i in range(5000):
    s = socket.create_connection(('127.0.0.1', 3128), timeout=5)
    s.sendall(b'CONNECT evil%d.test:443 HTTP/1.1\\r\\n\\r\\n' % (i % 7))
    s.recv(100); s.close()
for i in range(3000):
    s = socket.create_connection(('127.0.0.1', 3128), timeout=5)
    s.sendall(b'GET http://allowed.test:$P/hello.txt HTTP/1.1\\r\\nHost: allowed.test:$P\\r\\nConnection: close\\r\\n\\r\\n')
    while s.recv(4096): pass
    s.close()
"
is "$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(len(j["network_refusals"]) + j.get("network_refusals_not_listed", 0), j["network_allowed"], len(j["network_refusals"]) <= 1024)' "$(printf '%s' "$OUT" | tail -1)")" \
        "5000 3000 True" "8000 decisions: counted whole, at most 1024 refusals kept in memory"
like "$ERR" "blocked 5000 connections" "the summary counts them all"
is "$(wc -l <"$biglog" | tr -d ' ')" 8000 "--log has every decision"

done_testing

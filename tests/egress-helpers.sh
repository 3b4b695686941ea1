# Helpers shared by tests/integration/egress.sh and tests/escape/egress.sh:
# test host names that resolve without touching the machine's /etc/hosts,
# real servers on loopback that log what reached them, and small clients
# written into the project for use inside the sandbox. Source after lib.sh,
# once new_project has run.
#
#   with_hosts CMD...     CMD in a private mount namespace whose /etc/hosts
#                         is $EGRESS_HOSTS (as root: unshare -m; otherwise
#                         unshare -rm, moat then being root of that user
#                         namespace); with_hosts_exec replaces the shell
#   hrun ARGS...          like lib.sh's run, for "$MOAT" ARGS under with_hosts
#   start_server NAME MODE [--tls] [--bind ADDR] [--flag FILE]...
#                         MODE is http (serves $EGRESS_WORK/www; answers
#                         /-/ping with {}), echo (TCP), udp (echoes one
#                         datagram), smuggle (each answer is followed by
#                         an unrequested response with the body
#                         "injected"), or one of the misbehaving servers
#                         described in server.py (eof, hold, early, mute,
#                         slowread, tinywin). Sets NAME_port; the server
#                         logs one line per request or connection to
#                         $EGRESS_WORK/NAME.log; --flag FILE is created at
#                         each connection (a project path lets the sandbox
#                         wait for it); hold waits for $EGRESS_WORK/NAME.release
#   busy_run FLAG [ULIMIT_OPTION...] -- MOAT_ARGUMENTS...
#                         moat in the background; once the command inside
#                         creates $PROJECT/FLAG, the supervisor's CPU use
#                         over 2 s goes into BUSY (percent of one CPU);
#                         then OUT (stdout and stderr) when moat is done
#   busy_ok BUSY DESCRIPTION    passes when the proxy idled (< 30% of a CPU)
#   small_net_run MODES -- MOAT_ARGUMENTS...
#                         moat in a private network namespace whose TCP send
#                         buffers are 4 KiB (a slow path: a sender's buffer
#                         fills at once), with servers of the MODES
#                         (space-separated) started inside; @PORT1@,
#                         @PORT2@... in the arguments become their ports.
#                         Sets OUT, ERR, RC, and SMALL_LOG (the servers' log)
#   proxy_pipes PID       the size of every pipe the process holds, one a line
#   server_log NAME       what the server logged
#   http_status TEXT      the status code of the first response line in TEXT
#   py_in ARGS...         the python3 to run inside the sandbox (the system's)
#
# Inside the project: raw.py (exact bytes to the proxy, prints each
# response), socks.py (a SOCKS5 client), udp.py (one datagram, waits 1 s),
# misuse.py (clients that misbehave; see its head).

# These switch moat to the host's network, which --allow refuses.
unset MOAT_ALLOW_NETWORK COCO_ALLOW_NETWORK
EGRESS_WORK=$(mktemp -d /tmp/moat-egress.XXXXXX)
chmod 755 "$EGRESS_WORK"
_cleanup+=("rm -rf '$EGRESS_WORK'")
EGRESS_HOSTS=$EGRESS_WORK/hosts
mkdir -p "$EGRESS_WORK/www"

# Every name a test uses is here, so the resolver never asks DNS.
cat >"$EGRESS_HOSTS" <<'EOF'
127.0.0.1 localhost
::1 localhost ip6-localhost
127.0.0.1 allowed.test evil.test sub.allowed.test evilallowed.test allowed.test.evil.test
0.0.0.0 zero.test
::1 six.test
EOF
chmod 644 "$EGRESS_HOSTS"

# The python3 inside the sandbox is the system's (/usr is mounted, a
# pyenv shim under $HOME is not); on the host any python3 will do.
PY_IN=/usr/bin/python3
[ -x "$PY_IN" ] || PY_IN=python3

with_hosts() { (with_hosts_exec "$@"); }
# The same, replacing the calling (sub)shell: its pid becomes CMD's.
with_hosts_exec() {
        local u=-m
        [ "$(id -u)" = 0 ] || u=-rm
        exec unshare "$u" sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$EGRESS_HOSTS" "$@"
}

# Skips the whole file when the test names cannot be made to resolve.
require_with_hosts() {
        local got
        command -v unshare >/dev/null || { echo "1..0 # SKIP unshare(1) is not installed: cannot map test host names"; exit 0; }
        got=$(with_hosts getent hosts allowed.test 2>&1)
        if ! printf '%s' "$got" | grep -q '^127\.0\.0\.1'; then
                echo "1..0 # SKIP cannot bind-mount a hosts file in a private mount namespace: $(printf '%s' "$got" | head -1)"
                exit 0
        fi
        if getent hosts allowed.test >/dev/null 2>&1; then
                echo "1..0 # SKIP allowed.test resolves on this machine already: the test names would not be ours"
                exit 0
        fi
}

require_python() {
        if ! command -v python3 >/dev/null || ! "$PY_IN" -c 'import ssl' 2>/dev/null; then
                echo "1..0 # SKIP python3 (with ssl) is needed for the test servers"
                exit 0
        fi
}

hrun() {
        local o e
        o=$(mktemp) e=$(mktemp)
        with_hosts "$MOAT" "$@" >"$o" 2>"$e" </dev/null
        RC=$?
        OUT=$(cat "$o"); ERR=$(cat "$e")
        rm -f "$o" "$e"
        # Under the sanitizer build a report must not go unnoticed.
        if printf '%s' "$ERR" | grep -qE '==[0-9]+==ERROR: [A-Za-z]+Sanitizer|runtime error:'; then
                fail "moat $* ran without a sanitizer report"
                diag "$(printf '%s\n' "$ERR" | head -20)"
        fi
}

http_status() { printf '%s\n' "$1" | grep -m1 -oE '^(RESPONSE [0-9]+: )?HTTP/1\.[01] [0-9]{3}' | grep -oE '[0-9]{3}$'; }

server_log() { cat "$EGRESS_WORK/$1.log" 2>/dev/null; }

# A CA and a certificate for allowed.test and sub.allowed.test, signed by
# it: $EGRESS_WORK/ca.pem, srv.pem, srv.key. Returns 1 if openssl fails.
make_test_ca() {
        command -v openssl >/dev/null || return 1
        (
                cd "$EGRESS_WORK" || exit 1
                openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
                        -out ca.pem -days 2 -subj /CN=moat-egress-test-CA \
                        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
                openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key \
                        -out srv.csr -subj /CN=allowed.test &&
                printf '%s\n' 'subjectAltName=DNS:allowed.test,DNS:sub.allowed.test' 'basicConstraints=CA:FALSE' \
                        'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' >srv.ext &&
                openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 \
                        -extfile srv.ext
        ) >/dev/null 2>&1 && chmod 644 "$EGRESS_WORK"/*.pem
}

cat >"$EGRESS_WORK/server.py" <<'EOF'
# Test servers that log what reaches them, one line each.
import argparse, http.server, os, socket, socketserver, ssl, sys, threading

ap = argparse.ArgumentParser()
ap.add_argument('mode', choices=['http', 'echo', 'udp', 'smuggle', 'eof', 'hold', 'early', 'mute', 'slowread',
                                 'tinywin', 'once'])
ap.add_argument('--bind', action='append')
ap.add_argument('--flag')
ap.add_argument('--release')
ap.add_argument('--dir', default='.')
ap.add_argument('--log', required=True)
ap.add_argument('--tls', nargs=2)
ap.add_argument('--port-file', required=True)
a = ap.parse_args()
binds = a.bind or ['127.0.0.1']
lock = threading.Lock()
logf = open(a.log, 'a', buffering=1)

def log(s):
    with lock:
        logf.write(s + '\n')

def listeners(kind):
    # One port on every address: the first bind picks it, the others follow.
    for _ in range(50):
        socks, port = [], 0
        try:
            for addr in binds:
                fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
                s = socket.socket(fam, kind)
                socks.append(s)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((addr, port))
                port = s.getsockname()[1]
            return socks, port
        except OSError:
            for s in socks:
                s.close()
    sys.exit('server.py: no port free on all of ' + ' '.join(binds))

ctx = None
if a.tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.tls[0], a.tls[1])

class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def __init__(self, *args, **kw):
        super().__init__(*args, directory=a.dir, **kw)

    def setup(self):
        if ctx:
            self.request.settimeout(10)
            self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def log_request(self, code='-', size='-'):
        log('%s %s host=%s code=%s from=%d' % (self.command, self.path, self.headers.get('Host', ''), code,
                                               self.client_address[1]))

    def do_GET(self):
        if self.path.startswith('/-/ping'):
            body = b'{}'
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def copyfile(self, src, dst):
        if ctx:
            return super().copyfile(src, dst)
        dst.flush()
        self.connection.sendfile(src)

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    def handle_error(self, request, addr):
        pass

def serve_http(s):
    srv = Server(s.getsockname()[:2], H, bind_and_activate=False)
    srv.socket.close()
    srv.socket = s
    srv.address_family = s.family
    s.listen(128)
    srv.serve_forever()

def serve_echo(s):
    s.listen(128)
    def one(c, peer):
        log('connect from %s' % peer[0])
        with c:
            c.settimeout(30)
            try:
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    c.sendall(b)
            except OSError:
                pass
    while True:
        c, peer = s.accept()
        threading.Thread(target=one, args=(c, peer), daemon=True).start()

def serve_udp(s):
    while True:
        b, peer = s.recvfrom(65536)
        log('datagram from %s' % peer[0])
        s.sendto(b, peer)

def serve_smuggle(s):
    # Answers each request, then sends a second response nobody asked for:
    # at once in the same write, and again a little later.
    s.listen(128)
    fake = b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected'
    def one(c):
        with c:
            c.settimeout(5)
            try:
                buf = b''
                while b'\r\n\r\n' not in buf:
                    b = c.recv(4096)
                    if not b:
                        return
                    buf += b
                log('smuggle ' + buf.split(b'\r\n')[0].decode('latin1'))
                c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nreal' + fake)
                threading.Event().wait(0.2)
                c.sendall(fake)
                threading.Event().wait(2)
            except OSError:
                pass
    while True:
        c, _ = s.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()

# Servers that misbehave the way real ones do, one connection per thread:
#   eof       answers GET /FILE with FILE and no Content-Length: the body
#             ends when the connection closes (the whole answer, then close)
#   hold      reads nothing until the release file exists, then everything
#             until the end: "hold read N then eof|reset|timeout"
#   early     reads the request head and 1000 bytes of body, answers 413
#             with Connection: close and closes, the body unfinished
#   mute      the same, but closes without answering
#   slowread  waits 1 s before reading a Content-Length body, then answers
#             "got N"
#   tinywin   a receive window of a few hundred bytes; answers every
#             request head at once ("ok", kept alive) without reading any
#             body, and keeps the connection 5 s
#   once      answers one request ("ok", and nothing says the connection
#             will close), then closes it, as a server whose keep-alive
#             timeout has just run out
def serve_conns(s, handler):
    s.listen(128)
    def one(c):
        with c:
            if a.flag:
                open(a.flag, 'w').close()
            try:
                handler(c)
            except OSError:
                pass
    while True:
        c, _ = s.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()

def read_head(c):
    buf = b''
    while b'\r\n\r\n' not in buf:
        b = c.recv(65536)
        if not b:
            return None, b''
        buf += b
    head, _, rest = buf.partition(b'\r\n\r\n')
    return head.decode('latin1'), rest

def header(head, name):
    for line in head.split('\r\n')[1:]:
        k, _, v = line.partition(':')
        if k.strip().lower() == name:
            return v.strip()
    return None

def h_eof(c):
    head, _ = read_head(c)
    if head is None:
        return
    line = head.split('\r\n')[0]
    log('eof ' + line)
    with open(os.path.join(a.dir, line.split()[1].lstrip('/')), 'rb') as f:
        data = f.read()
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n' + data)

def h_hold(c):
    log('hold connected')
    for _ in range(1200):
        if not a.release or os.path.exists(a.release):
            break
        threading.Event().wait(0.05)
    c.settimeout(10)
    n, end = 0, 'eof'
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
    except socket.timeout:
        end = 'timeout'
    except OSError:
        end = 'reset'
    log('hold read %d then %s' % (n, end))

def h_early(c, answer=True):
    head, body = read_head(c)
    if head is None:
        return
    while len(body) < 1000:
        b = c.recv(1000 - len(body))
        if not b:
            break
        body += b
    log('%s %s body %d' % (a.mode, head.split('\r\n')[0], len(body)))
    if answer:
        c.sendall(b'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 5\r\nConnection: close\r\n\r\nlarge')
    c.shutdown(socket.SHUT_WR)
    threading.Event().wait(0.2)

def h_slowread(c):
    head, body = read_head(c)
    if head is None:
        return
    want = int(header(head, 'content-length') or 0)
    threading.Event().wait(1)
    n = len(body)
    while n < want:
        b = c.recv(min(65536, want - n))
        if not b:
            break
        n += len(b)
    log('slowread %s got %d' % (head.split('\r\n')[0], n))
    msg = b'got %d' % n
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s' % (len(msg), msg))
    threading.Event().wait(1)

def h_tinywin(c):
    c.settimeout(5)
    head, _ = read_head(c)
    if head is None:
        return
    log('tinywin ' + head.split('\r\n')[0])
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
    threading.Event().wait(5)

def h_once(c):
    head, _ = read_head(c)
    if head is None:
        return
    log('once ' + head.split('\r\n')[0])
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')

raw_handlers = {'eof': h_eof, 'hold': h_hold, 'early': h_early, 'mute': lambda c: h_early(c, False),
                'slowread': h_slowread, 'tinywin': h_tinywin, 'once': h_once}

socks, port = listeners(socket.SOCK_DGRAM if a.mode == 'udp' else socket.SOCK_STREAM)
if a.mode == 'tinywin':
    # Before listen, so that accepted sockets inherit them: a peer sees a
    # window of a few hundred bytes in segments of 88.
    for s in socks:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 88)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
if a.mode in raw_handlers:
    fn = lambda s: serve_conns(s, raw_handlers[a.mode])
else:
    fn = {'http': serve_http, 'echo': serve_echo, 'udp': serve_udp, 'smuggle': serve_smuggle}[a.mode]
for s in socks[1:]:
    threading.Thread(target=fn, args=(s,), daemon=True).start()
if a.mode != 'udp':
    for s in socks:
        s.listen(128)
with open(a.port_file + '.tmp', 'w') as f:
    f.write(str(port))
os.rename(a.port_file + '.tmp', a.port_file)
fn(socks[0])
EOF

start_server() { # name, mode, [--tls] [--bind ADDR]...
        local name=$1 mode=$2 pid port
        shift 2
        local args=()
        while [ $# -gt 0 ]; do
                case $1 in
                --tls) args+=(--tls "$EGRESS_WORK/srv.pem" "$EGRESS_WORK/srv.key") ;;
                --bind) args+=(--bind "$2"); shift ;;
                --flag) args+=(--flag "$2"); shift ;;
                esac
                shift
        done
        rm -f "$EGRESS_WORK/$name.port" "$EGRESS_WORK/$name.release"
        : >"$EGRESS_WORK/$name.log"
        python3 "$EGRESS_WORK/server.py" "$mode" --dir "$EGRESS_WORK/www" --log "$EGRESS_WORK/$name.log" \
                --port-file "$EGRESS_WORK/$name.port" --release "$EGRESS_WORK/$name.release" "${args[@]}" \
                >"$EGRESS_WORK/$name.err" 2>&1 &
        pid=$!
        _cleanup+=("kill $pid 2>/dev/null; wait $pid 2>/dev/null")
        for _ in $(seq 100); do
                [ -s "$EGRESS_WORK/$name.port" ] && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
        done
        port=$(cat "$EGRESS_WORK/$name.port" 2>/dev/null)
        if [ -z "$port" ]; then
                diag "server $name did not start: $(cat "$EGRESS_WORK/$name.err")"
                printf -v "${name}_port" '%s' 0
                return 1
        fi
        printf -v "${name}_port" '%s' "$port"
}

# CPU time (user + system, in clock ticks) of a process and its threads.
ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }

busy_run() { # flag, [ulimit options...] -- moat arguments...
        local flag=$1 pid t0 t1 hz
        shift
        local lim=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do lim+=("$1"); shift; done
        shift
        rm -f "$PROJECT/$flag"
        (
                [ ${#lim[@]} -eq 0 ] || ulimit "${lim[@]}" || exit
                with_hosts_exec "$MOAT" "$@"
        ) >"$EGRESS_WORK/busy.out" 2>&1 </dev/null &
        pid=$!
        _cleanup+=("kill $pid 2>/dev/null")
        for _ in $(seq 300); do
                [ -e "$PROJECT/$flag" ] && break
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        sleep 0.5
        hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
        BUSY_PID=$pid
        [ -z "${BUSY_HOOK:-}" ] || eval "$BUSY_HOOK"
        t0=$(ticks "$pid"); sleep 2; t1=$(ticks "$pid")
        BUSY=999 # unmeasured: moat was gone
        [ -n "$t0" ] && [ -n "$t1" ] && BUSY=$(((t1 - t0) * 100 / (2 * hz)))
        for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        OUT=$(cat "$EGRESS_WORK/busy.out")
        if printf '%s' "$OUT" | grep -qE '==[0-9]+==ERROR: [A-Za-z]+Sanitizer|runtime error:'; then
                fail "moat $* ran without a sanitizer report"
                diag "$(printf '%s\n' "$OUT" | grep -A20 -m1 -E 'Sanitizer|runtime error')"
        fi
}

# An idle proxy uses nothing; a spinning one a whole CPU. 30% leaves room
# for a slow or loaded machine without letting a busy loop pass.
busy_ok() { # percent, description
        if [ "$1" -lt 30 ]; then pass "$2 ($1% of a CPU)"; else fail "$2 ($1% of a CPU)"; fi
}

small_net_run() { # modes, --, moat arguments...
        local modes=$1 u=-mn o e
        shift 2
        [ "$(id -u)" = 0 ] || u=-rmn
        o=$(mktemp) e=$(mktemp)
        SMALL_LOG=$EGRESS_WORK/small.log
        : >"$SMALL_LOG"
        # shellcheck disable=SC2016
        unshare "$u" bash -c '
                hosts=$1 work=$2 modes=$3 moat=$4
                shift 4
                mount --bind "$hosts" /etc/hosts || exit 90
                python3 "$work/lo_up.py" || exit 91
                echo "4096 4096 4096" >/proc/sys/net/ipv4/tcp_wmem || exit 92
                i=0 pids=()
                for m in $modes; do
                        i=$((i + 1))
                        rm -f "$work/small$i.port"
                        python3 "$work/server.py" "$m" --dir "$work/www" --log "$work/small.log" \
                                --port-file "$work/small$i.port" 2>>"$work/small.err" &
                        pids+=($!)
                        for _ in $(seq 100); do [ -s "$work/small$i.port" ] && break; sleep 0.05; done
                        [ -s "$work/small$i.port" ] || exit 93
                done
                args=()
                for x in "$@"; do
                        for k in $(seq "$i"); do x=${x//@PORT$k@/$(cat "$work/small$k.port")}; done
                        args+=("$x")
                done
                "$moat" "${args[@]}"
                rc=$?
                kill "${pids[@]}"
                wait 2>/dev/null
                exit $rc' _ "$EGRESS_HOSTS" "$EGRESS_WORK" "$modes" "$MOAT" "$@" >"$o" 2>"$e" </dev/null
        RC=$?
        OUT=$(cat "$o"); ERR=$(cat "$e")
        rm -f "$o" "$e"
        if printf '%s' "$ERR" | grep -qE '==[0-9]+==ERROR: [A-Za-z]+Sanitizer|runtime error:'; then
                fail "moat $* ran without a sanitizer report"
                diag "$(printf '%s\n' "$ERR" | head -20)"
        fi
}

# Brings lo up in a fresh network namespace (SIOCGIFFLAGS, SIOCSIFFLAGS),
# without needing ip(8) on the unprivileged user's PATH.
cat >"$EGRESS_WORK/lo_up.py" <<'EOF'
import fcntl, socket, struct
s = socket.socket()
flags = struct.unpack('16sh22x', fcntl.ioctl(s, 0x8913, struct.pack('16sh22x', b'lo', 0)))[1]
fcntl.ioctl(s, 0x8914, struct.pack('16sh22x', b'lo', flags | 1))
EOF

# Whether small_net_run can make its namespace here.
small_net_ok() {
        local u=-mn
        [ "$(id -u)" = 0 ] || u=-rmn
        unshare "$u" sh -c 'echo "4096 4096 4096" >/proc/sys/net/ipv4/tcp_wmem' 2>/dev/null
}

proxy_pipes() { # pid
        python3 - "$1" <<'EOF'
import fcntl, os, sys
pid = sys.argv[1]
seen = set()
for fd in os.listdir('/proc/%s/fd' % pid):
    try:
        link = os.readlink('/proc/%s/fd/%s' % (pid, fd))
        if not link.startswith('pipe:') or link in seen:
            continue
        f = os.open('/proc/%s/fd/%s' % (pid, fd), os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        continue
    seen.add(link)
    try:
        print(fcntl.fcntl(f, 1032))  # F_GETPIPE_SZ
    finally:
        os.close(f)
EOF
}

# Clients for inside the sandbox, in the project so that it can read them.
write_clients() {
        cat >"$PROJECT/raw.py" <<'EOF'
# raw.py [--pipeline] [--to HOST:PORT] REQUEST... : sends each REQUEST (with
# \r \n escapes) to the proxy, exactly as given, and prints each response:
# "RESPONSE n: <status line>" then "BODY n: <body>"; "CLOSED n" when the
# connection ended first. After a 2xx to CONNECT the next REQUEST goes
# through the tunnel.
import socket, sys

args = sys.argv[1:]
pipeline = False
host, port = '127.0.0.1', 3128
while args and args[0].startswith('--'):
    if args[0] == '--pipeline':
        pipeline = True
        args = args[1:]
    elif args[0] == '--to':
        host, _, p = args[1].rpartition(':')
        host, port = host.strip('[]'), int(p)
        args = args[2:]
reqs = [r.encode('latin1').decode('unicode_escape').encode('latin1') for r in args]
s = socket.create_connection((host, port), timeout=5)
f = s.makefile('rb')

def response(n, connect):
    line = f.readline()
    if not line:
        print('CLOSED %d' % n)
        return False
    hdr = {}
    while True:
        h = f.readline()
        if h in (b'\r\n', b'\n', b''):
            break
        k, _, v = h.decode('latin1').partition(':')
        hdr[k.strip().lower()] = v.strip()
    status = int(line.split()[1])
    if connect and 200 <= status < 300:
        body = b''
    elif 'content-length' in hdr:
        body = f.read(int(hdr['content-length']))
    elif hdr.get('transfer-encoding', '').lower() == 'chunked':
        body = b''
        while True:
            size = int(f.readline().split(b';')[0], 16)
            if size == 0:
                f.readline()
                break
            body += f.read(size)
            f.readline()
    else:
        body = f.read()
    print('RESPONSE %d: %s' % (n, line.decode('latin1').rstrip()))
    print('BODY %d: %s' % (n, body.decode('latin1').rstrip()))
    return True

try:
    if pipeline:
        s.sendall(b''.join(reqs))
        for i, r in enumerate(reqs):
            if not response(i + 1, r.startswith(b'CONNECT ')):
                break
    else:
        for i, r in enumerate(reqs):
            s.sendall(r)
            if not response(i + 1, r.startswith(b'CONNECT ')):
                break
except (OSError, ValueError, IndexError) as e:
    print('ERROR %s' % e)
EOF
        cat >"$PROJECT/socks.py" <<'EOF'
# socks.py ATYP HOST PORT [DATA]: SOCKS5 CONNECT through the proxy (ATYP
# 1 IPv4, 3 name, 4 IPv6); prints "REPLY <code>", then sends DATA and
# prints "ECHO <what came back>".
import socket, struct, sys

atyp, host, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
data = sys.argv[4].encode() if len(sys.argv) > 4 else b''
s = socket.create_connection(('127.0.0.1', 3128), timeout=5)
s.sendall(b'\x05\x01\x00')
if s.recv(2) != b'\x05\x00':
    print('GREETING REFUSED')
    sys.exit(1)
if atyp == 1:
    addr = socket.inet_pton(socket.AF_INET, host)
elif atyp == 4:
    addr = socket.inet_pton(socket.AF_INET6, host)
else:
    addr = bytes([len(host)]) + host.encode()
s.sendall(b'\x05\x01\x00' + bytes([atyp]) + addr + struct.pack('>H', port))
r = b''
try:
    while len(r) < 10:
        b = s.recv(10 - len(r))
        if not b:
            break
        r += b
except OSError:
    pass
if len(r) < 2:
    print('REPLY none')
    sys.exit(1)
print('REPLY %d' % r[1])
if r[1] == 0 and data:
    s.sendall(data)
    got = b''
    try:
        while len(got) < len(data):
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError:
        pass
    print('ECHO %s' % got.decode('latin1'))
EOF
        cat >"$PROJECT/udp.py" <<'EOF'
# udp.py HOST PORT: sends one datagram (a DNS query for allowed.test when
# PORT is 53) and waits 1 s for an answer. Prints ANSWER, NOANSWER or
# ERROR <reason>.
import socket, sys

host, port = sys.argv[1], int(sys.argv[2])
q = b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07allowed\x04test\x00\x00\x01\x00\x01'
try:
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1)
    s.sendto(q if port == 53 else b'ping', (host, port))
    s.recvfrom(4096)
    print('ANSWER')
except socket.timeout:
    print('NOANSWER')
except OSError as e:
    print('ERROR %s' % e)
EOF
        cat >"$PROJECT/misuse.py" <<'EOF'
# misuse.py SCENARIO ARGS...: clients that misbehave, each printing what it
# saw. Where a FLAG is named, it is created once the scenario is set up,
# and the client then waits 4 s holding its connections (the host measures
# the proxy meanwhile).
#   socks-greet FLAG            a SOCKS5 greeting, then nothing
#   reset-waiting URL UPFLAG FLAG
#                               GET URL; once the server has the request
#                               (UPFLAG exists), reset the connection
#   reset-tunnel HOST:PORT FLAG CONNECT, send until nothing more is taken
#                               (the server does not read), then reset
#   early URL FLAG              POST 1 MiB to URL, sending 1000 bytes only:
#                               the response, then whether the connection
#                               closes (CLOSED) or stays open (OPEN)
#   slow-reader URL             GET URL, wait 1 s, then read to the end:
#                               "<status line> LEN n SHA256 hex"
#   late-readers URL SIZE...    for each SIZE, GET URL/eof-SIZE.bin over a
#                               connection with a small window (segments of
#                               88 bytes, a 4 KiB receive buffer), read after
#                               0.3 s: "SHORT size:got..." lists the ones cut
#   upload URL SIZE             POST SIZE bytes, print the response
#   one-more URL                GET URL with Connection: close, 0.1 s
#                               later another GET on the same connection
#                               (while the first waits for its answer: use
#                               a slow server), 1.5 s later read: the
#                               answer, then END when the connection ends
#                               cleanly, RESET when it is reset
#   leak URL HOST:PORT          POST 20000 bytes of "L" to URL, then on the
#                               same connection CONNECT HOST:PORT (an echo
#                               server) and send "hello": what came back
#   tunnels N HOST:PORT PATH M FLAG
#                               N tunnels each fetching /small through
#                               CONNECT, M more each fetching PATH, all kept
import hashlib, os, socket, struct, sys, time

PROXY = ('127.0.0.1', 3128)


def conn(timeout=10):
    return socket.create_connection(PROXY, timeout=timeout)


def hold(flag):
    open(flag, 'w').close()
    time.sleep(4)


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()


def authority(url):
    return url.split('/')[2].encode()


def read_response(f):
    line = f.readline()
    if not line:
        return 'CLOSED', b''
    hdr = {}
    while True:
        h = f.readline()
        if h in (b'\r\n', b'\n', b''):
            break
        k, _, v = h.decode('latin1').partition(':')
        hdr[k.strip().lower()] = v.strip()
    n = int(hdr.get('content-length', '-1'))
    body = f.read(n) if n >= 0 else f.read()
    return line.decode('latin1').rstrip(), body


def connect_tunnel(s, hostport):
    s.sendall(b'CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n' % (hostport.encode(), hostport.encode()))
    buf = b''
    while b'\r\n\r\n' not in buf:
        b = s.recv(1)
        if not b:
            return 'CLOSED'
        buf += b
    return buf.split(b'\r\n')[0].decode('latin1')


def post_head(url, size):
    return b'POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n' % (url.encode(), authority(url), size)


cmd, args = sys.argv[1], sys.argv[2:]
if cmd == 'socks-greet':
    s = conn()
    s.sendall(b'\x05\x01\x00')
    print('GREETED %s' % s.recv(2).hex())
    hold(args[0])
elif cmd == 'reset-waiting':
    url, upflag, flag = args
    s = conn()
    s.sendall(b'GET %s HTTP/1.1\r\nHost: %s\r\n\r\n' % (url.encode(), authority(url)))
    for _ in range(200):
        if os.path.exists(upflag):
            break
        time.sleep(0.05)
    time.sleep(0.2)
    reset(s)
    print('RESET')
    hold(flag)
elif cmd == 'reset-tunnel':
    hostport, flag = args
    s = conn()
    print(connect_tunnel(s, hostport))
    s.setblocking(False)
    sent, idle, chunk = 0, 0, b'x' * 65536
    while idle < 10 and sent < (256 << 20):
        try:
            sent += s.send(chunk)
            idle = 0
        except BlockingIOError:
            idle += 1
            time.sleep(0.05)
    print('SENT %d' % sent)
    reset(s)
    hold(flag)
elif cmd == 'early':
    url, flag = args
    s = conn()
    s.sendall(post_head(url, 1 << 20) + b'a' * 1000)
    try:
        status, body = read_response(s.makefile('rb'))
        print('RESPONSE %s' % status)
        print('BODY %s' % body.decode('latin1'))
    except OSError as e:
        print('ERROR %s' % e)
    s.settimeout(5)
    try:
        print('CLOSED' if not s.recv(1) else 'MORE')
    except socket.timeout:
        print('OPEN')
    except OSError:
        print('CLOSED')
    hold(flag)
elif cmd == 'slow-reader':
    s = conn(30)
    s.sendall(b'GET %s HTTP/1.1\r\nHost: %s\r\n\r\n' % (args[0].encode(), authority(args[0])))
    time.sleep(1)
    status, body = read_response(s.makefile('rb'))
    print('%s LEN %d SHA256 %s' % (status, len(body), hashlib.sha256(body).hexdigest()))
elif cmd == 'late-readers':
    short = []
    for size in args[1:]:
        s = socket.socket()
        # Before connecting: the proxy then sends in small segments into a
        # small window, so its own buffers fill before the server is done.
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 88)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect(PROXY)
        url = '%s/eof-%s.bin' % (args[0], size)
        s.sendall(b'GET %s HTTP/1.1\r\nHost: %s\r\n\r\n' % (url.encode(), authority(url)))
        time.sleep(0.3)
        status, body = read_response(s.makefile('rb'))
        if len(body) != int(size):
            short.append('%s:%d' % (size, len(body)))
        s.close()
    print('SHORT %s' % ' '.join(short))
elif cmd == 'upload':
    url, size = args[0], int(args[1])
    s = conn(30)
    try:
        s.sendall(post_head(url, size))
        s.sendall(b'u' * size)
        status, body = read_response(s.makefile('rb'))
        print('%s %s' % (status, body.decode('latin1')))
    except OSError as e:
        print('ERROR %s' % e)
elif cmd == 'one-more':
    s = conn()
    req = b'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % (args[0].encode(), authority(args[0]))
    s.sendall(req)
    time.sleep(0.1)
    s.sendall(req)
    time.sleep(1.5)
    f = s.makefile('rb')
    try:
        print('RESPONSE %s' % read_response(f)[0])
        print('END' if not s.recv(100) else 'MORE')
    except ConnectionResetError:
        print('RESET')
    except OSError as e:
        print('ERROR %s' % e)
elif cmd == 'leak':
    url, hostport = args
    s = conn()
    s.sendall(post_head(url, 20000) + b'L' * 20000)
    status, body = read_response(s.makefile('rb'))
    print('RESPONSE 1 %s %s' % (status, body.decode('latin1')))
    print('RESPONSE 2 %s' % connect_tunnel(s, hostport))
    s.sendall(b'hello')
    s.settimeout(2)
    got = b''
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError:
        pass
    print('ECHO %r LEN %d' % (got[:40], len(got)))
elif cmd == 'tunnels':
    n, hostport, path, m, flag = int(args[0]), args[1], args[2], int(args[3]), args[4]
    held, size = [], 0
    for i in range(n + m):
        s = conn(30)
        held.append(s)
        if connect_tunnel(s, hostport).split()[1:2] != ['200']:
            print('REFUSED')
            sys.exit(1)
        s.sendall(b'GET %s HTTP/1.1\r\nHost: %s\r\n\r\n' % (b'/small' if i < n else path.encode(), hostport.encode()))
        status, body = read_response(s.makefile('rb'))
        size = len(body)
    print('FETCHED %d small, %d of %d bytes' % (n, m, size))
    hold(flag)
EOF
}

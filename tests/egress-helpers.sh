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
#   start_server NAME MODE [--tls] [--bind ADDR]...
#                         MODE is http (serves $EGRESS_WORK/www; answers
#                         /-/ping with {}), echo (TCP), udp (echoes one
#                         datagram) or smuggle (each answer is followed by
#                         an unrequested response with the body "injected"). Sets NAME_port; the server logs one
#                         line per request or connection to $EGRESS_WORK/NAME.log
#   server_log NAME       what the server logged
#   http_status TEXT      the status code of the first response line in TEXT
#   py_in ARGS...         the python3 to run inside the sandbox (the system's)
#
# Inside the project: raw.py (exact bytes to the proxy, prints each
# response), socks.py (a SOCKS5 client), udp.py (one datagram, waits 1 s).

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
ap.add_argument('mode', choices=['http', 'echo', 'udp', 'smuggle'])
ap.add_argument('--bind', action='append')
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
        log('%s %s host=%s code=%s' % (self.command, self.path, self.headers.get('Host', ''), code))

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

socks, port = listeners(socket.SOCK_DGRAM if a.mode == 'udp' else socket.SOCK_STREAM)
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
                esac
                shift
        done
        rm -f "$EGRESS_WORK/$name.port"
        : >"$EGRESS_WORK/$name.log"
        python3 "$EGRESS_WORK/server.py" "$mode" --dir "$EGRESS_WORK/www" --log "$EGRESS_WORK/$name.log" \
                --port-file "$EGRESS_WORK/$name.port" "${args[@]}" >"$EGRESS_WORK/$name.err" 2>&1 &
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
}

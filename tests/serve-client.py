# A client for `moat serve` in the tests: newline-delimited JSON over a
# Unix socket.
#   serve-client.py one SOCK LINE...        one connection, one request at a time
#   serve-client.py pipeline SOCK LINE...   every line sent at once, then the answers
#   serve-client.py concurrent SOCK N       N clients at once, each running echo
#   serve-client.py oversize SOCK MIB       a line of MIB MiB: the answer, then "closed"
#   serve-client.py hangup SOCK LINE        sends and closes without reading
#   serve-client.py stale PATH              leaves a socket file nobody listens on
# A LINE written @FILE is read from FILE.
import json
import socket
import sys
import threading


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(120)
    s.connect(path)
    return s


def read_line(f):
    line = f.readline()
    return line.rstrip("\n") if line else "EOF"


def main():
    mode, path = sys.argv[1], sys.argv[2]
    # @FILE: the request is in FILE (so that what it says is not in argv)
    args = [open(a[1:]).read().rstrip("\n") if a.startswith("@") else a for a in sys.argv[3:]]
    if mode == "stale":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
    elif mode == "one":
        s = connect(path)
        f = s.makefile("rw", encoding="utf-8", newline="\n")
        for line in args:
            f.write(line + "\n")
            f.flush()
            print(read_line(f), flush=True)
    elif mode == "pipeline":
        s = connect(path)
        s.sendall("".join(line + "\n" for line in args).encode())
        f = s.makefile("r", encoding="utf-8", newline="\n")
        for _ in args:
            print(read_line(f), flush=True)
    elif mode == "concurrent":
        n = int(args[0])
        results = [None] * n
        start = threading.Barrier(n)

        def one(i):
            try:
                s = connect(path)
                f = s.makefile("rw", encoding="utf-8", newline="\n")
                start.wait()
                f.write(json.dumps({"id": i, "command": ["sh", "-c", "echo client-$0", str(i)]}) + "\n")
                f.flush()
                results[i] = json.loads(f.readline())
            except Exception as e:  # reported below
                results[i] = {"exception": repr(e)}

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bad = [(i, r) for i, r in enumerate(results)
               if not r or r.get("id") != i or r.get("stdout") != "client-%d\n" % i or r.get("status") != 0]
        print("all %d answered" % n if not bad else "failed: %r" % bad[:3])
    elif mode == "oversize":
        s = connect(path)
        data = b"{" + b" " * (int(args[0]) << 20) + b"}\n"
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: its answer is waiting
        f = s.makefile("r", encoding="utf-8", newline="\n")
        try:
            print(read_line(f))
            print("closed" if read_line(f) == "EOF" else "still open")
        except ConnectionResetError:
            print("closed")
    elif mode == "hangup":
        s = connect(path)
        s.sendall((args[0] + "\n").encode())
        s.close()


main()

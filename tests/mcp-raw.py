# `moat mcp` spoken to by hand: the JSON-RPC corners an SDK client never
# shows (malformed JSON, batches, notifications, cancellation, end of
# input, signals, oversized messages).
#   mcp-raw.py MOAT MARK
# Prints one line per check: "ok<TAB>what" or "not ok<TAB>what<TAB>detail".
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

MOAT, MARK = sys.argv[1], sys.argv[2]


def check(cond, what, detail=None):
    line = ("ok" if cond else "not ok") + "\t" + what
    if not cond and detail is not None:
        line += "\t" + json.dumps(detail)[:600]
    print(line, flush=True)


def marked(suffix):
    out = subprocess.run(["pgrep", "-f", MARK + "-" + suffix], capture_output=True, text=True).stdout
    return out.split()


class Server:
    def __init__(self):
        self.p = subprocess.Popen([MOAT, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, bufsize=0)
        self.q = queue.Queue()
        self.err = b""
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.q.put(line.decode())
        self.q.put(None)

    def _read_err(self):
        for line in self.p.stderr:
            self.err += line

    def send(self, obj):
        data = obj if isinstance(obj, (bytes, str)) else json.dumps(obj)
        if isinstance(data, str):
            data = data.encode()
        self.p.stdin.write(data + b"\n")

    def recv(self, timeout=60):
        try:
            line = self.q.get(timeout=timeout)
        except queue.Empty:
            return "TIMEOUT"
        return json.loads(line) if line else "EOF"

    def call(self, obj, timeout=60):
        self.send(obj)
        return self.recv(timeout)

    def close(self, timeout=20):
        self.p.stdin.close()
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return "timeout"


def init(s, version):
    return s.call({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                   "params": {"protocolVersion": version, "capabilities": {},
                              "clientInfo": {"name": "raw", "version": "1"}}})


def code(i, language, src, **kw):
    args = {"language": language, "code": src}
    args.update(kw)
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "run_code", "arguments": args}}


def command(i, argv, **kw):
    args = {"command": argv}
    args.update(kw)
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "run_command", "arguments": args}}


version = subprocess.run([MOAT, "version"], capture_output=True, text=True).stdout.split()[-1]

s = Server()
r = init(s, "2025-06-18")
res = r.get("result", {}) if isinstance(r, dict) else {}
check(res.get("protocolVersion") == "2025-06-18", "initialize: the client's version when it is supported", r)
check(res.get("serverInfo", {}).get("name") == "moat" and res["serverInfo"].get("version") == version,
      "initialize: serverInfo is moat and its version", res.get("serverInfo"))
check("tools" in res.get("capabilities", {}), "initialize: the tools capability", res.get("capabilities"))
s.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
s.send({"jsonrpc": "2.0", "method": "notifications/whatever", "params": {}})
r = s.call({"jsonrpc": "2.0", "id": 1, "method": "ping"})
check(r == {"jsonrpc": "2.0", "id": 1, "result": {}}, "notifications get no response; ping answers {}", r)
r = s.call('{"jsonrpc": "2.0", "id": 2, "method": ')
check(r.get("error", {}).get("code") == -32700 and r.get("id") is None, "malformed JSON: -32700 with a null id", r)
r = s.call({"jsonrpc": "2.0", "id": 3, "method": "resources/list"})
check(r.get("error", {}).get("code") == -32601 and r.get("id") == 3, "an unknown method: -32601", r)
r = s.call({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"arguments": {}}})
check(r.get("error", {}).get("code") == -32602, "tools/call without a name: -32602", r)
r = s.call({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "rm_rf", "arguments": {}}})
check(r.get("error", {}).get("code") == -32602 and "Unknown tool" in r["error"]["message"],
      "an unknown tool: -32602", r)
r = s.call({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "run_code", "arguments": []}})
check(r.get("error", {}).get("code") == -32602, "arguments that are no object: -32602", r)
r = s.call(code(7, "python", "x", timeout="soon"))
check(r.get("result", {}).get("isError") is True and "timeout" in r["result"]["content"][0]["text"],
      "arguments against the schema: a tool error the model can read", r)
r = s.call(code(8, "cobol", "x"))
check(r.get("result", {}).get("isError") is True and "cobol" in r["result"]["content"][0]["text"],
      "a language that is not there: a tool error", r)
r = s.call([{"jsonrpc": "2.0", "id": 9, "method": "ping"}])
check(r.get("error", {}).get("code") == -32600, "a batch: -32600", r)
r = s.call({"id": 10, "method": "ping"})
check(r.get("error", {}).get("code") == -32600 and r.get("id") == 10, "no \"jsonrpc\": -32600", r)
r = s.call({"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"})
check(r.get("error", {}).get("code") == -32600 and r.get("id") is None, "an id that is no string or integer", r)
s.send(b'{"jsonrpc": "2.0", "id": 11, "method": "ping", "pad": "' + b"x" * (9 << 20) + b'"}')
r = s.recv()
check(r.get("error", {}).get("code") == -32600 and "larger than 8 MiB" in r["error"]["message"],
      "an oversized message is refused", r)
r = s.call({"jsonrpc": "2.0", "id": 12, "method": "ping"})
check(r.get("id") == 12 and "result" in r, "and the server keeps going", r)
r = s.call(code(13, "python", "print(\"\\x00ok\")"))
check(r.get("result", {}).get("structuredContent", {}).get("stdout") == "\x00ok\n",
      "a NUL in the output survives in structuredContent", r)

# Cancellation: the run stops, no response is sent, pings go on meanwhile.
# (run_command: a snippet's text is in a file, not on a command line pgrep sees)
s.send(command(20, ["sh", "-c", "sleep 300; : %s-cancel" % MARK], timeout=600))
for _ in range(100):
    if marked("cancel"):
        break
    time.sleep(0.1)
check(bool(marked("cancel")), "a long call runs")
r = s.call({"jsonrpc": "2.0", "id": 21, "method": "ping"})
check(r.get("id") == 21, "a ping is answered while a call runs", r)
s.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 20, "reason": "test"}})
for _ in range(100):
    if not marked("cancel"):
        break
    time.sleep(0.1)
check(not marked("cancel"), "notifications/cancelled stops the run", marked("cancel"))
r = s.call({"jsonrpc": "2.0", "id": 22, "method": "ping"})
check(r.get("id") == 22, "and no response comes for the cancelled call", r)

# End of input: a call in flight still gets its result, then the exit.
s.send(code(30, "sh", "sleep 1; echo done"))
status = s.close()
r = s.recv(5)
check(isinstance(r, dict) and r.get("id") == 30 and r["result"]["structuredContent"]["stdout"] == "done\n",
      "at end of input, the call in flight is answered", r)
check(status == 0, "then moat mcp exits 0", status)
check(not any(w in s.err for w in (b"AddressSanitizer", b"LeakSanitizer", b"runtime error")),
      "no sanitizer reports", s.err.decode(errors="replace")[-1500:])

# An old client: no structuredContent or outputSchema before 2025-06-18;
# an unknown version gets the newest.
s = Server()
r = init(s, "2024-11-05")
check(r.get("result", {}).get("protocolVersion") == "2024-11-05", "initialize 2024-11-05: echoed", r)
r = s.call({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
check(all("outputSchema" not in t for t in r["result"]["tools"]), "2024-11-05: no outputSchema", r)
r = s.call(code(2, "sh", "echo old"))
check("structuredContent" not in r["result"] and r["result"]["content"][0]["text"].endswith("old\n"),
      "2024-11-05: text content only", r)
s.close()
s = Server()
r = init(s, "1999-01-01")
check(r.get("result", {}).get("protocolVersion") == "2025-11-25", "an unknown version: the newest is offered", r)

# SIGTERM: runs in flight are stopped, nothing is left.
s.send(command(3, ["sh", "-c", "sleep 300; : %s-term" % MARK], timeout=600))
for _ in range(100):
    if marked("term"):
        break
    time.sleep(0.1)
check(bool(marked("term")), "a long call runs")
s.p.send_signal(signal.SIGTERM)
try:
    status = s.p.wait(10)
except subprocess.TimeoutExpired:
    status = "timeout"
check(status == 0, "SIGTERM: moat mcp exits 0", status)
time.sleep(0.3)
check(not marked("term"), "and leaves no sandbox behind", marked("term"))

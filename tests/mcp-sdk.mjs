// `moat mcp` driven by the official MCP TypeScript SDK's client, as Claude
// Code and other clients drive it: Client + StdioClientTransport.
//   node mcp-sdk.mjs MOAT    (with the SDK resolvable from this directory)
// Prints one line per check: "ok<TAB>what" or "not ok<TAB>what<TAB>detail".
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [moat] = process.argv.slice(2);
const check = (cond, what, detail) => {
  let line = `${cond ? "ok" : "not ok"}\t${what}`;
  if (!cond && detail !== undefined) line += `\t${JSON.stringify(detail)?.slice(0, 600)}`;
  console.log(line);
};

const env = {};
for (const k of ["ASAN_OPTIONS", "UBSAN_OPTIONS", "XDG_RUNTIME_DIR", "XDG_DATA_HOME"]) if (process.env[k]) env[k] = process.env[k];
const transport = new StdioClientTransport({ command: moat, args: ["mcp"], env, stderr: "pipe" });
let stderr = "";
transport.stderr.on("data", (d) => { stderr += d; });
const client = new Client({ name: "moat-test", version: "1.0.0" });
const call = (name, args) => client.callTool({ name, arguments: args });

try {
  await client.connect(transport);
  const info = client.getServerVersion();
  check(info?.name === "moat", "the SDK's client connects; serverInfo names moat", info);
  check(!!client.getServerCapabilities()?.tools, "the server declares tools", client.getServerCapabilities());

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  check(JSON.stringify(names) === '["box_create","box_history","box_list","box_remove","box_reset","box_run","run_code","run_command"]',
    "tools/list: run_code, run_command and the box tools", names);
  const rc = tools.find((t) => t.name === "run_code");
  check(rc?.inputSchema?.required?.includes("code") && rc.inputSchema.properties.language.enum.includes("python"),
    "run_code's input schema: language (an enum) and code", rc?.inputSchema);

  let r = await call("run_code", { language: "python", code: "print(6*7)" });
  check(r.isError === false && r.content?.[0]?.type === "text" && r.content[0].text.includes("42"),
    "run_code python print(6*7): the text says 42", r);
  check(r.structuredContent?.stdout === "42\n" && r.structuredContent.exit_code === 0,
    "structuredContent is the runner's result (checked against the output schema)", r.structuredContent);

  r = await call("run_code", { language: "python", code: "import sys\nprint('oops', file=sys.stderr)\nsys.exit(3)" });
  check(r.isError === true && r.structuredContent?.exit_code === 3 && r.content[0].text.includes("oops"),
    "a failing snippet: isError, its exit code and its stderr", r);

  r = await call("run_code", { language: "python", code: "raise SystemExit(" });
  check(r.isError === true && r.content[0].text.includes("SyntaxError"), "a snippet that does not parse: isError", r);

  r = await call("run_command", { command: ["sh", "-c", "read x; echo got $x"], stdin: "hello\n" });
  check(r.isError === false && r.structuredContent?.stdout === "got hello\n", "run_command with stdin", r);

  r = await call("run_code", { language: "python", code: "import time; time.sleep(30)", timeout: 1 });
  check(r.isError === true && r.structuredContent?.timed_out === true, "a timeout: isError and timed_out",
    r.structuredContent);

  r = await call("run_code", { language: "python", code: "print(1)", profile: "dev" });
  check(r.structuredContent?.limits?.memory_mib === 2048, "a profile picks the limit set", r.structuredContent);

  r = await call("run_code", { language: "python" });
  check(r.isError === true && /code/.test(r.content[0].text), "missing arguments: a tool error naming them", r);

  try {
    await call("no_such_tool", {});
    check(false, "an unknown tool: error -32602");
  } catch (e) {
    check(e.code === -32602, "an unknown tool: error -32602", { code: e.code, message: e.message });
  }

  r = await call("box_create", { name: "agent", profile: "fast" });
  check(r.isError === false && r.structuredContent?.ok === true, "box_create", r);
  r = await call("box_run", { name: "agent", command: ["sh", "-c", "echo kept > state.txt"] });
  check(r.isError === false && r.structuredContent?.limits?.memory_mib === 512, "box_run: a command, the box's limits", r);
  r = await call("box_run", { name: "agent", language: "python", code: "print(open('state.txt').read().strip())" });
  check(r.isError === false && r.structuredContent?.stdout === "kept\n", "box_run: the next run sees what the last wrote", r);
  r = await call("box_list", {});
  check(r.structuredContent?.boxes?.[0]?.name === "agent" && r.structuredContent.boxes[0].runs === 2, "box_list", r);
  r = await call("box_history", { name: "agent" });
  check(r.structuredContent?.history?.length === 2, "box_history", r);
  r = await call("box_run", { name: "../x", command: ["true"] });
  check(r.isError === true && /box name/.test(r.content[0].text), "box_run: a bad name is a tool error", r);
  r = await call("box_remove", { name: "agent" });
  check(r.isError === false, "box_remove", r);
  r = await call("box_run", { name: "agent", command: ["true"] });
  check(r.isError === true && /no box named agent/.test(r.content[0].text), "box_run: a missing box", r);

  await client.ping();
  check(true, "ping");

  const many = await Promise.all([1, 2, 3].map((i) => call("run_command", { command: ["echo", String(i)] })));
  check(many.every((m, i) => m.structuredContent?.stdout === `${i + 1}\n`), "three calls at once, each its own result",
    many.map((m) => m.structuredContent?.stdout));
} catch (e) {
  check(false, "the SDK session", String(e?.stack ?? e));
}
await client.close();
check(!/AddressSanitizer|LeakSanitizer|runtime error/.test(stderr), "no sanitizer reports from moat mcp",
  stderr.slice(-2000));

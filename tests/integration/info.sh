#!/bin/bash
# moat info and moat examples.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
new_project

json() { # json TEXT EXPR: evaluates a python expression over the parsed object j
        python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2" 2>&1
}

VERSION=$("$MOAT" version | cut -d' ' -f2)
run info
is "$RC" 0 "moat info"
like "$OUT" "^moat $VERSION" "names the version"
like "$OUT" "Protection on this machine: " "the protection in force"
like "$OUT" "python +(/usr/(local/)?bin/python3|not installed)" "the languages, installed or not"
like "$OUT" "safe +256 MiB +64 +10 s +30 s" "the limit sets"
like "$OUT" "strict +refuses unless every protection" "the modes"

run info --json
is "$RC" 0 "moat info --json"
is "$(json "$OUT" 'j["version"], sorted(j)')" \
        "('$VERSION', ['languages', 'limit_sets', 'modes', 'protection', 'system', 'version'])" "one object"
DOCTOR=$("$MOAT" doctor --json)
is "$(python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2])
print(a["system"] == b, a["protection"]["level"] == b["level"])' "$OUT" "$DOCTOR")" "True True" \
        "the protections are what moat doctor finds"
is "$(json "$OUT" '[(s["name"], s["memory_mib"], s["output_bytes"], s["default"]) for s in j["limit_sets"]][0]')" \
        "('safe', 256, 1048576, True)" "the limit sets, with the default"
is "$(json "$OUT" '[(l["name"], l["installed"] == (l["path"] is not None)) for l in j["languages"]]')" \
        "[('python', True), ('bash', True), ('sh', True), ('node', True)]" "each language says where it is, if anywhere"
is "$(json "$OUT" '[l["installed"] for l in j["languages"] if l["name"] == "sh"]')" "[True]" "sh is installed"
is "$(json "$OUT" '[(m["name"], m["default"]) for m in j["modes"]]')" \
        "[('balanced', True), ('strict', False), ('dev', False)]" "the modes, with the default"
run info --frobnicate
is "$RC" 125 "an unknown option: 125"

run examples
is "$RC" 0 "moat examples"
like "$OUT" "moat run --lang python -c" "run --lang"
like "$OUT" "moat api '" "api"
like "$OUT" "moat serve --socket" "serve"
like "$OUT" "socat" "with socat"
like "$OUT" "claude mcp add moat -- moat mcp" "mcp for Claude Code"
like "$OUT" "moat box create" "boxes"
like "$OUT" "box.run" "boxes through moat serve"

run help
like "$OUT" "moat serve --socket PATH" "help lists serve"
like "$OUT" "moat mcp" "and mcp"

done_testing

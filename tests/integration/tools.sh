#!/bin/bash
# Real tools work unchanged inside: git, python3, node, npm, make, gcc.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
new_project

if command -v gcc >/dev/null && command -v make >/dev/null; then
        printf '#include <stdio.h>\nint main(void){puts("built");return 0;}\n' > hello.c
        printf 'hello: hello.c\n\tgcc -O2 -o $@ $<\n' > Makefile
        run run -- sh -c 'make -s && ./hello'
        is "$OUT" built "make and gcc build and run a program in the project"
else
        skip "gcc or make missing"
fi

if command -v git >/dev/null; then
        run run -- sh -c 'git init -q repo && cd repo && echo a > a && git add a &&
                git -c user.email=t@t -c user.name=t commit -qm first && git log --format=%s'
        is "$OUT" first "git init, add, commit"
else
        skip "git missing"
fi

if command -v python3 >/dev/null; then
        run run -- python3 -c 'import json, sqlite3, ssl, multiprocessing as m
with m.Pool(2) as p: print(sum(p.map(abs, [-1, -2, 3])))'
        is "$OUT" 6 "python3 with multiprocessing, sqlite3, ssl"
        run run -- python3 -m venv venv
        is "$RC" 0 "python3 -m venv in the project"
else
        skip "python3 missing"
fi

if command -v node >/dev/null; then
        run run -- node -e 'const {Worker}=require("worker_threads");
new Worker("require(\"worker_threads\").parentPort.postMessage(6*7)",{eval:true}).on("message",m=>console.log(m))'
        is "$OUT" 42 "node with worker threads"
        run run -- node -e 'require("http").get("http://127.0.0.1:9", r=>{}).on("error", e=>console.log(e.code))'
        like "$OUT" "ECONNREFUSED" "node sees only the sandbox's loopback"
else
        skip "node missing"
fi

if command -v npm >/dev/null; then
        run run -- sh -c 'npm init -y >/dev/null && node -p "require(\"./package.json\").name"'
        like "$OUT" "moat-proj" "npm init writes package.json in the project"
        registry=$(npm config get registry 2>/dev/null)
        if [ -n "$registry" ] && timeout 20 npm view is-number version >/dev/null 2>&1; then
                run run --net host -- npm install --no-audit --no-fund --silent is-number@7.0.0
                is "$RC" 0 "npm install with --net host"
                run run -- node -p 'require("is-number")(5)'
                is "$OUT" true "the installed package runs without network"
                run run -- npm install --no-audit --no-fund --silent --fetch-retries=0 --fetch-timeout=3000 is-odd
                unlike "$RC" "^0$" "npm install without network fails"
        else
                skip "the npm registry is not reachable here"
        fi
else
        skip "npm missing"
fi
done_testing

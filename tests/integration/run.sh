#!/bin/bash
# `moat run` behaviour: what the command sees, exit statuses, limits, flags.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
new_project
me=$(id -u)

run run -- sh -c 'echo hello; echo err >&2; exit 3'
is "$RC" 3 "the command's exit status passes through"
is "$OUT" hello "stdout passes through"
is "$ERR" err "stderr passes through"

run run -- sh -c 'kill -TERM $$'
is "$RC" 143 "killed by signal N gives 128+N"

run run -- pwd
is "$OUT" "$PROJECT" "the working directory is the project, at the same path"

run run -- sh -c 'echo data > written.txt'
is "$(cat written.txt 2>/dev/null)" data "the project is writable"
is "$(stat -c %u written.txt)" "$me" "files written in the project are owned by the user"

run run -- id -u
is "$OUT" "$me" "the user's uid is mapped to itself"

run run -- sh -c 'ls -A "$HOME" | wc -l'
is "$OUT" 0 "\$HOME is an empty tmpfs"

run run -- sh -c 'cat /etc/passwd'
like "$OUT" "^root:|:$me:" "passwd is synthesized"
unlike "$OUT" "moat-test:x:[0-9]+:[0-9]+::/home/moat-test.*\n.*daemon" "host users are not listed"

run run -- sh -c 'test -e /etc/shadow && echo visible || echo hidden'
is "$OUT" hidden "/etc/shadow is not there"

run run -- hostname
is "$OUT" moat "own hostname"

SECRET_TOKEN=s3cr3t run run -- sh -c 'echo "${SECRET_TOKEN:-unset}"'
is "$OUT" unset "the environment is cleared"
SECRET_TOKEN=s3cr3t run run --pass-env SECRET_TOKEN --env A=1 -- sh -c 'echo "$SECRET_TOKEN $A"'
is "$OUT" "s3cr3t 1" "--pass-env and --env add to it"

run run -- sh -c 'echo $PATH'
is "$OUT" "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "a sane PATH"

run run -- no-such-command-moat
is "$RC" 127 "a missing command gives 127"
like "$ERR" "no-such-command-moat: command not found" "and says so"

printf 'echo hi\n' > notexec.sh; chmod -x notexec.sh
run run -- ./notexec.sh
is "$RC" 126 "a non-executable file gives 126"

run run --timeout 1 -- sleep 30
is "$RC" 124 "--timeout gives 124"
like "$ERR" "timed out" "and says so"

run run --json-fd 3 -- sh -c 'exit 5' 3>result.json
is "$RC" 5 "--json-fd keeps the status"
like "$(cat result.json)" '"status":5' "the JSON result has the status"
like "$(cat result.json)" '"exit_code":5' "and the exit code"
like "$(cat result.json)" '"timed_out":false' "and timed_out"
run run --json -- sh -c 'echo out'
like "$OUT" '^out' "--json: the command's output comes first"
like "$OUT" '"status":0' "then the result object"

run run --memroy 10 -- true
is "$RC" 125 "an unknown flag gives 125"
like "$ERR" "did you mean '--memory'" "with a suggestion"

run run --ro /nonexistent/moat -- true
is "$RC" 125 "a missing mount source gives 125"
like "$ERR" "no such file" "naming the problem"

run run --mount /usr:relative -- true
is "$RC" 125 "a relative destination gives 125"

mkdir -p extra; echo x > extra/file
run run --mount "$PROJECT/extra:/data:ro" -- sh -c 'cat /data/file; echo y > /data/file'
like "$OUT" '^x' "--mount is visible at its destination"
is "$(cat extra/file)" x "--mount ...:ro is read-only"

run run --tmpfs /scratch -- sh -c 'echo a > /scratch/f && cat /scratch/f'
is "$OUT" a "--tmpfs gives a writable tmpfs"

run run --no-cwd -- sh -c 'pwd; ls "'"$PROJECT"'" 2>&1 >/dev/null | head -1'
like "$OUT" "^$HOME" "--no-cwd starts in \$HOME"
run run --no-cwd -- test -e "$PROJECT/written.txt"
is "$RC" 1 "--no-cwd hides the project"

run run --workdir /tmp -- pwd
is "$OUT" /tmp "--workdir"

run run -- sh -c 'echo x > /tmp/f && cat /tmp/f'
is "$OUT" x "/tmp is writable"

run run -- sh -c 'echo x > /usr/moat-test 2>/dev/null || echo denied'
is "$OUT" denied "/usr is read-only"

run run --fsize 1 -- sh -c 'head -c 2000000 /dev/zero > big; echo $?'
unlike "$OUT" '^0$' "--fsize stops a large write"

run run --nofile 16 -- sh -c 'ulimit -n'
is "$OUT" 16 "--nofile sets the open files limit"

run run --cpu-time 1 -- sh -c 'while :; do :; done'
is "$RC" 152 "--cpu-time ends a busy loop with SIGXCPU (128+24)"

# A fork bomb is contained and the machine keeps working.
run run --pids 64 --timeout 20 -- sh -c 'bomb() { bomb | bomb & }; bomb; sleep 2; echo survived'
like "$OUT$ERR" "survived|fork|Resource|retry" "a fork bomb is contained by --pids"
pgrep -u "$me" -f 'bomb' >/dev/null && fail "no bomb process outlives the run" || pass "no bomb process outlives the run"

if command -v python3 >/dev/null; then
        run run --memory 100 -- python3 -c 'b = bytearray(400 * 1024 * 1024); print("allocated")'
        unlike "$OUT" allocated "a memory bomb beyond --memory fails"
        run run -- python3 -c 'import sys; print(sys.version_info[0])'
        is "$OUT" 3 "python3 runs"
else
        skip "python3 not installed"
fi

if command -v git >/dev/null; then
        git init -q repo && cd repo
        run run -- sh -c 'git -c user.email=a@b -c user.name=n commit -q --allow-empty -m x && git log --oneline | wc -l'
        like "$ERR" "Read-only file system" "git cannot commit by default: .git is read-only"
        run run -- git status --short
        is "$RC" 0 "but git status works"
        run run --git-write -- sh -c 'git -c user.email=a@b -c user.name=n commit -q --allow-empty -m x && git log --oneline | wc -l'
        is "$OUT" 1 "git commits with --git-write"
        cd "$PROJECT"
fi

run explain -- ls
is "$RC" 0 "explain runs"
like "$OUT" "seccomp" "explain shows the seccomp rules"
like "$OUT" "\.git +read-only: hooks" "explain shows the protected paths"

run doctor
like "$OUT" "protection level" "doctor reports the protection level"

done_testing

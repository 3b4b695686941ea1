#!/bin/bash
# Processes, IPC, sockets, network, descriptors and environment: each attack
# from inside must fail.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
new_project

sleep 300 & host_pid=$!
_cleanup+=("kill $host_pid 2>/dev/null")
run run -- sh -c "ls /proc | grep -c '^[0-9]'"
like "$OUT" '^[1-5]$' "only the sandbox's processes are visible in /proc ($OUT)"
run run -- sh -c "kill -0 $host_pid 2>&1 && echo SIGNALLED"
unlike "$OUT" SIGNALLED "a host process cannot be signalled"
run run -- ./probe signal "$host_pid"
blocked "$OUT" "not even by pid from C"

# A host service on loopback, and a path and an abstract unix socket.
if command -v python3 >/dev/null; then
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1 & srv=$!
        _cleanup+=("kill $srv 2>/dev/null")
        sock="$PROJECT/host.sock"
        python3 -c "import socket,time,sys
a=socket.socket(socket.AF_UNIX); a.bind('$sock'); a.listen()
b=socket.socket(socket.AF_UNIX); b.bind('\0moat-test-abstract-$$'); b.listen()
time.sleep(60)" & uds=$!
        _cleanup+=("kill $uds 2>/dev/null")
        sleep 0.5
        run run -- ./probe connect 127.0.0.1 "$port"
        blocked "$OUT" "a host service on 127.0.0.1 is unreachable"
        run run -- ./probe connect ::1 "$port"
        blocked "$OUT" "and on ::1"
        run run -- ./probe sockets "@moat-test-abstract-$$"
        blocked "$OUT" "a host abstract unix socket is unreachable"
        run run --no-cwd --ro "$PROJECT/probe" -- "$PROJECT/probe" sockets "$sock"
        blocked "$OUT" "a host socket outside the mounts is not there"
else
        skip "python3 missing: network service tests"
fi
run run -- sh -c 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " | tr "\n" " "'
is "$OUT" "lo " "the only interface is loopback"
run run -- sh -c 'getent hosts example.com || echo NORESOLVE'
like "$OUT" NORESOLVE "names do not resolve"

# SysV and POSIX IPC of the host.
if command -v ipcmk >/dev/null; then
        id=$(ipcmk -M 4096 2>/dev/null | grep -oE '[0-9]+$')
        [ -n "$id" ] && _cleanup+=("ipcrm -m $id 2>/dev/null")
        run run -- sh -c 'ipcs -m | grep -cE "^0x"'
        is "$OUT" 0 "host SysV shared memory is not visible"
fi
touch /dev/shm/moat-test-$$ 2>/dev/null && _cleanup+=("rm -f /dev/shm/moat-test-$$")
run run -- ls /dev/shm
unlike "$OUT" "moat-test" "host POSIX shared memory is not visible"

# Descriptors and environment.
"$MOAT" run -- ./probe fds 3<"$0" 4>/dev/null 5</etc/hostname >fds.out 2>&1; rc=$?
is "$rc:$(cat fds.out)" "0:" "inherited descriptors beyond 0-2 are closed"
AWS_SECRET_ACCESS_KEY=x GITHUB_TOKEN=y SSH_AUTH_SOCK=/tmp/s run run -- env
unlike "$OUT" "AWS_SECRET|GITHUB_TOKEN|SSH_AUTH_SOCK" "secrets in the environment do not pass"

# Capabilities and privileges.
run run -- sh -c 'grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t " " "'
like "$OUT" "CapEff: 0000000000000000" "no effective capabilities"
like "$OUT" "CapBnd: 0000000000000000" "an empty bounding set"
like "$OUT" "NoNewPrivs: 1" "no_new_privs"
like "$OUT" "Seccomp: 2" "a seccomp filter"
run run -- ./probe syscalls
blocked "$OUT" "every denied syscall is denied"
run run -- sh -c 'unshare -U true 2>&1 && echo NESTED; unshare -r true 2>&1 && echo NESTED'
unlike "$OUT" NESTED "no nested user namespaces"
done_testing

#!/bin/bash
# Attacks on the filesystem from inside: each must fail.
. "${TESTS:?set TESTS to the tests directory}/lib.sh" || exit 1
require_sandbox
new_project

# A secret in the real home, and ways a hostile project might point at it.
secret_dir="$HOME/.ssh-moat-test.$$"
mkdir -p "$secret_dir" && echo TOPSECRET > "$secret_dir/id_rsa" && chmod 600 "$secret_dir/id_rsa"
_cleanup+=("rm -rf '$secret_dir'")
ln -s "$secret_dir/id_rsa" link-to-secret
ln -s "$HOME" link-to-home

run run -- cat "$secret_dir/id_rsa"
unlike "$OUT" TOPSECRET "a home secret cannot be read by path"
run run -- cat link-to-secret
unlike "$OUT" TOPSECRET "nor through a symlink in the project"
run run -- sh -c 'ls link-to-home/ 2>&1; cat link-to-home/.ssh*/id_rsa 2>&1'
unlike "$OUT" TOPSECRET "nor through a symlink to the home directory"
run run -- sh -c "ln '$secret_dir/id_rsa' hard 2>&1; cat hard 2>&1"
unlike "$OUT" TOPSECRET "nor by making a hard link to it"
run run -- sh -c 'cat /proc/1/root/'"$secret_dir"'/id_rsa 2>&1; cat /proc/*/root'"$secret_dir"'/id_rsa 2>&1'
unlike "$OUT" TOPSECRET "nor through /proc/PID/root"

# Writes outside the writable mounts.
for target in /usr/moat-pwned /etc/moat-pwned /moat-pwned /bin/moat-pwned /sys/moat-pwned /proc/moat-pwned \
              /dev/moat-pwned "$HOME/../moat-pwned"; do
        run run -- sh -c "echo x > '$target' && echo WROTE"
        unlike "$OUT" WROTE "cannot write $target"
done
run run -- sh -c 'echo x > /etc/passwd && echo WROTE'
unlike "$OUT" WROTE "cannot rewrite /etc/passwd"
run run -- sh -c 'echo 1 > /proc/sys/kernel/panic && echo WROTE; echo b > /proc/sysrq-trigger && echo WROTE'
unlike "$OUT" WROTE "cannot write /proc/sys or sysrq-trigger"
run run -- sh -c 'cat /proc/kcore | head -c 1 | wc -c; cat /proc/keys /proc/kallsyms 2>/dev/null | wc -c'
like "$OUT" "^0" "kernel internals in /proc are masked"
run run -- sh -c 'ls /dev'
unlike "$OUT" "sda|vda|nvme|mem|kmsg|dri|snd" "no host devices in /dev"
run run -- sh -c 'mknod /tmp/sda b 8 0 2>&1 && echo MADE'
unlike "$OUT" MADE "cannot make device nodes"
run run -- sh -c 'ls /sys; ls /sys/class 2>&1'
unlike "$OUT" "block|net|firmware" "/sys shows only cpu topology"

# Paths that make the host run code later.
git init -q . 2>/dev/null || mkdir -p .git/hooks
mkdir -p .git/hooks
run run -- sh -c 'echo "#!/bin/sh" > .git/hooks/pre-commit && echo WROTE'
unlike "$OUT" WROTE "cannot plant a git hook"
run run -- sh -c 'mv .git/hooks .git/hooks.old && echo MOVED; rm -rf .git/hooks && echo REMOVED'
unlike "$OUT" "MOVED|REMOVED" "cannot move or remove .git/hooks"
run run -- sh -c 'mv .git .git.old && echo MOVED'
unlike "$OUT" "MOVED" "cannot move .git away (its parents are pinned)"
run run --protect ci/deploy.sh -- sh -c 'mkdir -p ci; mv ci ci.old && echo MOVED'
unlike "$OUT" MOVED "cannot move a protected path's parent away"
ln -s "$secret_dir" planted
run run --ro planted -- cat "$secret_dir/id_rsa"
is "$RC" 125 "--ro through a symlink in the project that leads out of it is refused"
unlike "$OUT" TOPSECRET "and nothing is read through it"
rm -f planted
run run -- sh -c 'echo "[core] fsmonitor = evil" >> .git/config && echo WROTE'
unlike "$OUT" WROTE "cannot change .git/config"

# All of .git is read-only by default: its index, refs and objects too, so a
# staged gitlink or a created commondir cannot point the host's git at a
# repository the command wrote.
if command -v git >/dev/null; then
        gitc() { git -c user.email=t@t -c user.name=t "$@"; }
        pwned=$(mktemp -u /tmp/moat-pwned.XXXXXX)
        _cleanup+=("rm -f '$pwned'")
        git config --unset core.fsmonitor 2>/dev/null
        echo base > tracked && git add tracked && gitc commit -qm base
        mkdir emb && (cd emb && git init -q && echo e > e && git add e && gitc commit -qm e)
        git add emb 2>/dev/null && gitc commit -qm emb
        git update-index --add --cacheinfo "160000,$(git rev-parse HEAD),gone"
        run explain -- true
        like "$OUT" "emb/.git +a submodule in the index" "a gitlink's .git is protected (explain)"
        git update-index --index-version 4
        run explain -- true
        like "$OUT" "emb/.git +a submodule" "and read from a version 4 index"
        git update-index --index-version 2
        mkdir sha && (cd sha && git init -q --object-format=sha256 2>/dev/null && mkdir s && (cd s && git init -q --object-format=sha256 && gitc commit -q --allow-empty -m s) && git add s 2>/dev/null &&
                run explain -- true && like "$OUT" " s/.git +a submodule" "and from a SHA-256 repository's index")
        rm -rf sha
        # shellcheck disable=SC2016
        payload="[core]
        fsmonitor = \"touch $pwned; false\""
        run run -- sh -c "
                echo x > .git/commondir && echo COMMONDIR
                echo x > .git/index && echo INDEX
                echo x > .git/refs/heads/planted && echo REF
                printf '%s\n' '$payload' >> emb/.git/config && echo EMBCONFIG
                mkdir -p gone/.git && echo GONE
                git init -q newrepo && cd newrepo && printf '%s\n' '$payload' >> .git/config &&
                        git add -A && git -c user.email=t@t -c user.name=t commit -qm n && cd .. &&
                        git add newrepo 2>/dev/null && echo STAGED"
        unlike "$OUT" "COMMONDIR|INDEX|REF|EMBCONFIG|GONE|STAGED" \
                ".git is read-only; a submodule's .git cannot be changed or planted"
        git status --short >/dev/null 2>&1
        (cd emb && git status --short >/dev/null 2>&1)
        test -e "$pwned" && fail "the host's git status runs nothing the command wrote" ||
                pass "the host's git status runs nothing the command wrote"
        run run -- sh -c "mv emb/.git emb/.git.old && echo EMBMOVED; rm -rf emb/.git && echo EMBREMOVED"
        unlike "$OUT" "EMBMOVED|EMBREMOVED" "a submodule's .git cannot be moved or removed"
        rm -rf newrepo gone

        # --git-write: commits work; hooks and config stay read-only; what
        # a mount cannot stop is caught after the run.
        run run --git-write -- sh -c 'echo more >> tracked && git -c user.email=t@t -c user.name=t commit -qam more && echo COMMITTED; echo x > .git/hooks/post-commit && echo HOOK; echo x >> .git/config && echo CONFIG'
        like "$OUT" COMMITTED "--git-write: the command can commit"
        unlike "$OUT" "HOOK|CONFIG" "--git-write: hooks and config stay read-only"
        is "$(git log -1 --format=%s)" more "and the commit is on the host"
        run run --git-write -- sh -c 'echo /tmp > .git/commondir'
        like "$ERR" "created .*commondir.*moved it" "--git-write: a created .git/commondir is reported"
        test -e .git/commondir && fail "and moved aside" || pass "and moved aside"
        rm -f .git/commondir.moat-refused
        run run --git-write -- sh -c "git init -q newrepo && cd newrepo && printf '%s\n' '$payload' >> .git/config &&
                git add -A; git -c user.email=t@t -c user.name=t commit -qm n --allow-empty && cd .. && git add newrepo 2>/dev/null; echo STAGED"
        like "$ERR" "staged a submodule at newrepo" "--git-write: a staged gitlink to a planted repository is reported"
        git rm -qf --cached newrepo; git update-index --force-remove gone; rm -rf newrepo
        git status --short >/dev/null 2>&1
        test -e "$pwned" && fail "--git-write: nothing ran on the host" || pass "--git-write: nothing ran on the host"
else
        skip "git missing: .git read-only tests"
fi
run run -- sh -c 'echo "echo pwned" > .envrc && echo WROTE'
unlike "$OUT" WROTE "cannot create .envrc"
test -e .envrc -o -L .envrc && fail "no placeholder is left behind" || pass "no placeholder is left behind"
run run -- sh -c 'mkdir -p .vscode && echo "{}" > .vscode/tasks.json && echo WROTE'
unlike "$OUT" WROTE "cannot create .vscode/tasks.json"
run run -- sh -c 'rm -f .mcp.json; ln -s /tmp/x .mcp.json && echo LINKED; echo "{}" > .mcp.json && echo WROTE'
unlike "$OUT" "LINKED|WROTE" "cannot create or replace .mcp.json"
mkdir -p elsewhere && ln -s elsewhere .claude
run run -- sh -c 'echo x > .claude/settings.json && echo WROTE; rm .claude && echo REMOVED'
unlike "$OUT" "WROTE|REMOVED" "a protected symlink is pinned, and its target in the project protected"
rm .claude
run run --protect data/keep.txt -- sh -c 'mkdir -p data; echo x > data/keep.txt && echo WROTE'
unlike "$OUT" WROTE "--protect extends the list"
run run -- sh -c 'ls -A | tr "\n" " "'
diag "inside: $OUT"
leftover=$(find . -maxdepth 2 -lname '*moat-protected*' | head -3)
is "$leftover" "" "no placeholder symlinks remain after the runs"

# Two runs in one project share placeholders: the first to exit must not
# unpin the other's.
rm -f .envrc
"$MOAT" run -- sh -c 'sleep 1.5; echo x > .envrc && echo WROTE' >long.out 2>&1 </dev/null &
long=$!
sleep 0.5
"$MOAT" run -- true </dev/null
wait $long
unlike "$(cat long.out)" WROTE "a placeholder stays pinned while another run still uses it"
test -L .envrc && fail "and is removed by the last run" || pass "and is removed by the last run"

# A symlinked .git/hooks pointing outside the project does not carry a mount out.
rm -rf .git/hooks && ln -s "$secret_dir" .git/hooks
run run -- sh -c 'cat .git/hooks/id_rsa 2>&1; echo x > .git/hooks/new 2>&1 && echo WROTE'
unlike "$OUT" "TOPSECRET|WROTE" "a .git/hooks symlink out of the project leads nowhere"
test -e "$secret_dir/new" && fail "nothing was written through it" || pass "nothing was written through it"
done_testing

# bash completion for moat
_moat() {
        local cur prev
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        if [ "$COMP_CWORD" -eq 1 ]; then
                COMPREPLY=($(compgen -W "run explain doctor help version" -- "$cur"))
                return
        fi
        case $prev in
        --ro|--rw|--workdir|--tmpfs|--protect) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --net) COMPREPLY=($(compgen -W "none proxy host" -- "$cur")); return ;;
        --log) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --allow-weaker) COMPREPLY=($(compgen -W "landlock userns" -- "$cur")); return ;;
        --pass-env) COMPREPLY=($(compgen -v -- "$cur")); return ;;
        esac
        case ${COMP_WORDS[1]} in
        run|explain)
                if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "--ro --rw --mount --tmpfs --no-cwd --workdir --protect --git-write --env
                                --pass-env --net --allow --log --publish --host-port --memory --pids --cpu-time --timeout --nofile --fsize --tmpfs-size
                                --tty --no-tty --json --json-fd --verbose --allow-weaker --help" -- "$cur"))
                else
                        COMPREPLY=($(compgen -c -- "$cur"))
                fi ;;
        doctor) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
        esac
}
complete -F _moat moat

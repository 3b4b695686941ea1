# bash completion for moat
_moat() {
        local cur prev
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        if [ "$COMP_CWORD" -eq 1 ]; then
                COMPREPLY=($(compgen -W "run explain doctor help version list up down install rebuild prune get api box serve mcp info examples" -- "$cur"))
                return
        fi
        case $prev in
        --ro|--rw|--workdir|--tmpfs|--protect) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --net) COMPREPLY=($(compgen -W "none proxy host" -- "$cur")); return ;;
        --log) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --allow-weaker) COMPREPLY=($(compgen -W "landlock userns" -- "$cur")); return ;;
        --pass-env) COMPREPLY=($(compgen -v -- "$cur")); return ;;
        --lang) COMPREPLY=($(compgen -W "python bash sh node" -- "$cur")); return ;;
        --profile) COMPREPLY=($(compgen -W "safe fast dev" -- "$cur")); return ;;
        --mode) COMPREPLY=($(compgen -W "strict balanced dev" -- "$cur")); return ;;
        --policy) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        esac
        case ${COMP_WORDS[1]} in
        run|explain)
                if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "--ro --rw --mount --tmpfs --no-cwd --workdir --protect --git-write --env
                                --pass-env --net --allow --log --publish --host-port --memory --pids --cpu-time --timeout --nofile --fsize --tmpfs-size
                                --tty --no-tty --json --json-fd --verbose --allow-weaker --lang --code --profile --mode
                                --policy --output-limit --help" -- "$cur"))
                else
                        COMPREPLY=($(compgen -c -- "$cur"))
                fi ;;
        doctor|info) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
        serve) COMPREPLY=($(compgen -W "--socket --workers --queue --max-clients --grace --policy --help" -- "$cur")) ;;
        mcp) COMPREPLY=($(compgen -W "--policy --workers --help" -- "$cur")) ;;
        box)
                if [ "$COMP_CWORD" -eq 2 ]; then
                        COMPREPLY=($(compgen -W "create ls run exec shell history reset rm" -- "$cur"))
                else
                        local b=${XDG_DATA_HOME:-$HOME/.local/share}/moat/boxes names f
                        for f in "$b"/*/; do [ -d "$f" ] && f=${f%/} && names+=" ${f##*/}"; done
                        COMPREPLY=($(compgen -W "$names --json --lang" -- "$cur"))
                fi ;;
        list) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
        up|down)
                if [ "$prev" = --dir ]; then COMPREPLY=($(compgen -d -- "$cur"))
                else COMPREPLY=($(compgen -W "--dir --help" -- "$cur")); fi ;;
        prune) COMPREPLY=($(compgen -W "--yes --help" -- "$cur")) ;;
        get)
                if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "--force --yes --list --help" -- "$cur"))
                else COMPREPLY=($(compgen -W "$(moat get --list 2>/dev/null | sed -n '2,$s/^  \([^ ]*\).*/\1/p')" -- "$cur")); fi ;;
        install|rebuild)
                local d=${XDG_CONFIG_HOME:-$HOME/.config}/moat/tools names f
                for f in "$d"/*.json; do [ -e "$f" ] && f=${f##*/} && names+=" ${f%.json}"; done
                COMPREPLY=($(compgen -W "$names" -- "$cur")) ;;
        esac
}
complete -F _moat moat

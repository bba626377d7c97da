# bash completion for reqprof(1): its commands, their options, the values
# those options take, and files or directories where a command reads them.
# make install puts it where bash-completion looks for it by name.

# The options of each command, as its --help lists them.
_reqprof_options() {
    local text="--all --threshold --ascii"
    case $1 in
        run) echo "-o --dir --output --help" ;;
        ls) echo "--slowest --path --help" ;;
        show) echo "--latest --slowest $text --help" ;;
        open) echo "--print --help" ;;
        convert) echo "--to -o --output $text --help" ;;
        merge) echo "--path --to -o --output $text --help" ;;
        diff) echo "--vs --path --to -o --output $text --help" ;;
        stats) echo "--path --help" ;;
    esac
}

_reqprof() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    if ((COMP_CWORD == 1)); then
        mapfile -t COMPREPLY < <(compgen -W "run ls show open convert merge \
            diff stats --version --help" -- "$cur")
        return
    fi
    local command=${COMP_WORDS[1]}
    if [[ $command == run ]]; then
        # COMMAND is the first word that is no option of run's nor its
        # value; from there on the words are COMMAND's own.
        local i=2
        while ((i < COMP_CWORD)); do
            case ${COMP_WORDS[i]} in
                -o | --dir | --output) ((i += 2)) ;;
                --) ((i += 1)); break ;;
                -*) ((i += 1)) ;;
                *) break ;;
            esac
        done
        if ((i < COMP_CWORD)) && declare -F _command_offset >/dev/null; then
            _command_offset "$i"
            return
        elif ((i < COMP_CWORD)); then
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return
        fi
        case $prev in
            -o | --dir)
                mapfile -t COMPREPLY < <(compgen -d -- "$cur")
                return ;;
            --output)
                # A comma list: complete the last item.
                local done=${cur%"${cur##*,}"}
                mapfile -t COMPREPLY < <(compgen -P "$done" \
                    -W "text json html" -- "${cur##*,}")
                return ;;
        esac
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "$(_reqprof_options run) --" \
                -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -c -- "$cur")
        fi
        return
    fi
    case $prev in
        --to)
            local formats="text html json pprof collapsed speedscope"
            [[ $command == diff ]] && formats="text html"
            mapfile -t COMPREPLY < <(compgen -W "$formats" -- "$cur")
            return ;;
        --latest | --slowest)
            # show's take a DIR; ls's --slowest a number.
            if [[ $command == show ]]; then
                mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            fi
            return ;;
        --path | --threshold) return ;;
        -o | --output)
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_reqprof_options "$command")" \
            -- "$cur")
    elif [[ $command == ls || $command == merge || $command == stats ]]; then
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}

complete -o filenames -F _reqprof reqprof

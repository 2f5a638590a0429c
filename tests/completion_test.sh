#!/usr/bin/env bash
# Bash completion of aismi, driven the way bash drives it: COMP_WORDS/COMP_CWORD for a line.
set -u
source /usr/share/bash-completion/bash_completion
source "$1/systemd/aismi.bash-completion"
fails=0
complete_line() {  # LINE -> the completions, one per line
    local line=$1
    COMP_LINE=$line
    COMP_POINT=${#line}
    read -ra COMP_WORDS <<<"$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    if [[ ${COMP_WORDS[0]} == aismi-firmware-pack ]]; then _aismi_firmware_pack aismi-firmware-pack; else _aismi aismi; fi
    printf '%s\n' "${COMPREPLY[@]}"
}
expect() {  # LINE EXPECTED
    local got
    got=$(complete_line "$1" | tr '\n' ' ' | sed 's/ $//')
    if [[ $got != "$2" ]]; then
        echo "FAIL: '$1' completes to '$got', expected '$2'"
        fails=$((fails + 1))
    fi
}
expect "aismi --query-card=index,na" "index,name"
expect "aismi -q -d PCI,TE" "PCI,TEMPERATURE"
expect "aismi --query-vf=card,sta" "card,state"
expect "aismi vf en" "enable"
expect "aismi -i 0 vf dis" "disable"
expect "aismi vf pro" "provision"
expect "aismi vf un" "unprovision unquarantine"
expect "aismi vf unq" "unquarantine"
expect "aismi vf qu" "quarantine"
expect "aismi vf quarantine 0:1 --r" "--reason"
expect "aismi vf as" "assign"
expect "aismi vf assign 0:1 --d" "--domain"
expect "aismi vf bind 0:1 --driver v" "vfio-pci"
expect "aismi vf list --d" "--domain"
expect "aismi prof" "profile"
expect "aismi profile l" "list"
expect "aismi quota s" "set show"
expect "aismi partition a" "apply"
expect "aismi partition e" "export"
expect "aismi partition apply -i 0 4xhalf --dr" "--dry-run"
expect "aismi quota set acme --max-m" "--max-memory"
expect "aismi vf provision 0:1 --ten" "--tenant"
expect "aismi --query-vf=vf,pro" "vf,progress vf,profile"
expect "aismi --list-c" "--list-cards"
expect "aismi pol" "policy"
expect "aismi policy s" "set show"
expect "aismi policy set -i 0 --comp" "--compute-oversubscription"
expect "aismi --query-vf=thr" "throttled"
expect "aismi he" "health"
expect "aismi ev" "events"
expect "aismi reset -i 0 --f" "--force"
expect "aismi events --fo" "--follow"
expect "aismi events --type reset,au" "reset,auto-reset"
expect "aismi dm" "dmon"
expect "aismi dmon --v" "--vf"
expect "aismi firm" "firmware"
expect "aismi firmware r" "rollback"
expect "aismi firmware update -i 0 --act" "--activate"
expect "aismi firmware update -i 0 --activate n" "now never"
expect "aismi firmware " "show update activate rollback jobs"
expect "aismi-firmware-pack --ke" "--key"
expect "aismi-firmware-pack --key k.pem --ver" "--version"
expect "aismi firmware jobs -" "-i --id -j --json -h --help"
expect "aismi events --type firm" "firmware"
expect "aismi -i 0 health -" "-i --id -j --json -h --help"
# The field lists are the CLI's own: every field aismi --help-query-* names completes.
if [[ -n ${2-} ]]; then
    for kind in card vf; do
        listed=$(source "$1/systemd/aismi.bash-completion"; declare -f _aismi | grep -o "local ${kind}_fields=\"[^\"]*\"" | sed 's/.*="//; s/"$//' | tr ' ' '\n' | sort)
        actual=$("$2" --help-query-$kind | grep '^"' | tr -d '"' | sort)
        if [[ $listed != "$actual" ]]; then
            echo "FAIL: the completion's $kind fields differ from aismi --help-query-$kind:"
            diff <(echo "$listed") <(echo "$actual")
            fails=$((fails + 1))
        fi
    done
fi
if ((fails)); then echo "$fails completion(s) wrong"; exit 1; fi
echo "completion: all as expected"

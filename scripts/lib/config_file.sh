# config_file.sh — reads a NeverMissCall configuration file into the
# environment; sourced by scripts/stack.sh and nevermisscall-setup. The format
# is the one the edge reads (edge/config_file.c): blank lines and lines
# starting with '#' are skipped; every other line is NMC_KEY=value, spaces
# around both trimmed, a value wrapped in a pair of double or single quotes
# unwrapped (no escapes, nothing expanded). The environment wins: a key it
# already sets (not empty) is left as it is.

# nmc_config_file_load FILE: exports the file's settings; on a line that is
# not NMC_KEY=value, says which and returns 1.
nmc_config_file_load() {
    local file=$1 line key value n=0
    [ -r "$file" ] || { echo "cannot read $file" >&2; return 1; }
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        line=${line%$'\r'}
        line=${line#"${line%%[![:blank:]]*}"}
        line=${line%"${line##*[![:blank:]]}"}
        if [ -z "$line" ] || [ "${line:0:1}" = "#" ]; then continue; fi
        key=${line%%=*}
        key=${key%"${key##*[![:blank:]]}"}
        if [ "$key" = "$line" ] || ! [[ $key =~ ^NMC_[A-Za-z0-9_]*$ ]]; then
            echo "$file:$n: expected NMC_KEY=value" >&2
            return 1
        fi
        value=${line#*=}
        value=${value#"${value%%[![:blank:]]*}"}
        if [ ${#value} -ge 2 ] && { [[ $value == \"*\" ]] || [[ $value == \'*\' ]]; }; then
            value=${value:1:${#value}-2}
        fi
        [ -n "${!key:-}" ] || export "$key=$value"
    done < "$file"
}

#!/bin/sh
# fuzz.sh — what `make fuzz` and `make fuzz-merge` run for one target (see
# tests/fuzz/README.md). Run from the top of the tree, after `make fuzz-build`.
#
#   tests/fuzz/fuzz.sh run TARGET SECONDS [LIBFUZZER FLAGS...]
#       fuzz build/fuzz/fuzz_TARGET for SECONDS on build/fuzz/corpus/TARGET
#       (a working copy: the committed corpus and fresh seeds are copied in,
#       new finds stay there), print one line, exit 1 on a finding
#   tests/fuzz/fuzz.sh merge TARGET [LIBFUZZER FLAGS...]
#       replace tests/fuzz/corpus/TARGET with its named seeds plus the
#       smallest set of inputs from it and the working copy that adds coverage
set -u

fuzz=build/fuzz
mode=${1:-}
target=${2:-}
case $mode in run) [ $# -ge 3 ] || mode= ;; merge) [ $# -ge 2 ] || mode= ;; esac
case $target in decode|directory) ;; *) mode= ;; esac
if [ -z "$mode" ]; then
    echo "usage: $0 run TARGET SECONDS [FLAGS...] | merge TARGET [FLAGS...]" >&2
    echo "TARGET: decode or directory" >&2
    exit 2
fi
bin=$fuzz/fuzz_$target
committed=tests/fuzz/corpus/$target
work=$fuzz/corpus/$target

# seeds DIR writes the named seeds of TARGET into DIR: the decoder's come from
# mkcorpus (so they follow the codec), the directory's are the committed
# *.json files made by mkdircorpus.py.
seeds() {
    if [ "$target" = decode ]; then
        "$fuzz/mkcorpus" "$1" >/dev/null || exit 1
    else
        for f in "$committed"/*.json; do [ -e "$f" ] && cp "$f" "$1"/; done
    fi
}

if [ "$mode" = merge ]; then
    shift 2
    new=$fuzz/merge/$target
    rm -rf "$new" && mkdir -p "$new" "$work" || exit 1
    seeds "$new"
    before=$(ls "$new" | wc -l)
    if ! "$bin" -merge=1 "$@" "$new" "$committed" "$work" >"$fuzz/merge_$target.log" 2>&1; then
        echo "fuzz_$target: merge failed, see $fuzz/merge_$target.log" >&2
        exit 1
    fi
    rm -rf "$committed" && mv "$new" "$committed" || exit 1
    found=$(($(ls "$committed" | wc -l) - before))
    echo "fuzz_$target: $committed: $before seeds + $found found inputs," \
        "$(($(cat "$committed"/* | wc -c) / 1024)) KiB"
    exit 0
fi

seconds=$3
shift 3
artifacts=$fuzz/artifacts/$target
log=$fuzz/fuzz_$target.log
mkdir -p "$work" "$artifacts" || exit 1
cp "$committed"/* "$work"/ 2>/dev/null
seeds "$work"
before=$(ls "$artifacts" | wc -l)
"$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$@" "$work" >"$log" 2>&1
rc=$?
found=$(ls -t "$artifacts" | head -n $(($(ls "$artifacts" | wc -l) - before)))

stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
field() { echo "$last" | sed -n "s/.* $1: \([^ ]*\).*/\1/p"; }

if [ $rc -ne 0 ] || [ -n "$found" ]; then
    first=$(echo "$found" | head -n 1)
    echo "fuzz_$target: FINDING (exit $rc): ${first:+$artifacts/$first}; log $log"
    grep -m 4 -E '^(fuzz_[a-z]+: |==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | sed 's/^/    /'
    exit 1
fi
echo "fuzz_$target: ok: $(stat number_of_executed_units) execs in ${seconds} s" \
    "($(stat average_exec_per_sec)/s), cov $(field cov), ft $(field ft)," \
    "corpus $(field corp), $(stat new_units_added) new; log $log"

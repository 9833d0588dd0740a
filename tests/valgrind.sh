#!/bin/sh
# valgrind.sh LOGDIR TEST... — runs end-to-end tests with the broker and the
# workers under valgrind (memcheck, full leak check), through testlib's
# GRIDLINE_WRAP, then reads every process's report in LOGDIR. Fails when a
# test fails, when a report has errors (invalid reads or writes, uses of
# uninitialised values, definite leaks), or when a process ended without a
# report (it was killed before valgrind could write one).
# Needs GRIDLINE_BIN and GRIDLINE_DATA, as `make check` sets them.
set -u
logdir=$1
shift
rm -rf "$logdir"
mkdir -p "$logdir"
GRIDLINE_WRAP="valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=30 --log-file=$logdir/%p.log"
export GRIDLINE_WRAP
status=0
${PROVE:-prove} -j1 --exec '' "$@" || status=1

reports=0 dirty=0 unfinished=0
for f in "$logdir"/*.log; do
    [ -e "$f" ] || continue
    reports=$((reports + 1))
    prog=$(sed -n 's/^==[0-9]*== Command: \([^ ]*\).*/\1/p' "$f" | head -1)
    if ! grep -q "ERROR SUMMARY:" "$f"; then
        unfinished=$((unfinished + 1))
        echo "valgrind: no report from $(basename "$prog") ($f): it was killed" >&2
    elif ! grep -q "ERROR SUMMARY: 0 errors" "$f"; then
        dirty=$((dirty + 1))
        echo "valgrind: errors in $(basename "$prog") ($f):" >&2
        sed -n '/ERROR SUMMARY/p;/Invalid\|uninitialised\|definitely lost in/,/^==[0-9]*== $/p' "$f" | head -60 >&2
    fi
done
echo "valgrind: $reports processes checked, $dirty with errors, $unfinished without a report"
[ "$reports" -gt 0 ] || status=1
[ "$dirty" -eq 0 ] && [ "$unfinished" -eq 0 ] || status=1
exit $status

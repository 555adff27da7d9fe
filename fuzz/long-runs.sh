#!/usr/bin/env bash
# Long runs of several targets, one after another (a shared machine: nice -n 19, at most one run per lane):
#
#   fuzz/long-runs.sh SECONDS EXECUTIONS TARGET...   each target for SECONDS or EXECUTIONS, whichever comes first
#   AFTER_PID=1234 fuzz/long-runs.sh ...             first wait for process 1234 (e.g. the lane before) to end
#
# Each run's summary (run.sh's closing statistics) goes to fuzz/out/logs/TARGET.txt, its start time to TARGET.start.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ $# -ge 3 ] || { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
seconds="$1"; executions="$2"; shift 2
logs="${FUZZ_OUT:-$here/out}/logs"
mkdir -p "$logs"
if [ -n "${AFTER_PID:-}" ]; then
  while kill -0 "$AFTER_PID" 2>/dev/null; do sleep 30; done
fi
for target in "$@"; do
  date -u +%FT%TZ > "$logs/$target.start"
  AFL_EXTRA="-E $executions ${AFL_EXTRA:-}" nice -n 19 "$here/run.sh" "$target" "$seconds" > "$logs/$target.txt" 2>&1
  date -u +%FT%TZ > "$logs/$target.end"
done

#!/usr/bin/env bash
# Coverage-guided fuzzing of one GdNet.Fuzz target with afl-fuzz (Debian's afl++) and SharpFuzz.
#
#   fuzz/run.sh TARGET SECONDS            build Release, instrument GdNet*.dll (not the harness) in a copy under
#                                         fuzz/out/TARGET/bin, fuzz for SECONDS from fuzz/corpus/TARGET (fresh findings dir
#                                         fuzz/out/TARGET/afl), then print executions, exec/s, corpus, edges, crashes, hangs
#   fuzz/run.sh TARGET SECONDS --resume   go on from the findings of the last run instead of starting afresh
#   fuzz/run.sh TARGET --replay PATH...   run files (or folders, e.g. fuzz/out/TARGET/afl/default/crashes) through the
#                                         target in-process, without afl, and print each outcome and exception
#   fuzz/run.sh TARGET --tmin IN OUT      minimise a crashing input with afl-tmin
#   fuzz/run.sh --list                    the targets
#
# Long runs share the machine: start them as `nice -n 19 fuzz/run.sh TARGET SECONDS`. Environment: AFL_TIMEOUT_MS (per
# input, default 2000), FUZZ_OUT (instead of fuzz/out), AFL_EXTRA (more afl-fuzz options, e.g. "-E 10000000" to stop after ten million executions).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
project="$here/GdNet.Fuzz/GdNet.Fuzz.csproj"
build_dir="$here/GdNet.Fuzz/bin/Release/net10.0"
out_root="${FUZZ_OUT:-$here/out}"

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] || usage

build() {
  mkdir -p "$out_root"
  # One build at a time (two runs started together share the build output).
  mkdir -p "$here/GdNet.Fuzz/obj"
  exec 9>"$here/GdNet.Fuzz/obj/.run-build.lock"
  flock 9
  local log="$out_root/build-$$.log"
  # 9>&-: build servers and nodes must not inherit (and so keep) the lock.
  dotnet build "$project" -c Release --nologo -v q > "$log" 2>&1 9>&- || { cat "$log" >&2; echo "run.sh: the build failed" >&2; exit 1; }
  rm -f "$log"
}

if [ "$1" = "--list" ]; then
  build && dotnet "$build_dir/GdNet.Fuzz.dll" --list
  exit 0
fi

target="$1"; shift
[ $# -ge 1 ] || usage

if [ "$1" = "--replay" ]; then
  shift
  build
  exec 9>&-
  exec dotnet "$build_dir/GdNet.Fuzz.dll" "$target" --replay "$@"
fi

command -v afl-fuzz >/dev/null || { echo "run.sh: afl-fuzz is missing (apt-get install afl++)" >&2; exit 1; }
out="$out_root/$target"
bin="$out/bin"

instrument() {
  build
  [ -f "$here/corpus/$target/$(ls "$here/corpus/$target" 2>/dev/null | head -1)" ] || { echo "run.sh: no corpus at fuzz/corpus/$target (unknown target? fuzz/run.sh --list)" >&2; exit 2; }
  rm -rf "$bin" && mkdir -p "$bin"
  cp -r "$build_dir/." "$bin/"
  flock -u 9
  (cd "$here" && dotnet tool restore >/dev/null 9>&-)
  for dll in "$bin"/GdNet*.dll; do
    case "$(basename "$dll")" in GdNet.Fuzz.dll) continue ;; esac
    (cd "$here" && dotnet tool run sharpfuzz "$dll" >/dev/null 9>&-) || { echo "run.sh: sharpfuzz failed on $dll" >&2; exit 1; }
  done
}

export AFL_SKIP_BIN_CHECK=1             # the binary is dotnet; the instrumentation is in the GdNet assemblies
export AFL_SKIP_CPUFREQ=1
export AFL_NO_AFFINITY=1                # a shared machine: no core binding
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_UI=1
export AFL_FORKSRV_INIT_TMOUT=60000     # dotnet's start-up and JIT on a busy machine
export DOTNET_TieredPGO=0
export DOTNET_TC_QuickJitForLoops=1
timeout_ms="${AFL_TIMEOUT_MS:-2000}"

if [ "$1" = "--tmin" ]; then
  [ $# -eq 3 ] || usage
  instrument
  exec 9>&-
  exec afl-tmin -t "$timeout_ms" -m none -i "$2" -o "$3" -- dotnet "$bin/GdNet.Fuzz.dll" "$target"
fi

seconds="$1"; shift
case "$seconds" in ''|*[!0-9]*) usage ;; esac
resume=0
[ "${1:-}" = "--resume" ] && resume=1

instrument
dicts=()
for d in "$here/dict/$target.dict" "$here/dict/common.dict"; do
  [ -f "$d" ] && dicts+=(-x "$d")
done
if [ $resume -eq 1 ] && [ -d "$out/afl/default" ]; then
  input=(-i -)
else
  rm -rf "$out/afl"
  input=(-i "$here/corpus/$target")
fi

echo "run.sh: fuzzing $target for ${seconds}s (findings in ${out#$root/}/afl)" >&2
set +e
# shellcheck disable=SC2086
afl-fuzz "${input[@]}" -o "$out/afl" -V "$seconds" -t "$timeout_ms" -m none "${dicts[@]}" ${AFL_EXTRA:-} \
  -- dotnet "$bin/GdNet.Fuzz.dll" "$target" > "$out/afl-fuzz.log" 2>&1 9>&-
rc=$?
set -e
stats="$out/afl/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
  echo "run.sh: afl-fuzz exited with $rc before writing statistics; the end of its log:" >&2
  tail -30 "$out/afl-fuzz.log" >&2
  exit 1
fi
stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
crashes=$(stat saved_crashes); hangs=$(stat saved_hangs)
echo "target:      $target"
echo "run time:    $(stat run_time) s"
echo "executions:  $(stat execs_done)"
echo "exec/s:      $(stat execs_per_sec)"
echo "corpus:      $(stat corpus_count) (paths)"
echo "edges:       $(stat edges_found) of $(stat total_edges) ($(stat bitmap_cvg))"
echo "stability:   $(stat stability)"
echo "crashes:     ${crashes:-0}"
echo "hangs:       ${hangs:-0}"
if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
  echo "findings:    ${out#$root/}/afl/default/crashes, .../hangs (fuzz/run.sh $target --replay DIR)"
fi

#!/usr/bin/env bash
# The whole GdNet test suite: installs what the tests need (Godot 3.2.3 headless for interop, libenet7 for ENet,
# Debian's chromium for the dashboard's browser test, driven by Playwright without any browser download,
# nats-server with JetStream for the cluster tests, afl++ for the fuzzing smoke test)
# when missing, then runs `dotnet test` on the solution and prints one closing line "N passed, N failed".
# Usage: ./test.sh [extra dotnet test arguments, e.g. --filter Category!=Interop]
#        ./test.sh --soak   the long reliability runs instead (Category=Soak: ENet 100 clients x 60 s, plain and RPC,
#                           the 50,000-call bursts; the WebSocket soak 200 clients x 60 s; the cluster soak 50 players
#                           per node x 60 s), about 6 minutes; sizes from GDNET_SOAK_CLIENTS/_SECONDS and
#                           GDNET_CLUSTER_SOAK_PLAYERS/_SECONDS
set -uo pipefail
cd "$(dirname "$0")"

soak=0
if [ "${1:-}" = "--soak" ]; then
  soak=1
  shift
fi

need=()
command -v godot3-server >/dev/null 2>&1 || need+=(godot3-server)
ldconfig -p 2>/dev/null | grep -q 'libenet\.so\.7' || need+=(libenet7)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/sbin/nats-server ] || need+=(nats-server)
command -v afl-fuzz >/dev/null 2>&1 || need+=(afl++)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null \
    || { echo "test.sh: could not install ${need[*]}" >&2; exit 1; }
fi

log=$(mktemp)
if [ "$soak" -eq 1 ]; then
  export GDNET_CLUSTER_SOAK_PLAYERS="${GDNET_CLUSTER_SOAK_PLAYERS:-50}" GDNET_CLUSTER_SOAK_SECONDS="${GDNET_CLUSTER_SOAK_SECONDS:-60}"
  dotnet test GdNet.slnx -c Release --nologo --filter "Category=Soak|FullyQualifiedName~ClusterSoakTests" "$@" 2>&1 | tee "$log"
else
  dotnet test GdNet.slnx -c Release --nologo "$@" 2>&1 | tee "$log"
fi
rc=${PIPESTATUS[0]}

# VSTest prints one summary per test project: "Failed!  - Failed: 1, Passed: 9, Skipped: 0, Total: 10, ..."
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- +Failed: ' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
rm -f "$log"
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$rc"

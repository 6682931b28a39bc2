#!/usr/bin/env bash
# Runs make test N times (default 5) while a CPU hog keeps both cores of a 2-core
# machine busy, stopping at the first failure, and prints each run's wall time: make
# test must pass on a busy machine, not only on a quiet one.
#
# The hog is stress-ng --cpu 2 (Debian's stress-ng, installed when missing, with sudo
# when not root); without apt-get, two busy shell loops stand in for it.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
GO=${GO:-go}

if ! command -v stress-ng >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "test-under-load: installing stress-ng from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -qq stress-ng >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq stress-ng >/dev/null; }
fi

hogs=()
stop_hogs() {
  for pid in "${hogs[@]+"${hogs[@]}"}"; do kill "$pid" 2>/dev/null; done
  for pid in "${hogs[@]+"${hogs[@]}"}"; do wait "$pid" 2>/dev/null; done
  hogs=()
}
trap stop_hogs EXIT
trap 'stop_hogs; exit 130' INT TERM
if command -v stress-ng >/dev/null 2>&1; then
  stress-ng --cpu 2 --quiet &
  hogs+=($!)
  echo "test-under-load: stress-ng --cpu 2 running (pid ${hogs[0]})"
else
  for _ in 1 2; do
    bash -c 'while :; do :; done' &
    hogs+=($!)
  done
  echo "test-under-load: stress-ng unavailable; two busy shell loops running (pids ${hogs[*]})"
fi

times=()
for i in $(seq 1 "$runs"); do
  echo "== test-under-load: run $i of $runs"
  start=$(date +%s)
  make --no-print-directory test GO="$GO"
  rc=$?
  took=$(( $(date +%s) - start ))
  times+=("run $i: $(( took / 60 ))m$(( took % 60 ))s $([ $rc = 0 ] && echo pass || echo FAIL)")
  if [ $rc != 0 ]; then
    echo "test-under-load: run $i failed; wall times: ${times[*]}"
    exit 1
  fi
done
echo "test-under-load: $runs of $runs runs passed beside the CPU hog; wall times: $(IFS=,; echo "${times[*]}")"

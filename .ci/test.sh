#!/usr/bin/env bash
# Runs every test of the plugin module (compiled, with the race detector) and of the
# Yaegi host module (the plugin under Yaegi, as Traefik v3.7 loads it), and prints one
# summary at the end. Both halves always run, side by side (much of each is waiting
# on servers and timers, so together they fill the machine), and the Yaegi half's
# output follows the compiled half's: a failure in one does not hide the other; the
# script fails at the end if anything failed.
#
#   .ci/test.sh        what make test runs: go test -short, so the slow scenarios
#                      (failovers, clusters, the browser, the long concurrency runs)
#                      are left to make test-all; each says so when it skips
#   .ci/test.sh all    what make test-all runs: everything
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
export GOFLAGS=${GOFLAGS:--buildvcs=false}
start=$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

short=(-short)
if [ "${1:-}" = all ]; then short=(); fi

failed=()
summary="$tmp/testsummary"
if ! (cd internal/yaegihost && "$GO" build -o "$summary" ./cmd/testsummary); then
  failed+=("building the test summariser (internal/yaegihost/cmd/testsummary)")
  summary=""
fi

# run LABEL DIR GO-TEST-ARGS...: one go test invocation, read through the summariser.
run() {
  local label=$1 dir=$2
  shift 2
  if [ -n "$summary" ]; then
    (cd "$dir" && "$summary" -record "$tmp/$label.json" -- "$GO" test -json "$@")
  else
    (cd "$dir" && "$GO" test "$@") || failed+=("go test ($label)")
  fi
}

echo "== go vet (plugin module)"
"$GO" vet ./... || failed+=("go vet (plugin module)")
echo "== go vet (Yaegi host module)"
(cd internal/yaegihost && "$GO" vet ./...) || failed+=("go vet (Yaegi host module)")
if [ -n "$summary" ]; then
  # The Yaegi half in the background, its output kept for after the compiled half.
  run yaegi internal/yaegihost -count=1 -timeout 20m "${short[@]}" ./... > "$tmp/yaegi.out" 2>&1 &
  yaegi_pid=$!
  echo "== plugin module: compiled tests with -race ${short[*]} (the Yaegi half runs beside it)"
  run compiled . -race -count=1 "${short[@]}" ./...
  wait "$yaegi_pid"
  echo "== Yaegi host module: the plugin under Yaegi, and compiled beside it ${short[*]}"
  cat "$tmp/yaegi.out"
else
  echo "== plugin module: compiled tests with -race ${short[*]}"
  run compiled . -race -count=1 "${short[@]}" ./...
  echo "== Yaegi host module: the plugin under Yaegi, and compiled beside it ${short[*]}"
  run yaegi internal/yaegihost -count=1 -timeout 20m "${short[@]}" ./...
fi

if [ -z "$summary" ]; then
  echo
  for f in "${failed[@]}"; do echo "FAILED step: $f"; done
  echo "FAIL: no summary (the summariser did not build); wall time $(( $(date +%s) - start ))s"
  exit 1
fi
args=()
for f in "${failed[@]+"${failed[@]}"}"; do args+=(-step-failed "$f"); done
"$summary" -close -start "$start" "${args[@]+"${args[@]}"}" "$tmp/compiled.json" "$tmp/yaegi.json"

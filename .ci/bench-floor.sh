#!/usr/bin/env bash
# The cached paths under Yaegi against the pass-through floor, as a table:
# BenchmarkYaegiCachedPathsAgainstFloor (internal/yaegihost/bench_floor_test.go)
# times each path and the floor in turn, in the same run.
set -euo pipefail
GO=${GO:-go}
cd "$(dirname "$0")/../internal/yaegihost"
out=$("$GO" test -run '^$' -bench 'BenchmarkYaegiCachedPathsAgainstFloor' -count=1 -timeout 30m . 2>&1) || {
	printf '%s\n' "$out"
	exit 1
}
printf '%s\n' "$out" | grep -E '^(goos|goarch|cpu|pkg):' || true
printf '%s\n' "$out" | awk '
	BEGIN { printf "%-28s %12s %10s %12s %10s %8s\n", "cached path (Yaegi)", "ns/op", "allocs/op", "floor ns/op", "floor al.", "x floor" }
	/^BenchmarkYaegiCachedPathsAgainstFloor\// {
		name = $1; sub(/^BenchmarkYaegiCachedPathsAgainstFloor\//, "", name); sub(/-[0-9]+$/, "", name)
		for (i = 3; i < NF; i += 2) v[$(i + 1)] = $i
		printf "%-28s %12.0f %10.0f %12.0f %10.0f %8.2f\n", name, v["ns/op"], v["path-allocs/op"], v["floor-ns/op"], v["floor-allocs/op"], v["x-floor"]
	}
	/^(FAIL|---)/ { print; failed = 1 }
	END { exit failed }'

#!/usr/bin/env bash
# The cached paths under Yaegi against the pass-through floor, as a table, and the
# same for single Go constructs (the lower bound of a cached path):
# BenchmarkYaegiCachedPathsAgainstFloor and BenchmarkYaegiConstructsAgainstFloor
# (internal/yaegihost/bench_floor_test.go) time each path and the floor in turn, in
# the same run.
set -euo pipefail
GO=${GO:-go}
cd "$(dirname "$0")/../internal/yaegihost"
out=$("$GO" test -run '^$' -bench 'Benchmark(YaegiCachedPathsAgainstFloor|YaegiConstructsAgainstFloor)' -count=1 -timeout 30m . 2>&1) || {
	printf '%s\n' "$out"
	exit 1
}
printf '%s\n' "$out" | grep -E '^(goos|goarch|cpu|pkg):' || true
printf '%s\n' "$out" | awk '
	function row(title, name) {
		if (title != shown) {
			printf "\n%-28s %12s %10s %12s %10s %8s\n", title, "ns/op", "allocs/op", "floor ns/op", "floor al.", "x floor"
			shown = title
		}
		for (i = 3; i < NF; i += 2) v[$(i + 1)] = $i
		printf "%-28s %12.0f %10.0f %12.0f %10.0f %8.2f\n", name, v["ns/op"], v["path-allocs/op"], v["floor-ns/op"], v["floor-allocs/op"], v["x-floor"]
	}
	/^BenchmarkYaegi(CachedPaths|Constructs)AgainstFloor\// {
		name = $1; sub(/^BenchmarkYaegi[A-Za-z]+AgainstFloor\//, "", name); sub(/-[0-9]+$/, "", name)
		if ($1 ~ /^BenchmarkYaegiCachedPaths/) row("cached path (Yaegi)", name)
		else row("construct (Yaegi)", name)
	}
	/^(FAIL|---)/ { print; failed = 1 }
	END { exit failed }'

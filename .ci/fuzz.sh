#!/usr/bin/env bash
# Runs every fuzz target of both modules for a short time each ($1, default 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-10s}"
export GOFLAGS=-buildvcs=false
status=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  mod_root="."
  pkg="./$dir"
  case "$dir" in
    internal/yaegihost*) mod_root="internal/yaegihost"; pkg="./${dir#internal/yaegihost}"; pkg="${pkg%/}"; [ "$pkg" = "." ] || pkg=".$pkg" ;;
  esac
  [ "$pkg" = "./" ] && pkg="."
  for fn in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "== $fn ($dir, $t)"
    if ! (cd "$mod_root" && go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" "$pkg"); then
      status=1
    fi
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | sed 's|^\./||' | sort)
exit $status

#!/usr/bin/env bash
# What a new user meets: a fresh clone of the committed HEAD in a temporary
# directory, then exactly the README's two commands — make test, and make demo until
# it sends a browser to sign in at the test provider — so that a missing install step
# fails here rather than for a user. The demo is stopped with SIGINT, as Ctrl-C
# would, and must end cleanly with exit status 0.
#
# Uncommitted changes are not in the clone: commit first.
set -euo pipefail
root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
commit=$(git -C "$root" rev-parse HEAD)
tmp=$(mktemp -d)
demo_pid=""
cleanup() {
  if [ -n "$demo_pid" ]; then kill "$demo_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "newcomer: cloning $commit into $tmp/gatehouse"
git clone --quiet "$root" "$tmp/gatehouse"
cd "$tmp/gatehouse"
git checkout --quiet --detach "$commit"

echo "newcomer: make test"
start=$(date +%s)
make test
echo "newcomer: make test passed in $(( $(date +%s) - start ))s"

# Free loopback ports for the demo: the defaults (8080, 9000) may be taken here.
free_port() {
  local p
  for p in $(shuf -i 20000-40000 -n 50); do
    if ! (: > "/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "newcomer: no free port" >&2
  exit 1
}
listen=$(free_port)
provider=$(free_port)
echo "newcomer: make demo DEMO_LISTEN=127.0.0.1:$listen DEMO_PROVIDER=127.0.0.1:$provider"
make demo DEMO_LISTEN="127.0.0.1:$listen" DEMO_PROVIDER="127.0.0.1:$provider" > "$tmp/demo.log" 2>&1 &
make_pid=$!

# head_of PORT PATH: the status line and Location header of a plain GET.
head_of() {
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: localhost:%s\r\nAccept: text/html\r\n\r\n' "$2" "$1" >&3
  local status location line
  IFS= read -r -t 10 status <&3 || return 1
  while IFS= read -r -t 10 line <&3; do
    line=${line%$'\r'}
    [ -z "$line" ] && break
    case "$line" in [Ll]ocation:*) location=${line#*: } ;; esac
  done
  exec 3>&-
  echo "${status%$'\r'} ${location:-}"
}

# The first make demo builds the demo: allow for a cold build cache.
deadline=$(( $(date +%s) + 600 ))
answer=""
until [[ "$answer" == *" 302 "*"http://127.0.0.1:$provider/"* ]]; do
  if ! kill -0 "$make_pid" 2>/dev/null; then
    cat "$tmp/demo.log"
    echo "newcomer: make demo ended before it served the sign-in redirect" >&2
    exit 1
  fi
  if [ "$(date +%s)" -gt "$deadline" ]; then
    cat "$tmp/demo.log"
    echo "newcomer: make demo did not send a browser to sign in within 10 minutes (last answer: $answer)" >&2
    exit 1
  fi
  sleep 1
  answer=$(head_of "$listen" / 2>/dev/null || true)
done
echo "newcomer: the demo sends a browser to sign in: $answer"

# Ctrl-C's signal to the demo (make's child: the recipe execs the demo binary).
demo_pid=$(cat "/proc/$make_pid/task/$make_pid/children" 2>/dev/null || pgrep -P "$make_pid" || true)
demo_pid=${demo_pid%% *}
if [ -z "$demo_pid" ]; then
  echo "newcomer: the demo process (a child of make, pid $make_pid) was not found" >&2
  exit 1
fi
kill -INT "$demo_pid"
rc=0
wait "$make_pid" || rc=$?
demo_pid=""
cat "$tmp/demo.log"
if [ "$rc" != 0 ] || grep -q 'make: \*\*\*' "$tmp/demo.log" || ! grep -q 'demo stopped' "$tmp/demo.log"; then
  echo "newcomer: make demo did not stop cleanly on SIGINT (exit status $rc)" >&2
  exit 1
fi
echo "newcomer: make demo stopped cleanly on SIGINT (exit status 0); all good"

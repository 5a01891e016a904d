#!/usr/bin/env bash
# Times a newcomer's first run: a fresh clone of this repository, then the README's first command
# (install, seed and serve the example store), until http://localhost:3000 answers with products.
#
#   bash scripts/time-first-run.sh [repository] [port]
#
# Uses the package cache already on the machine (a "warm" cache). Leaves nothing behind.
set -euo pipefail
repo="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
port="${2:-3000}"
work="$(mktemp -d)"
trap '[ -n "${server:-}" ] && kill -- -"$server" 2>/dev/null; rm -rf "$work"' EXIT

if curl -s -o /dev/null "http://localhost:$port/"; then
  echo "port $port is already in use" >&2
  exit 1
fi

start=$(date +%s.%N)
git clone -q "$repo" "$work/cartwright"
cd "$work/cartwright"
# The README's first command, verbatim, in its own process group so that it can be stopped.
set -m
(PORT="$port" bash -c 'npx -y pnpm@10 install && npx -y pnpm@10 start' >"$work/log" 2>&1) &
server=$!
set +m
until curl -s "http://localhost:$port/" 2>/dev/null | grep -q 'Trail Runner'; do
  if ! kill -0 "$server" 2>/dev/null; then
    cat "$work/log" >&2
    echo "the store stopped before it answered" >&2
    exit 1
  fi
  sleep 0.5
done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v p="$port" 'BEGIN { printf "clone -> store answering on port %s with products listed: %.1f s\n", p, e - s }'
grep -E 'Cartwright shoe store|seed' "$work/log" | head -5 || true

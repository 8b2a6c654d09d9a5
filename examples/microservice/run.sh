#!/usr/bin/env bash
# The microservice end to end over Redis ($STEM_REDIS_URL, default redis://127.0.0.1:6379/8, in
# a namespace of its own): one `stem serve` with a token, one worker, and producers in curl,
# Python and Node, each checking its results. Uses $STEM_BIN, else builds stem.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${STEM_BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  export STEM_BIN="$root/target/release/stem"
fi
work=$(mktemp -d)
pids=()
export STEM_BROKER_URL=${STEM_REDIS_URL:-redis://127.0.0.1:6379/8}
export STEM_NAMESPACE="example_micro_$$"
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if command -v redis-cli >/dev/null; then  # best effort: drop this run's keys
    redis-cli -u "$STEM_BROKER_URL" --scan --pattern "$STEM_NAMESPACE:*" | xargs -r redis-cli -u "$STEM_BROKER_URL" del >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
unset STEM_RESULT_BACKEND_URL STEM_REVOKE_STORE_URL
export STEM_API_TOKENS="example-token"

"$STEM_BIN" serve --listen 127.0.0.1:0 --manifest "$here/stem.toml" >"$work/serve.out" 2>"$work/serve.log" &
pids+=($!)
"$STEM_BIN" worker --manifest "$here/stem.toml" --concurrency 4 2>"$work/worker.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/serve.out" && break; sleep 0.1; done
export STEM_API_URL=$(grep -o 'http://[0-9.:]*' "$work/serve.out")
export STEM_API_TOKEN="example-token"
echo "== stem serve at $STEM_API_URL (namespace $STEM_NAMESPACE)"

auth=(-H "Authorization: Bearer $STEM_API_TOKEN" -H "Content-Type: application/json")
id=$(curl -sf "${auth[@]}" -X POST "$STEM_API_URL/v1/tasks" -d '{"task": "resize", "args": ["bird.png", 32]}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
record=$(curl -sf "${auth[@]}" "$STEM_API_URL/v1/tasks/$id?wait=30s")
echo "$record" | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["state"] == "success" and r["result"]["thumbnail"] == "bird.png@32w", r'
echo "curl producer: ok"
python3 "$here/producer.py"
node "$here/producer.js"
echo "microservice: ok"

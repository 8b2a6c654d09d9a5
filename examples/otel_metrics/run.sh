#!/usr/bin/env bash
# The otel_metrics example, end to end on the embedded default (one SQLite file, no services):
# builds stem, starts receiver.py (a small OTLP/HTTP JSON receiver), enqueues 200 tasks, runs a
# worker that exports metrics and spans to the receiver and serves Prometheus metrics, scrapes
# it, drains the queue, and prints what the receiver got.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

echo "== building stem (release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
stem="${CARGO_TARGET_DIR:-$root/target}/release/stem"

work=$(mktemp -d)
trap 'kill "$receiver" "$worker" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
export STEM_MANIFEST="$here/stem.toml"

python3 "$here/receiver.py" --port 0 --out "$work/received" > "$work/receiver.out" 2>"$work/receiver.log" &
receiver=$!
for _ in $(seq 50); do grep -q listening "$work/receiver.out" && break; sleep 0.1; done
endpoint=$(sed -n 's/^listening on //p' "$work/receiver.out")
echo "== receiver at $endpoint"

"$stem" enqueue add --args '[2, 3]' --repeat 100 >/dev/null
"$stem" enqueue resize --args '[640]' --repeat 50 >/dev/null
for n in $(seq 1 50); do "$stem" enqueue flaky --args "[$n]" >/dev/null; done

OTEL_EXPORTER_OTLP_ENDPOINT="$endpoint" OTEL_EXPORTER_OTLP_PROTOCOL=http/json \
  OTEL_METRIC_EXPORT_INTERVAL=1000 PYTHONPATH="$root/sdk-python" \
  "$stem" worker --manifest "$here/stem.toml" --concurrency 4 --metrics-listen 127.0.0.1:9464 \
  --log-format json 2>"$work/worker.log" &
worker=$!

for _ in $(seq 300); do
  left=$("$stem" observe queues --json | python3 -c 'import json,sys; print(sum(q["ready"]+q["leased"] for q in json.load(sys.stdin).values()))')
  [ "$left" = 0 ] && break
  sleep 0.1
done
echo
echo "== curl http://127.0.0.1:9464/metrics (task lines)"
curl -s http://127.0.0.1:9464/metrics | grep -E '^stem_tasks_total|^stem_task_run_duration_seconds_count|^stem_queue_depth'

kill -TERM "$worker"; wait "$worker" || true   # flushes the last metrics and spans
echo
echo "== what the receiver got"
python3 "$here/receiver.py" --summary "$work/received"

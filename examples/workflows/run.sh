#!/usr/bin/env bash
# The workflows example, end to end on the embedded default (one SQLite file, no services
# needed): builds stem (or uses $STEM_BIN), starts a worker on this folder's stem.toml and
# `stem serve` on a free loopback port, starts an order run with `stem wf start`, waits until
# the run waits for its shipment event, sends the event with curl, waits for the run to
# complete, prints `stem wf show` and checks the result, then stops both with SIGTERM (a warm
# shutdown).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${STEM_BIN:-}" ]; then
  echo "== building stem (release)"
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  STEM_BIN="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi
stem=$STEM_BIN

work=$(mktemp -d)
worker= server=
cleanup() {
  for pid in $server $worker; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"   # the SQLite file stem.db, shared by the worker, the server and the CLI, is created here
unset STEM_BROKER_URL STEM_RESULT_BACKEND_URL STEM_REVOKE_STORE_URL STEM_NAMESPACE \
  STEM_API_URL STEM_API_TOKEN STEM_API_TOKENS
export STEM_MANIFEST="$here/stem.toml"   # `stem wf start` checks the workflow's name against it

# One log line per outcome (success lines are debug-level by default).
STEM_LOG=${STEM_LOG:-info,stem::observe::log=debug} \
  "$stem" worker --manifest "$here/stem.toml" --concurrency 4 >"$work/worker.log" 2>&1 &
worker=$!
"$stem" serve --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.log" &
server=$!
api=
for _ in $(seq 100); do
  api=$(sed -n 's/^stem serve: listening on //p' "$work/serve.out")
  [ -n "$api" ] && break
  sleep 0.1
done
[ -n "$api" ] || { echo "!! stem serve did not start"; cat "$work/serve.log"; exit 1; }
echo "== stem serve at $api"

order='{"id": "o-17", "total_cents": 4200, "items": [{"sku": "mug", "qty": 2}, {"sku": "tea", "qty": 1}]}'
echo
echo "== stem wf start order --id order-o-17"
run=$("$stem" wf start order --args "[$order]" --id order-o-17)
echo "$run"

# An event nobody waits for is not kept: send it once the run waits (after the charge, the
# invoice and the sleep).
echo
echo "== waiting for the run to wait on shipment.o-17"
waiting=
for _ in $(seq 600); do
  if "$stem" wf waiters --topic shipment.o-17 | grep -q " run $run "; then waiting=1; break; fi
  sleep 0.1
done
[ -n "$waiting" ] || { echo "!! the run never waited for its event"; "$stem" wf show "$run"; cat "$work/worker.log"; exit 1; }
"$stem" wf waiters --topic shipment.o-17

echo
echo "== curl -X POST $api/v1/events/shipment.o-17"
emitted=$(curl -sS --fail-with-body -X POST "$api/v1/events/shipment.o-17" \
  -H "Content-Type: application/json" -d '{"payload": {"tracking": "1Z-999-0017"}}')
echo "$emitted"
resumed=$(printf '%s' "$emitted" | python3 -c 'import json, sys; print(json.load(sys.stdin)["resumed"])')
[ "$resumed" = 1 ] || { echo "!! the event resumed $resumed runs"; exit 1; }

# The run as the API shows it, long-polled until it has ended.
state=
for _ in $(seq 4); do
  state=$(curl -sS --fail-with-body "$api/v1/workflows/runs/$run?wait=30" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])')
  case "$state" in running|suspended) ;; *) break ;; esac
done

echo
echo "== stem wf show $run"
"$stem" wf show "$run"
[ "$state" = completed ] || { echo "!! the run is $state"; cat "$work/worker.log"; exit 1; }
"$stem" wf show "$run" --json | python3 -c '
import json, sys
run = json.load(sys.stdin)
result = run["result"]
assert result["state"] == "shipped" and result["tracking"] == "1Z-999-0017", result
assert result["invoice"] == "INV-o-17" and result["total"] == "42.00", result
assert result["idempotency_key"] == run["id"] + "/charge/1", result
steps = [(s["name"], s["kind"], s["state"]) for s in run["steps"]]
assert steps == [("charge", "step", "done"), ("render_invoice", "call", "done"),
                 ("cool_off", "sleep", "done"), ("shipment", "event", "done")], steps
'
invoices=$(grep -c 'rendering invoice INV-o-17' "$work/worker.log" || true)
[ "$invoices" = 1 ] || { echo "!! the invoice was rendered $invoices times"; exit 1; }
echo "== completed: charged once, invoice rendered once, shipped with the event's tracking number"

kill -TERM "$worker" "$server"
wait "$worker" || { echo "!! the worker did not stop cleanly"; cat "$work/worker.log"; exit 1; }
wait "$server" || { echo "!! stem serve did not stop cleanly"; cat "$work/serve.log"; exit 1; }
worker= server=
echo
echo "== worker log"
cat "$work/worker.log"
echo
echo "workflows: ok"

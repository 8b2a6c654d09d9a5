#!/usr/bin/env bash
# The monolith end to end on the embedded default: starts app.py (which runs a worker beside
# itself), signs two users up with curl, and checks one welcome mail was sent and the bad
# address failed with its ValueError. Uses $STEM_BIN, else builds stem.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${STEM_BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  export STEM_BIN="$root/target/release/stem"
fi
work=$(mktemp -d)
app=
trap '[ -n "$app" ] && kill "$app" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"   # stem.db, shared by the app and its worker, is created here
unset STEM_BROKER_URL STEM_RESULT_BACKEND_URL STEM_NAMESPACE
PORT=0 python3 "$here/app.py" >"$work/app.log" 2>&1 &
app=$!
for _ in $(seq 100); do grep -q "listening on" "$work/app.log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/app.log")
echo "== app at $url"

good=$(curl -sf -X POST "$url/signup" -d '{"email": "ada@example.com"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["task_id"])')
bad=$(curl -sf -X POST "$url/signup" -d '{"email": "nobody"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["task_id"])')

state_of() { curl -sf "$url/tasks/$1" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["state"], r.get("result") or (r.get("error") or {}).get("type", ""))'; }
for id in "$good" "$bad"; do
  for _ in $(seq 300); do
    case "$(state_of "$id")" in success*|failure*) break ;; esac
    sleep 0.1
  done
done
echo "== $good: $(state_of "$good")"
echo "== $bad: $(state_of "$bad")"
[ "$(state_of "$good")" = "success welcome mail sent to ada@example.com" ] || { echo "!! the welcome mail was not sent"; cat "$work/app.log"; exit 1; }
case "$(state_of "$bad")" in "failure ValueError") ;; *) echo "!! the bad address did not fail with ValueError"; exit 1 ;; esac
echo "monolith_service: ok"

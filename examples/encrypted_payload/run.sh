#!/usr/bin/env bash
# The encrypted-payload example, end to end: makes a private CA and certificates (make-certs.sh,
# openssl only), starts a private TLS-only redis-server that requires client certificates, makes
# signing and encryption keys, runs a worker and a producer over mutual TLS, and then shows what
# a reader of Redis sees: every key's contents, in which no card number appears. Uses STEM_BIN
# when set, otherwise builds stem (release).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ -n "${STEM_BIN:-}" ]; then
  stem=$STEM_BIN
else
  echo "== building stem (release)"
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stem
  stem="${CARGO_TARGET_DIR:-$root/target}/release/stem"
fi

work=$(mktemp -d)
worker= redis=
cleanup() {
  [ -n "$worker" ] && kill "$worker" 2>/dev/null && wait "$worker" 2>/dev/null
  [ -n "$redis" ] && kill "$redis" 2>/dev/null && wait "$redis" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "== certificates"
bash "$here/make-certs.sh" "$work/certs"
certs=$work/certs

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port 0 --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --tls-port "$port" --tls-auth-clients yes \
  --tls-cert-file "$certs/server.pem" --tls-key-file "$certs/server.key" \
  --tls-ca-cert-file "$certs/ca.pem" >"$work/redis.log" 2>&1 &
redis=$!
rcli() {
  redis-cli --tls --cacert "$certs/ca.pem" --cert "$certs/client.pem" --key "$certs/client.key" \
    -h localhost -p "$port" "$@"
}
for _ in $(seq 100); do rcli ping >/dev/null 2>&1 && break; sleep 0.05; done
echo "== redis-server with TLS on port $port, client certificates required"

# Who holds what: producer and worker share these; the child gets none of them.
export STEM_BROKER_URL="rediss://localhost:$port/0"
export STEM_NAMESPACE=encrypted-example
export STEM_TLS_CA_CERT=$certs/ca.pem
export STEM_TLS_CLIENT_CERT=$certs/client.pem
export STEM_TLS_CLIENT_KEY=$certs/client.key
export STEM_SIGNING_ALGORITHM=hmac-sha256
export STEM_SIGNING_KEYS="k1:$(openssl rand -base64 32)"
export STEM_SIGNING_ACTIVE_KEY=k1
export STEM_ENCRYPTION_KEYS="e1:$(openssl rand -base64 32)"
export STEM_ENCRYPTION_ACTIVE_KEY=e1
unset STEM_RESULT_BACKEND_URL

echo "== a client without a certificate is refused"
if STEM_TLS_CLIENT_CERT= STEM_TLS_CLIENT_KEY= "$stem" health 2>"$work/refused.txt" >/dev/null; then
  echo "!! connected without a client certificate"; exit 1
fi
sed 's/^/   /' "$work/refused.txt"

PYTHONPATH="$root/sdk-python" "$stem" worker --manifest "$here/stem.toml" --concurrency 2 \
  2>"$work/worker.log" &
worker=$!

echo "== stem enqueue charge --wait (signed and sealed by the producer)"
cards=(4111111111111111 5500005555555559 340000000000009)
for card in "${cards[@]}"; do
  out=$("$stem" enqueue charge --manifest "$here/stem.toml" \
    --kwargs "{\"card\": \"$card\", \"amount\": 42}" --wait --timeout 60 --json)
  echo "   $out"
  python3 - "$out" "$card" <<'PY'
import json, sys
record, card = json.loads(sys.argv[1]), sys.argv[2]
result = record["result"]
assert record["state"] == "success", record
assert result["card"] == "**** " + card[-4:], result
assert result["secrets_in_child_env"] == [], result
PY
done

echo "== what a reader of Redis sees: every key in the namespace"
: >"$work/dump.txt"
while read -r key; do
  [ -n "$key" ] || continue
  case $(rcli TYPE "$key") in
    string) rcli GET "$key" ;;
    hash) rcli HGETALL "$key" ;;
    stream) rcli XRANGE "$key" - + ;;
    zset) rcli ZRANGE "$key" 0 -1 ;;
    list) rcli LRANGE "$key" 0 -1 ;;
    set) rcli SMEMBERS "$key" ;;
  esac >>"$work/dump.txt"
done < <(rcli --scan --pattern '*')
echo "   $(rcli DBSIZE) keys, $(wc -c <"$work/dump.txt") bytes; a sample:"
grep -m 3 -o 'sealed[^,]\{0,60\}' "$work/dump.txt" | sed 's/^/   /' || true
for card in "${cards[@]}"; do
  if grep -q "$card" "$work/dump.txt"; then
    echo "!! card $card is readable in Redis"; exit 1
  fi
done
echo "== no card number is in Redis"
echo "== ok"

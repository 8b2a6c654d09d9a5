#!/usr/bin/env bash
# The API contract, checked from outside: an OpenAPI fuzzer (schemathesis 4) generates requests
# from `/v1/openapi.json` of a real `stem serve` (an embedded store in a temporary folder, a
# manifest with one task and one workflow) and checks every answer against the document:
# valid requests accepted, invalid ones refused, only documented status codes, response bodies
# matching their schemas, no server error. Run with an admin token, and again without tokens on
# loopback. Bounded: EXAMPLES per operation (default 15), long-polls cut to 1 s (--max-wait).
#
#   tests/fuzz/openapi.sh                  # STEM_BIN (default target/debug/stem), ST (schemathesis's `st`)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
stem=${STEM_BIN:-$root/target/debug/stem}
st=${ST:-st}
examples=${EXAMPLES:-15}
work=$(mktemp -d /tmp/stem-fuzz.XXXXXX)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/stem.toml" <<'TOML'
[runtimes.sh]
command = ["sh"]

[tasks.add]
exec = ["sh", "-c", "echo 3"]

[workflows.flow]
runtime = "sh"
TOML

failed=0
for mode in token loopback; do
  args=(serve --max-wait 1s --listen 127.0.0.1:0 --manifest "$work/stem.toml")
  auth=()
  if [ "$mode" = token ]; then
    args+=(--tokens "fuzz-admin:admin")
    auth=(-H "Authorization: Bearer fuzz-admin")
  fi
  (cd "$work" && exec "$stem" "${args[@]}" >"$work/serve-$mode.out" 2>"$work/serve-$mode.log") &
  server=$!
  for _ in $(seq 100); do grep -q 'listening on' "$work/serve-$mode.out" 2>/dev/null && break; sleep 0.1; done
  base=$(sed -n 's/^stem serve: listening on //p' "$work/serve-$mode.out")
  [ -n "$base" ] || { echo "stem serve did not start: $(cat "$work/serve-$mode.log")" >&2; exit 1; }
  echo "== OpenAPI fuzz ($mode): $examples examples per operation against $base"
  if ! (cd "$work" && "$st" run "$base/v1/openapi.json" "${auth[@]}" --url "$base" --max-examples "$examples" \
      --seed 1 --no-color) >"$work/st-$mode.out" 2>&1; then
    failed=1
    cat "$work/st-$mode.out"
  else
    tail -n 4 "$work/st-$mode.out"
  fi
  kill "$server"; wait "$server" 2>/dev/null || true
  server=
done
exit "$failed"

#!/usr/bin/env bash
# Runs the whole test suite: the Rust workspace (unit, contract, end-to-end) with nextest, the
# Python SDK with pytest and the Node SDK with node --test, then builds the release artifacts
# (scripts/dist.sh) and installs them fresh (tests/dist/check.sh). Redis and Postgres suites run
# against STEM_TEST_REDIS_URL / STEM_TEST_POSTGRES_URL; when those are unset and the local
# services answer on their default ports, they are used; otherwise those suites skip, saying so.
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"

if [ -z "${STEM_TEST_REDIS_URL:-}" ] && command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  export STEM_TEST_REDIS_URL="redis://127.0.0.1:6379/8"
fi
if [ -z "${STEM_TEST_POSTGRES_URL:-}" ] && command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  export STEM_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test"
fi
echo "== Redis tests: ${STEM_TEST_REDIS_URL:-skipped (STEM_TEST_REDIS_URL unset)}"
echo "== Postgres tests: ${STEM_TEST_POSTGRES_URL:-skipped (STEM_TEST_POSTGRES_URL unset)}"

echo "== building the workspace"
cargo build --workspace --bins --quiet
export STEM_BIN="$root/target/debug/stem"

echo "== Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast --failure-output final
else
  cargo test --workspace --no-fail-fast
fi

echo "== Python SDK tests"
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install --quiet pytest
# The Postgres helpers (stem_sdk.pg) are tested with the real drivers (test-only dependencies).
python3 -c 'import psycopg, asyncpg' 2>/dev/null || python3 -m pip install --quiet "psycopg[binary]" asyncpg
python3 -m pytest sdk-python/tests -q

echo "== Node SDK tests"
# typescript (a dev dependency only) lets the tests check index.d.ts with tsc --noEmit; pg (a dev
# dependency only) tests lib/pg.js against the real database.
{ [ -x sdk-node/node_modules/typescript/bin/tsc ] && [ -d sdk-node/node_modules/pg ]; } \
  || (cd sdk-node && npm install --no-audit --no-fund --no-package-lock --silent)
(cd sdk-node && node --test)

echo "== Release artifacts: scripts/dist.sh, then installed fresh (tests/dist/check.sh)"
# The release build (cargo profile dist), the wheel, the npm pair and the tarball into dist/;
# then each is installed in a temporary folder with no cargo, rustc or checkout on PATH, and
# runs a task from its SDK. dist.sh installs auditwheel and kubernetes-validate into
# target/dist-venv (without network they skip, except with CI=true).
dist_started=$(date +%s)
scripts/dist.sh
tests/dist/check.sh
echo "== release artifacts: $(( $(date +%s) - dist_started ))s (build and checks)"

echo "== Dashboard tests in headless chromium"
# playwright-core (a dev dependency of tests/browser only) drives Debian's chromium; without
# chromium they skip, except with CI=true, where they fail (.ci/run installs it).
[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm install --no-audit --no-fund --no-package-lock --silent)
(cd tests/browser && node --test)

echo "== API contract: an OpenAPI fuzzer against stem serve"
# schemathesis (a Python tool, in a virtual environment of its own under target/) generates
# requests from /v1/openapi.json and checks the answers against it. Without it (no network)
# this stage skips, except with CI=true, where it fails.
venv="$root/target/fuzz-venv"
if [ ! -x "$venv/bin/st" ]; then
  (python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5") \
    || { rm -rf "$venv"; echo "!! could not install schemathesis"; }
fi
if [ -x "$venv/bin/st" ]; then
  ST="$venv/bin/st" tests/fuzz/openapi.sh
elif [ "${CI:-}" = true ]; then
  echo "!! the OpenAPI fuzz needs schemathesis (pip install schemathesis==4.32.5)"; exit 1
else
  echo "== skipped: schemathesis is not installed"
fi

echo "== all tests passed"

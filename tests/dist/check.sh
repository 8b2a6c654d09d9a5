#!/usr/bin/env bash
# Installs what scripts/dist.sh built in dist/ as a Python or Node team would, in a temporary
# folder, with a PATH stripped of cargo, rustc and this checkout and a cleared environment:
#   - a fresh virtual environment with only the stem-sdk wheel: `stem --version` names the
#     commit, a worker on the embedded default runs a task the SDK enqueues in code, and the
#     SDK runs the binary its wheel installed;
#   - a fresh npm project with only the @stem/sdk and @stem/cli-linux-x64 tarballs: the same,
#     with `npx stem`;
#   - pure installs (the py3-none-any wheel; @stem/sdk without its optional dependency): no
#     binary, producing over `stem serve`'s HTTP API;
#   - the release tarball through scripts/install_tarball.sh (the Dockerfile's install step),
#     and the checksums;
# then checks deploy/ (tests/dist/check_deploy.sh). Prints each install's time.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
dist="$root/dist"
[ -f "$dist/SHA256SUMS" ] || { echo "!! $dist/SHA256SUMS is missing: run scripts/dist.sh first"; exit 1; }
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml")
arch=$(uname -m)
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
py=$(python3 -c 'import sys; print(sys.executable)')

tmp=$(mktemp -d "${TMPDIR:-/tmp}/stem-dist-check.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# PATH less every folder holding cargo or rustc and every folder inside the checkout.
clean_path=
IFS=: read -ra dirs <<< "$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] && [ -d "$d" ] || continue
  real=$(cd "$d" && pwd -P)
  case "$real/" in "$root/"*) continue ;; esac
  if [ -e "$d/cargo" ] || [ -e "$d/rustc" ]; then continue; fi
  case ":$clean_path:" in *":$d:"*) continue ;; esac
  clean_path=${clean_path:+$clean_path:}$d
done
mkdir -p "$tmp/home"
# run_clean PATH CMD...: CMD with nothing but PATH, HOME, a locale and npm's cache set.
run_clean() {
  local path=$1
  shift
  env -i PATH="$path" HOME="$tmp/home" LANG=C.UTF-8 npm_config_cache="$tmp/npm-cache" \
    npm_config_update_notifier=false "$@"
}
for tool in cargo rustc; do
  if run_clean "$clean_path" sh -c "command -v $tool" >/dev/null; then
    echo "!! $tool is still on the stripped PATH ($clean_path)"; exit 1
  fi
done
if run_clean "$clean_path" sh -c 'command -v stem' >/dev/null; then
  echo "!! a stem is on the stripped PATH already: $(run_clean "$clean_path" sh -c 'command -v stem')"; exit 1
fi

now_ms() { date +%s%3N; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1fs", ms / 1000 }'; }

# expect_version WHAT LINE: LINE is `stem VERSION (commit COMMIT, features: ...)`.
expect_version() {
  case "$2" in
    "stem $version (commit $commit, features: "*")") echo "   $1: $2" ;;
    *) echo "!! $1 printed '$2', want 'stem $version (commit $commit, features: ...)'"; exit 1 ;;
  esac
}

# start LOG DIR PATH CMD...: CMD in DIR in the background, its output in LOG; its pid in $started.
start() {
  local log=$1 dir=$2 path=$3
  shift 3
  (cd "$dir" && exec env -i PATH="$path" HOME="$tmp/home" LANG=C.UTF-8 "$@") >"$log" 2>&1 &
  started=$!
  pids+=("$started")
}

# served_url LOG: the URL `stem serve --listen 127.0.0.1:0` prints, waiting up to 60s for it.
served_url() {
  local deadline=$(( $(date +%s) + 60 ))
  until grep -q 'listening on ' "$1"; do
    if [ "$(date +%s)" -gt "$deadline" ]; then cat "$1"; echo "!! stem serve printed no address within 60s"; exit 1; fi
    sleep 0.1
  done
  grep -o 'listening on [^ ]*' "$1" | head -1 | sed 's/listening on //'
}

# stop PID LOG WHAT: SIGTERM (a warm shutdown); it must exit 0 within 60s.
stop() {
  kill -TERM "$1"
  local deadline=$(( $(date +%s) + 60 ))
  while kill -0 "$1" 2>/dev/null; do
    if [ "$(date +%s)" -gt "$deadline" ]; then cat "$2"; echo "!! $3 did not stop within 60s of SIGTERM"; exit 1; fi
    sleep 0.1
  done
  local rc=0
  wait "$1" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$2"; echo "!! $3 exited $rc after SIGTERM"; exit 1; }
}

echo "== Python: a fresh virtual environment with only dist/stem_sdk-*.whl"
wheel=$(ls "$dist"/stem_sdk-"$version"-py3-none-manylinux_*.whl)
t0=$(now_ms)
run_clean "$clean_path" "$py" -m venv "$tmp/venv"
t1=$(now_ms)
run_clean "$clean_path" "$tmp/venv/bin/pip" install --quiet --no-index --disable-pip-version-check "$wheel"
py_venv=$(( t1 - t0 ))
py_install=$(( $(now_ms) - t1 ))
venv_path="$tmp/venv/bin:$clean_path"
[ "$(run_clean "$venv_path" sh -c 'command -v stem')" = "$tmp/venv/bin/stem" ] \
  || { echo "!! the wheel put no stem in $tmp/venv/bin"; exit 1; }
expect_version "stem --version" "$(run_clean "$venv_path" stem --version)"
cp -r "$root/tests/dist/python" "$tmp/py"
start "$tmp/py-worker.log" "$tmp/py" "$venv_path" stem worker --manifest stem.toml --concurrency 2
py_worker=$started
(cd "$tmp/py" && run_clean "$venv_path" python produce.py "$tmp/venv/bin/stem")

echo "== Python, pure: only dist/pure/stem_sdk-*-py3-none-any.whl, producing over stem serve"
start "$tmp/py-serve.log" "$tmp/py" "$venv_path" stem serve --listen 127.0.0.1:0
py_serve=$started
url=$(served_url "$tmp/py-serve.log")
run_clean "$clean_path" "$py" -m venv "$tmp/venv-pure"
run_clean "$clean_path" "$tmp/venv-pure/bin/pip" install --quiet --no-index --disable-pip-version-check \
  "$dist/pure/stem_sdk-$version-py3-none-any.whl"
mkdir "$tmp/py-pure"
cp "$root/tests/dist/python/produce.py" "$tmp/py-pure/"
(cd "$tmp/py-pure" && run_clean "$tmp/venv-pure/bin:$clean_path" python produce.py --url "$url")
stop "$py_serve" "$tmp/py-serve.log" "stem serve"
stop "$py_worker" "$tmp/py-worker.log" "the Python project's worker"

echo "== Node: a fresh npm project with only the dist/ tarballs"
cp -r "$root/tests/dist/node" "$tmp/node"
npm_install=(npm install --offline --no-audit --no-fund --loglevel=error)
(cd "$tmp/node" && run_clean "$clean_path" npm init -y >/dev/null)
t0=$(now_ms)
(cd "$tmp/node" && run_clean "$clean_path" "${npm_install[@]}" \
  "$dist/stem-sdk-$version.tgz" "$dist/stem-cli-linux-x64-$version.tgz" >/dev/null)
node_install=$(( $(now_ms) - t0 ))
expect_version "npx stem --version" "$(cd "$tmp/node" && run_clean "$clean_path" npx --offline stem --version)"
start "$tmp/node-worker.log" "$tmp/node" "$clean_path" node_modules/.bin/stem worker --manifest stem.toml --concurrency 2
node_worker=$started
(cd "$tmp/node" && run_clean "$clean_path" node produce.js "$tmp/node/node_modules/.bin/stem")

echo "== Node, pure: @stem/sdk without its optional dependency, producing over stem serve"
start "$tmp/node-serve.log" "$tmp/node" "$clean_path" node_modules/.bin/stem serve --listen 127.0.0.1:0
node_serve=$started
url=$(served_url "$tmp/node-serve.log")
mkdir "$tmp/node-pure"
cp "$root/tests/dist/node/produce.js" "$tmp/node-pure/"
(cd "$tmp/node-pure" && run_clean "$clean_path" npm init -y >/dev/null \
  && run_clean "$clean_path" "${npm_install[@]}" --omit=optional "$dist/stem-sdk-$version.tgz" >/dev/null \
  && run_clean "$clean_path" node produce.js --url "$url")
stop "$node_serve" "$tmp/node-serve.log" "stem serve"
stop "$node_worker" "$tmp/node-worker.log" "the Node project's worker"

echo "== release tarball, installed by scripts/install_tarball.sh (as deploy/docker/Dockerfile does)"
tarball="stem-$version-$arch-linux.tar.gz"
(cd "$dist" && sha256sum --quiet --strict -c "$tarball.sha256" && sha256sum --quiet --strict -c SHA256SUMS)
t0=$(now_ms)
line=$(run_clean "$clean_path" sh "$root/scripts/install_tarball.sh" "$dist/$tarball" "$tmp/prefix")
tar_install=$(( $(now_ms) - t0 ))
expect_version "installed from $tarball" "$line"
[ -f "$tmp/prefix/share/doc/stem/README.md" ] || { echo "!! the tarball installed no README"; exit 1; }
# A tarball whose contents changed after it was made is refused, naming the file.
mkdir "$tmp/tampered"
tar -xzf "$dist/$tarball" -C "$tmp/tampered"
echo "changed" >> "$tmp/tampered/stem-$version-$arch-linux/README.md"
tar -czf "$tmp/$tarball" -C "$tmp/tampered" "stem-$version-$arch-linux"
if said=$(sh "$root/scripts/install_tarball.sh" "$tmp/$tarball" "$tmp/prefix-tampered" 2>&1); then
  echo "!! install_tarball.sh installed a tampered tarball"; exit 1
fi
case "$said" in
  *"README.md: FAILED"*"does not match its SHA-256 sum"*) echo "   a tampered tarball is refused: $(printf '%s' "$said" | tail -1)" ;;
  *) echo "$said"; echo "!! install_tarball.sh refused a tampered tarball without naming the file"; exit 1 ;;
esac
[ ! -e "$tmp/prefix-tampered/bin/stem" ] || { echo "!! a tampered tarball left a stem behind"; exit 1; }

echo "== deploy/"
"$root/tests/dist/check_deploy.sh" "$tmp/prefix/bin/stem"

echo "== install times: pip install of the wheel $(secs "$py_install") (after $(secs "$py_venv") making the venv)," \
  "npm install of the two tarballs $(secs "$node_install"), the release tarball $(secs "$tar_install")"
echo "== dist check: all passed"

#!/usr/bin/env bash
# Checks deploy/ with what runs on this machine (called by tests/dist/check.sh with the stem
# binary installed from the release tarball):
#   - systemd-analyze verify on deploy/systemd/stem-worker@.service (an instance of it, with
#     ExecStart pointed at STEM_BIN, since verify wants the program to exist); any complaint fails;
#   - tests/dist/check_deploy.py on deploy/kubernetes and deploy/docker, in target/dist-venv
#     (kubernetes-validate, PyYAML, jsonschema; installed by scripts/dist.sh).
# Not run here: systemd starting the unit, a cluster applying the manifests, KEDA, docker build
# (no daemon); each README in deploy/ says so.
#
#   tests/dist/check_deploy.sh STEM_BIN
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd -P)
[ $# -eq 1 ] && [ -x "$1" ] || { echo "usage: check_deploy.sh STEM_BIN (an executable stem)"; exit 2; }
stem=$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")

if command -v systemd-analyze >/dev/null; then
  units=$(mktemp -d)
  trap 'rm -rf "$units"' EXIT
  sed "s|^ExecStart=/usr/local/bin/stem |ExecStart=$stem |" "$root/deploy/systemd/stem-worker@.service" \
    > "$units/stem-worker@.service"
  said=$(cd "$units" && systemd-analyze verify "$units/stem-worker@check.service" 2>&1) \
    || { echo "$said"; echo "!! systemd-analyze verify failed on stem-worker@.service"; exit 1; }
  [ -z "$said" ] || { echo "$said"; echo "!! systemd-analyze verify complains about stem-worker@.service"; exit 1; }
  echo "   stem-worker@.service: systemd-analyze verify ($(systemd-analyze --version | head -1)) has nothing to say"
elif [ "${CI:-}" = true ]; then
  echo "!! systemd-analyze is not installed (Debian: systemd)"; exit 1
else
  echo "   skipped systemd-analyze verify: not installed"
fi

python="${CARGO_TARGET_DIR:-$root/target}/dist-venv/bin/python"
if [ -x "$python" ] && "$python" -c 'import kubernetes_validate, yaml, jsonschema' 2>/dev/null; then
  "$python" "$root/tests/dist/check_deploy.py" "$root"
elif [ "${CI:-}" = true ]; then
  echo "!! $python lacks kubernetes-validate (scripts/dist.sh installs it)"; exit 1
else
  echo "   skipped the manifest checks: kubernetes-validate is not installed in target/dist-venv"
fi

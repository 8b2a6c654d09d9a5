#!/usr/bin/env bash
# Builds the release artifacts into dist/ (see docs/install.md):
#   stem                                   the release binary (cargo profile `dist`: release, stripped)
#   stem-VERSION-ARCH-linux.tar.gz(.sha256) the binary, the README and their SHA256SUMS
#   stem_sdk-VERSION-py3-none-manylinux_2_N_ARCH.whl  the Python SDK carrying the binary
#   pure/stem_sdk-VERSION-py3-none-any.whl  the Python SDK alone (other platforms, HTTP producers)
#   stem-sdk-VERSION.tgz, stem-cli-linux-x64-VERSION.tgz  @stem/sdk and its platform package
#   SHA256SUMS                             of every file above
# and prints each one's size and the time taken. The wheel's manylinux tag is checked with
# `auditwheel show` (installed in target/dist-venv; without network it is skipped, saying so,
# except with CI=true, where that fails).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
started=$(date +%s)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)
[ -n "$version" ] || { echo "!! no version in Cargo.toml's [workspace.package]"; exit 1; }
arch=$(uname -m)
target_dir=${CARGO_TARGET_DIR:-$root/target}

echo "== building stem $version (cargo build --locked --profile dist)"
t0=$(date +%s)
cargo build --locked --quiet --profile dist -p stem --bin stem
echo "   built in $(( $(date +%s) - t0 ))s"
rm -rf dist
mkdir -p dist/pure
cp "$target_dir/dist/stem" dist/stem
line=$(dist/stem --version)
echo "   $line"
case "$line" in
  "stem $version (commit "*", features: "*")") ;;
  *) echo "!! stem --version printed '$line', not 'stem $version (commit ..., features: ...)'"; exit 1 ;;
esac

echo "== release tarball"
name="stem-$version-$arch-linux"
stage="$target_dir/dist-stage/$name"
rm -rf "$stage"
mkdir -p "$stage"
cp dist/stem README.md "$stage/"
(cd "$stage" && sha256sum stem README.md > SHA256SUMS)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
  -C "$(dirname "$stage")" -cf - "$name" | gzip -n -9 > "dist/$name.tar.gz"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
# The tarball's install step, as deploy/docker/Dockerfile runs it.
rm -rf "$stage-installed"
scripts/install_tarball.sh "dist/$name.tar.gz" "$stage-installed" >/dev/null

echo "== Python wheels"
wheel=$(python3 scripts/build_wheel.py --binary dist/stem --out dist)
python3 scripts/build_wheel.py --out dist/pure >/dev/null
venv="$target_dir/dist-venv"
if [ ! -x "$venv/bin/auditwheel" ]; then
  (python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "auditwheel==6.8.2" "kubernetes-validate==1.37.0") || { rm -rf "$venv"; echo "!! could not install auditwheel"; }
fi
if [ -x "$venv/bin/auditwheel" ]; then
  shown=$("$venv/bin/auditwheel" show "$wheel" 2>&1) || { echo "$shown"; echo "!! auditwheel show failed"; exit 1; }
  agreed=$(printf '%s\n' "$shown" | tr -s '\n ' '  ' | sed -n 's/.*consistent with the following platform tag: *"\([^"]*\)".*/\1/p')
  case "$agreed" in
    manylinux_*) ;;
    *) echo "$shown"; echo "!! auditwheel finds $wheel not manylinux-compatible"; exit 1 ;;
  esac
  if [ "$(basename "$wheel")" != "stem_sdk-$version-py3-none-$agreed.whl" ]; then
    # auditwheel knows the policies (libraries and symbol versions) best: take its tag.
    rm -f "$wheel"
    wheel=$(python3 scripts/build_wheel.py --binary dist/stem --out dist --plat "$agreed")
  fi
  echo "   auditwheel show: consistent with $agreed"
elif [ "${CI:-}" = true ]; then
  echo "!! checking the wheel's tag needs auditwheel (pip install auditwheel==6.8.2)"; exit 1
else
  echo "   skipped auditwheel show: it is not installed (the tag is the binary's newest GLIBC_2.N)"
fi

echo "== npm tarballs"
node scripts/npm_packages.js --binary dist/stem --stage "$target_dir/dist-stage/npm" --out dist >/dev/null

(cd dist && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | sort | xargs sha256sum > SHA256SUMS)
echo "== dist/ ($(( $(date +%s) - started ))s in all)"
(cd dist && find . -type f | sed 's|^\./||' | sort | while read -r f; do
  stat -c '%s %n' "$f"
done | awk '{ h = $1 >= 1048576 ? sprintf("%.1f MiB", $1 / 1048576) : sprintf("%.1f KiB", $1 / 1024); printf "   %-52s %10d bytes  %s\n", $2, $1, h }')

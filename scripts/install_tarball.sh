#!/bin/sh
# Installs a release tarball (stem-VERSION-ARCH-linux.tar.gz, made by scripts/dist.sh) under
# PREFIX: checks the SHA-256 sums it carries, then puts PREFIX/bin/stem and
# PREFIX/share/doc/stem/README.md, and prints `stem --version`. POSIX sh, tar, gzip and
# coreutils only: deploy/docker/Dockerfile runs it in the image, tests/dist/check.sh on the host.
#
#   scripts/install_tarball.sh dist/stem-0.1.0-x86_64-linux.tar.gz /usr/local
set -eu

if [ $# -ne 2 ]; then
  echo "usage: install_tarball.sh TARBALL PREFIX" >&2
  exit 2
fi
tarball=$1
prefix=$2
case "$tarball" in
  *.tar.gz) ;;
  *) echo "install_tarball.sh: $tarball: not a .tar.gz release tarball" >&2; exit 2 ;;
esac
[ -f "$tarball" ] || { echo "install_tarball.sh: $tarball: no such file" >&2; exit 2; }

name=$(basename "$tarball" .tar.gz)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
[ -f "$work/$name/SHA256SUMS" ] || { echo "install_tarball.sh: $tarball has no $name/SHA256SUMS" >&2; exit 1; }
if ! (cd "$work/$name" && sha256sum -c --quiet --strict SHA256SUMS); then
  echo "install_tarball.sh: $tarball: a file does not match its SHA-256 sum in $name/SHA256SUMS" >&2
  exit 1
fi
mkdir -p "$prefix/bin" "$prefix/share/doc/stem"
cp "$work/$name/stem" "$prefix/bin/stem.new"
chmod 0755 "$prefix/bin/stem.new"
mv "$prefix/bin/stem.new" "$prefix/bin/stem"
cp "$work/$name/README.md" "$prefix/share/doc/stem/README.md"
"$prefix/bin/stem" --version

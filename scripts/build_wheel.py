#!/usr/bin/env python3
"""Writes a wheel of stem-sdk (sdk-python/) with the standard library only.

    build_wheel.py --out DIR [--binary PATH] [--plat TAG]

With --binary: a platform wheel that carries that `stem` binary as a script (installed in the
environment's bin/, next to `python`), tagged `py3-none-manylinux_2_N_x86_64`, N being the
newest glibc symbol version the binary needs (--plat overrides; scripts/dist.sh then asks
`auditwheel show` to agree). Without: the pure-Python wheel (`py3-none-any`). A wheel is a
zip of the package, its `.data/scripts/` and a `.dist-info/` (METADATA, WHEEL, RECORD);
entries are sorted and dated SOURCE_DATE_EPOCH (default 1980), so equal inputs give equal bytes.
Prints the wheel's path."""

import argparse
import base64
import hashlib
import os
import platform
import re
import sys
import time
import tomllib
import zipfile
from pathlib import Path
from typing import List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
SDK = ROOT / "sdk-python"


def fail(message: str) -> None:
    sys.exit("build_wheel.py: " + message)


def glibc_tag(binary: bytes) -> str:
    """`manylinux_2_N_ARCH` for the newest `GLIBC_2.N` symbol version the binary names."""
    versions = [int(m) for m in re.findall(rb"GLIBC_2\.(\d+)", binary)]
    if not versions:
        fail("the binary names no GLIBC_2.N symbol version (is it a dynamically linked glibc binary?)")
    arch = platform.machine()
    return "manylinux_2_%d_%s" % (max(versions), arch)


def metadata(project: dict, readme: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        "Name: %s" % project["name"],
        "Version: %s" % project["version"],
        "Summary: %s" % project["description"],
        "License: MIT",
        "Requires-Python: %s" % project["requires-python"],
    ]
    lines += ["Classifier: %s" % c for c in project.get("classifiers", [])]
    for extra, requirements in sorted(project.get("optional-dependencies", {}).items()):
        lines.append("Provides-Extra: %s" % extra)
        lines += ['Requires-Dist: %s; extra == "%s"' % (r, extra) for r in requirements]
    lines.append("Description-Content-Type: text/markdown")
    return "\n".join(lines) + "\n\n" + readme


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def build(out: Path, binary: Optional[Path], plat: Optional[str]) -> Path:
    project = tomllib.loads((SDK / "pyproject.toml").read_text())["project"]
    name, version = project["name"].replace("-", "_"), project["version"]
    files: List[Tuple[str, bytes, int]] = []  # (name in the wheel, bytes, mode)
    for path in sorted((SDK / "stem_sdk").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append((path.relative_to(SDK).as_posix(), path.read_bytes(), 0o644))
    if binary is not None:
        data = binary.read_bytes()
        if data[:4] != b"\x7fELF":
            fail("%s is not an ELF binary" % binary)
        tag = "py3-none-" + (plat or glibc_tag(data))
        files.append(("%s-%s.data/scripts/stem" % (name, version), data, 0o755))
    else:
        tag = "py3-none-any"
    info = "%s-%s.dist-info" % (name, version)
    wheel = "Wheel-Version: 1.0\nGenerator: stem scripts/build_wheel.py\nRoot-Is-Purelib: %s\nTag: %s\n" % (
        "true" if binary is None else "false", tag)
    files.append((info + "/METADATA", metadata(project, (SDK / "README.md").read_text()).encode(), 0o644))
    files.append((info + "/WHEEL", wheel.encode(), 0o644))
    record = [record_line(n, d) for n, d, _ in files] + [info + "/RECORD,,"]
    files.append((info + "/RECORD", ("\n".join(record) + "\n").encode(), 0o644))

    out.mkdir(parents=True, exist_ok=True)
    target = out / ("%s-%s-%s.whl" % (name, version, tag))
    stamp = time.gmtime(max(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")), 315532800))[:6]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for entry, data, mode in files:
            zi = zipfile.ZipInfo(entry, date_time=stamp)
            zi.external_attr = (0o100000 | mode) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="the directory the wheel goes to")
    parser.add_argument("--binary", type=Path, help="the stem binary to carry (a platform wheel)")
    parser.add_argument("--plat", help="the platform tag, e.g. manylinux_2_31_x86_64 (default: from the binary)")
    args = parser.parse_args()
    if args.binary is not None and not args.binary.is_file():
        fail("--binary %s: no such file" % args.binary)
    print(build(args.out, args.binary, args.plat))


if __name__ == "__main__":
    main()

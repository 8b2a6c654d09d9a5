"""The `stem` binary this package carries, if it carries one. The platform wheels of stem-sdk
(built by scripts/dist.sh) install it in the environment's scripts directory (`bin/`, next to
`python`) and list it in the distribution's RECORD; a pure-Python install has none. The CLI
transport takes, in order: an explicit `bin`, `STEM_BIN`, this binary, `stem` on PATH."""

import functools
import os
from importlib import metadata
from typing import Optional

_PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__))


@functools.lru_cache(maxsize=1)
def packaged_stem() -> Optional[str]:
    """The absolute path of the `stem` installed with this copy of stem_sdk, or None."""
    try:
        dist = metadata.distribution("stem-sdk")
    except metadata.PackageNotFoundError:
        return None
    # Only the distribution this module was imported from: a checkout put first on sys.path
    # must not take the binary of a wheel installed in the same environment.
    here = os.path.realpath(str(dist.locate_file("stem_sdk/binary.py")))
    if os.path.dirname(here) != _PACKAGE_DIR:
        return None
    for entry in dist.files or []:
        if entry.name == "stem" and "stem_sdk" not in entry.parts:
            path = os.path.realpath(str(entry.locate()))
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    return None

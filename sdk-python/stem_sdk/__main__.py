"""`python -m stem_sdk MODULE [MODULE ...]`: import the modules that register tasks, then
serve the child protocol, so a manifest's command needs no script of its own."""

import importlib
import sys
from typing import List

from .loop import run


def main(argv: List[str]) -> None:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stderr.write("usage: python -m stem_sdk MODULE [MODULE ...]\n")
        sys.exit(0 if argv else 2)
    for name in argv:
        importlib.import_module(name)
    run()


if __name__ == "__main__":
    main(sys.argv[1:])

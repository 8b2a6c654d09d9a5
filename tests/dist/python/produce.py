"""The installed-wheel check's producer: `produce.py WANT_BIN` enqueues add(2, 3) over the CLI
(the binary the wheel installed, which must be WANT_BIN) and waits for 5; `produce.py --url URL`
does it over `stem serve`'s HTTP API (a pure-Python install, no binary)."""

import os
import sys
import time
import urllib.request

import stem_sdk
from stem_sdk import Client
from stem_sdk.binary import packaged_stem


def wait_for_server(url: str, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError as e:
            if time.monotonic() > deadline:
                sys.exit("produce.py: %s/readyz did not answer within 60s: %s" % (url, e))
        time.sleep(0.2)


def main() -> None:
    if sys.argv[1] == "--url":
        wait_for_server(sys.argv[2], time.monotonic() + 60)
        assert packaged_stem() is None, "a pure install found a binary: %r" % packaged_stem()
        client = Client(sys.argv[2])
        how = "HTTP %s" % sys.argv[2]
    else:
        client = Client()
        got, want = os.path.realpath(client.cli.bin), os.path.realpath(sys.argv[1])
        assert got == want, "the SDK runs %s, not the binary its wheel installed (%s)" % (got, want)
        how = "the CLI at %s" % client.cli.bin
    result = client.enqueue("add", [2, 3]).get(timeout=60)
    assert result == 5, "add(2, 3) gave %r" % (result,)
    print("python: add(2, 3) = %s over %s (stem_sdk from %s)" % (result, how, os.path.dirname(stem_sdk.__file__)))


if __name__ == "__main__":
    main()

"""Builds the example's chords with the Python SDK, submits them through the `stem` CLI
(STEM_BIN, else `stem` on PATH) and checks their outcomes: exits non-zero on a surprise.

    python3 submit.py          # from a folder whose stem.db the worker uses
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))

from stem_sdk import TaskFailed, chord, group, signature  # noqa: E402

# Python members, a Node member, a shell body: 1 + 4 + 9 + 16 + 4 words = 34.
header = group(*(signature("square", n) for n in (1, 2, 3, 4)), signature("word_count", "the quick brown fox"))
ok = chord(header, signature("tsum")).submit()
result = ok.get(timeout=60)
print("chord %s: result %s" % (ok.id, result))
assert result == 34, result

# A member that fails: the body never runs, its link_error runs once, the failure names the member.
bad = chord(
    [signature("square", 5), signature("boom", 6)],
    signature("tsum").link_error(signature("on_error")),
).submit()
try:
    bad.get(timeout=60)
    sys.exit("the failing chord %s succeeded" % bad.id)
except TaskFailed as failed:
    print("chord %s: %s" % (bad.id, failed))
    assert failed.failed.startswith("chord.header[1]"), failed.failed
    body = [n for n in failed.view["nodes"] if n["path"] == "chord.body"]
    assert body and body[0]["state"] == "skipped", body  # the body never ran, and never will
print("ok")

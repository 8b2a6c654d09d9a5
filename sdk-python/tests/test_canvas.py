"""The canvas builders: every builder case of protocol/vectors/canvas.jsonl (its `build` is
the Python expression, evaluated here) gives exactly its `doc`; bad shapes are refused at build
time; `submit`/`get`/`show` drive `stem canvas` against a stand-in CLI."""

import json
import os
import sys

import pytest

from conftest import VECTORS_DIR
from stem_sdk import TaskFailed, chain, chord, group, signature
from stem_sdk.client import Client

CASES = [json.loads(line) for line in (VECTORS_DIR / "canvas.jsonl").read_text().splitlines() if line.strip()]
BUILDS = [c for c in CASES if "build" in c]
NAMESPACE = {"signature": signature, "chain": chain, "group": group, "chord": chord}


@pytest.mark.parametrize("case", BUILDS, ids=[c["build"][:60] for c in BUILDS])
def test_builders_give_the_vector_document(case):
    built = eval(case["build"], dict(NAMESPACE))  # the description is the call itself
    assert built.to_json() == case["doc"]
    assert json.loads(json.dumps(built.to_json())) == case["doc"]


def test_the_vectors_cover_every_shape():
    text = json.dumps([c["doc"] for c in BUILDS])
    for shape in ('"chain"', '"group"', '"chord"', '"link"', '"link_error"', '"immutable"', '"options"'):
        assert shape in text
    assert sum("invalid" in c for c in CASES) >= 10


def test_pipe_flattens_and_accepts_iterables():
    a, b, c = signature("a"), signature("b"), signature("c")
    assert (a | b | c).to_json() == chain(a, b, c).to_json() == chain([a, b, c]).to_json()
    assert group(signature("i", i) for i in range(3)).to_json()["group"][2] == {"task": "i", "args": [2]}
    assert chord(group(a, b), c) == chord([a, b], c)


def test_bad_shapes_are_refused_when_built():
    with pytest.raises(ValueError, match="empty group"):
        group([])
    with pytest.raises(ValueError, match="names its task"):
        signature("")
    with pytest.raises(TypeError, match="body"):
        chord([signature("a")], {"task": "t"})
    with pytest.raises(TypeError, match="link callback"):
        signature("a").link(group(signature("b")))


FAKE = r'''
import json, os, sys
argv = sys.argv[1:]
with open(os.environ["FAKE_STEM_LOG"], "a") as log:
    log.write(json.dumps({"argv": argv, "stdin": sys.stdin.read() if argv[:2] == ["canvas", "submit"] else None}) + "\n")
mode = os.environ.get("FAKE_MODE", "ok")
if argv[:2] == ["canvas", "submit"]:
    if mode == "bad":
        sys.stderr.write("stem: chord.header[3].task: missing (a signature names its task)\n")
        sys.exit(2)
    print(json.dumps({"id": "canvas-1", "published": 2, "nodes": 3}))
elif argv[:2] == ["canvas", "show"]:
    count = os.environ["FAKE_STEM_LOG"] + ".shows"
    n = int(open(count).read()) if os.path.exists(count) else 0
    open(count, "w").write(str(n + 1))
    nodes = [{"path": "chord.header[0]", "task": "add", "task_id": "canvas-1:0", "state": "success"},
             {"path": "chord.header[1]", "task": "boom", "task_id": "canvas-1:1", "state": "pending"}]
    view = {"id": "canvas-1", "state": "running", "nodes": nodes}
    if n >= 2 and mode == "ok":
        view.update(state="success", result=10)
    elif n >= 2 and mode == "fail":
        nodes[1].update(state="failure", error="ValueError: boom")
        view.update(state="failure", failed="chord.header[1] (canvas-1:1)")
    print(json.dumps(view))
'''


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "stem"
    (tmp_path / "fake.py").write_text(FAKE)
    script.write_text("#!/bin/sh\nexec %s %s \"$@\"\n" % (sys.executable, tmp_path / "fake.py"))
    script.chmod(0o755)
    log = tmp_path / "argv.log"

    def client(mode="ok"):
        env = dict(os.environ, FAKE_STEM_LOG=str(log), FAKE_MODE=mode)
        return Client(backend="sqlite://r.db", bin=str(script), env=env)

    client.calls = lambda: [json.loads(line) for line in log.read_text().splitlines()]
    return client


CHORD = chord([signature("add", 1, 2), signature("boom")], signature("tsum"))


def test_submit_sends_the_document_on_stdin_and_get_polls_show(fake):
    handle = CHORD.submit(fake())
    assert handle.id == "canvas-1" and handle.submitted["published"] == 2
    assert handle.get(timeout=10, interval=0.01) == 10
    calls = fake.calls()
    assert calls[0]["argv"] == ["canvas", "submit", "-", "--json", "--backend", "sqlite://r.db"]
    assert json.loads(calls[0]["stdin"]) == CHORD.to_json()
    assert [c["argv"][:3] for c in calls[1:]] == [["canvas", "show", "canvas-1"]] * 3


def test_a_failed_canvas_raises_task_failed_naming_the_member(fake):
    handle = CHORD.submit(fake("fail"))
    with pytest.raises(TaskFailed, match=r"ValueError: boom at chord.header\[1\]") as caught:
        handle.get(timeout=10, interval=0.01)
    assert caught.value.failed == "chord.header[1] (canvas-1:1)"
    assert caught.value.node["task"] == "boom" and caught.value.state == "failure"
    assert caught.value.error["type"] == "ValueError"


def test_get_times_out_and_a_refused_document_names_its_path(fake):
    handle = CHORD.submit(fake("never"))
    with pytest.raises(TimeoutError):
        handle.get(timeout=0.3, interval=0.01)
    with pytest.raises(Exception, match=r"chord.header\[3\].task: missing"):
        CHORD.submit(fake("bad"))

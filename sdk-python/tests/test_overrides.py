"""Per-enqueue overrides from the Python client: `time_limit` / `soft_time_limit` (seconds or
text, may only lower the manifest's) and `ignore_result`, in the spec and through a real
worker (StemWorker, over the CLI transport)."""

import os

import pytest

from stem_sdk import Client
from stem_sdk.producer_errors import StemCliError
from stem_sdk.spec import task_spec
from stem_sdk.testing.worker import StemWorker


def test_the_spec_carries_the_overrides():
    spec = task_spec("nap", [], time_limit="1m", soft_time_limit=0.5, ignore_result=True)
    assert spec["time_limit"] == 60.0 and spec["soft_time_limit"] == 0.5 and spec["ignore_result"] is True
    assert "ignore_result" not in task_spec("nap", [])
    with pytest.raises(ValueError, match="time_limit must be above 0 seconds"):
        task_spec("nap", [], time_limit=0)
    with pytest.raises(ValueError, match="not with ignore_result"):
        Client(bin="stem").enqueue("nap", ignore_result=True, wait=True)


MANIFEST = """[defaults]
max_retries = 0

[tasks.nap]
exec = ["sleep", "30"]
time_limit = "60s"

[tasks.mark]
exec = ["sh", "-c", "echo \\"$STEM_TASK_ID\\" >> ran.txt"]
"""


@pytest.mark.skipif(not os.environ.get("STEM_BIN"), reason="STEM_BIN is not set: these run a real worker")
def test_overrides_through_a_real_worker(tmp_path):
    manifest = tmp_path / "stem.toml"
    manifest.write_text(MANIFEST)
    with StemWorker(manifest, tmp_path / "store") as worker:
        client = worker.client
        with pytest.raises(StemCliError, match="an enqueue can only lower it"):
            client.enqueue("nap", time_limit="2m")
        record = client.enqueue("nap", time_limit=1).wait(60)
        assert record["state"] == "failure" and record["error"]["type"] == "TimeLimitExceeded", record
        assert "time_limit of 1s" in record["error"]["message"]
        quiet = client.enqueue("mark", ignore_result=True)
        kept = client.enqueue("mark")
        assert kept.wait(60)["state"] == "success"
        ran = tmp_path / "ran.txt"
        # Tasks run in order of enqueue on one queue, but two slots: wait until both ran.
        import time

        deadline = time.monotonic() + 60
        while quiet.id not in (ran.read_text() if ran.exists() else ""):
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.05)
        # Its commit lands after its line is written: once the queue holds nothing ready or
        # leased, it is done, and left no record.
        def drained():
            counts = client.cli.run(["observe", "queues", "--queues", "default"])["default"]
            return counts.get("ready", 0) == 0 and counts.get("leased", 0) == 0

        while not drained():
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.05)
        assert client.info(quiet.id)["state"] == "unknown"

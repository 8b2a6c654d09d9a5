"""A Python producer of the microservice: speaks `stem serve` (STEM_API_URL, STEM_API_TOKEN)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))
from stem_sdk import Client  # noqa: E402

client = Client()  # STEM_API_URL and STEM_API_TOKEN from the environment
assert client.enqueue("resize", ["cat.png", 64]).get(timeout=60)["thumbnail"] == "cat.png@64w"
handles = client.enqueue_many([("add", [i, i]) for i in range(100)])
assert [h.get(timeout=60) for h in handles] == [2 * i for i in range(100)]
print("python producer: ok (1 + 100 tasks)")

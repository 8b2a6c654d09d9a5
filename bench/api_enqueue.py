"""The API producer's enqueue rates: N_SINGLE tasks through `Client.enqueue` one at a time
(one HTTP request each, on one keep-alive connection), then N_BATCH through
`Client.enqueue_many` (10,000 per request). Prints one line per figure:
`api-single STORE N RATE` and `api-batch STORE N RATE`."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk-python"))
from stem_sdk import Client  # noqa: E402

url, store, n_single, n_batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = Client(url=url)
t0 = time.perf_counter()
for i in range(n_single):
    client.enqueue("noop", [i])
t1 = time.perf_counter()
client.enqueue_many(({"task": "noop", "args": [i]} for i in range(n_batch)))
t2 = time.perf_counter()
print("api-single %s %d %.0f" % (store, n_single, n_single / (t1 - t0)))
print("api-batch %s %d %.0f" % (store, n_batch, n_batch / (t2 - t1)))

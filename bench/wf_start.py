"""Starts runs for bench/workflows.sh over `stem serve`'s HTTP API, several connections at once
(kept alive): `wf_start.py URL NAME N [THREADS]` starts N runs of NAME with args [i] and prints
`started <N> in <s> s (<rate>/s)`; `wf_start.py URL --counts` prints the run counts as JSON;
`wf_start.py URL --until STATE N TIMEOUT` polls the counts until STATE reaches N (exit 1 if not)."""

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse


def conn(url: str) -> http.client.HTTPConnection:
    u = urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def call(c: http.client.HTTPConnection, method: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    c.request(method, path, body=data, headers={"content-type": "application/json"})
    r = c.getresponse()
    raw = r.read()
    if r.status >= 300:
        raise SystemExit("%s %s: HTTP %d %s" % (method, path, r.status, raw[:300]))
    return json.loads(raw)


def start(url: str, name: str, n: int, threads: int) -> None:
    t0 = time.time()
    errors = []

    def work(k: int) -> None:
        c = conn(url)
        try:
            for i in range(k, n, threads):
                call(c, "POST", "/v1/workflows/%s/runs" % name, {"args": [i]})
        except BaseException as e:  # reported below, the bench fails
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise SystemExit("start failed: %s" % errors[0])
    dt = time.time() - t0
    print("started %d in %.1f s (%.0f/s)" % (n, dt, n / dt))


def counts(url: str):
    return call(conn(url), "GET", "/v1/workflows/counts")["counts"]


def until(url: str, state: str, n: int, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = counts(url)
        got = c.get(state, 0)
        if got >= n:
            return
        time.sleep(0.5)
    raise SystemExit("after %.0f s: %s (wanted %s=%d)" % (timeout, counts(url), state, n))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[1:2] == ["--counts"]:
        print(json.dumps(counts(a[0])))
    elif a[1:2] == ["--until"]:
        until(a[0], a[2], int(a[3]), float(a[4]))
    else:
        start(a[0], a[1], int(a[2]), int(a[3]) if len(a) > 3 else 8)

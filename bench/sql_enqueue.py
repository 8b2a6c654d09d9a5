"""Enqueue from SQL beside the other producers, on one Postgres namespace (`sql_enqueue.sh`
starts the server and the worker): N tasks as N `SELECT ns.enqueue(...)` statements in one
transaction (one round trip each, and pipelined), as one `ns.enqueue_many(...)` call, as one HTTP batch (`POST /v1/tasks`) and as
JSON lines into `stem enqueue --stdin`; then the wake-up latency of a committed SQL enqueue
(COMMIT to the worker's `started_at`, both on this machine's clock). Prints one line per
figure (`NAME N RATE` or `latency-sql N p50_ms max_ms`) and the ratios."""

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

import psycopg  # type: ignore

url, ns, api, stem_bin, n, n_latency = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
env = dict(os.environ, STEM_BROKER_URL=url, STEM_NAMESPACE=ns)


def drain(conn):
    conn.execute("DELETE FROM %s.tasks WHERE queue = 'bench'" % ns)


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


rates = {}
with psycopg.connect(url, autocommit=True) as conn:
    def statements():
        with conn.transaction():
            for i in range(n):
                conn.execute("SELECT %s.enqueue('noop', %%s::jsonb, options => '{\"queue\": \"bench\"}')" % ns,
                             [json.dumps([i])])
    rates["sql-enqueue-tx"] = n / timed(statements)
    drain(conn)

    def pipelined():
        # The same N statements, sent without waiting for each answer (psycopg's executemany
        # pipelines them): what the round trips cost.
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany("SELECT %s.enqueue('noop', %%s::jsonb, options => '{\"queue\": \"bench\"}')" % ns,
                            [[json.dumps([i])] for i in range(n)])
    rates["sql-enqueue-tx-pipelined"] = n / timed(pipelined)
    drain(conn)

    specs = json.dumps([{"task": "noop", "args": [i], "queue": "bench"} for i in range(n)])

    def many():
        with conn.transaction():
            conn.execute("SELECT %s.enqueue_many(%%s::jsonb)" % ns, [specs])
    rates["sql-enqueue-many"] = n / timed(many)
    drain(conn)

    def http_batch():
        req = urllib.request.Request(api + "/v1/tasks", data=specs.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as reply:
            assert reply.status in (200, 201, 202), reply.status
    rates["http-batch"] = n / timed(http_batch)
    drain(conn)

    lines = "".join(json.dumps({"task": "noop", "args": [i], "queue": "bench"}) + "\n" for i in range(n))

    def stdin():
        subprocess.run([stem_bin, "enqueue", "--stdin"], input=lines.encode(), env=env, check=True,
                       stdout=subprocess.DEVNULL)
    rates["cli-enqueue-stdin"] = n / timed(stdin)
    drain(conn)

    # Wake-up latency: one task at a time to an idle worker, COMMIT to started_at.
    waits = []
    for i in range(n_latency):
        with conn.transaction():
            task_id = conn.execute("SELECT %s.enqueue('noop', '[]')" % ns).fetchone()[0]
        committed = time.time() * 1000
        deadline = time.monotonic() + 60
        started = None
        while started is None and time.monotonic() < deadline:
            row = conn.execute("SELECT record FROM %s.results WHERE id = %%s AND state = 'success'" % ns,
                               [task_id]).fetchone()
            if row:
                started = json.loads(row[0]).get("started_at")
            else:
                time.sleep(0.002)
        if started is None:
            sys.exit("task %s was not run within 60 s" % task_id)
        waits.append(started - committed)

for name, rate in rates.items():
    print("%s %d %.0f" % (name, n, rate))
print("latency-sql %d %.0f %.0f" % (n_latency, statistics.median(waits), max(waits)))
base = rates["http-batch"]
print("# ratios to the HTTP batch: " + ", ".join("%s %.2fx" % (k, v / base) for k, v in rates.items()))
print("# sql-enqueue-tx / cli-enqueue-stdin: %.2fx" % (rates["sql-enqueue-tx"] / rates["cli-enqueue-stdin"]))

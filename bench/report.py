"""Turns the records bench/run.sh collected (tab-separated: kind, id, broker, N, rate, note)
into the printed table: interpreter start costs, the peer lines, Stem's drains, and the ratios
to the peers with the targets of the issues.

usage: report.py RECORDS [CONCURRENCY]"""

import sys

PEER_NAMES = {
    "celery": "celery prefork c=2",
    "rq-fork": "rq fork-per-job x2",
    "rq-simple": "rq SimpleWorker x2",
    "bullmq": "bullmq in-process c=50",
    "bullmq-sandboxed": "bullmq sandboxed c=2",
    "bullmq-addbulk": "bullmq addBulk enqueue",
    "bullmq-sandboxed-addbulk": None,  # the same figure twice; the larger N is kept
    "gw-py": "graphile-worker noop_py -j 2",
    "gw-sh": "graphile-worker noop_sh -j 2",
    "gw-js": "graphile-worker in-process c=24",
}
MODE_NAMES = {
    "py-pool": "python pool",
    "py-forkserver": "python forkserver",
    "py-process": "python process",
    "py-process-isolated": "python process -I -S",
    "node-pool": "node pool",
    "node-process": "node process",
    "exec-true": "exec /bin/true",
}
START_NAMES = {
    "python-I-S": "python3 -I -S -c pass",
    "python": "python3 -c pass",
    "python-noop-task": "python3 + import stem_sdk",
    "python-I-S-noop-task": "python3 -I -S + import stem_sdk",
    "node": "node -e 0",
    "true": "/bin/true",
}
BROKERS = ["sqlite", "redis", "postgres"]
# (label, stem mode, peer id, target ratio or None[, the one broker it is about])
RATIOS = [
    ("python pool / bullmq in-process c=50", "py-pool", "bullmq", 1.0, "redis"),
    ("python pool / bullmq sandboxed", "py-pool", "bullmq-sandboxed", 5.0, "redis"),
    ("python pool / bullmq sandboxed", "py-pool", "bullmq-sandboxed", 4.0, "sqlite", "postgres"),
    ("python pool / graphile-worker in-process", "py-pool", "gw-js", 1.0, "postgres"),
    ("python pool / celery prefork", "py-pool", "celery", 12.0),
    ("python forkserver / rq fork-per-job", "py-forkserver", "rq-fork", 25.0),
    ("batch enqueue / bullmq addBulk", "enqueue:py-pool", "bullmq-addbulk", 2.0, "sqlite", "redis"),
    ("batch enqueue / bullmq addBulk", "enqueue:py-pool", "bullmq-addbulk", 3.0, "postgres"),
    ("node pool / bullmq sandboxed", "node-pool", "bullmq-sandboxed", None),
    ("node pool / bullmq in-process c=50", "node-pool", "bullmq", 1.0, "redis"),
    ("python pool / rq SimpleWorker", "py-pool", "rq-simple", None),
    ("python process / graphile noop_py", "py-process", "gw-py", None),
    ("python process -I -S / graphile noop_py", "py-process-isolated", "gw-py", None),
    ("exec /bin/true / graphile noop_sh", "exec-true", "gw-sh", None),
    ("node pool/postgres vs graphile in-process", "node-pool", "gw-js", None, "postgres"),
]


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 6:
                continue
            kind, ident, broker, n, rate, note = parts[:6]
            try:
                value = float(rate)
            except ValueError:
                value = 0.0
            rows.append((kind, ident, broker, n, value, note))
    return rows


def fmt_rate(v):
    return "-" if not v else "{:,.0f}".format(v)


def main():
    rows = load(sys.argv[1])
    conc = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    starts = {r[1]: r for r in rows if r[0] == "start"}
    peers = {r[1]: r for r in rows if r[0] == "peer"}
    stem = {(r[1], r[2]): r for r in rows if r[0] == "stem"}
    enq = {(r[1], r[2]): r for r in rows if r[0] == "enqueue"}
    skips = [r for r in rows if r[0] == "skip"]
    floors = {r[1]: r for r in rows if r[0] == "floor"}
    out = []

    if starts:
        out.append("")
        out.append("Interpreter start, mean wall time of one run")
        for key, label in START_NAMES.items():
            if key in starts:
                out.append("  %-34s %7.1f ms   (x%s)" % (label, starts[key][4], starts[key][3]))

    if floors:
        out.append("")
        out.append(
            "Child floor: one warm child driven over the protocol by a script, one slot,"
            " no broker, no supervisor"
        )
        for key, r in floors.items():
            if key == "py-fork-bare":
                out.append(
                    "  %-34s %7s %10s   (%d processes at once, all together)"
                    % ("python bare fork+_exit+waitpid", r[3], fmt_rate(r[4]), conc)
                )
                continue
            out.append(
                "  %-34s %7s %10s   %s"
                % (MODE_NAMES.get(key, key) + " child", r[3], fmt_rate(r[4]), r[5] or "(x%d slots: %s)" % (conc, fmt_rate(r[4] * conc)))
            )

    if peers:
        out.append("")
        out.append("Peers (Redis dbs 0-3; graphile-worker on Postgres), same job")
        out.append("  %-34s %7s %10s   %s" % ("line", "N", "tasks/s", "as printed"))
        for key, label in PEER_NAMES.items():
            if key in peers and label:
                r = peers[key]
                out.append("  %-34s %7s %10s   %s" % (label, r[3], fmt_rate(r[4]), r[5]))

    out.append("")
    out.append(
        "Stem drains, concurrency %d; tasks/s = N / (worker start -> last task recorded);"
        " wall = to the worker's exit" % conc
    )
    out.append(
        "  %-22s %-8s %7s %10s %10s %11s   %s"
        % ("mode", "broker", "N", "tasks/s", "wall/s", "enqueue/s", "note")
    )
    for broker in BROKERS:
        for mode, label in MODE_NAMES.items():
            r = stem.get((mode, broker))
            if not r:
                continue
            note = dict(kv.split("=", 1) for kv in r[5].split(";")[0].split() if "=" in kv)
            extra = r[5].split(";", 1)[1].strip() if ";" in r[5] else ""
            bad = ""
            if note.get("ok") not in (None, r[3]):
                bad = "%s of %s succeeded" % (note.get("ok"), r[3])
            if r[5].startswith("enqueue failed"):
                bad = r[5]
            e = enq.get((mode, broker))
            out.append(
                "  %-22s %-8s %7s %10s %10s %11s   %s"
                % (
                    label,
                    broker,
                    r[3],
                    fmt_rate(r[4]) if not bad else "FAILED",
                    fmt_rate(float(note.get("wall", 0) or 0)),
                    fmt_rate(e[4]) if e else "-",
                    "; ".join(x for x in (bad, extra) if x),
                )
            )
    for s in skips:
        out.append("  %-22s %-8s skipped: %s" % ("-", s[2], s[5]))

    present = [b for b in BROKERS if any(k[1] == b for k in stem)]
    out.append("")
    out.append("Ratios (Stem / peer, same run)")
    out.append("  %-44s %8s" % ("", "target") + "".join(" %10s" % b for b in present))
    for label, mode, peer, target, *only in RATIOS:
        p = peers.get(peer)
        cells = []
        for b in present:
            if only and b not in only:
                cells.append("%10s" % "")
                continue
            if mode.startswith("enqueue:"):
                s = enq.get((mode.split(":", 1)[1], b))
            else:
                s = stem.get((mode, b))
                if s and "ok=%s " % s[3] not in s[5] + " ":
                    s = None
            if not s or not p or not p[4] or not s[4]:
                cells.append("%10s" % "-")
                continue
            ratio = s[4] / p[4]
            mark = ""
            if target:
                mark = " ok" if ratio >= target else " NO"
            cells.append("%10s" % ("%.2fx%s" % (ratio, mark)))
        out.append(
            "  %-44s %8s" % (label, (">= %gx" % target) if target else "")
            + " ".join([""] + cells)
        )

    # Fresh processes against the interpreter's own start.
    base = starts.get("python")
    base_is = starts.get("python-I-S")
    sdk = starts.get("python-noop-task")
    node = starts.get("node")
    lines = []
    for b in present:
        for mode, ref in (
            ("py-process", base),
            ("py-process-isolated", base_is),
            ("node-process", node),
            ("exec-true", starts.get("true")),
        ):
            s = stem.get((mode, b))
            if not s or not s[4] or not ref:
                continue
            per_task = conc * 1000.0 / s[4]
            lines.append(
                "  %-22s %-8s %7.1f ms per task per slot  vs %-26s %6.1f ms  (%.2fx)"
                % (MODE_NAMES[mode], b, per_task, START_NAMES[ref[1]], ref[4], per_task / ref[4])
            )
    if lines:
        out.append("")
        out.append(
            "Fresh process per task: wall per task per slot (= %d / tasks/s) beside a bare start" % conc
        )
        out.extend(lines)
        if sdk:
            out.append(
                "  (python3 starting and importing stem_sdk alone: %.1f ms)" % sdk[4]
            )
    lines = []
    for b in present:
        for mode in ("py-pool", "py-forkserver", "node-pool"):
            s, f = stem.get((mode, b)), floors.get(mode)
            if s and s[4] and f and f[4]:
                per_task = conc * 1e6 / s[4]
                lines.append(
                    "  %-22s %-8s %7.0f us per task per slot, child alone %5.0f us: %5.0f us in"
                    " the supervisor and the broker"
                    % (MODE_NAMES[mode], b, per_task, 1e6 / f[4], per_task - 1e6 / f[4])
                )
    bare = floors.get("py-fork-bare")
    for b in present:
        s = stem.get(("py-forkserver", b))
        if s and s[4] and bare and bare[4]:
            per_task, floor = conc * 1e6 / s[4], conc * 1e6 / bare[4]
            ratio = per_task / floor
            lines.append(
                "  %-22s %-8s %7.0f us per task per slot vs a bare fork+_exit+waitpid (%d at once)"
                " %5.0f us: %.2fx (target <= 1.5x%s)"
                % (MODE_NAMES["py-forkserver"], b, per_task, conc, floor, ratio,
                   " ok" if ratio <= 1.5 else " NO")
            )
    if lines:
        out.append("")
        out.append("Warm modes: where the time per task goes (wall per task per slot = %d / tasks/s)" % conc)
        out.extend(lines)
    print("\n".join(out))


if __name__ == "__main__":
    main()

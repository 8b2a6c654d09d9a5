"""Prints the before/after table of bench/before_after.sh from two bench/run.sh reports: the
warm Python pool drain per broker, BullMQ sandboxed from the same job, and the ratios."""
import re
import sys


def read(path):
    pool, bull = {}, None
    for line in open(path):
        m = re.match(r"\s+python pool\s+(\w+)\s+(\d+)\s+([\d,]+)", line)
        if m:
            pool[m.group(1)] = int(m.group(3).replace(",", ""))
        m = re.match(r"\s+bullmq sandboxed c=2\s+(\d+)\s+([\d,]+)", line)
        if m:
            bull = int(m.group(2).replace(",", ""))
    return pool, bull


def main():
    before, after, rev_b, rev_a = sys.argv[1:5]
    pb, bb = read(before)
    pa, ba = read(after)
    print(f"warm Python pool drain, tasks/s (ratio to BullMQ sandboxed c=2 measured in the same job)")
    print(f"  {'broker':10} {'before ' + rev_b:>24} {'after ' + rev_a:>24} {'change of ratio':>16}")
    for broker in ("sqlite", "redis", "postgres"):
        if broker not in pb or broker not in pa or not bb or not ba:
            print(f"  {broker:10} (missing)")
            continue
        rb, ra = pb[broker] / bb, pa[broker] / ba
        print(f"  {broker:10} {pb[broker]:>10,} ({rb:4.2f}x of {bb:,}) {pa[broker]:>10,} ({ra:4.2f}x of {ba:,}) {100 * (ra / rb - 1):>+15.1f}%")


if __name__ == "__main__":
    main()

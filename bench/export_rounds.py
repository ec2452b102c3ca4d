#!/usr/bin/env python3
"""bench/export_rounds.py: how many events the export loop's view scans
run through the joins for each event it decides, in a catch-up of a whole
store (a replay of src/export/export_loop.cc's rounds, no pveauditd).

  pveam access log --data-dir DIR --start 1970-01-01 --output-format csv |
    bench/export_rounds.py [--batch 2000] [--max-round 32768]

Reads the events (id, time, source) in CSV from stdin, takes them in id
order in rounds growing from --batch to --max-round (doubling), splits
each round's log events (not alerts or pveaudit's own) at time gaps of more
than an hour, and counts the events whose time lies in each scan's range
widened by 140 s on each side (the loop's margin plus the view's own). It
sees the events `pveam access log` shows, not the absorbed halves of pairs
(about a tenth), so the ratio is a close estimate.
"""
import argparse
import bisect
import csv
import datetime
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--max-round", type=int, default=32768)
    a = ap.parse_args()
    rows = []
    for r in csv.DictReader(sys.stdin):
        t = datetime.datetime.strptime(r["time"][:19], "%Y-%m-%dT%H:%M:%S")
        t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
        rows.append((int(r["id"]), t, r["source"]))
    rows.sort()
    times = sorted(t for _, t, _ in rows)

    def count(lo, hi):
        return bisect.bisect_left(times, hi) - bisect.bisect_left(times, lo)

    i, want, viewed, rounds, scans = 0, a.batch, 0, 0, 0
    while i < len(rows):
        rnd = rows[i:i + want]
        i += want
        rounds += 1
        want = min(want * 2, a.max_round)
        ts = sorted(t for _, t, s in rnd if s not in ("alert", "pveaudit"))
        j = 0
        while j < len(ts):
            k = j + 1
            while k < len(ts) and ts[k] - ts[k - 1] <= 3600:
                k += 1
            viewed += count(ts[j] - 140, ts[k - 1] + 140)
            scans += 1
            j = k
    print(f"events {len(rows)} rounds {rounds} scans {scans} viewed {viewed} "
          f"ratio {viewed / max(1, len(rows)):.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes N ticker messages as "key<TAB>json" lines (kcat -K '\t' input) to stdout:
100 tickers walking +-1, one round per second of event time, like the producer."""
import random
import sys
import time

count = int(sys.argv[1])
tickers = int(sys.argv[2]) if len(sys.argv) > 2 else 100
rng = random.Random(42)
names = [f"ticker_{i:02d}" for i in range(tickers)]
values = [0] * tickers
start = int(time.time()) - count // tickers - 1
out = sys.stdout
lines = []
for i in range(count):
    k = i % tickers
    if k == 0:
        second = start + i // tickers
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    values[k] += 1 if rng.random() < 0.5 else -1
    lines.append(f'{names[k]}\t{{"name":"{names[k]}","value":{values[k]},"time":"{stamp}.{k * 1000:06d}Z"}}\n')
    if len(lines) == 10000:
        out.write("".join(lines))
        lines.clear()
out.write("".join(lines))

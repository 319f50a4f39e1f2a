#!/usr/bin/env python3
"""Writes N trade records as "pair<TAB>json" lines (kcat -K '\\t' input) to stdout: 20
currency pairs, 100 trades a second of event time in all, each pair's price a random walk
written with its own number of decimals, volumes of varying scale, like the producer's
trade records (docs/message-format.md)."""
import random
import sys
import time

count = int(sys.argv[1])
pairs_count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
rng = random.Random(42)
BASES = ["bitcoin", "ethereum", "solana", "xrp", "cardano", "dogecoin", "polkadot", "litecoin", "tron", "avalanche",
         "chainlink", "stellar", "cosmos", "uniswap", "toncoin", "near", "aptos", "arbitrum", "optimism", "sui"]
pairs = [(BASES[i % len(BASES)], "tether" if i < len(BASES) else "usd-coin") for i in range(pairs_count)]
prices = [10 ** rng.uniform(-1, 5) for _ in pairs]
decimals = [max(0, 6 - len(str(int(p)))) for p in prices]
start_ms = (int(time.time()) - count // 100 - 60) * 1000
out = sys.stdout
lines = []
for i in range(count):
    k = rng.randrange(len(pairs))
    base, quote = pairs[k]
    prices[k] *= 1 + rng.uniform(-0.0005, 0.0005)
    price = f"{prices[k]:.{decimals[k]}f}"
    volume = f"{rng.expovariate(1.0) * 100 / max(prices[k], 0.01):.{rng.choice([2, 4, 6, 8])}f}"
    direction = "buy" if rng.random() < 0.5 else "sell"
    stamp = start_ms + i * 10
    lines.append(f'{base}/{quote}\t{{"exchange":"binance","base":"{base}","quote":"{quote}","direction":"{direction}",'
                 f'"price":{price},"volume":{volume},"timestamp":{stamp},"tradeId":{i + 1}}}\n')
    if len(lines) == 10000:
        out.write("".join(lines))
        lines.clear()
out.write("".join(lines))

#!/usr/bin/env python3
"""Writes the recorded-format trade sample that `tickerflow-producer --source trades --replay`
plays back: an hour of trades of a few currency pairs, one record per line, exactly as the
trades topic carries them (docs/message-format.md). Prices walk randomly around plausible
levels; volumes, directions and arrival times vary as on a real exchange; numbers are
written with the decimals each market uses (trailing zeros and all), since they are kept
as text to the last digit. Deterministic: the same file every time.

    tools/trades-sample/generate.py > services/producer/samples/trades-sample.jsonl
"""
import random
import sys
from decimal import Decimal, ROUND_HALF_EVEN

START_MS = 1793491200000  # 2026-11-01T00:00:00Z
SECONDS = 3600
# base, quote, exchange, starting price, price decimals, trades per second, volume range, volume decimals
PAIRS = [
    ("bitcoin", "tether", "binance", "97123.45", 2, 0.8, (0.00001, 0.6), 8),
    ("ethereum", "tether", "binance", "3402.17", 2, 0.6, (0.0005, 8.0), 5),
    ("xrp", "tether", "bitso", "0.6174", 4, 0.4, (1.0, 6000.0), 1),
    ("solana", "usd-coin", "kraken", "185.312", 3, 0.3, (0.01, 60.0), 3),
]


def quantize(value, decimals):
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


def main():
    rng = random.Random(20261101)
    records = []
    for base, quote, exchange, start, decimals, rate, (low, high), volume_decimals in PAIRS:
        price = Decimal(start)
        tick = Decimal(1).scaleb(-decimals)
        trade_id = rng.randrange(10**8, 10**9)
        at = 0.0
        while True:
            at += rng.expovariate(rate)
            if at >= SECONDS:
                break
            # A random walk of a few ticks, with the odd larger move.
            steps = rng.choice([-2, -1, -1, 0, 0, 1, 1, 2]) * (5 if rng.random() < 0.02 else 1)
            price = max(tick, price + tick * steps * max(1, int(price / tick / 20000)))
            volume = Decimal(str(rng.uniform(low, high) ** 1.0 if rng.random() < 0.7 else rng.uniform(low, low * 20)))
            volume = quantize(volume, rng.choice([volume_decimals, volume_decimals, max(0, volume_decimals - 2)]))
            if volume <= 0:
                volume = Decimal(1).scaleb(-volume_decimals)
            usd = quantize(price * Decimal("1.000") * Decimal(str(1 + rng.uniform(-0.0004, 0.0004))), 10)
            trade_id += rng.randrange(1, 4)
            timestamp = START_MS + int(at * 1000)
            direction = "buy" if rng.random() < 0.52 else "sell"
            records.append((timestamp, trade_id, '{"exchange":"%s","base":"%s","quote":"%s","direction":"%s","price":%s,'
                            '"volume":%s,"timestamp":%d,"priceUsd":%s,"tradeId":%d}'
                            % (exchange, base, quote, direction, quantize(price, decimals), volume, timestamp, usd,
                               trade_id)))
    records.sort()
    for _, _, line in records:
        sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()

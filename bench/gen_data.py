"""Generates the benchmark's 1-minute OHLCV bars into an Arrow IPC file, with pyarrow.compute only.

Rows arrive in time order, every symbol for one minute then the next minute (as a live feed
delivers them), in record batches of --batch-rows rows. Columns: symbol dictionary<utf8> (int32
indices, names S0000..), ts timestamp[ns, UTC] from 2024-01-01T00:00Z, open/high/low/close float64
(a per-symbol sine wave plus noise), volume int64. Deterministic for a given --seed.

  gen_data.py OUT.arrow --symbols 500 --minutes 20000 [--upsert OUT2.arrow --upsert-rows 1000000]
                       [--warmup OUT3.arrow]

--upsert also writes the upsert batch: the last rows of the data (its latest minutes, every symbol)
with changed prices, so every row's primary key (symbol, ts) already exists. --warmup writes a
small unrelated table (20 symbols × 2 days) that warms a freshly started server's code paths
without putting any of the measured data in memory.
Prints one JSON line describing what it wrote.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc

START_NS = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
MINUTE_NS = 60_000_000_000
TS_TYPE = pa.timestamp("ns", tz="UTC")


def block_steps(block: int, blocks: int, step: int) -> pa.Array:
    """0, .., 0 (block times), step, 0, ..: cumulative_sum of it numbers the blocks."""
    one = pa.array([step] + [0] * (block - 1), pa.int64())
    return pa.chunked_array([one] * blocks).combine_chunks()


def random_uniform(n: int, seed: int) -> pa.Array:
    return pc.random(n, initializer=seed)


def generate(symbols: int, minutes: int, seed: int, price_shift: float = 0.0) -> pa.Table:
    n = symbols * minutes
    sym_block = pa.array(range(symbols), pa.int32())
    sym_idx = pa.chunked_array([sym_block] * minutes).combine_chunks()
    minute_idx = pc.subtract(pc.cumulative_sum(block_steps(symbols, minutes, 1)), 1)
    ts = pc.add(pc.multiply(minute_idx, MINUTE_NS), START_NS).cast(pa.int64()).view(TS_TYPE)

    base_rand = random_uniform(symbols, seed)
    phase_rand = random_uniform(symbols, seed + 1)
    base = pc.add(pc.multiply(base_rand, 490.0), 10.0)  # 10 .. 500
    phase = pc.multiply(phase_rand, 2 * math.pi)
    base_row = pc.take(base, sym_idx)
    phase_row = pc.take(phase, sym_idx)
    wave = pc.sin(pc.add(pc.divide(minute_idx.cast(pa.float64()), 390.0), phase_row))
    mid = pc.multiply(base_row, pc.add(pc.multiply(wave, 0.1 + price_shift), 1.0))

    def noise(k: int, scale: float) -> pa.Array:
        return pc.multiply(pc.multiply(pc.subtract(random_uniform(n, seed + 10 + k), 0.5), scale), base_row)

    open_ = pc.add(mid, noise(0, 0.004))
    close = pc.add(mid, noise(1, 0.004))
    high = pc.add(pc.max_element_wise(open_, close), pc.abs(noise(2, 0.002)))
    low = pc.subtract(pc.min_element_wise(open_, close), pc.abs(noise(3, 0.002)))
    volume = pc.cast(pc.floor(pc.multiply(random_uniform(n, seed + 20), 10_000.0)), pa.int64())

    names = pa.array([f"S{i:04d}" for i in range(symbols)], pa.string())
    symbol = pa.DictionaryArray.from_arrays(sym_idx, names)
    return pa.table(
        {"symbol": symbol, "ts": ts, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
    )


def write_ipc(table: pa.Table, path: str, batch_rows: int) -> dict:
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=batch_rows):
            writer.write_batch(batch)
    return {"path": path, "rows": table.num_rows, "nbytes": table.nbytes}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--minutes", type=int, default=20_000)
    parser.add_argument("--batch-rows", type=int, default=65_536)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--upsert")
    parser.add_argument("--upsert-rows", type=int, default=1_000_000)
    parser.add_argument("--warmup")
    args = parser.parse_args()

    started = time.perf_counter()
    table = generate(args.symbols, args.minutes, args.seed)
    result = {"data": write_ipc(table, args.out, args.batch_rows)}
    if args.upsert:
        # The latest minutes, all symbols: rows already stored, with other prices.
        upsert_minutes = max(1, min(args.minutes, args.upsert_rows // args.symbols))
        changed = generate(args.symbols, args.minutes, args.seed + 1000, price_shift=0.05)
        tail = changed.slice((args.minutes - upsert_minutes) * args.symbols)
        result["upsert"] = write_ipc(tail, args.upsert, args.batch_rows)
    if args.warmup:
        result["warmup"] = write_ipc(generate(20, 2 * 1440, args.seed + 2000), args.warmup, args.batch_rows)
    result["start_ns"] = START_NS
    result["end_ns"] = START_NS + args.minutes * MINUTE_NS
    result["symbols"] = args.symbols
    result["minutes"] = args.minutes
    result["seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

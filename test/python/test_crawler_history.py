"""A crawler's own history must not slow it down (issue 11): 2,000 small appends, with a few
upserts of earlier minutes mixed in, through the real server with its default catalog and
compaction settings. Throughout, pyarrow reads are exact; at the end the catalog's growth per
commit has stayed flat and background compaction has kept every partition under its file bound."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pyarrow as pa

from flight_helpers import (
    BAR_FIELDS,
    NS_PER_MIN,
    assert_same_rows,
    bars,
    cmd,
    concat,
    create,
    describe,
    ns,
    put,
    read_flight,
    read_path,
)

COMMITS = 2_000
SYMBOLS = [f"S{i:03d}" for i in range(20)]
CHECK_EVERY = 250
UPSERT_EVERY = 97
FILE_BOUND = 16  # FLIGHT_COMPACT_FILES' default, which this server runs with
START = ns("2024-01-02T00:00:00Z")  # day partitions: 1,440 appends into one, 560 into the next


def catalog_dir(server, name: str) -> Path:
    return server["data_dir"] / name / "_catalog"


def catalog_bytes(server, name: str) -> int:
    return sum(p.stat().st_size for p in catalog_dir(server, name).iterdir() if p.is_file())


def record_bytes(server, name: str, version: int) -> int:
    return (catalog_dir(server, name) / f"v{version:020d}.json").stat().st_size


def expected_table(model: dict[tuple[str, int], tuple], symbols: list[str] | None = None) -> pa.Table:
    keys = sorted(k for k in model if symbols is None or k[0] in symbols)
    rows = [model[k] for k in keys]
    return pa.table(
        {
            "symbol": pa.array([k[0] for k in keys], pa.utf8()),
            "ts": pa.array([k[1] for k in keys], pa.timestamp("ns", tz="UTC")),
            "open": pa.array([r[0] for r in rows], pa.float64()),
            "high": pa.array([r[1] for r in rows], pa.float64()),
            "low": pa.array([r[2] for r in rows], pa.float64()),
            "close": pa.array([r[3] for r in rows], pa.float64()),
            "volume": pa.array([r[4] for r in rows], pa.int64()),
        }
    )


def remember(model: dict[tuple[str, int], tuple], table: pa.Table) -> None:
    cols = table.to_pydict()
    for i, sym in enumerate(cols["symbol"]):
        t = cols["ts"][i]
        t_ns = t.value if hasattr(t, "value") else int(t.timestamp() * 1e9)
        model[(sym, t_ns)] = (cols["open"][i], cols["high"][i], cols["low"][i], cols["close"][i], cols["volume"][i])


def plain(table: pa.Table) -> pa.Table:
    """The symbol column as plain utf8 whatever encoding the server answers with."""
    i = table.schema.get_field_index("symbol")
    return table.set_column(i, "symbol", table["symbol"].cast(pa.utf8()))


def read_symbol(client, name: str, symbol: str) -> pa.Table:
    _, tables = read_flight(client, cmd({"dataset": name, "symbols": [symbol]}))
    return plain(concat(tables))


def wait_for_file_bound(client, name: str, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        d = describe(client, name)
        if all(p["files"] <= FILE_BOUND for p in d["partitions"]) or time.monotonic() > deadline:
            return d
        time.sleep(0.25)


def test_two_thousand_appends_keep_catalog_growth_flat_files_bounded_and_reads_exact(server, client, new_name):
    name = new_name("crawler")
    create(client, name, fields=BAR_FIELDS)
    model: dict[tuple[str, int], tuple] = {}
    put_versions: list[int] = []
    catalog_at: dict[int, int] = {}
    most_files_seen = 0

    for i in range(1, COMMITS + 1):
        minute = bars(SYMBOLS, [START + (i - 1) * NS_PER_MIN], dictionary=False, seed=i % 89)
        result = put(client, name, minute)
        assert result["rows"] == len(SYMBOLS)
        put_versions.append(result["version"])
        remember(model, minute)

        if i % UPSERT_EVERY == 0 and i > 60:
            # A late correction of a minute that compaction has probably merged by now.
            fix = bars(SYMBOLS[:5], [START + (i - 60) * NS_PER_MIN], dictionary=False, seed=i + 1_000)
            put(client, name, fix)
            remember(model, fix)

        if i % CHECK_EVERY == 0:
            catalog_at[i] = catalog_bytes(server, name)
            d = describe(client, name)
            most_files_seen = max(most_files_seen, *(p["files"] for p in d["partitions"]))
            assert d["rows"] == len(model)
            symbol = SYMBOLS[(i // CHECK_EVERY) % len(SYMBOLS)]
            assert_same_rows(read_symbol(client, name, symbol), expected_table(model, [symbol]))
            if i % (2 * CHECK_EVERY) == 0:
                assert_same_rows(plain(read_path(client, name)), expected_table(model))

    # Growth per commit is flat: a late append's version record is no bigger than an early one's
    # (every version used to list every live file), and the catalog grows no faster late than early.
    early = statistics.median(record_bytes(server, name, v) for v in put_versions[100:300])
    late = statistics.median(record_bytes(server, name, v) for v in put_versions[-200:])
    assert late <= early * 1.25 + 64, f"a commit's record grew from {early} to {late} bytes"
    early_growth = catalog_at[1_000] - catalog_at[500]
    late_growth = catalog_at[2_000] - catalog_at[1_500]
    assert late_growth <= early_growth * 1.5 + 32_768, (
        f"the catalog grew {early_growth} bytes over commits 500-1000 but {late_growth} over 1500-2000"
    )

    # Checkpoints hold the live files only, not every file the history replaced.
    checkpoints = sorted(catalog_dir(server, name).glob("c*.json"))
    first_cp, last_cp = checkpoints[0].stat().st_size, checkpoints[-1].stat().st_size
    assert last_cp <= 4 * first_cp, f"checkpoints grew from {first_cp} to {last_cp} bytes"

    # Background compaction kept up: never near one file per append, and under the bound at rest.
    assert most_files_seen <= 4 * FILE_BOUND, f"a partition held {most_files_seen} files during the run"
    settled = wait_for_file_bound(client, name)
    assert [p["files"] for p in settled["partitions"] if p["files"] > FILE_BOUND] == []
    assert len(settled["partitions"]) == 2

    # Exact at the end, compaction versions included, whole and one symbol.
    assert_same_rows(plain(read_path(client, name)), expected_table(model))
    assert_same_rows(read_symbol(client, name, SYMBOLS[7]), expected_table(model, [SYMBOLS[7]]))
    print(
        f"\ncatalog bytes at {sorted(catalog_at.items())}; record median {early} -> {late} bytes; "
        f"checkpoint {first_cp} -> {last_cp} bytes; most files in a partition {most_files_seen}; "
        f"settled {[p['files'] for p in settled['partitions']]}"
    )

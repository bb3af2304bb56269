"""Crash safety: the server process is killed with SIGKILL during a large DoPut (while the
stream arrives, and while it writes and commits), during compact, and while a crawler appends
with a catalog checkpoint after every version; after a restart the dataset equals its last
committed version whole (every acknowledged row is there), and no file outside a committed
version is left on disk."""

from __future__ import annotations

import json
import random
import signal
import threading
import time

import pyarrow as pa
import pyarrow.flight as fl

from conftest import start_server
from flight_helpers import BAR_FIELDS, NS_PER_MIN, action, assert_same_rows, bars, concat, create, describe, minutes, ns, put, read_path

NAME = "crashy"


def committed_files(data_dir, name: str) -> set[str]:
    """Every data file a version names: version records add files (`format` 2; the old format
    listed every file of its version), checkpoints list the files of theirs."""
    catalog = data_dir / name / "_catalog"
    entries: list[dict] = []
    for record in catalog.glob("v*.json"):
        doc = json.loads(record.read_text())
        entries += doc["added"] if doc.get("format") == 2 else doc["files"]
    for checkpoint in catalog.glob("c*.json"):
        entries += json.loads(checkpoint.read_text())["manifest"]["files"]
    names: set[str] = set()
    for f in entries:
        names.add(f["path"])
        if f.get("ipc"):
            names.add(f["ipc"]["path"])
    return names


def files_on_disk(data_dir, name: str) -> set[str]:
    root = data_dir / name
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "_catalog" not in p.parts}


def big_stream(rows: int, start: str) -> pa.Table:
    symbols = [f"S{i:03d}" for i in range(50)]
    return bars(symbols, minutes(start, rows // len(symbols)), seed=7)


def kill_during(server, work, delay_s: float, stop: threading.Event | None = None) -> None:
    """Runs `work(client)` in a thread and SIGKILLs the server after `delay_s`; then sets `stop`
    (for work that loops until told) and waits for the thread."""
    def run() -> None:
        c = fl.connect(server.location)
        try:
            work(c)
        except Exception:  # noqa: BLE001 - the server dies under it on purpose
            pass
        finally:
            c.close()

    t = threading.Thread(target=run)
    t.start()
    time.sleep(delay_s)
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    if stop is not None:
        stop.set()
    t.join(60)


def check_consistent(data_dir, candidates: dict[int, pa.Table]) -> int:
    """Restarts the server; the dataset must equal one of the candidate versions, whole."""
    server = start_server(data_dir)
    try:
        c = fl.connect(server.location)
        version = describe(c, NAME)["version"]
        assert version in candidates, f"version {version} after restart, expected one of {sorted(candidates)}"
        assert_same_rows(read_path(c, NAME), candidates[version])
        assert files_on_disk(data_dir, NAME) <= committed_files(data_dir, NAME), "files outside every committed version were left"
        assert not list((data_dir / NAME / "_catalog").glob(".tmp-*")), "a temporary manifest was left"
        c.close()
        return version
    finally:
        server.stop()


def test_sigkill_during_doput_keeps_the_last_committed_version(tmp_path):
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    c = fl.connect(server.location)
    create(c, NAME, fields=BAR_FIELDS)
    base = bars(["AAPL", "MSFT"], minutes("2024-01-02T10:00:00Z", 100))
    put(c, NAME, base)
    c.close()
    rng = random.Random(42)
    seen_versions = set()
    state = {1: base}
    for attempt in range(6):
        current_version = max(state)
        extra = big_stream(400_000, f"2024-{3 + attempt:02d}-01T00:00:00Z")
        after = pa.concat_tables([state[current_version].cast(extra.schema), extra])

        def work(client: fl.FlightClient, table=extra) -> None:
            put(client, NAME, table, max_chunksize=20_000)

        # Early kills land mid-stream, later ones while the server sorts, writes and commits.
        kill_during(server, work, rng.uniform(0.05, 2.5))
        version = check_consistent(data_dir, {current_version: state[current_version], current_version + 1: after})
        seen_versions.add(version - current_version)
        if version > current_version:
            state[version] = after
        server = start_server(data_dir)
    server.stop()
    # The stream was interrupted at least once before its commit.
    assert 0 in seen_versions


def test_sigkill_during_compact_keeps_the_rows(tmp_path):
    data_dir = tmp_path / "data"
    rng = random.Random(7)
    for attempt in range(3):
        server = start_server(data_dir)
        c = fl.connect(server.location)
        if attempt == 0:
            create(c, NAME, fields=BAR_FIELDS)
        # Many files in one partition: disjoint times, so each put adds a file.
        for i in range(8):
            put(c, NAME, big_stream(25_000, f"2024-02-0{1 + attempt}T{i * 2:02d}:00:00Z"))
        before = describe(c, NAME)
        rows = read_path(c, NAME)
        c.close()

        def work(client: fl.FlightClient) -> None:
            action(client, "compact", {"dataset": NAME})

        kill_during(server, work, rng.uniform(0.02, 0.6))
        version = check_consistent(data_dir, {before["version"]: rows, before["version"] + 1: rows})
        assert version in (before["version"], before["version"] + 1)


def kill_while_a_crawler_appends(server, name: str, symbols: list[str], t0: int, acked: list[pa.Table], delay_s: float) -> dict[str, pa.Table]:
    """A crawler puts one minute of `symbols` after another into `name`, appending each acknowledged table to
    `acked`, until the server is killed with SIGKILL after `delay_s`. Returns {"table": T} for a
    put in flight at the kill (it may or may not have committed), else {}."""
    stop = threading.Event()
    in_flight: dict[str, pa.Table] = {}

    def append(client: fl.FlightClient) -> None:
        while not stop.is_set():
            minute = len(acked)
            table = bars(symbols, [t0 + minute * NS_PER_MIN], seed=minute)
            in_flight["table"] = table
            put(client, name, table)
            acked.append(table)
            in_flight.clear()

    kill_during(server, append, delay_s, stop)
    return in_flight


def kill_while_appending(tmp_path, env: dict[str, str], symbols: list[str], rounds: int = 5) -> dict[str, int]:
    """A crawler appends one DoPut of one minute of `symbols` after another while the server is
    SIGKILLed at random moments, `rounds` times. After each restart every acknowledged row is
    there, plus at most the one DoPut in flight (committed, but killed before it could answer),
    and no file outside a committed version is on disk. Returns what the kills interrupted."""
    data_dir = tmp_path / "data"
    server = start_server(data_dir, env)
    c = fl.connect(server.location)
    create(c, NAME, fields=BAR_FIELDS)
    c.close()
    t0 = ns("2024-01-02T00:00:00Z")
    acked: list[pa.Table] = []
    rng = random.Random(3)
    seen = {"catalog_writes_cut": 0, "uncommitted_files": 0, "versions": 0}
    try:
        for _ in range(rounds):
            in_flight = kill_while_a_crawler_appends(server, NAME, symbols, t0, acked, rng.uniform(1.5, 4.0))
            seen["catalog_writes_cut"] += len(list((data_dir / NAME / "_catalog").glob(".tmp-*")))
            seen["uncommitted_files"] += len(files_on_disk(data_dir, NAME) - committed_files(data_dir, NAME))

            # Restart without background merges for the checks: a merge started at start-up would be
            # writing files no version names yet while the disk is compared with the catalog.
            server = start_server(data_dir, {**env, "FLIGHT_COMPACT_FILES": "0"})
            c = fl.connect(server.location)
            got = read_path(c, NAME)
            if got.num_rows != sum(t.num_rows for t in acked):
                assert "table" in in_flight, f"{got.num_rows} rows after restart, {sum(t.num_rows for t in acked)} acknowledged"
                acked.append(in_flight["table"])  # committed, then killed before the answer
            assert_same_rows(got, concat(acked))
            seen["versions"] = describe(c, NAME)["version"]
            assert files_on_disk(data_dir, NAME) <= committed_files(data_dir, NAME), "files outside every committed version were left"
            c.close()
            server.stop()
            server = start_server(data_dir, env)
    finally:
        server.stop()  # also when an assertion fails: no server outlives the test
    assert len(acked) >= 10, f"only {len(acked)} appends were acknowledged in {rounds} runs"
    seen["appends"] = len(acked)
    return seen


def test_sigkill_while_appending_with_a_checkpoint_every_version_keeps_every_acknowledged_row(tmp_path):
    """FLIGHT_CHECKPOINT_EVERY=1: each commit is followed by a checkpoint of the whole file list,
    so the kills land in commits, in checkpoint writes and in between."""
    seen = kill_while_appending(tmp_path, {"FLIGHT_CHECKPOINT_EVERY": "1", "FLIGHT_COMPACT_FILES": "0"}, [f"S{i:03d}" for i in range(20)])
    assert seen["versions"] == seen["appends"]
    assert list((tmp_path / "data" / NAME / "_catalog").glob("c*.json")), "no checkpoint was written"
    print(seen)


def test_sigkill_during_background_compaction_keeps_every_acknowledged_row(tmp_path):
    """FLIGHT_COMPACT_FILES=4: every few appends of 500 rows start a background merge of the
    partition, so the kills land while merges read, encode and commit."""
    seen = kill_while_appending(tmp_path, {"FLIGHT_COMPACT_FILES": "4"}, [f"S{i:03d}" for i in range(500)])
    assert seen["versions"] > seen["appends"], "no background compaction committed"
    print(seen)

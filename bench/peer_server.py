"""The benchmark's peer: a pyarrow (C++) Flight server on the same rows as flightdeck.

Started by the benchmark; prints {"port": N} as its first stdout line.

  --memory FILE        (a) serves an Arrow IPC file's table from memory (read into RAM at start,
                       not memory-mapped, so dropping the page cache does not touch it)
  --parquet-dir DIR    (b) serves the Parquet files under DIR (flightdeck's DATA_DIR/<dataset>/)
                       through pyarrow.dataset with hive partitioning; only `*.parquet` files
                       outside `_`/`.`-prefixed directories (flightdeck keeps its catalog and its
                       IPC tier there). The dataset is discovered again on every GetFlightInfo and
                       DoGet, so nothing of it is cached in this process between requests.
                       Row groups are pruned by the footer statistics of symbol and ts here, not by
                       pyarrow.dataset: it does not prune on a column whose Arrow type is a
                       dictionary (flightdeck's files store symbol as dictionary<utf8>), and would
                       read every row group of a touched partition.
  --put-dir DIR        (c) DoPut PATH ["put", name]: write_dataset into DIR/name (hive
                       date=YYYY-MM-DD, zstd), every file and directory fsynced before the answer;
                       DoPut PATH ["upsert", name]: the same rows replace those with an equal
                       (symbol, ts) key: the touched partitions are read, merged (left anti join on
                       the key, then the new rows) and rewritten (existing_data_behavior
                       delete_matching), fsynced.

Tickets and CMD descriptors are JSON: {"source":"memory"|"parquet","symbols"?,"start"?,"end"?,
"date"?} with start/end integer epoch nanoseconds (start inclusive, end exclusive) or ISO-8601.
Endpoints: memory serves one endpoint (the table is one stream, the reference setup of a pyarrow
Flight server); parquet serves one endpoint per hive partition (date) the query touches, in date
order, as flightdeck splits by partition.

Actions: "parquet_info" {} -> {"files","rows","bytes"}; "drop" {"name"} removes DIR/name from
--put-dir; "health" {} -> {"status":"ok"}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.flight as fl
import pyarrow.parquet as pq

BATCH_ROWS = 65_536
PARTITIONING_SCHEMA = pa.schema([("date", pa.string())])
KEY = ["symbol", "ts"]


def parse_time(v) -> int | None:
    if v is None:
        return None
    if isinstance(v, int):
        return v
    t = dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    delta = t - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def day_of(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=dt.timezone.utc).strftime("%Y-%m-%d")


def fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(dirpath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fd = os.open(root.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PeerServer(fl.FlightServerBase):
    def __init__(self, location: str, memory: str | None, parquet_dir: str | None, put_dir: str | None) -> None:
        super().__init__(location)
        self.table: pa.Table | None = None
        if memory:
            with pa.OSFile(memory) as f:  # read into RAM, not memory-mapped
                self.table = pa.ipc.open_file(f).read_all()
        self.parquet_dir = Path(parquet_dir) if parquet_dir else None
        self.put_dir = Path(put_dir) if put_dir else None

    # --- sources -----------------------------------------------------------------------------
    def _parquet_files(self) -> list[str]:
        if self.parquet_dir is None:
            raise pa.ArrowInvalid("peer started without --parquet-dir")
        files = []
        for p in sorted(self.parquet_dir.rglob("*.parquet")):
            rel = p.relative_to(self.parquet_dir).parts
            if any(part.startswith(("_", ".")) for part in rel[:-1]):
                continue
            files.append(str(p))
        return files

    def _dataset(self) -> ds.Dataset:
        files = self._parquet_files()
        partitioning = ds.partitioning(PARTITIONING_SCHEMA, flavor="hive")
        return ds.dataset(files, format="parquet", partitioning=partitioning, partition_base_dir=str(self.parquet_dir))

    @staticmethod
    def _filter(q: dict, with_date: bool) -> ds.Expression | None:
        expr = None

        def both(e):
            nonlocal expr
            expr = e if expr is None else expr & e

        if q.get("symbols"):
            both(ds.field("symbol").isin(q["symbols"]))
        start, end = parse_time(q.get("start")), parse_time(q.get("end"))
        ts_type = pa.timestamp("ns", tz="UTC")
        if start is not None:
            both(ds.field("ts") >= pa.scalar(start, ts_type))
            if with_date:
                both(ds.field("date") >= day_of(start))
        if end is not None:
            both(ds.field("ts") < pa.scalar(end, ts_type))
            if with_date:
                both(ds.field("date") <= day_of(end - 1))
        if with_date and q.get("date"):
            both(ds.field("date") == q["date"])
        return expr

    @staticmethod
    def _row_group_may_match(rg, names: dict[str, int], symbols: list[str] | None, start: int | None, end: int | None) -> bool:
        def bounds(name: str):
            i = names.get(name)
            st = rg.column(i).statistics if i is not None else None
            return (st.min_raw, st.max_raw) if st is not None and st.has_min_max else None

        if symbols:
            b = bounds("symbol")
            if b is not None:
                lo, hi = (v.decode() if isinstance(v, bytes) else v for v in b)
                if not any(lo <= sym <= hi for sym in symbols):
                    return False
        b = bounds("ts")
        if b is not None:
            if start is not None and b[1] < start:
                return False
            if end is not None and b[0] >= end:
                return False
        return True

    def _pruned(self, dataset: ds.Dataset, q: dict) -> ds.Dataset:
        """The dataset restricted to the partitions and row groups the query can touch."""
        symbols = q.get("symbols")
        start, end = parse_time(q.get("start")), parse_time(q.get("end"))
        fragments = list(dataset.get_fragments(filter=self._filter(q, True)))
        if symbols or start is not None or end is not None:
            kept = []
            for frag in fragments:
                md = frag.metadata
                names = {md.schema.column(i).path: i for i in range(md.num_columns)}
                ids = [i for i in range(md.num_row_groups) if self._row_group_may_match(md.row_group(i), names, symbols, start, end)]
                if ids:
                    kept.append(frag.subset(row_group_ids=ids))
            fragments = kept
        return ds.FileSystemDataset(fragments, schema=dataset.schema, format=dataset.format, filesystem=dataset.filesystem)

    def _columns(self, dataset: ds.Dataset) -> list[str]:
        return [f.name for f in dataset.schema if f.name != "date"]

    # --- Flight calls ------------------------------------------------------------------------
    def get_flight_info(self, context, descriptor):
        if descriptor.descriptor_type != fl.DescriptorType.CMD:
            raise pa.ArrowInvalid("peer descriptors are CMD JSON")
        q = json.loads(descriptor.command)
        source = q.get("source")
        if source == "memory":
            table = self._memory(q)
            endpoint = fl.FlightEndpoint(json.dumps(q).encode(), [])
            return fl.FlightInfo(table.schema, descriptor, [endpoint], table.num_rows, table.nbytes)
        if source == "parquet":
            dataset = self._dataset()
            expr = self._filter(q, True)
            fragments = list(dataset.get_fragments(filter=expr))
            dates = sorted({Path(f.path).parent.name.split("=", 1)[1] for f in fragments})
            endpoints = [fl.FlightEndpoint(json.dumps({**q, "date": d}).encode(), []) for d in dates]
            schema = dataset.schema.remove(dataset.schema.get_field_index("date"))
            return fl.FlightInfo(schema, descriptor, endpoints, -1, -1)
        raise pa.ArrowInvalid(f"unknown source {source!r}")

    def _memory(self, q: dict) -> pa.Table:
        if self.table is None:
            raise pa.ArrowInvalid("peer started without --memory")
        expr = self._filter(q, False)
        return self.table if expr is None else ds.dataset(self.table).to_table(filter=expr)

    def do_get(self, context, ticket):
        q = json.loads(ticket.ticket)
        if q.get("source") == "memory":
            return fl.RecordBatchStream(self._memory(q))
        if q.get("source") == "parquet":
            dataset = self._pruned(self._dataset(), q)
            columns = self._columns(dataset)
            scanner = dataset.scanner(columns=columns, filter=self._filter(q, True), batch_size=BATCH_ROWS)
            # RecordBatchStream over a reader, not GeneratorStream: the latter loses dictionary
            # batches (apache/arrow#38480), and this keeps the whole stream in C++.
            return fl.RecordBatchStream(scanner.to_reader())
        raise pa.ArrowInvalid(f"unknown source {q.get('source')!r}")

    def do_put(self, context, descriptor, reader, writer):
        path = [p.decode() for p in descriptor.path]
        if len(path) != 2 or path[0] not in ("put", "upsert") or self.put_dir is None:
            raise pa.ArrowInvalid('DoPut PATH ["put"|"upsert", name] needs --put-dir')
        base = self.put_dir / path[1]
        if path[0] == "put":
            rows = self._write(base, self._with_date(reader), "overwrite_or_ignore")
        else:
            rows = self._upsert(base, reader)
        fsync_tree(base)
        writer.write(pa.py_buffer(json.dumps({"rows": rows}).encode()))

    @staticmethod
    def _add_date(batch: pa.RecordBatch) -> pa.RecordBatch:
        date = pc.strftime(batch.column("ts"), format="%Y-%m-%d")
        return batch.append_column("date", date)

    def _with_date(self, reader) -> pa.RecordBatchReader:
        schema = reader.schema.append(pa.field("date", pa.string()))

        def batches():
            while True:
                try:
                    chunk = reader.read_chunk()
                except StopIteration:
                    return
                if chunk.data is not None:
                    yield self._add_date(chunk.data)

        return pa.RecordBatchReader.from_batches(schema, batches())

    def _write(self, base: Path, data, behavior: str) -> int:
        written = []
        ds.write_dataset(
            data,
            base,
            format="parquet",
            partitioning=ds.partitioning(PARTITIONING_SCHEMA, flavor="hive"),
            file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
            existing_data_behavior=behavior,
            basename_template="part-{i}.parquet",
            file_visitor=lambda f: written.append(f.metadata.num_rows if f.metadata else 0),
        )
        return sum(written)

    def _upsert(self, base: Path, reader) -> int:
        new = self._with_date(reader).read_all()
        dates = pc.unique(new.column("date")).to_pylist()
        old_parts = [base / f"date={d}" for d in dates if (base / f"date={d}").is_dir()]
        if old_parts:
            files = [str(p) for d in old_parts for p in sorted(d.glob("*.parquet"))]
            old = ds.dataset(
                files, format="parquet", partitioning=ds.partitioning(PARTITIONING_SCHEMA, flavor="hive"),
                partition_base_dir=str(base),
            ).to_table()
            old = old.cast(new.schema) if old.schema != new.schema else old
            keys = new.select(KEY).unify_dictionaries()
            kept = old.join(keys, keys=KEY, join_type="left anti")
            merged = pa.concat_tables([kept.select(new.column_names), new], promote_options="permissive")
        else:
            merged = new
        self._write(base, merged, "delete_matching")
        return new.num_rows

    def do_action(self, context, action):
        body = json.loads(action.body.to_pybytes() or b"{}")
        if action.type == "health":
            return [json.dumps({"status": "ok"}).encode()]
        if action.type == "parquet_info":
            files = self._parquet_files()
            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
            size = sum(os.path.getsize(f) for f in files)
            return [json.dumps({"files": len(files), "rows": rows, "bytes": size}).encode()]
        if action.type == "drop":
            if self.put_dir is None:
                raise pa.ArrowInvalid("peer started without --put-dir")
            target = self.put_dir / body["name"]
            shutil.rmtree(target, ignore_errors=True)
            return [json.dumps({"dropped": True}).encode()]
        raise NotImplementedError(f"unknown action {action.type!r}")

    def list_actions(self, context):
        return [("health", "liveness"), ("parquet_info", "files under --parquet-dir"), ("drop", "remove a put dataset")]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--memory")
    parser.add_argument("--parquet-dir")
    parser.add_argument("--put-dir")
    args = parser.parse_args()
    server = PeerServer(f"grpc://{args.host}:0", args.memory, args.parquet_dir, args.put_dir)
    print(json.dumps({"port": server.port}), flush=True)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())

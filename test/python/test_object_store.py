"""Shared storage: the flight server with DATA_URL on an S3-compatible object store (s3rver, started
here on loopback) and CATALOG_URL on PostgreSQL (a database of its own). pyarrow's S3FileSystem reads
the `s3://` URLs `list_files` gives and gets exactly that version's rows."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as fl
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from conftest import REPO_ROOT, start_server
from flight_helpers import BAR_FIELDS, action, assert_same_rows, bars, cmd, concat, create, describe, minutes, put, read_flight, read_path

S3RVER_BIN = REPO_ROOT / "node_modules" / "s3rver" / "bin" / "s3rver.js"
BUCKET = "flightdeck"
PG_ADMIN = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER", "AWS_REGION": "us-east-1"}


def psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory):
    """s3rver in a child process on 127.0.0.1 and a free port, over a temporary directory; killed by pid."""
    node = shutil.which("node")
    if node is None or not S3RVER_BIN.exists():
        pytest.fail("node or node_modules/s3rver is missing: run `npm ci` first", pytrace=False)
    directory = tmp_path_factory.mktemp("s3rver")
    proc = subprocess.Popen(
        [node, str(S3RVER_BIN), "--directory", str(directory), "--address", "127.0.0.1", "--port", "0", "--silent", "--no-vhost-buckets", "--configure-bucket", BUCKET],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    port: list[int] = []
    ready = threading.Event()

    def watch() -> None:
        for line in proc.stdout:
            m = re.search(r"listening on [^:\s]+:(\d+)", line)
            if m and not port:
                port.append(int(m.group(1)))
                ready.set()

    threading.Thread(target=watch, daemon=True).start()
    if not ready.wait(20):
        proc.kill()
        pytest.fail(f"s3rver did not start: {proc.stderr.read() if proc.poll() is not None else 'no listening line in 20 s'}", pytrace=False)
    yield {"endpoint": f"127.0.0.1:{port[0]}", "pid": proc.pid}
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


@pytest.fixture(scope="module")
def catalog_url():
    name = f"fd_pytest_{uuid.uuid4().hex[:12]}"
    try:
        psql(f"CREATE DATABASE {name}")
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        pytest.fail(f"PostgreSQL at {PG_ADMIN} is needed for the shared-storage tests: {e}", pytrace=False)
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory, s3rver, catalog_url):
    data_dir = tmp_path_factory.mktemp("shared-data")
    env = {
        "DATA_URL": f"s3://{BUCKET}/py",
        "S3_ENDPOINT": f"http://{s3rver['endpoint']}",
        "CATALOG_URL": catalog_url,
        "CACHE_DIR": str(tmp_path_factory.mktemp("shared-cache")),
        "CACHE_DISK_MB": "64",
        "FLIGHT_COMPACT_FILES": "0",
        **CREDENTIALS,
    }
    srv = start_server(data_dir, env)
    yield {"location": srv.location, "handle": srv}
    crash = srv.crashed()
    srv.stop()
    if crash:
        pytest.fail(crash, pytrace=False)


def test_pyarrow_s3filesystem_reads_exactly_a_versions_rows_from_list_files(shared_server, s3rver):
    client = fl.connect(shared_server["location"])
    try:
        name = f"s3files_{uuid.uuid4().hex[:8]}"
        create(client, name, fields=BAR_FIELDS)
        put(client, name, bars(["AAPL", "MSFT"], minutes("2024-01-02T14:30:00Z", 30)))
        # Upserts rewrite the files they touch; the replaced files stay in the bucket for as_of.
        put(client, name, bars(["AAPL"], minutes("2024-01-02T14:40:00Z", 5), seed=9))
        put(client, name, bars(["MSFT", "NVDA"], minutes("2024-01-02T14:55:00Z", 10), seed=4))
        put(client, name, bars(["NVDA"], minutes("2024-01-03T14:30:00Z", 10)))

        listed = action(client, "list_files", {"dataset": name})
        assert listed["version"] == 4
        urls = [f["url"] for f in listed["files"]]
        assert all(u.startswith(f"s3://{BUCKET}/py/{name}/") and u.endswith(".parquet") for u in urls)
        d = describe(client, name)
        assert sum(f["rows"] for f in listed["files"]) == d["rows"]

        s3 = pafs.S3FileSystem(
            endpoint_override=s3rver["endpoint"],
            scheme="http",
            access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region=CREDENTIALS["AWS_REGION"],
        )
        paths = [u[len("s3://"):] for u in urls]
        from_s3 = pa.concat_tables(pq.read_table(p, filesystem=s3) for p in paths)
        flight = read_path(client, name)
        assert from_s3.num_rows == flight.num_rows == d["rows"]
        assert_same_rows(from_s3, flight)

        # The bucket holds more Parquet files than the version names (replaced ones await vacuum).
        in_bucket = [i.path for i in s3.get_file_info(pafs.FileSelector(f"{BUCKET}/py/{name}", recursive=True)) if i.path.endswith(".parquet")]
        assert len(in_bucket) > len(paths)

        old = action(client, "list_files", {"dataset": name, "as_of": 1})
        assert old["version"] == 1
        old_rows = pa.concat_tables(pq.read_table(f["url"][len("s3://"):], filesystem=s3) for f in old["files"])
        _, tables = read_flight(client, cmd({"dataset": name, "as_of": 1}))
        assert_same_rows(old_rows, concat(tables))
        assert old_rows.num_rows == 60
    finally:
        client.close()

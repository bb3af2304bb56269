"""Replicas clients can find: three flight servers on one PostgreSQL catalog (a database of its own)
and one DATA_DIR, each on its own free port with FLIGHT_ADVERTISE_URL naming it. pyarrow reads
each endpoint of a FlightInfo through each of its locations and gets the same rows."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid

import pyarrow.flight as fl
import pytest

from conftest import start_server
from flight_helpers import BAR_FIELDS, assert_same_rows, bars, concat, create, minutes, put, read_path

PG_ADMIN = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")


def psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, capture_output=True, timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def catalog_url():
    name = f"fd_pytest_{uuid.uuid4().hex[:12]}"
    try:
        psql(f"CREATE DATABASE {name}")
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        pytest.fail(f"PostgreSQL at {PG_ADMIN} is needed for the replica tests: {e}", pytrace=False)
    yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, catalog_url):
    data_dir = tmp_path_factory.mktemp("replica-data")
    servers = []
    try:
        for _ in range(3):
            port = free_port()
            env = {
                "CATALOG_URL": catalog_url,
                "FLIGHT_PORT": str(port),
                "FLIGHT_ADVERTISE_URL": f"grpc://127.0.0.1:{port}",
                "FLIGHT_COMPACT_FILES": "0",
                "FLIGHT_ENDPOINT_ROWS": "1",
            }
            servers.append(start_server(data_dir, env))
        yield servers
    finally:
        crashes = [c for c in (s.crashed() for s in servers) if c]
        for s in servers:
            s.stop()
        if crashes:
            pytest.fail(crashes[0], pytrace=False)


def test_pyarrow_reads_every_endpoint_through_every_location(replicas):
    urls = sorted(s.location for s in replicas)
    clients = {s.location: fl.connect(s.location) for s in replicas}
    try:
        first = clients[replicas[0].location]
        name = f"replicas_{uuid.uuid4().hex[:8]}"
        create(first, name, fields=BAR_FIELDS)
        for day in range(4):
            put(first, name, bars(["AAPL", "MSFT", "NVDA"], minutes(f"2024-01-0{day + 2}T14:30:00Z", 15)))
        expected = read_path(first, name)
        assert expected.num_rows == 4 * 3 * 15

        # Once each replica has read the others' heartbeats (one beat: 2 s), every endpoint lists all three.
        deadline = time.monotonic() + 10
        while True:
            infos = []
            for url in urls:
                try:
                    infos.append(clients[url].get_flight_info(fl.FlightDescriptor.for_path(name)))
                except fl.FlightError:
                    infos.append(None)  # the dataset not yet known there
            if all(i is not None and all(len(e.locations) == 3 for e in i.endpoints) for i in infos):
                break
            assert time.monotonic() < deadline, "not every replica lists all three within 10 s"
            time.sleep(0.2)

        for info in infos:
            assert len(info.endpoints) == 4
            starts = []
            for endpoint in info.endpoints:
                locs = [loc.uri.decode() if isinstance(loc.uri, bytes) else loc.uri for loc in endpoint.locations]
                assert sorted(locs) == urls
                starts.append(locs[0])
                # The same endpoint read through each of its locations: the same rows.
                tables = [fl.connect(loc).do_get(endpoint.ticket).read_all() for loc in locs]
                for t in tables[1:]:
                    assert_same_rows(t, tables[0])
                assert tables[0].num_rows == 3 * 15
            # Consecutive endpoints start at different replicas.
            assert all(a != b for a, b in zip(starts, starts[1:]))
            every = concat(fl.connect(e.locations[0]).do_get(e.ticket).read_all() for e in info.endpoints)
            assert_same_rows(every, expected)
    finally:
        for c in clients.values():
            c.close()

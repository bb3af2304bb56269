"""TLS with pyarrow: a CA and certificates made with openssl; grpc+tls round trip, and client
certificates required (FLIGHT_TLS_CLIENT_CA) or not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow.flight as fl
import pytest

from conftest import start_server
from flight_helpers import BAR_FIELDS, bars, minutes, assert_same_rows


def openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d: Path, name: str) -> None:
    openssl(d, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN=flightdeck test {name}")


def make_leaf(d: Path, name: str, ca: str, ext: str) -> None:
    (d / f"{name}.ext").write_text(ext)
    openssl(d, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
    openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_leaf(d, "server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    make_leaf(d, "client", "ca", "extendedKeyUsage=clientAuth\n")
    make_leaf(d, "stranger", "other-ca", "extendedKeyUsage=clientAuth\n")
    return d


def tls_env(certs: Path, client_ca: bool) -> dict[str, str]:
    env = {"FLIGHT_TLS_CERT": str(certs / "server.pem"), "FLIGHT_TLS_KEY": str(certs / "server.key")}
    if client_ca:
        env["FLIGHT_TLS_CLIENT_CA"] = str(certs / "ca.pem")
    return env


def round_trip(client: fl.FlightClient) -> None:
    body = {"name": "bars", "time_column": "ts", "key_columns": ["symbol"], "fields": BAR_FIELDS}
    list(client.do_action(fl.Action("create_dataset", json.dumps(body).encode())))
    table = bars(["AAPL", "MSFT"], minutes("2024-01-02T09:30:00Z", 120))
    writer, reader = client.do_put(fl.FlightDescriptor.for_path("bars"), table.schema)
    writer.write_table(table)
    writer.done_writing()
    reader.read()
    writer.close()
    info = client.get_flight_info(fl.FlightDescriptor.for_path("bars"))
    got = [client.do_get(ep.ticket).read_all() for ep in info.endpoints]
    import pyarrow as pa
    assert_same_rows(pa.concat_tables([t.cast(got[0].schema) for t in got]), table)


def test_grpc_tls_round_trip_with_pyarrow(tmp_path, certs):
    srv = start_server(tmp_path, tls_env(certs, client_ca=False))
    try:
        assert any('"url":"grpc+tls://' in line for line in srv.stdout_lines)
        ca = (certs / "ca.pem").read_bytes()
        client = fl.connect(f"grpc+tls://localhost:{srv.port}", tls_root_certs=ca)
        round_trip(client)
        client.close()
        # A client that does not trust the CA, and a plaintext client, get nowhere.
        untrusting = fl.connect(f"grpc+tls://localhost:{srv.port}", tls_root_certs=(certs / "other-ca.pem").read_bytes())
        with pytest.raises(fl.FlightUnavailableError):
            list(untrusting.list_actions())
        untrusting.close()
        plain = fl.connect(f"grpc://127.0.0.1:{srv.port}")
        with pytest.raises((fl.FlightUnavailableError, fl.FlightInternalError)):
            list(plain.list_actions())
        plain.close()
        assert srv.crashed() is None
    finally:
        srv.stop()


def test_client_certificates_required(tmp_path, certs):
    srv = start_server(tmp_path, tls_env(certs, client_ca=True))
    try:
        ca = (certs / "ca.pem").read_bytes()
        url = f"grpc+tls://localhost:{srv.port}"
        client = fl.connect(url, tls_root_certs=ca, cert_chain=(certs / "client.pem").read_bytes(),
                            private_key=(certs / "client.key").read_bytes())
        round_trip(client)
        client.close()
        for kwargs in [{}, {"cert_chain": (certs / "stranger.pem").read_bytes(), "private_key": (certs / "stranger.key").read_bytes()}]:
            refused = fl.connect(url, tls_root_certs=ca, **kwargs)
            with pytest.raises(fl.FlightUnavailableError):
                list(refused.list_actions())
            refused.close()
        assert srv.crashed() is None
    finally:
        srv.stop()


def test_tls_with_auth(tmp_path, certs):
    env = tls_env(certs, client_ca=False)
    env["FLIGHT_USERS"] = "root:pw:admin"
    srv = start_server(tmp_path, env)
    try:
        client = fl.connect(f"grpc+tls://localhost:{srv.port}", tls_root_certs=(certs / "ca.pem").read_bytes())
        opts = fl.FlightCallOptions(headers=[client.authenticate_basic_token("root", "pw")])
        assert [a.type for a in client.list_actions(options=opts)]
        client.close()
        assert not any("without TLS" in line for line in srv.stdout_lines)
    finally:
        srv.stop()

"""Flight auth with pyarrow: authenticate_basic_token, each role against each call and action,
expired, forged and malformed credentials, users file with scrypt hashes made by the CLI script."""

from __future__ import annotations

import base64
import json
import subprocess
import time

import pyarrow as pa
import pyarrow.flight as fl
import pytest

from conftest import REPO_ROOT, start_server
from flight_helpers import BAR_FIELDS, STATUS, bars, minutes

USERS = "reader:r-pw:read,writer:w-pw:write,root:a-pw:admin"
PASSWORDS = {"read": ("reader", "r-pw"), "write": ("writer", "w-pw"), "admin": ("root", "a-pw")}


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("auth-data"), {"FLIGHT_USERS": USERS})
    root = fl.connect(srv.location)
    opts = fl.FlightCallOptions(headers=[root.authenticate_basic_token("root", "a-pw")])
    body = {"name": "bars", "time_column": "ts", "key_columns": ["symbol"], "partition": "day", "fields": BAR_FIELDS}
    list(root.do_action(fl.Action("create_dataset", json.dumps(body).encode()), options=opts))
    table = bars(["AAPL", "MSFT"], minutes("2024-01-02T09:30:00Z", 30))
    writer, reader = root.do_put(fl.FlightDescriptor.for_path("bars"), table.schema, options=opts)
    writer.write_table(table)
    writer.done_writing()
    reader.read()
    writer.close()
    root.close()
    yield srv
    crash = srv.crashed()
    srv.stop()
    assert crash is None, crash


def connect(srv, role: str | None):
    client = fl.connect(srv.location)
    if role is None:
        return client, fl.FlightCallOptions()
    user, pw = PASSWORDS[role]
    return client, fl.FlightCallOptions(headers=[client.authenticate_basic_token(user, pw)])


def act(kind: str, body: dict):
    def run(c, o):
        return list(c.do_action(fl.Action(kind, json.dumps(body).encode()), options=o))

    return run


def do_put(c, o, name="nope"):
    table = bars(["ZZZ"], minutes("2024-03-01T00:00:00Z", 3))
    writer, reader = c.do_put(fl.FlightDescriptor.for_path(name), table.schema, options=o)
    try:
        writer.write_table(table)
        writer.done_writing()
        reader.read()
    finally:
        writer.close()


# call -> (least role, how to make the call). Writes target a missing dataset or fail, so data never changes.
CALLS = {
    "ListFlights": ("read", lambda c, o: list(c.list_flights(options=o))),
    "GetFlightInfo": ("read", lambda c, o: c.get_flight_info(fl.FlightDescriptor.for_path("bars"), options=o)),
    "GetSchema": ("read", lambda c, o: c.get_schema(fl.FlightDescriptor.for_path("bars"), options=o)),
    "DoGet": ("read", lambda c, o: c.do_get(fl.Ticket(b'{"dataset":"bars","limit":3}'), options=o).read_all()),
    "ListActions": ("read", lambda c, o: list(c.list_actions(options=o))),
    "DoPut": ("write", do_put),
    "describe_dataset": ("read", act("describe_dataset", {"name": "bars"})),
    "health": ("read", act("health", {})),
    "create_dataset": ("write", act("create_dataset", {"name": "bars", "time_column": "ts"})),
    "evolve_schema": ("write", act("evolve_schema", {"dataset": "nope", "add": [{"name": "x", "type": "int64", "nullable": True}]})),
    "delete_range": ("write", act("delete_range", {"dataset": "nope"})),
    "compact": ("write", act("compact", {"dataset": "nope"})),
    "drop_dataset": ("admin", act("drop_dataset", {"name": "nope"})),
    "vacuum": ("admin", act("vacuum", {"dataset": "nope", "retain_versions": 1})),
    "list_files": ("read", act("list_files", {"dataset": "nope"})),
    "list_keys": ("read", act("list_keys", {"dataset": "nope"})),
    "set_retention": ("admin", act("set_retention", {"dataset": "nope", "retention": "400d"})),
}
RANK = {"read": 0, "write": 1, "admin": 2}


@pytest.mark.parametrize("role", [None, "read", "write", "admin"])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_role_against_call(auth_server, role, call):
    needed, run = CALLS[call]
    client, opts = connect(auth_server, role)
    try:
        # pyarrow raises FlightUnauthenticatedError / FlightUnauthorizedError, except get_schema,
        # which raises a plain OSError: the status phrase in the text is what identifies it.
        if role is None:
            with pytest.raises((pa.ArrowException, OSError)) as info:
                run(client, opts)
            assert STATUS["UNAUTHENTICATED"][1] in str(info.value), str(info.value)
        elif RANK[role] >= RANK[needed]:
            try:
                run(client, opts)
            except (pa.ArrowException, OSError) as e:
                text = str(e)
                assert STATUS["UNAUTHENTICATED"][1] not in text and STATUS["PERMISSION_DENIED"][1] not in text, text
                # NOT_FOUND / ALREADY_EXISTS: past the auth check
        else:
            with pytest.raises((pa.ArrowException, OSError)) as info:
                run(client, opts)
            text = str(info.value)
            assert STATUS["PERMISSION_DENIED"][1] in text
            assert call in text and f"role {role}" in text and f"needs {needed}" in text, text
    finally:
        client.close()


def test_wrong_password_and_unknown_user(auth_server):
    client = fl.connect(auth_server.location)
    for user, pw in [("reader", "nope"), ("mallory", "r-pw"), ("reader", ""), ("", "r-pw")]:
        with pytest.raises(fl.FlightUnauthenticatedError):
            client.authenticate_basic_token(user, pw)
    client.close()


def test_forged_and_malformed_bearer_tokens(auth_server):
    client = fl.connect(auth_server.location)
    key, value = client.authenticate_basic_token("reader", "r-pw")
    token = value.decode()[len("Bearer "):]
    prefix, payload, mac = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    escalated = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "root"}).encode()).decode().rstrip("=")
    for bad in [
        f"Bearer {prefix}.{escalated}.{mac}",
        f"Bearer {prefix}.{payload}.{mac[:-2]}AA",
        f"Bearer {prefix}.{payload}",
        "Bearer " + "A" * 43,
        "Bearer",
        token,
        "Basic " + base64.b64encode(b"root:a-pw").decode(),
    ]:
        o = fl.FlightCallOptions(headers=[(b"authorization", bad.encode())])
        with pytest.raises(fl.FlightUnauthenticatedError):
            list(client.list_flights(options=o))
    ok = fl.FlightCallOptions(headers=[(key, value)])
    assert len(list(client.list_flights(options=ok))) == 1
    client.close()


def test_tokens_expire(tmp_path):
    srv = start_server(tmp_path, {"FLIGHT_USERS": USERS, "FLIGHT_TOKEN_TTL": "1"})
    try:
        client = fl.connect(srv.location)
        opts = fl.FlightCallOptions(headers=[client.authenticate_basic_token("reader", "r-pw")])
        list(client.list_actions(options=opts))
        time.sleep(1.3)
        with pytest.raises(fl.FlightUnauthenticatedError, match="expired"):
            list(client.list_actions(options=opts))
        fresh = fl.FlightCallOptions(headers=[client.authenticate_basic_token("reader", "r-pw")])
        list(client.list_actions(options=fresh))
        client.close()
    finally:
        srv.stop()


def test_tokens_and_passwords_are_never_logged(auth_server):
    client = fl.connect(auth_server.location)
    _, value = client.authenticate_basic_token("writer", "w-pw")
    list(client.list_flights(options=fl.FlightCallOptions(headers=[(b"authorization", value)])))
    client.close()
    logs = "".join(auth_server.stdout_lines + auth_server.stderr_lines)
    token = value.decode()[len("Bearer "):]
    for secret in ["r-pw", "w-pw", "a-pw", token, token.split(".")[2]]:
        assert secret not in logs
    assert '"user":"writer"' in logs


def test_users_file_with_hashes_from_the_cli(tmp_path):
    hashed = subprocess.run(
        ["node", "client/bin/flightdeck.mjs", "hash-password"],
        cwd=REPO_ROOT, input="s3cret: with colon\n", capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    assert hashed.startswith("scrypt$N=32768,r=8,p=1$")
    users = tmp_path / "users"
    users.write_text(f"# crawlers\nbot:{hashed}:write\n")
    data = tmp_path / "data"
    data.mkdir()
    srv = start_server(data, {"FLIGHT_USERS_FILE": str(users)})
    try:
        client = fl.connect(srv.location)
        with pytest.raises(fl.FlightUnauthenticatedError):
            client.authenticate_basic_token("bot", "s3cret")
        opts = fl.FlightCallOptions(headers=[client.authenticate_basic_token("bot", "s3cret: with colon")])
        body = {"name": "ds", "time_column": "ts", "key_columns": ["symbol"], "fields": BAR_FIELDS}
        assert json.loads(list(client.do_action(fl.Action("create_dataset", json.dumps(body).encode()), options=opts))[0].body.to_pybytes())["version"] == 0
        with pytest.raises(fl.FlightUnauthorizedError, match="drop_dataset"):
            list(client.do_action(fl.Action("drop_dataset", b'{"name":"ds"}'), options=opts))
        client.close()
    finally:
        srv.stop()


def test_open_server_warns_and_ignores_tokens(server):
    client = fl.connect(server["location"])
    header = client.authenticate_basic_token("anyone", "anything")
    assert header[1].startswith(b"Bearer ")
    list(client.list_actions())
    client.close()
    logs = "".join(server["handle"].stdout_lines)
    assert "authentication is off" in logs

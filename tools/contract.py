"""The API contract, checked against a live server: `make contract`.

Starts `diemtua serve` on PostgreSQL with the demo commune (`diemtua demo`), signs in as its
site administrator and runs schemathesis (pinned in pyproject.toml's dev extras) over every
operation of the served OpenAPI description (`/v1/swagger.json`), with a fixed seed and a
bounded number of examples per operation. It fails on any 5xx answer and on any answer that
does not match the schema the description gives for its status (server/api/v1/openapi.py).

Random ids reach nothing, so each path parameter is given the demo's own value as its
`x-example` (the demo project, its form, a submission, a child …): the examples phase then
walks real resources. DELETE operations get no examples, so they cannot remove the resources
the other operations walk.

    .venv/bin/python tools/contract.py                    # about 3 minutes on 2 cores
    .venv/bin/python tools/contract.py --max-examples 3   # a quicker look
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.config import normalise_database_url  # noqa: E402
from server.db import Database  # noqa: E402
from server.models import Child, Submission  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/diemtua_contract"
ADMIN_EMAIL = "hop.dong@example.org"
ADMIN_PASSWORD = "Kiểm tra hợp đồng API 2026"  # noqa: S105 (a throwaway database)
SEED = 20261205
# The checks on answers: no 5xx, only the statuses and media types the description lists, and
# bodies as its schemas say. Not the negative-data checks: Central's bodies ignore unknown keys
# (`fromApi`), so a "wrong" body answered 200 is the protocol, not a bug.
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _on_server(url: str, *statements: str) -> None:
    base, _, name = normalise_database_url(url).rpartition("/")
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for statement in statements:
            connection.execute(text(statement.format(name=name)))
    admin.dispose()


@contextmanager
def _scratch_database(url: str) -> Iterator[None]:
    """The database, created empty for the run and dropped after it."""
    drop = 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    _on_server(url, drop, 'CREATE DATABASE "{name}"')
    try:
        yield
    finally:
        _on_server(url, drop)


def _diemtua(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "server", *args], env=env, input=stdin, text=True, check=True,
        stdout=subprocess.DEVNULL, cwd=ROOT)


@contextmanager
def _serving(env: dict[str, str], port: int) -> Iterator[str]:
    """`diemtua serve` on the port until the block ends; its log goes to a file."""
    log = Path(env["DIEMTUA_DATA_DIR"]) / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "server", "serve", "--port", str(port), "--workers", "2"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2):  # noqa: S310
                    break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit(f"the server stopped:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=60)
        print(f"contract: the server answered {_statuses(log.read_text())}")
        if args_keep_log := os.environ.get("DIEMTUA_CONTRACT_LOG"):
            Path(args_keep_log).write_text(log.read_text())


_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) ')


def _statuses(log: str) -> str:
    """How many answers of each status the access log holds: what the run reached."""
    counts = Counter(found["status"] for found in _ACCESS.finditer(log))
    return ", ".join(f"{status}: {count}" for status, count in sorted(counts.items()))


def _call(base: str, method: str, path: str, body: Any = None,
          token: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return json.load(answer)


def _demo_values(database_url: str, base: str, token: str) -> dict[str, Any]:
    """A real value for each path parameter's name, read from the demo commune."""
    project = _call(base, "GET", "/v1/projects", token=token)[0]["id"]
    here = f"/v1/projects/{project}"
    form = _call(base, "GET", f"{here}/forms/household_screening", token=token)
    phones = _call(base, "GET", f"{here}/app-users", token=token)
    reports = _call(base, "GET", f"{here}/registry/reports", token=token)
    admin = _call(base, "GET", "/v1/users/current", token=token)["id"]
    database = Database(normalise_database_url(database_url))
    with database.unit_of_work() as db:
        instance = db.scalar(select(Submission.instance_id).order_by(Submission.id).limit(1))
        child = db.scalar(select(Child.id).where(Child.merged_into.is_(None))
                          .order_by(Child.id).limit(1))
    database.dispose()
    return {"project_id": project, "xml_form_id": form["xmlFormId"],
            "actor_id": phones[0]["id"], "user_id": admin, "role_id": "app-user",
            "instance_id": instance, "child_id": child, "uuid": child,
            "version": form["version"] or "___", "table": "Submissions", "code": "HCDB-A",
            "field": "full_name", "record_id": 1, "candidate_id": 1, "flag_id": 1,
            "edge_id": 1, "report": reports[0]["name"] if reports else "children",
            "dataset": "children", "attachment": "villages.csv"}


def _example(path: str, name: str, values: dict[str, Any]) -> Any:
    """The demo's value for a path parameter; `actor_id` and `name` mean different things
    under different paths."""
    if name == "actor_id" and path.startswith("/users"):
        return values["user_id"]
    if name == "name":
        for part, key in (("/reports/", "report"), ("/datasets/", "dataset"),
                          ("/attachments/", "attachment")):
            if part in path:
                return values[key]
    return values.get(name)


def with_examples(spec: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The description with the demo's values as path parameters' `x-example`, on every
    operation but DELETE."""
    for path, item in spec["paths"].items():
        shared = item.pop("parameters", [])
        for method, op in item.items():
            own = {p["name"] for p in op.get("parameters", [])}
            params = [dict(p) for p in shared if p["name"] not in own]
            for param in params:
                example = _example(path, param["name"], values)
                if method != "delete" and param["in"] == "path" and example is not None:
                    param["x-example"] = example
            op["parameters"] = params + op.get("parameters", [])
    return spec


def run(args: argparse.Namespace) -> int:
    with (_scratch_database(args.database_url),
          tempfile.TemporaryDirectory(prefix="diemtua-contract-") as folder):
        env = {**os.environ, "DIEMTUA_DATABASE_URL": args.database_url,
               "DIEMTUA_DATA_DIR": folder, "DIEMTUA_SECRET_KEY": "contract",
               "DIEMTUA_SYNC_IN_SERVER": "false"}
        env.pop("DIEMTUA_REDIS_URL", None)
        _diemtua(env, "db", "upgrade")
        _diemtua(env, "demo", "--households", str(args.households), "--seed", "5",
                 "--admin-email", ADMIN_EMAIL, "--admin-password-stdin",
                 stdin=ADMIN_PASSWORD + "\n")
        with _serving(env, _free_port()) as base:
            token = _call(base, "POST", "/v1/sessions",
                          {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})["token"]
            spec = _call(base, "GET", "/v1/swagger.json")
            described = Path(folder) / "swagger.json"
            described.write_text(json.dumps(with_examples(
                spec, _demo_values(args.database_url, base, token))))
            # One worker: with two threads, hypothesis (CPython 3.11) failed to read its own
            # lambdas in the coverage phase ("AST constructor recursion depth mismatch").
            command = [
                str(Path(sys.executable).parent / "schemathesis"), "run", str(described),
                "--url", f"{base}/v1", "--header", f"Authorization: Bearer {token}",
                "--checks", CHECKS, "--seed", str(args.seed),
                "--max-examples", str(args.max_examples), "--workers", "1",
                "--phases", args.phases, "--no-shrink", "--request-timeout", "60",
                "--suppress-health-check", "all", "--output-truncate", "true",
                "--report", "junit", "--report-dir", str(args.report_dir),
                *args.extra]
            started = time.perf_counter()
            # In the temporary folder: schemathesis keeps its example database in the cwd.
            status = subprocess.run(command, cwd=folder, check=False).returncode  # noqa: S603
            print(f"contract: schemathesis exited {status} after "
                  f"{time.perf_counter() - started:.0f} s")
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=PG_URL,
                        help="a PostgreSQL database to drop and create (default: %(default)s)")
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--households", type=int, default=12)
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--report-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "diemtua-contract-report")
    parser.add_argument("extra", nargs="*", help="more schemathesis options, after --")
    raise SystemExit(run(parser.parse_args()))


if __name__ == "__main__":
    main()

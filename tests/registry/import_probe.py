"""One registry import in a fresh process, reporting how far it raised the process's memory.

``python -m tests.registry.import_probe cli|api FILE PROJECT_ID [BEARER_TOKEN]`` runs a small
dry-run import first (so every module, the database connection and the matching model are
loaded), resets the kernel's peak-RSS mark (``/proc/self/clear_refs``), imports FILE the way an
officer would — ``diemtua registry import`` or ``POST …/registry/imports`` through the app — and
prints JSON: the growth of the peak over the resident size before the import, in MB, and what
the officer was told. Settings come from the environment, as for the server.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from server.app import create_app
from server.cli import main as cli_main
from server.config import load_settings
from server.services import Services

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/self/status")


def _by_cli(path: Path, project_id: int, dry_run: bool) -> dict[str, Any]:
    args = ["registry", "import", str(path), "--project", str(project_id)]
    result = CliRunner().invoke(cli_main, [*args, "--dry-run"] if dry_run else args)
    return {"exit": result.exit_code, "output": result.output}


def _by_api(token: str) -> Any:
    app = create_app({"services": Services.from_settings(load_settings())})
    client = app.test_client()

    def run(path: Path, project_id: int, dry_run: bool) -> dict[str, Any]:
        with path.open("rb") as body:
            response = client.post(
                f"/v1/projects/{project_id}/registry/imports"
                + ("?dryRun=true" if dry_run else ""),
                input_stream=body, content_length=path.stat().st_size,
                content_type=XLSX if path.suffix == ".xlsx" else CSV,
                headers={"Authorization": f"Bearer {token}"})
        return {"status": response.status_code, "body": response.get_json()}

    return run


def main(argv: list[str]) -> None:
    kind, file, project = argv[:3]
    run = _by_cli if kind == "cli" else _by_api(argv[3])
    with tempfile.TemporaryDirectory() as folder:
        warm_up = Path(folder) / "warm-up.csv"
        warm_up.write_text("record_id,full_name,village\n1,Lò Văn Nam,T01\n", encoding="utf-8")
        run(warm_up, int(project), True)
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
    before = _status_kb("VmRSS")
    outcome = run(Path(file), int(project), False)
    outcome["growth_mb"] = (_status_kb("VmHWM") - before) / 1024
    print(json.dumps(outcome, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Shared helpers for the form tests: the committed workbooks read as rows, their XForms
(compiled once per run, without ODK Validate), and a runner that fills a form in JavaRosa
— the engine inside ODK Collect — through `javarosa/FillForm.java`."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from defusedxml import ElementTree as SafeET
from pyxform.validators.odk_validate import ODK_VALIDATE_PATH
from pyxform.xls2xform import convert

from xlsforms import FORM_IDS, form_path
from xlsforms.build import read_cells

HARNESS = Path(__file__).parent / "javarosa" / "FillForm.java"
NS = {
    "h": "http://www.w3.org/1999/xhtml",
    "x": "http://www.w3.org/2002/xforms",
    "jr": "http://openrosa.org/javarosa",
    "entities": "http://www.opendatakit.org/xforms/entities",
}
# The day the scenarios are dated (UTC). JavaRosa reads its own clock, so a run that
# crosses midnight would see the next day: `_zone_still_on_scenario_day` keeps the JVM on
# this day.
SCENARIO_DAY = dt.datetime.now(dt.UTC).date()
# A scenario: question path (no repeat indices) → answer, or answers in order (one per
# repeat instance, or a rejected answer followed by its correction).
Scenario = Mapping[str, str | list[str]]


def survey_rows(form_id: str) -> list[dict[str, str]]:
    """The survey sheet of the committed workbook as dicts (header → cell text)."""
    header, *rows = read_cells(form_path(form_id))["survey"]
    return [dict(zip(header, row + [""] * (len(header) - len(row)), strict=True)) for row in rows]


def choice_rows(form_id: str) -> list[dict[str, str]]:
    header, *rows = read_cells(form_path(form_id))["choices"]
    return [dict(zip(header, row + [""] * (len(header) - len(row)), strict=True)) for row in rows]


@pytest.fixture(scope="session")
def xforms() -> dict[str, str]:
    """form_id → XForm XML of the committed workbook (pyxform, no ODK Validate)."""
    return {form_id: convert(xlsform=form_path(form_id)).xform for form_id in FORM_IDS}


@pytest.fixture(scope="session")
def models(xforms: dict[str, str]) -> dict[str, ET.Element]:
    """form_id → the XForm's <model>."""
    found = {
        form_id: SafeET.fromstring(xml).find("h:head/x:model", NS)
        for form_id, xml in xforms.items()
    }
    assert all(model is not None for model in found.values())
    return {form_id: model for form_id, model in found.items() if model is not None}


@dataclass
class Fill:
    """What JavaRosa did with one scenario."""

    asked: list[str] = field(default_factory=list)
    choices: dict[str, list[str]] = field(default_factory=dict)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    instance: ET.Element | None = None

    def value(self, path: str) -> str | None:
        """Text of the first instance node at `path` (relative to the root, e.g.
        'household/child/c_age'); None when the node is absent."""
        assert self.instance is not None
        node = self.instance.find(path)
        return None if node is None else (node.text or "")


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        pytest.fail("Java is needed to run ODK Validate and JavaRosa (see .ci/run)")
    return java


def _zone_still_on_scenario_day(now: dt.datetime | None = None) -> str:
    """A fixed-offset time zone in which it is still `SCENARIO_DAY`, for the JVM's
    `user.timezone`: UTC on that day, a few hours behind UTC once midnight has passed."""
    now = now or dt.datetime.now(dt.UTC)
    end_of_day = dt.datetime.combine(SCENARIO_DAY + dt.timedelta(days=1), dt.time(), dt.UTC)
    hours_past = math.floor((now - end_of_day).total_seconds() / 3600) + 1
    if hours_past <= 0:
        return "UTC"
    assert hours_past < 18, "the form tests started more than 17 hours ago"
    return f"GMT-{hours_past:02d}:00"


def fill_forms(
    xform: str, media: Path, scenarios: Mapping[str, Scenario], work: Path
) -> dict[str, Fill]:
    """Fill one XForm with every scenario in a single JVM; scenario name → Fill."""
    form_file = work / "form.xml"
    form_file.write_text(xform, encoding="utf-8")
    files = []
    for name, answers in scenarios.items():
        lines = []
        for path, values in answers.items():
            for value in [values] if isinstance(values, str) else values:
                lines.append(f"{path}\t{value}")
        scenario_file = work / f"{name}.tsv"
        scenario_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(str(scenario_file))
    result = subprocess.run(
        [
            _java(),
            f"-Duser.timezone={_zone_still_on_scenario_day()}",
            "-cp",
            ODK_VALIDATE_PATH,
            str(HARNESS),
            str(form_file),
            str(media),
            *files,
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    fills: dict[str, Fill] = {}
    current = Fill()
    for line in result.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "SCENARIO":
            current = fills.setdefault(Path(rest).stem, Fill())
        elif kind == "ASKED":
            current.asked.append(rest)
        elif kind == "CHOICES":
            path, *values = rest.split(" ")
            current.choices[path] = values
        elif kind == "REJECTED":
            path, _, value = rest.partition(" ")
            current.rejected.append((path, value))
        elif kind == "INVALID":
            current.invalid.append(rest)
        elif kind == "INSTANCE":
            current.instance = SafeET.fromstring(rest.encode("utf-8"))
    assert set(fills) == set(scenarios), result.stdout
    return fills


@pytest.fixture(scope="session")
def fill(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., dict[str, Fill]]:
    def run(xform: str, media: Path, scenarios: Mapping[str, Scenario]) -> dict[str, Fill]:
        return fill_forms(xform, media, scenarios, tmp_path_factory.mktemp("javarosa"))

    return run

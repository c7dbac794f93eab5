"""The commune's villages (thôn, bản, xóm) as the registry knows them: the `villages` table.

The phones learn the villages from the screening form's `villages.csv` (columns `name` = the
village code, `label` = its Vietnamese name); the registry fills its table from that same file
when it is uploaded (`fill_from_csv`, called by `server.operations.forms.attach_form_media`), and
lazily from the newest uploaded copy when a project's table is still empty (`ensure_villages`,
for files uploaded before this table was filled).

Excel lists name a village by code or by name, typed any way: ``T01``, ``Thôn Đông``,
``thon  dong``, ``Đông``. `VillageDirectory.find` matches ignoring case, spacing and diacritics
(`sync.vietnamese.fold`), and also without the leading word thôn/bản/xóm/ấp/tổ when that still
names exactly one village. Rows are never deleted: records refer to village codes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Blob, Form, FormAttachment, FormDef, Village
from server.storage import BlobStore
from sync.vietnamese import clean, fold

VILLAGES_CSV = "villages.csv"
CODE_LENGTH = 64  # villages.code
NAME_LENGTH = 255  # villages.name
# Words a village name often starts with, typed or not: "Thôn Đông" is also written "Đông".
_KIND_WORDS = ("thon", "ban", "xom", "ap", "to dan pho", "to", "khu pho", "khu", "lang")


def village_key(text: str) -> str:
    """A code or name compared ignoring case, spacing and marks: ``Thôn  Đông`` → ``thon dong``."""
    return " ".join(fold(clean(text)).split())


def _without_kind(key: str) -> str:
    for word in _KIND_WORDS:
        if key.startswith(word + " "):
            return key[len(word) + 1:]
    return key


class VillageDirectory:
    """One project's villages, looked up by code or name (loaded once per import)."""

    def __init__(self, villages: Iterable[Village]) -> None:
        self._by_code: dict[str, Village] = {}
        self._by_name: dict[str, Village] = {}
        self._by_short: dict[str, list[Village]] = {}
        for village in villages:
            self._index(village)

    def _index(self, village: Village) -> None:
        name = village_key(village.name)
        self._by_code[village_key(village.code)] = village
        self._by_name.setdefault(name, village)
        short = self._by_short.setdefault(_without_kind(name), [])
        if village not in short:
            short.append(village)

    def __len__(self) -> int:
        return len(self._by_code)

    def find(self, text: str) -> Village | None:
        """The village this code or name means; None when unknown or ambiguous."""
        key = village_key(text)
        if not key:
            return None
        exact = self._by_code.get(key) or self._by_name.get(key)
        if exact is not None:
            return exact
        short = self._by_short.get(_without_kind(key), [])
        return short[0] if len(short) == 1 else None

    def add(self, village: Village) -> None:
        self._index(village)


def load_directory(session: Session, project_id: int) -> VillageDirectory:
    return VillageDirectory(session.scalars(
        select(Village).where(Village.project_id == project_id).order_by(Village.id)))


def create(session: Session, project_id: int, text: str) -> Village:
    """A village the commune's list names but the project does not know (``--create-villages``).

    The text as typed (marks kept, spacing cleaned) becomes both code and name: a later row
    naming it either way, with or without marks, finds it again.
    """
    name = clean(text)
    if not name or len(name) > CODE_LENGTH:
        raise ValueError(f"a village code or name must be 1 to {CODE_LENGTH} characters")
    village = Village(project_id=project_id, code=name, name=name, name_folded=village_key(name))
    session.add(village)
    session.flush()
    return village


def read_villages_csv(data: bytes) -> list[tuple[str, str]]:
    """(code, name) pairs of a `villages.csv`: column `name` is the code, the first `label`
    column (``label`` or ``label::Tiếng Việt (vi)``) the name. Unreadable files give []."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return []
    reader = csv.DictReader(io.StringIO(text))
    label = next((f for f in reader.fieldnames or () if f.strip().lower().startswith("label")),
                 None)
    pairs = []
    for row in reader:
        code = clean(row.get("name"))
        if code and len(code) <= CODE_LENGTH:
            name = clean(row.get(label) if label else None) or code
            pairs.append((code, name[:NAME_LENGTH]))
    return pairs


def fill_from_csv(session: Session, project_id: int, data: bytes) -> int:
    """Add the file's villages to the project's table (a known code gets the file's name);
    returns how many rows were added or renamed. Nothing is deleted."""
    existing = {v.code: v for v in session.scalars(
        select(Village).where(Village.project_id == project_id))}
    changed = 0
    for code, name in read_villages_csv(data):
        village = existing.get(code)
        if village is None:
            village = existing[code] = Village(project_id=project_id, code=code)
            session.add(village)
        elif village.name == name:
            continue
        village.name, village.name_folded = name, village_key(name)
        changed += 1
    session.flush()
    return changed


def ensure_villages(session: Session, store: BlobStore, project_id: int) -> int:
    """Fill an empty table from the newest `villages.csv` uploaded to any of the project's forms
    (one uploaded before uploads filled the table); returns the rows added."""
    if session.scalar(select(Village.id).where(Village.project_id == project_id).limit(1)):
        return 0
    sha256 = session.scalar(
        select(Blob.sha256).join(FormAttachment, FormAttachment.blob_id == Blob.id)
        .join(FormDef, FormDef.id == FormAttachment.form_def_id)
        .join(Form, Form.id == FormDef.form_id)
        .where(Form.project_id == project_id, FormAttachment.name == VILLAGES_CSV,
               Form.deleted_at.is_(None))
        .order_by(FormAttachment.updated_at.desc(), FormAttachment.id.desc()).limit(1))
    if sha256 is None:
        return 0
    return fill_from_csv(session, project_id, store.read(sha256))

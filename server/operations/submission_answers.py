"""One submission's answers as a person reads them: the form's own labels, choices by their
labels, groups and repeat instances as sections, files by name — and only what the caller may
see (docs/access.md).

What is shown is read from exactly what the API would send this caller,
`visible_data.visible_xml` (the hidden answers already absent), against the version's field
tree without the hidden fields (`visible_data.export_schema`): an answer the API leaves out
cannot reach a page. Questions without a label (calculations, metadata) are not shown; the
XML download has them.

Looking at sensitive answers is audited (`record_sensitive_view`, README "Audit log"): by the
page that shows them and by the API that sends the XML, one row per look, naming the
submission and the levels shown — never an answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from sqlalchemy.orm import Session

from exports.form_labels import FormLabels
from exports.records import InstanceReader, Node, parse_stored
from exports.schema import REPEAT, STRUCTURE, Field, form_schema
from server.auth.principal import Principal
from server.auth.visibility import DataView
from server.models import Audit, Form, FormDef, Submission, SubmissionAttachment, SubmissionDef
from server.operations import visible_data
from server.operations.form_words import labels_of
from server.storage import BlobStore
from sync.field_policy import FieldPolicy, InvalidFieldPolicy, Sensitivity
from sync.safe_xml import UnsafeXml, local_name

READ_SENSITIVE_ACTION = "submission.read_sensitive"
# Groups of metadata the phone adds (instanceID, the entity declaration): not answers.
META = "meta"


@dataclass(frozen=True)
class Answer:
    """One answered question: its label, the answer (choices as their labels), the form's type
    for it (`date`, `geopoint`, `binary` …), and its sensitivity when it has one."""

    path: str
    label: str
    value: str
    type: str
    level: Sensitivity | None = None
    file: SubmissionAttachment | None = None  # a binary answer's file, when it is listed

    @property
    def kind(self) -> str:
        return "answer"


@dataclass(frozen=True)
class Section:
    """A labelled group, or one instance of a repeat (`number` counts from 1)."""

    path: str
    label: str
    items: tuple[Answer | Section | Repeat, ...]
    number: int | None = None

    @property
    def kind(self) -> str:
        return "section"


@dataclass(frozen=True)
class Repeat:
    """A repeat group and its instances, in the order the phone sent them."""

    path: str
    label: str
    instances: tuple[Section, ...]

    @property
    def kind(self) -> str:
        return "repeat"


Item = Answer | Section | Repeat


@dataclass
class Answers:
    items: tuple[Item, ...]
    levels: frozenset[Sensitivity] = field(default_factory=frozenset)  # of answers shown

    def walk(self) -> Iterator[Answer]:
        yield from _answers(self.items)


def _answers(items: tuple[Item, ...]) -> Iterator[Answer]:
    for item in items:
        if isinstance(item, Answer):
            yield item
        elif isinstance(item, Section):
            yield from _answers(item.items)
        else:
            for instance in item.instances:
                yield from _answers(instance.items)


def _policy(session: Session, form: Form, form_def: FormDef) -> FieldPolicy:
    """The version's field policy; one that cannot be read marks nothing (its hidden fields
    are still absent: `visible_xml` would have refused to serve it)."""
    try:
        return visible_data.form_policy(session, form, form_def)
    except (InvalidFieldPolicy, UnsafeXml):
        return FieldPolicy()


@dataclass
class _Reader:
    labels: FormLabels
    policy: FieldPolicy
    files: dict[str, SubmissionAttachment]

    def items(self, fields: tuple[Field, ...], node: Node) -> tuple[Item, ...]:
        found: list[Item] = []
        for item in fields:
            if item.name == META:
                continue
            if item.type == STRUCTURE:
                inner = self.items(item.children, node)
                label = self.labels.questions.get(item.path)
                if inner and label:
                    found.append(Section(item.path, label, inner))
                else:
                    found += inner  # an unlabelled group only holds its questions together
            elif item.type == REPEAT:
                repeat = self.repeat(item, node)
                if repeat is not None:
                    found.append(repeat)
            else:
                answer = self.answer(item, node.values.get(item.path))
                if answer is not None:
                    found.append(answer)
        return tuple(found)

    def repeat(self, item: Field, node: Node) -> Repeat | None:
        label = self.labels.question(item.path, item.name)
        instances = tuple(
            Section(item.path, label, inner, number)
            for number, sub in enumerate(node.repeats.get(item.path, []), start=1)
            if (inner := self.items(item.children, sub)))
        return Repeat(item.path, label, instances) if instances else None

    def answer(self, item: Field, text: str | None) -> Answer | None:
        label = self.labels.questions.get(item.path)
        if label is None or text is None or not text.strip():
            return None
        value = text.strip()
        if item.path in self.labels.choices:
            value = self.labels.choice_labels(item.path, value, item.select_multiple)
        return Answer(item.path, label, value, item.type, self.policy.level_of(item.path),
                      self.files.get(value) if item.type == "binary" else None)


def read_answers(session: Session, store: BlobStore, form: Form, version: SubmissionDef,
                 view: DataView, language: str) -> Answers:
    """The version's answers as `view` may see them, labelled in `language` (`vi`, `en`)."""
    form_def = session.get_one(FormDef, version.form_def_id)
    xml = visible_data.visible_xml(session, form, version, view)
    schema = visible_data.export_schema(session, form, form_def, form_schema(form_def.xml),
                                        view)
    files = {attachment.name: attachment for attachment
             in visible_data.visible_attachments(session, form, version, view)}
    reader = _Reader(labels_of(session, store, form_def, language),
                     _policy(session, form, form_def), files)
    items = reader.items(schema.fields, InstanceReader(schema).read(xml))
    return Answers(items, levels_shown(reader.policy, xml))


# --- who looked at sensitive answers ------------------------------------------------------------


def _leaves(element: Element, path: str) -> Iterator[tuple[str, str]]:
    for child in element:
        inner = f"{path}/{local_name(child.tag)}"
        if len(child):
            yield from _leaves(child, inner)
        elif (child.text or "").strip():
            yield inner, child.text or ""


def levels_shown(policy: FieldPolicy, xml: bytes) -> frozenset[Sensitivity]:
    """The sensitivity levels of the answers an instance holds (the empty ones aside)."""
    if not policy.levels:
        return frozenset()
    return frozenset(level for path, _ in _leaves(parse_stored(xml), "")
                     if (level := policy.level_of(path)) is not None)


def sensitive_levels_in(session: Session, form: Form, version: SubmissionDef,
                        xml: bytes) -> frozenset[Sensitivity]:
    """`levels_shown` for the XML of `version` as sent to a caller."""
    form_def = session.get_one(FormDef, version.form_def_id)
    return levels_shown(_policy(session, form, form_def), xml)


def record_sensitive_view(session: Session, who: Principal, form: Form,
                          submission: Submission, levels: frozenset[Sensitivity],
                          via: str) -> None:
    """A look at a submission that showed sensitive answers: one audit row naming it and the
    levels shown (docs/privacy.md §4–5). A look that showed none leaves no row."""
    if not levels:
        return
    session.add(Audit(actor_id=who.actor_id, action=READ_SENSITIVE_ACTION,
                      actee=f"submission:{submission.id}",
                      details={"projectId": form.project_id, "xmlFormId": form.xml_form_id,
                               "instanceId": submission.instance_id,
                               "levels": sorted(level.value for level in levels),
                               "via": via}))

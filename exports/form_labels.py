"""A form's words for people, in one language: question labels and choice labels, read from
its XForm (the exact XML phones fill in), for outputs people read (`submissions.xlsx`).

XLSForm writes a label either in place (`<label>Tên</label>`) or, in a form with translations,
as a reference into `<itext>` (`<label ref="jr:itext('/data/name:label')"/>`), one
`<translation lang="Vietnamese (vi)">` per language. Choices are either `<item>`s inside the
select, or an `<itemset>` over a secondary instance whose items carry a label or an `itextId`;
a `select_one_from_file` reads its items from a CSV attached to the form
(`<instance id="villages" src="jr://file-csv/villages.csv"/>`). Paths are the field tree's
(`exports.schema.Field.path`: `/household/child/c_sex`, without the root element).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from sync.safe_xml import local_name, parse_xml

# What the API accepts in `?lang=`, and the names pyxform writes for them in `lang="…"`.
LANGUAGES = {"vi": ("vietnamese", "tiếng việt"), "en": ("english",)}
DEFAULT_LANGUAGE = "vi"

_ITEXT_ID = re.compile(r"""jr:itext\(\s*['"]([^'"]+)['"]\s*\)""")
_ITEXT_FIELD = re.compile(r"""jr:itext\(\s*([^'")\s]+)\s*\)""")
_INSTANCE = re.compile(r"""instance\(\s*['"]([^'"]+)['"]\s*\)((?:/[^/\[]+(?:\[[^\]]*\])?)*)""")
_CODE = re.compile(r"\(([A-Za-z-]+)\)\s*$")

# An attached file by name (`villages.csv`), or None when the form has none by that name.
AttachedFile = Callable[[str], bytes | None]


@dataclass(frozen=True)
class FormLabels:
    """Labels by field path; choice labels by field path, then by choice value."""

    questions: dict[str, str] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)

    def question(self, path: str, name: str) -> str:
        """The question's label, or its name when it has none (calculations, metadata)."""
        return self.questions.get(path) or name

    def choice_labels(self, path: str, answer: str, many: bool) -> str:
        """An answer as its choices' labels (`select_multiple`: joined by ", "); a value the
        form does not list stays as it is."""
        known = self.choices.get(path)
        if known is None:
            return answer
        if not many:
            return known.get(answer.strip(), answer)
        return ", ".join(known.get(value, value) for value in answer.split())


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if local_name(child.tag) == name]


def _first(element: Element, name: str) -> Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _rendered(element: Element) -> str:
    """The element's text, an `<output value="/data/x"/>` shown as XLSForm writes it: `${x}`."""
    parts = [element.text or ""]
    for child in element:
        if local_name(child.tag) == "output":
            name = child.attrib.get("value", "").strip().rsplit("/", 1)[-1]
            parts.append(f"${{{name}}}")
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _translation_code(lang: str) -> str | None:
    """`Vietnamese (vi)` → `vi`; `vi` → `vi`; `English` → `en`."""
    match = _CODE.search(lang)
    if match:
        return match.group(1).lower()
    lowered = lang.strip().lower()
    for code, names in LANGUAGES.items():
        if lowered == code or lowered in names:
            return code
    return None


def _itext(model: Element, language: str) -> dict[str, str]:
    """The texts of the translation in `language`, over those of the default translation (a
    text one language lacks is shown in the other rather than as a bare id)."""
    itext = _first(model, "itext")
    if itext is None:
        return {}
    translations = _children(itext, "translation")
    chosen = [t for t in translations if _translation_code(t.attrib.get("lang", "")) == language]
    default = [t for t in translations if t.attrib.get("default")] or translations[:1]
    texts: dict[str, str] = {}
    for translation in [*default, *chosen]:
        for text in _children(translation, "text"):
            values = _children(text, "value")
            plain = [v for v in values if v.attrib.get("form") in (None, "long", "short")]
            if plain and "id" in text.attrib:
                texts[text.attrib["id"]] = _rendered(plain[0])
    return texts


@dataclass
class _Reader:
    root_name: str
    model: Element
    texts: dict[str, str]
    attached: AttachedFile | None
    labels: FormLabels = field(default_factory=FormLabels)

    def path(self, ref: str, context: str) -> str:
        """A body ref as a field path; relative refs are relative to the enclosing group."""
        steps = "/".join(step.rsplit(":", 1)[-1] for step in ref.strip().split("/"))
        if not steps.startswith("/"):
            steps = f"/{self.root_name}{context}/{steps}"
        prefix = f"/{self.root_name}"
        return steps[len(prefix):] if steps.startswith(prefix + "/") else steps

    def label_of(self, element: Element) -> str | None:
        label = _first(element, "label")
        if label is None:
            return None
        ref = _ITEXT_ID.search(label.attrib.get("ref", ""))
        text = self.texts.get(ref.group(1), "") if ref else _rendered(label)
        return text or None

    def walk(self, element: Element, context: str) -> None:
        for child in element:
            kind = local_name(child.tag)
            ref = child.attrib.get("ref") or child.attrib.get("nodeset")
            path = self.path(ref, context) if ref else context
            if ref and path not in self.labels.questions:
                label = self.label_of(child)
                if label:
                    self.labels.questions[path] = label
            if kind in ("select", "select1", "rank") and ref:
                choices = self.choices(child)
                if choices:
                    self.labels.choices[path] = choices
            elif kind in ("group", "repeat"):
                self.walk(child, path)

    def choices(self, select: Element) -> dict[str, str]:
        found: dict[str, str] = {}
        for item in _children(select, "item"):
            value = _first(item, "value")
            label = self.label_of(item)
            if value is not None and value.text and label:
                found[value.text.strip()] = label
        itemset = _first(select, "itemset")
        if itemset is not None:
            found.update(self.itemset(itemset))
        return found

    def itemset(self, itemset: Element) -> dict[str, str]:
        match = _INSTANCE.search(itemset.attrib.get("nodeset", ""))
        value_ref = _first(itemset, "value")
        label_ref = _first(itemset, "label")
        if match is None or value_ref is None or label_ref is None:
            return {}  # choices from the form's own answers: the values are the labels
        value_name = value_ref.attrib.get("ref", "name")
        label_spec = label_ref.attrib.get("ref", "label")
        itext_field = _ITEXT_FIELD.search(label_spec)
        found: dict[str, str] = {}
        for item in self.items(match.group(1), match.group(2)):
            value = item.get(value_name)
            if itext_field:
                label = self.texts.get(item.get(itext_field.group(1), ""), "")
            else:
                label = item.get(label_spec, "")
            if value and label:
                found[value] = label
        return found

    def items(self, instance_id: str, steps: str) -> Iterator[dict[str, str]]:
        """The items of a secondary instance, each as its children's texts by name."""
        instance = next((i for i in _children(self.model, "instance")
                         if i.attrib.get("id") == instance_id), None)
        if instance is None:
            return
        source = instance.attrib.get("src", "")
        if source:
            yield from self.attached_items(source)
            return
        item_name = re.sub(r"\[.*$", "", steps.rsplit("/", 1)[-1]) if steps else "item"
        for root in instance:
            for item in root.iter():
                if local_name(item.tag) == item_name:
                    yield {local_name(c.tag): (c.text or "").strip() for c in item}

    def attached_items(self, source: str) -> Iterator[dict[str, str]]:
        """Items of an attached CSV (`jr://file-csv/villages.csv`); other files are not read."""
        if self.attached is None or not source.startswith("jr://file-csv/"):
            return
        data = self.attached(source.removeprefix("jr://file-csv/"))
        if data is None:
            return
        text = data.decode("utf-8-sig", errors="replace")
        yield from csv.DictReader(io.StringIO(text))


def form_labels(xform: bytes | str, language: str = DEFAULT_LANGUAGE,
                attached: AttachedFile | None = None) -> FormLabels:
    """The labels of an XForm's questions and choices in `language` (`vi` or `en`); a form
    without that language gives its default one, a form without translations its only one."""
    html = parse_xml(xform.encode("utf-8") if isinstance(xform, str) else xform)
    head = _first(html, "head")
    model = _first(head, "model") if head is not None else None
    body = _first(html, "body")
    if model is None or body is None:
        return FormLabels()
    primary = _first(model, "instance")
    root_name = local_name(primary[0].tag) if primary is not None and len(primary) else "data"
    reader = _Reader(root_name, model, _itext(model, language), attached)
    reader.walk(body, "")
    return reader.labels


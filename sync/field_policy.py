"""Which answers of a form are sensitive, and which answer names the submission's village.

A form's *field policy* is data, declared per form (docs/access.md "Declaring a form's
sensitive fields"):

* in the XLSForm itself, with the custom bind columns `bind::diemtua:sensitivity`
  (`confidential`, `health` or `sensitive`, on a question or a whole group) and
  `bind::diemtua:village` (`yes` on the question whose answer is the village code), and the
  namespace `diemtua="urn:diemtua:xforms"` in the settings sheet's `namespaces` column. They
  travel inside the XForm as `diemtua:*` attributes of its `<bind>`s, so a form uploaded by
  a commune carries its own policy;
* for the project's own forms also in `sync/field_policy.json`, keyed by form id. That file
  covers versions published before the forms declared their policy, and keeps the policy of
  `household_screening` and `child_followup` even when an edited copy loses a column.

The two are joined: a field is as sensitive as either says (the higher level wins). The
levels (docs/privacy.md §4, Decree 356 on sensitive personal data):

* `confidential` — the enumerator's protection concern (Section F): the child-protection
  officer's eyes only;
* `health` — health, functioning, disability: also the health station's;
* `sensitive` — other sensitive personal data, such as ethnicity.

Who may see which level is decided in one place, `server.auth.visibility`; this module only
says which fields carry which level, and takes hidden fields out of an instance. Paths are
relative to the instance root with a leading slash, as `exports.schema` writes them
(`/household/child/f_protection`); a level on a group covers everything inside it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

from sync.safe_xml import local_name, parse_xml

NAMESPACE = "urn:diemtua:xforms"
SENSITIVITY_ATTRIBUTE = f"{{{NAMESPACE}}}sensitivity"
VILLAGE_ATTRIBUTE = f"{{{NAMESPACE}}}village"
BUILT_IN_FILE = Path(__file__).with_name("field_policy.json")
_YES = frozenset({"yes", "true", "1", "true()"})

# Prefixes of the namespaces ODK clients write, kept when a redacted instance is serialised.
for _prefix, _uri in {
    "jr": "http://openrosa.org/javarosa", "orx": "http://openrosa.org/xforms",
    "odk": "http://www.opendatakit.org/xforms",
    "entities": "http://www.opendatakit.org/xforms/entities",
    "h": "http://www.w3.org/1999/xhtml", "ev": "http://www.w3.org/2001/xml-events",
    "xsd": "http://www.w3.org/2001/XMLSchema", "diemtua": NAMESPACE,
}.items():
    ElementTree.register_namespace(_prefix, _uri)


class Sensitivity(StrEnum):
    """How sensitive an answer is; the order is from most to least restricted."""

    CONFIDENTIAL = "confidential"
    HEALTH = "health"
    SENSITIVE = "sensitive"

    @property
    def rank(self) -> int:
        return list(Sensitivity).index(self)


class InvalidFieldPolicy(ValueError):
    """A form declares a sensitivity this server does not know (publishing is refused)."""


def _higher(a: Sensitivity, b: Sensitivity) -> Sensitivity:
    return a if a.rank <= b.rank else b


@dataclass(frozen=True)
class FieldPolicy:
    """One form's policy: its village answer and the level of each declared field."""

    village: str | None = None
    levels: Mapping[str, Sensitivity] = field(default_factory=dict)

    def level_of(self, path: str) -> Sensitivity | None:
        """The level of a field: its own, or that of the nearest group declaring one."""
        found: Sensitivity | None = None
        steps = path.strip("/").split("/")
        for end in range(1, len(steps) + 1):
            level = self.levels.get("/" + "/".join(steps[:end]))
            if level is not None:
                found = level if found is None else _higher(found, level)
        return found

    def hidden(self, visible: Iterable[Sensitivity]) -> frozenset[str]:
        """The declared paths whose level is not among `visible` (whole subtrees)."""
        shown = frozenset(visible)
        return frozenset(path for path, level in self.levels.items() if level not in shown)

    def joined(self, other: FieldPolicy) -> FieldPolicy:
        levels = dict(self.levels)
        for path, level in other.levels.items():
            levels[path] = _higher(levels[path], level) if path in levels else level
        return FieldPolicy(village=self.village or other.village, levels=levels)

    @property
    def is_empty(self) -> bool:
        return self.village is None and not self.levels


def _level(text: str, where: str) -> Sensitivity:
    try:
        return Sensitivity(text.strip().lower())
    except ValueError as exc:
        known = ", ".join(level.value for level in Sensitivity)
        raise InvalidFieldPolicy(f"{where}: sensitivity {text!r} is not one of {known}") from exc


@cache
def built_in_policies() -> dict[str, FieldPolicy]:
    """`sync/field_policy.json`: the project's own forms, by form id."""
    data = json.loads(BUILT_IN_FILE.read_text(encoding="utf-8"))
    return {
        form_id: FieldPolicy(
            village=entry.get("village"),
            levels={path: _level(level, f"{BUILT_IN_FILE.name} {form_id} {path}")
                    for path, level in entry.get("fields", {}).items()})
        for form_id, entry in data["forms"].items()
    }


def relative_path(nodeset: str) -> str:
    """`/data/household/child/f_protection` → `/household/child/f_protection`."""
    steps = [step.rsplit(":", 1)[-1] for step in nodeset.strip().split("/") if step]
    return "/" + "/".join(steps[1:])


def declared_policy(xform: bytes) -> FieldPolicy:
    """The policy a form declares in its own `<bind>`s (`diemtua:` attributes)."""
    village: str | None = None
    levels: dict[str, Sensitivity] = {}
    for element in parse_xml(xform).iter():
        if local_name(element.tag) != "bind" or "nodeset" not in element.attrib:
            continue
        path = relative_path(element.attrib["nodeset"])
        level = element.attrib.get(SENSITIVITY_ATTRIBUTE, "").strip()
        if level:
            levels[path] = _level(level, path)
        if element.attrib.get(VILLAGE_ATTRIBUTE, "").strip().lower() in _YES and village is None:
            village = path
    return FieldPolicy(village=village, levels=levels)


_cache: dict[str, FieldPolicy] = {}


def policy_for(xml_form_id: str, xform: bytes | str, digest: str | None = None,
               ) -> FieldPolicy:
    """The policy of one form version: the built-in one for its form id joined with what its
    XForm declares."""
    data = xform.encode("utf-8") if isinstance(xform, str) else xform
    return cached_policy(xml_form_id, digest or hashlib.sha256(data).hexdigest(),
                         lambda: data)


def cached_policy(xml_form_id: str, digest: str, load: Callable[[], bytes]) -> FieldPolicy:
    """`policy_for`, cached by the version's digest (a stored version never changes), so the
    XForm is read only the first time: `load` gives its bytes."""
    key = f"{xml_form_id}\x00{digest}"
    found = _cache.get(key)
    if found is None:
        built_in = built_in_policies().get(xml_form_id, FieldPolicy())
        found = built_in.joined(declared_policy(load()))
        _cache[key] = found
    return found


# --- reading and redacting instances ----------------------------------------------------------


def _at(root: Element, path: str) -> Element | None:
    node: Element | None = root
    for step in path.strip("/").split("/"):
        if node is None:
            return None
        node = next((child for child in node if local_name(child.tag) == step), None)
    return node


def village_of(policy: FieldPolicy, root: Element) -> str | None:
    """The village code the instance names, or None (no village answer, or left empty)."""
    if policy.village is None:
        return None
    node = _at(root, policy.village)
    text = (node.text or "").strip() if node is not None else ""
    return text[:64] or None


def is_inside(path: str, group: str) -> bool:
    """Whether `path` is `group` or a field within it."""
    return path == group or path.startswith(group.rstrip("/") + "/")


def remove_hidden(root: Element, hidden: Iterable[str]) -> int:
    """Take every element at a hidden path out of the tree (in every repeat instance);
    the number removed."""
    removed = 0
    for path in sorted(hidden, key=lambda p: p.count("/")):
        steps = path.strip("/").split("/")
        parents = [root]
        for step in steps[:-1]:
            parents = [child for node in parents for child in node
                       if local_name(child.tag) == step]
        for parent in parents:
            for child in [c for c in parent if local_name(c.tag) == steps[-1]]:
                parent.remove(child)
                removed += 1
    return removed


def redacted_instance(xml: bytes, hidden: Iterable[str]) -> bytes:
    """The instance without its hidden fields: absent, not emptied. Unchanged bytes when
    nothing is hidden, so full-access callers get exactly what the phone sent."""
    hidden = frozenset(hidden)
    if not hidden:
        return xml
    root = parse_xml(xml)
    if not remove_hidden(root, hidden):
        return xml
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def referenced_files(root: Element) -> frozenset[str]:
    """Every text of a leaf element: the file names an instance still refers to, for telling
    which attachments belong to fields a caller may see (a file named only inside a hidden
    field is hidden with it)."""
    return frozenset((node.text or "").strip() for node in root.iter()
                     if len(node) == 0 and (node.text or "").strip())

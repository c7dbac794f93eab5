"""Seeded synthetic `household_screening` submissions: a demo commune, test data, benchmarks.

Each household is drawn as the enumerator would meet it — a family situation, parents, 1–5
children with their schooling, work, functioning and support — and then written down as ODK
Collect would submit it: only the questions the form's relevance asked (JavaRosa leaves every
non-relevant node out, so a refusal has no `household` element at all), every calculation as the
form computes it on the visit day (`xlsforms/sources/screening_rules.py`), and the elements in
the order of the compiled form's primary instance, read from the form itself. A question the
generator does not know, or one the form no longer has, is an error rather than a silent gap.

Rates are plausible guesses for a rural northern commune, not statistics.
"""

from __future__ import annotations

import csv
import enum
import io
import random
import re
import unicodedata
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from xml.etree.ElementTree import Element, SubElement, tostring

from sync import synthetic_people as people
from sync.safe_xml import local_name
from xlsforms.sources.household_screening import ALT_CARE
from xlsforms.sources.screening_rules import DOMAINS, NO_SUPPORT_STATUSES, RISK_STATUSES

JR_TEMPLATE = "{http://openrosa.org/javarosa}template"
# The namespace declarations JavaRosa writes on every submission's root.
JAVAROSA_NAMESPACES = {
    "xmlns:ev": "http://www.w3.org/2001/xml-events",
    "xmlns:orx": "http://openrosa.org/xforms",
    "xmlns:entities": "http://www.opendatakit.org/xforms/entities",
    "xmlns:odk": "http://www.opendatakit.org/xforms",
    "xmlns:h": "http://www.w3.org/1999/xhtml",
    "xmlns:xsd": "http://www.w3.org/2001/XMLSchema",
    "xmlns:jr": "http://openrosa.org/javarosa",
}
XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8' ?>"
REFUSAL_RATE = 0.03
CAMPAIGN_DAYS = 28
POOR = ("poor", "near_poor")
COMMENTS = ("Hộ mới chuyển đến", "Gia đình cần hỗ trợ làm hồ sơ trợ cấp",
            "Hẹn quay lại bổ sung số định danh", "Chủ hộ đi làm xa, vợ trả lời")
# The child questions the family answers (calculations and notes are added by the recorder).
# `c_home_name` is answered empty: the synthetic families give no home names, so the visits
# (and the figures measured on them) stay what they were before the question existed.
CHILD_QUESTIONS = (
    "c_full_name", "c_home_name", "c_family", "c_sex", "c_dob_known", "c_dob", "c_birth_year",
    "c_birth_month",
    "c_age_est", "c_pid", "c_birth_cert", "c_ethnic", "c_joined", "c_migrant", "c_from_where",
    "c_sleep", "c_school", "c_grade", "c_drop_reason", "c_works", "c_work_hours", "c_hazard",
    "c_mother_name", "c_mother_status", "c_father_name", "c_father_status", "c_carer",
    "c_carer_name", "c_carer_phone", "c_care_registered", *DOMAINS, "d_cert", "d_level",
    "e_bhyt", "e_longterm", "e_illness", "e_vacc", "f_concern", "f_type", "f_urgency", "f_note",
    "g_support", "g_child_assent",
)
# Value None: the node is not relevant and JavaRosa leaves it out; "" is an empty element.
Answers = dict[str, str | None]


@dataclass(frozen=True)
class Village:
    """A row of `villages.csv`: local code (`name`) and Vietnamese label."""

    code: str
    label: str


@dataclass(frozen=True)
class SyntheticHousehold:
    """One household visit, serialised as the submission a phone would send."""

    index: int
    village: str
    device_id: str
    instance_id: str
    consented: bool
    children: int
    categories: tuple[str, ...]
    xml: bytes


def read_villages(text: str) -> list[Village]:
    """The commune's villages from `villages.csv` (columns `name`, `label`)."""
    return [Village(row["name"].strip(), row["label"].strip())
            for row in csv.DictReader(io.StringIO(text)) if row.get("name", "").strip()]


def device_id_for(seed: int, village: str) -> str:
    """The demo phone of one village: Collect's `collect:` + 16 characters, 'DEMO' first so
    nobody mistakes it for a real device."""
    rng = random.Random(f"diemtua-demo:{seed}:device:{village}")
    return "collect:DEMO" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=12))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _yes(flag: bool) -> str:
    return "1" if flag else "0"


# --- the form's rules, in Python ---------------------------------------------------------------


def _relevance(a: Mapping[str, str | None], age: int) -> dict[str, bool]:
    """Each child question's `relevant` expression (household_screening.py); absent: always."""
    carer, school, works = a.get("c_carer"), a.get("c_school"), a.get("c_works")
    return {
        "c_dob": a["c_dob_known"] == "full",
        "c_birth_year": a["c_dob_known"] in ("month_year", "year_only"),
        "c_birth_month": a["c_dob_known"] == "month_year",
        "c_age_est": a["c_dob_known"] == "estimated",
        "c_from_where": a.get("c_migrant") == "yes",
        "c_school": age >= 3,
        "c_grade": age >= 3 and school in ("dropped_out", "never_attended"),
        "c_drop_reason": age >= 3 and school == "dropped_out",
        "c_works": age >= 5,
        "c_work_hours": age >= 5 and works == "yes",
        "c_hazard": age >= 5 and works == "yes",
        "c_carer_name": carer not in ("both_parents", "no_one"),
        "c_carer_phone": carer != "no_one",
        "c_care_registered": carer in ALT_CARE,
        "note_urgent_care": carer == "no_one",
        "d_functioning": age >= 2,
        **dict.fromkeys(DOMAINS, age >= 2),
        "d_selfcare": age >= 5,
        "d_level": a.get("d_cert") == "yes",
        "e_illness": a.get("e_longterm") == "yes",
        "e_vacc": age < 1,
        "f_type": a.get("f_concern") == "yes",
        "f_urgency": a.get("f_concern") == "yes",
        "f_note": a.get("f_concern") == "yes",
        "g_child_assent": age >= 7,
    }


def categories(c: Mapping[str, str | None], poverty: str, flags: Mapping[str, bool]) -> list[str]:
    """`c_categories`: the provisional codes of screening_rules.CATEGORY_RULES, in order."""
    mother, father = c.get("c_mother_status"), c.get("c_father_status")
    unknown_parents = mother == "unknown" and father == "unknown"
    age = int(c["c_age"] or 0)
    rules = [
        ("HCDB-A", flags["orphan_both"]),
        ("HCDB-B", c.get("c_joined") == "found_abandoned" or unknown_parents),
        ("HCDB-C", flags["no_support"]),
        ("HCDB-D", flags["disab"]),
        ("HCDB-H", age < 16 and c.get("c_school") == "dropped_out"
         and "work_earn" in (c.get("c_drop_reason") or "").split()
         and int(c.get("c_grade") or 99) < 9),
        ("HCDB-K", flags["exploited"]),
        ("HCDB-N", c.get("e_longterm") == "yes" and poverty in POOR),
        ("HCDB-O", c.get("c_migrant") == "yes" and (unknown_parents
                                                    or c.get("c_carer") == "no_one")),
        ("PLAN-POOR", poverty in POOR),
        ("PLAN-LABOUR", c.get("c_works") == "yes" and not flags["exploited"]),
        ("PLAN-STREET", c.get("c_sleep") in ("street_public_place", "workplace")),
        ("RISK", mother in RISK_STATUSES or father in RISK_STATUSES
         or c.get("c_carer") == "no_one"),
    ]
    return [code for code, applies in rules if applies]


def _flags(c: Mapping[str, str | None]) -> dict[str, bool]:
    mother, father = c.get("c_mother_status"), c.get("c_father_status")
    orphan_both = mother == "dead" and father == "dead"
    hazards = (c.get("c_hazard") or "").split()
    return {
        "orphan_both": orphan_both,
        "no_support": (not orphan_both and mother in NO_SUPPORT_STATUSES
                       and father in NO_SUPPORT_STATUSES),
        "disab": c.get("d_cert") == "yes" or any(c.get(d) in ("a_lot", "cannot")
                                                 for d in DOMAINS),
        "exploited": c.get("c_works") == "yes" and (
            int(c["c_age"] or 0) < 13 or int(c.get("c_work_hours") or 0) > 40
            or (bool(hazards) and "none" not in hazards)),
    }


def record_child(said: Mapping[str, str], household: Mapping[str, str | None], day: date,
                 entity_id: str) -> Answers:
    """What the phone stores for one child: the answers the form asked (None: not asked),
    then its calculations."""
    age = people.stated_age(said, day)
    relevant = _relevance(said, age)
    record: Answers = {name: (said.get(name, "") if relevant.get(name, True) else None)
                       for name in (*CHILD_QUESTIONS, "note_urgent_care", "d_functioning")}
    record.update({"c_age": str(age), "c_age_note": "", "e_note_hiv": "",
                   "f_protection": "", "f_hotline": ""})
    flags = _flags(record)
    known = said["c_dob_known"]
    if known == "full":
        yob = said["c_dob"][:4]
    elif known == "estimated":
        yob = str(day.year - int(said["c_age_est"]))
    else:
        yob = said["c_birth_year"]
    dob_value = {"full": said.get("c_dob", ""),
                 "month_year": f"{yob}-{int(said.get('c_birth_month') or 0):02d}"}.get(known, yob)
    home = f" ({said['c_home_name']})" if said.get("c_home_name") else ""
    label = f"{said['c_full_name']}{home} ({'~' if known == 'estimated' else ''}{yob})"
    record.update({
        "flag_orphan_both": _yes(flags["orphan_both"]),
        "flag_no_support": _yes(flags["no_support"]),
        "flag_disab": _yes(flags["disab"]),
        "flag_exploited": _yes(flags["exploited"]),
        "c_categories": " ".join(categories(record, household["hh_poverty"] or "", flags)),
        "c_village": household["village"], "c_household_head": household["hh_head_name"],
        "c_yob": yob, "c_dob_value": dob_value, "c_status": "active", "c_entity_label": label,
        "meta": "", "entity": "", "entity@id": entity_id, "label": label,
    })
    return record


# --- the submission ----------------------------------------------------------------------------


def _scope_names(template: Element, repeats: Collection[str]) -> set[str]:
    """Every node name under `template`, not looking inside repeats (their own scope)."""
    names: set[str] = set()
    for node in template:
        names.add(local_name(node.tag))
        if local_name(node.tag) not in repeats:
            names |= _scope_names(node, repeats)
    return names


def _fill_scope(template: Element, into: Element, answers: Answers,
                repeats: Mapping[str, Sequence[Answers]]) -> None:
    """Fill one scope (the root, or one repeat instance), refusing answers to questions the
    form does not have: the generator and the form must change together."""
    unknown = {key.split("@")[0] for key in answers} - _scope_names(template, repeats)
    if unknown:
        raise KeyError(f"the form has no {', '.join(sorted(unknown))}")
    _fill(template, into, answers, repeats)


def _fill(template: Element, into: Element, answers: Answers,
          repeats: Mapping[str, Sequence[Answers]]) -> None:
    """Copy `template`'s children into `into` in order: answered nodes with their value,
    non-relevant ones (None) left out, a repeat once per record in `repeats`."""
    for node in template:
        name = local_name(node.tag)
        if name in repeats:
            # The jr:template copy comes first; the default instances after it are skipped.
            if node.get(JR_TEMPLATE) is not None:
                for record in repeats[name]:
                    _fill_scope(node, SubElement(into, name), record, {})
            continue
        if name not in answers:
            raise KeyError(f"the form has {name!r}, which the generator does not fill")
        value = answers[name]
        if value is None:
            continue
        attributes = {key: answers.get(f"{name}@{key}") or default
                      for key, default in node.attrib.items() if key != JR_TEMPLATE}
        element = SubElement(into, name, attributes)
        if len(node):
            _fill(node, element, answers, repeats)
        elif value:
            element.text = value


def serialise(template: Element, answers: Answers, children: Sequence[Answers]) -> bytes:
    """The submission as JavaRosa writes it: declaration, root id/version and namespaces,
    an empty element for every relevant node left unanswered."""
    root = Element(local_name(template.tag), {"id": template.get("id", ""),
                                              "version": template.get("version", ""),
                                              **JAVAROSA_NAMESPACES})
    _fill_scope(template, root, answers, {"child": children})
    return (XML_DECLARATION + tostring(root, encoding="unicode")).encode("utf-8")


def _timestamp(moment: datetime) -> str:
    """Collect's `start`/`end`: milliseconds and the phone's +07:00 offset."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+07:00"


def generate_household(template: Element, villages: Sequence[Village], seed: int, index: int,
                       today: date, campaign_days: int = CAMPAIGN_DAYS) -> SyntheticHousehold:
    """Household number `index` of the demo run `seed`: the same household for the same
    seed, index and visit window, whatever else is generated around it."""
    rng = random.Random(f"diemtua-demo:{seed}:household:{index}")
    instance_id = f"uuid:{_uuid(rng)}"
    weights = village_weights(villages, seed)
    village = rng.choices(list(villages), weights=weights)[0]
    day = today - timedelta(days=rng.randrange(max(campaign_days, 1)))
    start = datetime.combine(day, datetime.min.time()) + timedelta(
        minutes=rng.randrange(7 * 60 + 30, 17 * 60 + 30), seconds=rng.random() * 60)
    consented = rng.random() >= REFUSAL_RATE
    household: Answers = {"village": village.code, "consent_ok": "yes" if consented else "no",
                          "note_refused": None if consented else "", "household": None}
    children: list[Answers] = []
    if consented:
        family = people.draw_household(rng, village.code, day)
        household.update(family.household)
        household["household"] = ""
        children = [record_child(said, household, day, _uuid(rng)) for said in family.children]
        household["child_count"] = str(len(children))
    minutes = rng.uniform(1, 4) if not consented else 6 + len(children) * rng.uniform(3, 6)
    flagged = any(child["c_categories"] or child["f_concern"] == "yes" for child in children)
    head = household.get("hh_head_name") if consented else "từ chối / refused"
    household.update({
        "start": _timestamp(start), "end": _timestamp(start + timedelta(minutes=minutes)),
        "today": day.isoformat(), "deviceid": device_id_for(seed, village.code),
        # Collect fills `username` from its metadata settings, which a QR code leaves empty.
        "enumerator": "",
        "z_followup": "yes" if rng.random() < (0.7 if flagged else 0.05 if consented
                                               else 0.35) else "no",
        "z_thanks": "", "meta": "", "instanceID": instance_id,
        "instanceName": f"{village.label} – {head} – {day.isoformat()}",
    })
    if consented:
        household["z_comment"] = rng.choice(COMMENTS) if rng.random() < 0.06 else ""
    return SyntheticHousehold(
        index=index, village=village.code, device_id=household["deviceid"] or "",
        instance_id=instance_id, consented=consented, children=len(children),
        categories=tuple(child["c_categories"] or "" for child in children),
        xml=serialise(template, household, children))


def village_weights(villages: Sequence[Village], seed: int) -> list[float]:
    """Villages differ in size; the same seed gives the same sizes."""
    rng = random.Random(f"diemtua-demo:{seed}:villages")
    return [rng.uniform(0.6, 1.5) for _ in villages]


def generate_households(template: Element, villages: Sequence[Village], count: int,
                        seed: int, today: date | None = None,
                        campaign_days: int = CAMPAIGN_DAYS) -> Iterator[SyntheticHousehold]:
    """`count` households visited over the `campaign_days` up to `today`."""
    day = today or date.today()
    for index in range(count):
        yield generate_household(template, villages, seed, index, day, campaign_days)


# --- re-visits ---------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CHILD_NAME = re.compile(r"<c_full_name>([^<]*)</c_full_name>")


class Retyping(enum.Enum):
    """How the second collaborator typed the children's names on a re-visit."""

    SAME = "same"  # as before
    NO_MARKS = "no_marks"  # a phone without a Vietnamese keyboard: Nguyễn → Nguyen
    TYPO = "typo"  # two letters of the given name swapped, and no marks


def strip_marks(text: str) -> str:
    """``Đặng Thủy`` → ``Dang Thuy``."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.combining(c))


def _swap_in_given_name(name: str) -> str:
    *rest, given = name.split(" ")
    if len(given) < 3:
        return name
    given = given[0] + given[2] + given[1] + given[3:]
    return " ".join([*rest, given])


def _retype(name: str, how: Retyping) -> str:
    if how is Retyping.SAME:
        return name
    plain = strip_marks(name)
    return plain if how is Retyping.NO_MARKS else _swap_in_given_name(plain)


def revisit_household(visit: SyntheticHousehold, seed: int, how: Retyping) -> SyntheticHousehold:
    """The same household reported again (another collaborator, another day): new instance and
    entity ids — the same for the same seed, so loading twice adds nothing — and the children's
    names retyped as ``how`` says. The registry should recognise every child."""
    text = visit.xml.decode("utf-8")
    rng = random.Random(f"diemtua-demo:{seed}:revisit:{visit.instance_id}")
    renamed = {old: _uuid(rng) for old in dict.fromkeys(_UUID.findall(text))}
    text = _UUID.sub(lambda m: renamed[m.group(0)], text)
    text = _CHILD_NAME.sub(
        lambda m: f"<c_full_name>{_retype(m.group(1), how)}</c_full_name>", text)
    instance_id = "uuid:" + renamed[visit.instance_id.removeprefix("uuid:")]
    return replace(visit, instance_id=instance_id, xml=text.encode("utf-8"))

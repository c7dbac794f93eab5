"""Seeded generator of realistic household submissions (Vietnamese names, three children)."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from xml.sax.saxutils import escape

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE_MALE = ["Văn", "Đức", "Minh", "Quốc", "Hữu", "Công"]
MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh", "Mai", "Kim"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hằng", "Hoà", "Hùng", "Khánh",
         "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Thảo", "Thuỷ",
         "Trang", "Tuấn", "Việt", "Yến"]


def person(rng: random.Random, family: str | None = None) -> str:
    female = rng.random() < 0.5
    middle = rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)
    return f"{family or rng.choice(FAMILY)} {middle} {rng.choice(GIVEN)}"


def household_xml(rng: random.Random, form_id: str, version: str, photo_name: str,
                  children: int = 3) -> tuple[str, bytes]:
    """One household as JavaRosa serialises it for the child_screening fixture form."""
    family = rng.choice(FAMILY)
    head = person(rng, family)
    visit = date(2026, 11, 1) + timedelta(days=rng.randrange(28))
    instance_id = f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    kids = []
    for _ in range(children):
        name = person(rng, family)
        age = rng.randrange(16)
        orphan = "yes" if rng.random() < 0.1 else "no"
        detail = "<orphan_detail>father</orphan_detail>" if orphan == "yes" else "<orphan_detail/>"
        entity = uuid.UUID(int=rng.getrandbits(128), version=4)
        label = escape(f"{name} ({age})")
        kids.append(
            f"<child><child_name>{escape(name)}</child_name><child_age>{age}</child_age>"
            f"<orphan>{orphan}</orphan>{detail}<child_label>{label}</child_label>"
            f'<meta><entity dataset="children" create="1" id="{entity}"><label>{label}</label>'
            "</entity></meta></child>"
        )
    lat, lon = 21.0 + rng.random() / 10, 105.8 + rng.random() / 10
    xml = (
        "<?xml version='1.0' encoding='UTF-8' ?>"
        f'<data id="{form_id}" version="{version}" xmlns:jr="http://openrosa.org/javarosa" '
        'xmlns:orx="http://openrosa.org/xforms">'
        f"<start>{visit}T08:00:00.000+07:00</start><end>{visit}T08:12:00.000+07:00</end>"
        f"<household_head>{escape(head)}</household_head><visit_date>{visit}</visit_date>"
        f"<village>thon{rng.randrange(1, 3)}</village>"
        f"<location>{lat:.5f} {lon:.5f} 12.0 5.0</location>"
        f"<house_photo>{photo_name}</house_photo><num_children>{children}</num_children>"
        + "".join(kids)
        + f"<child_count>{children}</child_count><summary/>"
        f"<meta><instanceID>{instance_id}</instanceID>"
        f"<instanceName>{escape(head)} {visit}</instanceName></meta></data>"
    )
    return instance_id, xml.encode("utf-8")

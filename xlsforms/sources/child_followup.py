"""Child follow-up (Phiếu theo dõi trẻ em): pick a child of the village from the `children`
entity list, see what the registry holds, and update it — circumstances, support received,
moved away, died.

The questionnaire draft had no wording for this form (it covered the household visit); the
labels follow its style, docs/categories.md §5 and docs/domain.md §4, and the protection
section is the screening form's Section F unchanged.
"""

from __future__ import annotations

from xlsforms.sheet import ENTITY_LIST, Form, Row, T, calc, choice_list, q
from xlsforms.sources import choices as c
from xlsforms.sources.sections import exclusive, protection_section

FORM_ID = "child_followup"
VERSION = "2026120501"

THIS_YEAR = "int(format-date(today(), '%Y'))"
ENTITY = f"instance('{ENTITY_LIST}')/root/item[name = ${{child}}]"
STILL_HERE = "${fu_status} = 'still_here'"
MOVED = "${fu_status} = 'moved_away'"
DIED = "${fu_status} = 'died'"

# Entity properties the screening form saves (and the server serves in children.csv),
# plus the ones this form adds. The follow-up reads every one of them as cur_<property>.
PROPERTIES = [
    "full_name",
    "home_name",
    "sex",
    "dob",
    "dob_precision",
    "village",
    "household_head",
    "mother_name",
    "father_name",
    "guardian_name",
    "categories",
    "support",
    "school_status",
    "status",
    "last_visit",
    "death_date",
    "moved_date",
    "moved_to",
]

FU_STATUS = choice_list(
    "fu_status",
    [
        ("still_here", "Vẫn sống tại địa bàn", "Still lives here"),
        ("moved_away", "Đã chuyển đi nơi khác", "Has moved away"),
        ("died", "Đã mất", "Has died"),
        (
            "not_met",
            "Chưa gặp được trẻ/gia đình lần này",
            "Could not meet the child/family this time",
        ),
        (
            "refused",
            "Gia đình không đồng ý tiếp tục cung cấp thông tin",
            "The family no longer agrees to give information",
        ),
    ],
)


def event_date(name: str, label: T) -> Row:
    """A date that is not in the future and not before the child's birth (compared to the
    day when the registry knows the full date of birth, else to the year)."""
    return q(
        "date",
        name,
        label,
        required=True,
        constraint=(
            ". <= today() and "
            "(${cur_dob_precision} != 'full' or . >= date(${cur_dob})) and "
            "(${cur_birth_year} = '' or int(format-date(., '%Y')) >= int(${cur_birth_year}))"
        ),
        constraint_message=T(
            "Ngày không được sau hôm nay hoặc trước ngày sinh của trẻ.",
            "The date cannot be in the future or before the child's birth.",
        ),
    )


METADATA: list[Row] = [
    q("start", "start"),
    q("end", "end"),
    q("today", "today"),
    q("deviceid", "deviceid"),
    q("username", "enumerator"),
]

PICK_CHILD: list[Row] = [
    q(
        "select_one_from_file villages.csv",
        "village",
        T("Thôn/tổ dân phố của trẻ", "The child's village"),
        hint=T(
            "Danh sách trẻ ở câu sau chỉ gồm trẻ của thôn này.",
            "The list of children in the next question shows only this village.",
        ),
        required=True,
        appearance="autocomplete",
        village=True,
    ),
    # The server already sends each app user only their villages' children; the filter
    # narrows a multi-village list and hides children recorded as died.
    q(
        f"select_one_from_file {ENTITY_LIST}.csv",
        "child",
        T("Chọn trẻ", "Choose the child"),
        hint=T(
            "Gõ vài chữ của tên hoặc tên ở nhà để tìm. Mỗi dòng: họ tên (tên ở nhà, nếu có) "
            "(năm sinh).",
            "Type part of the name or home name to search. Each line: full name (home name, "
            "if any) (birth year).",
        ),
        required=True,
        appearance="autocomplete",
        # not(status = 'died') rather than status != 'died': a list without a status
        # column (an older export) must still show every child.
        choice_filter="village = ${village} and not(status = 'died')",
    ),
    *[calc(f"cur_{prop}", f"{ENTITY}/{prop}") for prop in PROPERTIES],
    calc("cur_birth_year", "substr(${cur_dob}, 0, 4)"),
    calc(
        "cur_age",
        f"if(${{cur_birth_year}} != '', {THIS_YEAR} - int(${{cur_birth_year}}), '')",
    ),
    # " (Bắp)" after the full name when the registry knows a home name, else nothing.
    calc(
        "cur_home_name_shown",
        "if(${cur_home_name} != '', concat(' (', ${cur_home_name}, ')'), '')",
    ),
    calc("cur_village_label", "instance('villages')/root/item[name = ${cur_village}]/label"),
    calc(
        "cur_sex_vi",
        "if(${cur_sex} = 'male', 'Nam', if(${cur_sex} = 'female', 'Nữ', 'Không rõ'))",
    ),
    calc(
        "cur_sex_en",
        "if(${cur_sex} = 'male', 'Male', if(${cur_sex} = 'female', 'Female', 'Unknown'))",
    ),
    calc(
        "cur_status_vi",
        "if(${cur_status} = 'moved_away', 'đã chuyển đi', 'đang ở địa bàn')",
    ),
    calc(
        "cur_status_en",
        "if(${cur_status} = 'moved_away', 'moved away', 'living here')",
    ),
    q(
        "note",
        "cur_summary",
        T(
            "**${cur_full_name}**${cur_home_name_shown}\n"
            "Giới tính: ${cur_sex_vi} · Sinh: ${cur_dob}\n"
            "Thôn: ${cur_village_label} · Chủ hộ: ${cur_household_head}\n"
            "Mẹ: ${cur_mother_name} · Cha: ${cur_father_name}\n"
            "Người chăm sóc chính: ${cur_guardian_name}\n"
            "Hoàn cảnh (mã): ${cur_categories}\n"
            "Hỗ trợ (mã): ${cur_support}\n"
            "Tình trạng: ${cur_status_vi} · Lần thăm trước: ${cur_last_visit}",
            "**${cur_full_name}**${cur_home_name_shown}\n"
            "Sex: ${cur_sex_en} · Born: ${cur_dob}\n"
            "Village: ${cur_village_label} · Household head: ${cur_household_head}\n"
            "Mother: ${cur_mother_name} · Father: ${cur_father_name}\n"
            "Main carer: ${cur_guardian_name}\n"
            "Circumstances (codes): ${cur_categories}\n"
            "Support (codes): ${cur_support}\n"
            "Status: ${cur_status_en} · Last visit: ${cur_last_visit}",
        ),
        relevant="${child} != ''",
    ),
]

OUTCOME: list[Row] = [
    q(
        "select_one fu_status",
        "fu_status",
        T("Tình hình của trẻ hiện nay", "The child's situation now"),
        required=True,
    ),
    q(
        "note",
        "note_refused",
        T(
            "Ghi nhận gia đình rút lại sự đồng ý; không thu thập thêm. Cán bộ VH-XH xã sẽ "
            "xử lý yêu cầu.",
            "Withdrawal of consent recorded; no further data. The commune officer will "
            "handle the request.",
        ),
        relevant="${fu_status} = 'refused'",
    ),
    q(
        "begin_group",
        "moved",
        T("Chuyển đi", "Moved away"),
        relevant=MOVED,
        appearance="field-list",
    ),
    event_date(
        "moved_date",
        T("Ngày chuyển đi (ước tính nếu không rõ)", "Date moved (estimate if unknown)"),
    ),
    q(
        "text",
        "moved_to",
        T("Chuyển đến đâu (xã/tỉnh, nếu biết)", "Moved to (commune/province, if known)"),
    ),
    q("end_group", "moved"),
    q("begin_group", "died", T("Trẻ đã mất", "Child has died"), relevant=DIED),
    event_date("death_date", T("Ngày mất", "Date of death")),
    q("end_group", "died"),
]

# Current values are pre-filled when the child is chosen (calculation + trigger), so the
# collaborator edits the record instead of re-entering it. The trigger reads the entity list
# directly, as the ODK docs do, rather than a cur_* calculate that may not be recomputed yet
# when the value-changed event fires.
UPDATE: list[Row] = [
    q("begin_group", "update", T("Cập nhật thông tin", "Update the record"), relevant=STILL_HERE),
    q(
        "text",
        "home_name_now",
        T("Tên thường gọi ở nhà", "Home name (what the family calls the child)"),
        hint=T(
            "Tên cha mẹ hay gọi ở nhà, nếu có (Bắp, Sóc…). Đã điền sẵn — thêm hoặc sửa nếu "
            "cần.",
            "The name the parents call the child at home, if any (Bắp, Sóc…). Pre-filled — "
            "add or correct it if needed.",
        ),
        calculation=f"{ENTITY}/home_name",
        trigger="${child}",
    ),
    q(
        "select_multiple circumstance",
        "circ",
        T(
            "Hoàn cảnh của trẻ hiện nay (đã điền sẵn theo hồ sơ — thêm hoàn cảnh mới, bỏ "
            "hoàn cảnh không còn đúng)",
            "The child's circumstances now (pre-filled from the record — add new ones, "
            "remove those no longer true)",
        ),
        hint=T(
            "Chỉ là đề xuất; cán bộ VH-XH xã xác nhận. Lo ngại về bảo vệ trẻ ghi ở phần "
            "bảo mật cuối phiếu.",
            "Provisional; the commune officer confirms. Protection concerns go in the "
            "confidential part at the end.",
        ),
        calculation=f"{ENTITY}/categories",
        trigger="${child}",
    ),
    q(
        "select_multiple support",
        "support_now",
        T(
            "Hỗ trợ trẻ/gia đình đang nhận (đã điền sẵn — cập nhật nếu có thay đổi)",
            "Support the child/family receives now (pre-filled — update if it changed)",
        ),
        required=True,
        check=exclusive("none", "dont_know"),
        calculation=f"{ENTITY}/support",
        trigger="${child}",
    ),
    q(
        "select_one school_status",
        "school_now",
        T("Hiện nay trẻ", "Currently the child is"),
        required=True,
        relevant="${cur_age} >= 3 or ${cur_birth_year} = ''",
        calculation=f"{ENTITY}/school_status",
        trigger="${child}",
    ),
    q(
        "text",
        "guardian_now",
        T("Họ tên người chăm sóc chính", "Main carer's name"),
        hint=T("Đã điền sẵn — sửa nếu có thay đổi.", "Pre-filled — correct it if it changed."),
        calculation=f"{ENTITY}/guardian_name",
        trigger="${child}",
    ),
    q("end_group", "update"),
]

CLOSING: list[Row] = [
    q(
        "text",
        "z_comment",
        T("Ghi chú của người đi thăm", "Visitor's comment"),
        relevant="${fu_status} != 'refused'",
        appearance="multiline",
    ),
]


def new_if(condition: str, new: str, current: str) -> str:
    """The new value when `condition` holds, else the current one."""
    return f"if({condition}, {new}, {current})"


# What the visit writes back to the entity. Every property falls back to its current value
# when this visit did not ask about it, so a non-relevant question never blanks a property.
ENTITY_UPDATE: list[Row] = [
    calc(
        "out_status",
        f"if({DIED}, 'died', if({MOVED}, 'moved_away', 'active'))",
        save_to="status",
    ),
    calc(
        "out_categories",
        new_if(STILL_HERE, "${circ}", "${cur_categories}"),
        save_to="categories",
    ),
    calc(
        "out_support",
        new_if(STILL_HERE, "${support_now}", "${cur_support}"),
        save_to="support",
    ),
    calc(
        "out_school_status",
        new_if(f"{STILL_HERE} and ${{school_now}} != ''", "${school_now}", "${cur_school_status}"),
        save_to="school_status",
    ),
    calc(
        "out_guardian_name",
        new_if(STILL_HERE, "${guardian_now}", "${cur_guardian_name}"),
        save_to="guardian_name",
    ),
    calc(
        "out_home_name",
        new_if(STILL_HERE, "${home_name_now}", "${cur_home_name}"),
        save_to="home_name",
    ),
    calc(
        "out_death_date",
        new_if(DIED, "format-date(${death_date}, '%Y-%m-%d')", "${cur_death_date}"),
        save_to="death_date",
    ),
    calc(
        "out_moved_date",
        new_if(MOVED, "format-date(${moved_date}, '%Y-%m-%d')", "${cur_moved_date}"),
        save_to="moved_date",
    ),
    calc("out_moved_to", new_if(MOVED, "${moved_to}", "${cur_moved_to}"), save_to="moved_to"),
    calc("out_last_visit", "format-date(${today}, '%Y-%m-%d')", save_to="last_visit"),
]

SURVEY: list[Row] = [
    *METADATA,
    *PICK_CHILD,
    *OUTCOME,
    *UPDATE,
    *protection_section(relevant=STILL_HERE),
    *CLOSING,
    *ENTITY_UPDATE,
]

CHOICES = c.lists(
    FU_STATUS,
    c.YES_NO,
    c.CIRCUMSTANCE,
    c.SUPPORT,
    c.SCHOOL_STATUS,
    c.CONCERN_TYPE,
    c.URGENCY,
)

FORM = Form(
    form_id=FORM_ID,
    title="Phiếu theo dõi trẻ em",
    version=VERSION,
    instance_name="concat(${cur_full_name}, ' – ', ${today})",
    survey=SURVEY,
    choices=CHOICES,
    # Update the chosen child; pyxform adds baseVersion/trunkVersion/branchId from
    # children.csv's __version columns so the server can detect conflicting updates.
    # A visit where the family was not met or withdrew consent changes nothing.
    entities=[
        {
            "list_name": ENTITY_LIST,
            "entity_id": "${child}",
            "update_if": f"{STILL_HERE} or {MOVED} or {DIED}",
        }
    ],
)

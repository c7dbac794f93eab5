"""Household child screening (Phiếu rà soát trẻ em tại hộ gia đình).

Source: the commune's draft questionnaire (section by section in `docs/screening.md`):
question names, wording and choice lists as written there. Where this file departs from
it, the reason is in a comment and in xlsforms/README.md ("Decisions"). The calculations
live in `screening_rules.py`.
"""

from __future__ import annotations

from xlsforms.sheet import ENTITY_LIST, Form, Row, Sensitivity, T, calc, q
from xlsforms.sources import choices as c
from xlsforms.sources.screening_rules import (
    C_AGE,
    C_CATEGORIES,
    C_DOB_VALUE,
    C_ENTITY_LABEL,
    C_YOB,
    FLAG_DISAB,
    FLAG_EXPLOITED,
    FLAG_NO_SUPPORT,
    THIS_MONTH,
    THIS_YEAR,
    age_on_today,
    either,
)
from xlsforms.sources.sections import exclusive, protection_section

FORM_ID = "household_screening"
VERSION = "2026120501"

CONSENTED = "${consent_ok} = 'yes'"


METADATA: list[Row] = [
    q("start", "start"),
    q("end", "end"),
    q("today", "today"),
    q("deviceid", "deviceid"),
    q("username", "enumerator"),
]

# Consent comes straight after the village (which is not personal data and lets a refusal
# be counted per village). The spec lists household head and respondent names before
# consent; they are asked after it so that a refusal records no personal data at all.
CONSENT: list[Row] = [
    q(
        "select_one_from_file villages.csv",
        "village",
        T("Thôn/tổ dân phố", "Village / residential group"),
        required=True,
        appearance="autocomplete",
        village=True,
    ),
    q(
        "select_one yes_no",
        "consent_ok",
        T(
            "Ông/bà đồng ý cung cấp thông tin về trẻ em trong hộ để UBND xã thực hiện chăm "
            "sóc, bảo vệ trẻ em?",
            "Do you agree to give information on the children in this household so the "
            "commune can care for and protect them?",
        ),
        hint=T(
            "Giải thích mục đích trước khi hỏi. Im lặng hoặc không trả lời là không đồng ý.",
            "Explain the purpose before asking. Silence or no answer is not consent.",
        ),
        required=True,
    ),
    q(
        "note",
        "note_refused",
        T(
            "Cảm ơn. Ghi nhận hộ từ chối; không thu thập thêm.",
            "Thank you. Refusal recorded; no further data.",
        ),
        relevant="${consent_ok} = 'no'",
    ),
]

HOUSEHOLD: list[Row] = [
    q(
        "geopoint",
        "hh_gps",
        T("Vị trí hộ (không bắt buộc)", "Household location (optional)"),
    ),
    q("text", "hh_head_name", T("Họ và tên chủ hộ", "Name of household head"), required=True),
    q(
        "text",
        "hh_book_no",
        T("Số hộ (sổ theo dõi/mã hộ nếu có)", "Household number (book / code, if any)"),
    ),
    q(
        "text",
        "hh_address",
        T("Địa chỉ chi tiết (xóm, số nhà)", "Address detail (hamlet, house no.)"),
    ),
    q("text", "resp_name", T("Họ tên người trả lời", "Respondent's name"), required=True),
    q(
        "select_one relation_to_child_generic",
        "resp_role",
        T("Người trả lời là", "Respondent is"),
        required=True,
    ),
    q(
        "select_one poverty",
        "hh_poverty",
        T(
            "Hộ thuộc diện (theo danh sách xã năm nay)",
            "Household status (per this year's commune list)",
        ),
        required=True,
    ),
    q(
        "select_one yes_no_dk",
        "hh_any_child",
        T(
            "Hộ có trẻ em dưới 18 tuổi đang sống hoặc thường sống ở đây không?",
            "Any child under 18 living (or usually living) here?",
        ),
        required=True,
    ),
    q(
        "integer",
        "n_children",
        T("Số trẻ em dưới 18 tuổi", "Number of children under 18"),
        required=True,
        relevant="${hh_any_child} = 'yes'",
        constraint=". >= 1 and . <= 15",
        constraint_message=T("Từ 1 đến 15 trẻ.", "From 1 to 15 children."),
    ),
]

CHILD_IDENTITY: list[Row] = [
    q(
        "text",
        "c_full_name",
        T(
            'Họ và tên trẻ (ghi đủ dấu; nếu chưa đặt tên ghi "Trai"/"Gái")',
            'Child\'s full name (with diacritics; if not yet named write "Trai"/"Gái")',
        ),
        required=True,
        save_to="full_name",
    ),
    # Village heads often know a child only by the name the family uses at home; the
    # matcher and the children list use it beside the full name (docs/screening.md §4).
    q(
        "text",
        "c_home_name",
        T("Tên thường gọi ở nhà", "Home name (what the family calls the child)"),
        hint=T(
            "Tên cha mẹ hay gọi ở nhà, nếu có (Bắp, Sóc…). Không bắt buộc.",
            "The name the parents call the child at home, if any (Bắp, Sóc…). Optional.",
        ),
        save_to="home_name",
    ),
    q(
        "text",
        "c_family",
        T("Họ", "Family name"),
        hint=T(
            "Không bắt buộc; máy chủ tự tách họ nếu để trống.",
            "Optional; the server splits the name if left blank.",
        ),
    ),
    q("select_one sex", "c_sex", T("Giới tính", "Sex"), required=True, save_to="sex"),
    q(
        "select_one dob_known",
        "c_dob_known",
        T("Biết ngày sinh?", "Date of birth known?"),
        required=True,
        save_to="dob_precision",
    ),
    q(
        "date",
        "c_dob",
        T("Ngày sinh", "Date of birth"),
        required=True,
        relevant="${c_dob_known} = 'full'",
        constraint=f". <= today() and {age_on_today('.')} < 18",
        constraint_message=T(
            "Ngày sinh không được sau hôm nay và trẻ phải dưới 18 tuổi.",
            "The date of birth cannot be in the future and the child must be under 18.",
        ),
    ),
    # The spec's relevance `!= 'full'` would also ask the year when only an age estimate
    # is known; its age calculation never uses the year then, so the year is not asked.
    q(
        "integer",
        "c_birth_year",
        T("Năm sinh", "Year of birth"),
        required=True,
        relevant="${c_dob_known} = 'month_year' or ${c_dob_known} = 'year_only'",
        constraint=f". <= {THIS_YEAR} and . >= {THIS_YEAR} - 18",
        constraint_message=T(
            "Năm sinh không được sau năm nay và trẻ phải dưới 18 tuổi.",
            "The year of birth cannot be after this year and the child must be under 18.",
        ),
    ),
    q(
        "integer",
        "c_birth_month",
        T("Tháng sinh (nếu biết)", "Month of birth (if known)"),
        required=True,
        relevant="${c_dob_known} = 'month_year'",
        constraint=(
            f". >= 1 and . <= 12 and (${{c_birth_year}} < {THIS_YEAR} or . <= {THIS_MONTH}) "
            f"and ({THIS_YEAR} - ${{c_birth_year}} - if({THIS_MONTH} < ., 1, 0)) < 18"
        ),
        constraint_message=T(
            "Tháng từ 1 đến 12, không sau tháng này, và trẻ phải dưới 18 tuổi.",
            "A month from 1 to 12, not after this month, and the child must be under 18.",
        ),
    ),
    q(
        "integer",
        "c_age_est",
        T("Tuổi ước tính", "Estimated age"),
        required=True,
        relevant="${c_dob_known} = 'estimated'",
        constraint=". >= 0 and . <= 17",
        constraint_message=T("Tuổi từ 0 đến 17.", "An age from 0 to 17."),
    ),
    calc("c_age", C_AGE),
    q("note", "c_age_note", T("Tuổi: ${c_age}", "Age: ${c_age}")),
    q(
        "text",
        "c_pid",
        T(
            "Số định danh cá nhân (12 số, nếu có)",
            "Personal ID number (12 digits, if any)",
        ),
        hint=T("Để trống nếu trẻ chưa có.", "Leave blank if the child has none."),
        constraint="regex(., '^[0-9]{12}$')",
        constraint_message=T(
            "Số định danh gồm đúng 12 chữ số.", "The personal ID has exactly 12 digits."
        ),
        appearance="numbers",
    ),
    q(
        "select_one yes_no_dk",
        "c_birth_cert",
        T("Trẻ đã có giấy khai sinh?", "Has a birth certificate?"),
        required=True,
    ),
    # Ethnicity is sensitive personal data (Decree 356): asked, but never required.
    q(
        "select_one ethnicity",
        "c_ethnic",
        T("Dân tộc", "Ethnicity"),
        appearance="autocomplete",
        sensitivity=Sensitivity.SENSITIVE,
    ),
    q(
        "select_one how_joined",
        "c_joined",
        T("Trẻ ở trong hộ vì", "Why the child is in this household"),
        required=True,
    ),
    q(
        "select_one yes_no",
        "c_migrant",
        T(
            "Trẻ mới đến xã trong 12 tháng qua (từ tỉnh/xã khác hoặc nước ngoài)?",
            "Arrived in the commune in the last 12 months?",
        ),
        required=True,
    ),
    q(
        "text",
        "c_from_where",
        T("Đến từ đâu", "From where"),
        relevant="${c_migrant} = 'yes'",
    ),
    q(
        "select_one sleep_place",
        "c_sleep",
        T("Trẻ thường ngủ ở đâu", "Where does the child usually sleep"),
        required=True,
    ),
]

CHILD_SCHOOL_WORK: list[Row] = [
    q(
        "select_one school_status",
        "c_school",
        T("Hiện nay trẻ", "Currently the child is"),
        required=True,
        relevant="${c_age} >= 3",
        save_to="school_status",
    ),
    q(
        "integer",
        "c_grade",
        T("Lớp cao nhất đã học xong", "Highest grade completed"),
        required=True,
        relevant="${c_school} = 'dropped_out' or ${c_school} = 'never_attended'",
        constraint=". >= 0 and . <= 12",
        constraint_message=T("Lớp từ 0 đến 12.", "A grade from 0 to 12."),
    ),
    q(
        "select_multiple dropout_reason",
        "c_drop_reason",
        T("Lý do nghỉ học", "Reason for leaving school"),
        required=True,
        relevant="${c_school} = 'dropped_out'",
    ),
    q(
        "select_one yes_no",
        "c_works",
        T(
            "Trong 7 ngày qua trẻ có làm việc để được trả công, hoặc làm thuê/làm cho người "
            "ngoài gia đình?",
            "In the last 7 days, did the child work for pay or for someone outside the family?",
        ),
        required=True,
        relevant="${c_age} >= 5",
    ),
    q(
        "integer",
        "c_work_hours",
        T("Số giờ làm việc trong 7 ngày qua", "Hours worked in the last 7 days"),
        required=True,
        relevant="${c_works} = 'yes'",
        constraint=". >= 0 and . <= 112",
        constraint_message=T("Từ 0 đến 112 giờ.", "From 0 to 112 hours."),
    ),
    q(
        "select_multiple hazard",
        "c_hazard",
        T("Công việc có (chọn tất cả)", "The work involves (select all)"),
        required=True,
        relevant="${c_works} = 'yes'",
        check=exclusive("none"),
    ),
]

ALT_CARE = ["other_relative", "non_relative_family", "grandparent"]
CHILD_CARE: list[Row] = [
    q(
        "text",
        "c_mother_name",
        T("Họ tên mẹ đẻ", "Birth mother's name"),
        hint=T("Để trống nếu không biết.", "Leave blank if unknown."),
        save_to="mother_name",
    ),
    q(
        "select_one parent_status",
        "c_mother_status",
        T("Tình trạng của mẹ", "Mother's situation"),
        required=True,
    ),
    q(
        "text",
        "c_father_name",
        T("Họ tên cha đẻ", "Birth father's name"),
        hint=T("Để trống nếu không biết.", "Leave blank if unknown."),
        save_to="father_name",
    ),
    q(
        "select_one parent_status",
        "c_father_status",
        T("Tình trạng của cha", "Father's situation"),
        required=True,
    ),
    q(
        "select_one carer_type",
        "c_carer",
        T("Hiện nay ai trực tiếp nuôi dưỡng trẻ", "Who cares for the child now"),
        required=True,
    ),
    q(
        "text",
        "c_carer_name",
        T("Họ tên người chăm sóc chính", "Main carer's name"),
        relevant="${c_carer} != 'both_parents' and ${c_carer} != 'no_one'",
        save_to="guardian_name",
    ),
    q(
        "text",
        "c_carer_phone",
        T("Số điện thoại người chăm sóc", "Carer's phone"),
        relevant="${c_carer} != 'no_one'",
        constraint="regex(., '^0[0-9]{9}$')",
        constraint_message=T(
            "Số điện thoại gồm 10 chữ số, bắt đầu bằng 0.",
            "A phone number has 10 digits and starts with 0.",
        ),
        appearance="numbers",
    ),
    q(
        "select_one yes_no_dk",
        "c_care_registered",
        T(
            "Việc chăm sóc thay thế đã đăng ký với UBND xã?",
            "Alternative care registered with the commune?",
        ),
        required=True,
        relevant=either("${c_carer}", ALT_CARE),
    ),
    calc(
        "flag_orphan_both",
        "if(${c_mother_status} = 'dead' and ${c_father_status} = 'dead', 1, 0)",
    ),
    calc("flag_no_support", FLAG_NO_SUPPORT),
    q(
        "note",
        "note_urgent_care",
        T(
            "⚠ Trẻ không có người chăm sóc — báo ngay cán bộ VH-XH xã.",
            "⚠ Child has no carer — report to the commune officer now.",
        ),
        relevant="${c_carer} = 'no_one'",
    ),
]

DIFFICULTY_ITEMS: list[tuple[str, str, str]] = [
    (
        "d_see",
        "Trẻ có khó khăn khi nhìn (kể cả khi đeo kính)?",
        "Difficulty seeing (even with glasses)?",
    ),
    (
        "d_hear",
        "… khi nghe (kể cả khi dùng máy trợ thính)?",
        "… hearing (even with a hearing aid)?",
    ),
    ("d_walk", "… khi đi lại?", "… walking?"),
    ("d_selfcare", "… tự ăn uống, mặc quần áo?", "… feeding/dressing self?"),
    (
        "d_communicate",
        "… khi giao tiếp, hiểu người khác nói hoặc người khác hiểu trẻ?",
        "… communicating, understanding or being understood?",
    ),
    ("d_learn", "… khi học tập, ghi nhớ?", "… learning, remembering?"),
    ("d_behaviour", "… kiểm soát hành vi?", "… controlling behaviour?"),
]

# The functioning items share one screen so the "…" wording reads as one question with
# seven parts. They apply from age 2 (self-care from 5); the certificate can exist at any age.
CHILD_FUNCTIONING: list[Row] = [
    q(
        "begin_group",
        "d_functioning",
        T("Khả năng hoạt động", "Functioning"),
        relevant="${c_age} >= 2",
        appearance="field-list",
        sensitivity=Sensitivity.HEALTH,
    ),
    *[
        q(
            "select_one difficulty",
            name,
            T(vi, en),
            required=True,
            relevant="${c_age} >= 5" if name == "d_selfcare" else None,
        )
        for name, vi, en in DIFFICULTY_ITEMS
    ],
    q("end_group", "d_functioning"),
    q(
        "select_one yes_no_dk",
        "d_cert",
        T(
            "Trẻ đã được xác định mức độ khuyết tật (có giấy xác nhận)?",
            "Has a disability certificate?",
        ),
        required=True,
        sensitivity=Sensitivity.HEALTH,
    ),
    q(
        "select_one disab_level",
        "d_level",
        T("Mức độ khuyết tật ghi trên giấy", "Level on certificate"),
        required=True,
        relevant="${d_cert} = 'yes'",
        sensitivity=Sensitivity.HEALTH,
    ),
    calc("flag_disab", FLAG_DISAB, sensitivity=Sensitivity.HEALTH),
]

CHILD_HEALTH: list[Row] = [
    q(
        "select_one yes_no_dk",
        "e_bhyt",
        T("Trẻ có thẻ bảo hiểm y tế còn hạn?", "Valid health-insurance card?"),
        required=True,
        sensitivity=Sensitivity.HEALTH,
    ),
    q(
        "select_one yes_no_dk",
        "e_longterm",
        T(
            "Trẻ đang mắc bệnh nặng hoặc bệnh phải điều trị dài ngày?",
            "Serious or long-term illness under treatment?",
        ),
        required=True,
        sensitivity=Sensitivity.HEALTH,
    ),
    q(
        "text",
        "e_illness",
        T(
            "Tên bệnh (nếu gia đình muốn cho biết)",
            "Illness (if the family wishes to say)",
        ),
        relevant="${e_longterm} = 'yes'",
        sensitivity=Sensitivity.HEALTH,
    ),
    q(
        "note",
        "e_note_hiv",
        T(
            "(Không hỏi về HIV. Trạm Y tế cập nhật từ hồ sơ y tế nếu có.)",
            "(Do not ask about HIV. The health station updates this from health records "
            "if applicable.)",
        ),
        sensitivity=Sensitivity.HEALTH,
    ),
    q(
        "select_one yes_no_dk",
        "e_vacc",
        T(
            "Trẻ dưới 1 tuổi đã tiêm chủng đủ theo tuổi?",
            "(Under 1) fully vaccinated for age?",
        ),
        required=True,
        relevant="${c_age} < 1",
        sensitivity=Sensitivity.HEALTH,
    ),
]

CHILD_SUPPORT: list[Row] = [
    q(
        "select_multiple support",
        "g_support",
        T("Trẻ/gia đình đang được nhận", "The child/family currently receives"),
        required=True,
        check=exclusive("none", "dont_know"),
        save_to="support",
    ),
    q(
        "select_one yes_no",
        "g_child_assent",
        T(
            "(Trẻ từ 7 tuổi) Trẻ đồng ý cho ghi thông tin?",
            "(Child aged 7+) Child agrees to the information being recorded?",
        ),
        required=True,
        relevant="${c_age} >= 7",
    ),
]

# Entity properties that live outside the repeat are copied in: every save_to and the
# entity label must sit in the repeat that creates the entity (entities spec 2025.1.0).
CHILD_ENTITY: list[Row] = [
    calc("flag_exploited", FLAG_EXPLOITED),
    calc("c_categories", C_CATEGORIES, save_to="categories"),
    calc("c_village", "${village}", save_to="village"),
    calc("c_household_head", "${hh_head_name}", save_to="household_head"),
    calc("c_yob", C_YOB),
    calc("c_dob_value", C_DOB_VALUE, save_to="dob"),
    calc("c_status", "'active'", save_to="status"),
    calc("c_entity_label", C_ENTITY_LABEL),
]

CLOSING_GATED: list[Row] = [
    calc("child_count", "count(${child})"),
    q(
        "text",
        "z_comment",
        T("Ghi chú của người rà soát", "Enumerator comment"),
        appearance="multiline",
    ),
]

CLOSING: list[Row] = [
    q(
        "select_one yes_no",
        "z_followup",
        T("Cần cán bộ xã đến thăm lại hộ?", "Does the household need a follow-up visit?"),
        required=True,
    ),
    q("note", "z_thanks", T("Cảm ơn gia đình.", "Thank you.")),
]

SURVEY: list[Row] = [
    *METADATA,
    *CONSENT,
    # Every question with personal data sits in this group: when consent is not given the
    # group is not relevant, so nothing in it is asked or submitted.
    q(
        "begin_group",
        "household",
        T("Thông tin hộ gia đình", "Household"),
        relevant=CONSENTED,
    ),
    *HOUSEHOLD,
    q(
        "begin_repeat",
        "child",
        T("Trẻ em", "Child"),
        relevant="${hh_any_child} = 'yes'",
        repeat_count="${n_children}",
    ),
    *CHILD_IDENTITY,
    *CHILD_SCHOOL_WORK,
    *CHILD_CARE,
    *CHILD_FUNCTIONING,
    *CHILD_HEALTH,
    *protection_section(),
    *CHILD_SUPPORT,
    *CHILD_ENTITY,
    q("end_repeat", "child"),
    *CLOSING_GATED,
    q("end_group", "household"),
    *CLOSING,
]

CHOICES = c.lists(
    c.YES_NO,
    c.YES_NO_DK,
    c.SEX,
    c.DOB_KNOWN,
    c.POVERTY,
    c.RELATION_TO_CHILD,
    c.HOW_JOINED,
    c.SLEEP_PLACE,
    c.SCHOOL_STATUS,
    c.DROPOUT_REASON,
    c.HAZARD,
    c.PARENT_STATUS,
    c.CARER_TYPE,
    c.DIFFICULTY,
    c.DISAB_LEVEL,
    c.CONCERN_TYPE,
    c.URGENCY,
    c.SUPPORT,
    c.ETHNICITY,
)

FORM = Form(
    form_id=FORM_ID,
    title="Phiếu rà soát trẻ em tại hộ gia đình",
    version=VERSION,
    # Village name, household head (or "refused"), date: what Collect lists drafts and
    # sent forms by.
    instance_name=(
        "concat(instance('villages')/root/item[name = ${village}]/label, ' – ', "
        "if(${consent_ok} = 'yes', ${hh_head_name}, 'từ chối / refused'), ' – ', ${today})"
    ),
    survey=SURVEY,
    choices=CHOICES,
    # One `children` entity per child (repeat instance); the label is name + birth year.
    entities=[{"list_name": ENTITY_LIST, "label": "${c_entity_label}"}],
)

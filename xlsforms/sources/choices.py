"""Choice lists of both forms (docs/screening.md); category labels of docs/categories.md §5.

Both forms draw from here so a list reads the same on every form.
"""

from __future__ import annotations

from xlsforms.sheet import Row, choice_list

YES_NO = choice_list("yes_no", [("yes", "Có", "Yes"), ("no", "Không", "No")])

YES_NO_DK = choice_list(
    "yes_no_dk",
    [("yes", "Có", "Yes"), ("no", "Không", "No"), ("dk", "Không biết", "Don't know")],
)

SEX = choice_list(
    "sex", [("male", "Nam", "Male"), ("female", "Nữ", "Female"), ("unknown", "Không rõ", "Unknown")]
)

DOB_KNOWN = choice_list(
    "dob_known",
    [
        ("full", "Biết đủ ngày/tháng/năm", "Full date known"),
        ("month_year", "Chỉ biết tháng và năm", "Month and year only"),
        ("year_only", "Chỉ biết năm", "Year only"),
        ("estimated", "Ước tính tuổi", "Estimate age"),
    ],
)

POVERTY = choice_list(
    "poverty",
    [
        ("poor", "Hộ nghèo", "Poor household"),
        ("near_poor", "Hộ cận nghèo", "Near-poor household"),
        ("none", "Không thuộc diện", "Neither"),
        ("unknown", "Không rõ", "Unknown"),
    ],
)

RELATION_TO_CHILD = choice_list(
    "relation_to_child_generic",
    [
        ("parent", "Cha/mẹ", "Parent"),
        ("grandparent", "Ông/bà", "Grandparent"),
        ("other_relative", "Người thân khác", "Other relative"),
        ("non_relative", "Không phải người thân", "Non-relative"),
    ],
)

HOW_JOINED = choice_list(
    "how_joined",
    [
        (
            "own_child",
            "Con đẻ của cha/mẹ trong hộ",
            "Biological child of a parent in the household",
        ),
        ("grandchild_relative", "Cháu/người thân gửi nuôi", "Grandchild/relative placed here"),
        (
            "non_relative_care",
            "Nhận chăm sóc (không phải người thân)",
            "Cared for by non-relatives",
        ),
        ("adopted", "Con nuôi (đã đăng ký)", "Adopted (registered)"),
        ("found_abandoned", "Trẻ bị bỏ rơi được nhận về", "Abandoned child taken in"),
        ("other", "Khác", "Other"),
    ],
)

SLEEP_PLACE = choice_list(
    "sleep_place",
    [
        ("this_house", "Tại hộ này", "In this household"),
        ("other_family", "Nhà người khác", "Another family's home"),
        ("dormitory_school", "Ký túc xá/trường nội trú", "Dormitory/boarding school"),
        ("workplace", "Nơi làm việc", "Workplace"),
        ("street_public_place", "Ngoài đường/nơi công cộng", "Street/public place"),
        ("facility", "Cơ sở trợ giúp xã hội", "Social assistance facility"),
    ],
)

SCHOOL_STATUS = choice_list(
    "school_status",
    [
        ("in_preschool", "Đang học mầm non", "In preschool"),
        ("in_school", "Đang đi học phổ thông/nghề", "In school/vocational"),
        ("dropped_out", "Đã bỏ học", "Dropped out"),
        ("never_attended", "Chưa từng đi học", "Never attended"),
        ("graduated", "Đã tốt nghiệp THPT", "Finished upper secondary"),
    ],
)

DROPOUT_REASON = choice_list(
    "dropout_reason",
    [
        ("work_earn", "Đi làm kiếm sống", "Work to earn a living"),
        ("help_family", "Ở nhà giúp gia đình", "Help at home"),
        ("illness_disability", "Ốm đau/khuyết tật", "Illness/disability"),
        ("cost", "Không đủ chi phí", "Cannot afford"),
        ("distance", "Trường xa", "School too far"),
        ("marriage", "Kết hôn", "Marriage"),
        ("other", "Khác", "Other"),
    ],
)

HAZARD = choice_list(
    "hazard",
    [
        ("heavy_loads", "Mang vác nặng", "Heavy loads"),
        ("chemicals_pesticide", "Hóa chất, thuốc trừ sâu", "Chemicals, pesticides"),
        ("machinery", "Máy móc nguy hiểm", "Dangerous machinery"),
        ("night_work", "Làm đêm", "Night work"),
        ("mines_quarry", "Hầm mỏ, khai thác đá", "Mines, quarries"),
        ("far_from_home", "Làm xa nhà, ở lại nơi làm", "Far from home, lives at work"),
        ("bars_karaoke", "Quán bar, karaoke, nhà nghỉ", "Bars, karaoke, guesthouses"),
        ("none", "Không có các yếu tố trên", "None of these"),
    ],
)

PARENT_STATUS = choice_list(
    "parent_status",
    [
        ("alive_with_child", "Còn sống, sống cùng trẻ", "Alive, lives with child"),
        (
            "alive_elsewhere",
            "Còn sống, ở nơi khác (đi làm xa, ly hôn…)",
            "Alive, lives elsewhere (migrant work, divorced…)",
        ),
        ("dead", "Đã mất", "Dead"),
        ("missing_declared", "Bị tòa án tuyên bố mất tích", "Legally declared missing"),
        (
            "missing_not_declared",
            "Không rõ tin tức (chưa có tuyên bố)",
            "Whereabouts unknown (not declared)",
        ),
        (
            "prison_or_compulsory",
            "Đang chấp hành án phạt tù / cơ sở giáo dục bắt buộc / cai nghiện bắt buộc",
            "In prison / compulsory education / compulsory rehab",
        ),
        (
            "in_social_facility",
            "Đang được nuôi dưỡng tại cơ sở trợ giúp xã hội",
            "Cared for in a social assistance facility",
        ),
        (
            "unable_to_care",
            "Không còn khả năng chăm sóc (bệnh nặng, khuyết tật…)",
            "Unable to care (severe illness, disability…)",
        ),
        ("unknown", "Không xác định được cha/mẹ", "Parent not identified"),
    ],
)

CARER_TYPE = choice_list(
    "carer_type",
    [
        ("both_parents", "Cả cha và mẹ", "Both parents"),
        ("mother_only", "Chỉ mẹ", "Mother only"),
        ("father_only", "Chỉ cha", "Father only"),
        ("grandparent", "Ông/bà", "Grandparent"),
        ("other_relative", "Người thân khác", "Other relative"),
        (
            "non_relative_family",
            "Cá nhân/gia đình không phải người thân",
            "Non-relative individual/family",
        ),
        ("adoptive_parents", "Cha mẹ nuôi", "Adoptive parents"),
        ("social_facility", "Cơ sở trợ giúp xã hội", "Social assistance facility"),
        ("no_one", "Không có ai chăm sóc", "No one"),
    ],
)

DIFFICULTY = choice_list(
    "difficulty",
    [
        ("none", "Không khó khăn", "No difficulty"),
        ("some", "Có chút khó khăn", "Some difficulty"),
        ("a_lot", "Rất khó khăn", "A lot of difficulty"),
        ("cannot", "Không thể làm được", "Cannot do at all"),
    ],
)

DISAB_LEVEL = choice_list(
    "disab_level",
    [
        ("especially_severe", "Đặc biệt nặng", "Especially severe"),
        ("severe", "Nặng", "Severe"),
        ("mild", "Nhẹ", "Mild"),
    ],
)

# Enumerator-observation lists (Section F): used only inside the confidential group,
# never read to the family.
CONCERN_TYPE = choice_list(
    "concern_type",
    [
        ("violence_injury", "Dấu hiệu bạo lực/thương tích", "Signs of violence/injury"),
        (
            "missing_or_taken",
            "Trẻ bị đưa đi/mất tích/trở về sau khi bị đưa đi",
            "Child taken away/missing/returned",
        ),
        ("police_court", "Trẻ bị công an/tòa án xử lý", "Child dealt with by police/court"),
        ("substance_use", "Nghi sử dụng chất gây nghiện", "Suspected substance use"),
        ("neglect_no_carer", "Bị bỏ mặc/không người chăm sóc", "Neglect/no carer"),
        ("sexual_abuse_suspected", "Nghi bị xâm hại tình dục", "Suspected sexual abuse"),
        ("other", "Khác", "Other"),
    ],
)

URGENCY = choice_list(
    "urgency",
    [
        ("immediate_danger", "Nguy hiểm tức thời", "Immediate danger"),
        ("within_week", "Cần xử lý trong tuần", "Needs action this week"),
        ("routine", "Theo dõi thường xuyên", "Routine follow-up"),
    ],
)

SUPPORT = choice_list(
    "support",
    [
        ("monthly_allowance", "Trợ cấp xã hội hàng tháng", "Monthly social allowance"),
        ("health_insurance_free", "BHYT do Nhà nước cấp/hỗ trợ", "State-funded health insurance"),
        (
            "school_fee_exempt",
            "Miễn/giảm học phí, hỗ trợ học tập",
            "School-fee exemption/study support",
        ),
        ("alt_care_support", "Hỗ trợ chăm sóc thay thế", "Alternative-care support"),
        ("counselling", "Tư vấn, trị liệu tâm lý", "Counselling/psychological support"),
        ("legal_aid", "Trợ giúp pháp lý", "Legal aid"),
        ("medical_support", "Hỗ trợ khám chữa bệnh", "Medical support"),
        ("in_kind", "Quà, hiện vật, học bổng", "Gifts/in-kind/scholarship"),
        ("none", "Chưa nhận hỗ trợ", "None"),
        ("dont_know", "Không rõ", "Don't know"),
    ],
)

# The 54 ethnic groups, Kinh first, in the order of the national statistics list as we know
# it; names are ASCII slugs, never renumbered. Spelling to be checked against the GSO list.
_ETHNIC_GROUPS = [
    ("kinh", "Kinh", "Kinh"),
    ("tay", "Tày", "Tay"),
    ("thai", "Thái", "Thai"),
    ("hoa", "Hoa", "Hoa (ethnic Chinese)"),
    ("khmer", "Khơ-me", "Khmer"),
    ("muong", "Mường", "Muong"),
    ("nung", "Nùng", "Nung"),
    ("hmong", "Mông", "Hmong"),
    ("dao", "Dao", "Dao"),
    ("gia_rai", "Gia-rai", "Gia Rai"),
    ("ngai", "Ngái", "Ngai"),
    ("e_de", "Ê-đê", "E De"),
    ("ba_na", "Ba-na", "Ba Na"),
    ("xo_dang", "Xơ-đăng", "Xo Dang"),
    ("san_chay", "Sán Chay", "San Chay"),
    ("co_ho", "Cơ-ho", "Co Ho"),
    ("cham", "Chăm", "Cham"),
    ("san_diu", "Sán Dìu", "San Diu"),
    ("hre", "Hrê", "Hre"),
    ("mnong", "Mnông", "Mnong"),
    ("ra_glai", "Ra-glai", "Ra Glai"),
    ("xtieng", "Xtiêng", "Xtieng"),
    ("bru_van_kieu", "Bru-Vân Kiều", "Bru-Van Kieu"),
    ("tho", "Thổ", "Tho"),
    ("giay", "Giáy", "Giay"),
    ("co_tu", "Cơ-tu", "Co Tu"),
    ("gie_trieng", "Giẻ-Triêng", "Gie Trieng"),
    ("ma", "Mạ", "Ma"),
    ("kho_mu", "Khơ-mú", "Kho Mu"),
    ("co", "Co", "Co"),
    ("ta_oi", "Tà-ôi", "Ta Oi"),
    ("cho_ro", "Chơ-ro", "Cho Ro"),
    ("khang", "Kháng", "Khang"),
    ("xinh_mun", "Xinh-mun", "Xinh Mun"),
    ("ha_nhi", "Hà Nhì", "Ha Nhi"),
    ("chu_ru", "Chu-ru", "Chu Ru"),
    ("lao", "Lào", "Lao"),
    ("la_chi", "La Chí", "La Chi"),
    ("la_ha", "La Ha", "La Ha"),
    ("phu_la", "Phù Lá", "Phu La"),
    ("la_hu", "La Hủ", "La Hu"),
    ("lu", "Lự", "Lu"),
    ("lo_lo", "Lô Lô", "Lo Lo"),
    ("chut", "Chứt", "Chut"),
    ("mang", "Mảng", "Mang"),
    ("pa_then", "Pà Thẻn", "Pa Then"),
    ("co_lao", "Cờ Lao", "Co Lao"),
    ("cong", "Cống", "Cong"),
    ("bo_y", "Bố Y", "Bo Y"),
    ("si_la", "Si La", "Si La"),
    ("pu_peo", "Pu Péo", "Pu Peo"),
    ("brau", "Brâu", "Brau"),
    ("o_du", "Ơ Đu", "O Du"),
    ("ro_mam", "Rơ-măm", "Ro Mam"),
]
ETHNIC_GROUP_COUNT = len(_ETHNIC_GROUPS)
ETHNICITY = choice_list(
    "ethnicity",
    [
        *_ETHNIC_GROUPS,
        ("foreign", "Người nước ngoài", "Foreign"),
        ("unknown", "Không rõ", "Unknown"),
    ],
)

# Special-circumstance codes a collaborator may see and set on a phone: the labels
# of docs/categories.md §5, minus the sensitive codes of docs/privacy.md §4 (E, G, I, L, M,
# DD, PLAN-HIVAFF), which only officers set, never a form at the door. The server must
# send children.csv `categories` drawn from this list only.
PHONE_CATEGORIES: list[tuple[str, str, str]] = [
    ("HCDB-A", "Trẻ em mồ côi cả cha và mẹ", "Orphan, both parents dead"),
    ("HCDB-B", "Trẻ em bị bỏ rơi", "Abandoned"),
    ("HCDB-C", "Trẻ em không nơi nương tựa", "No one to rely on"),
    ("HCDB-D", "Trẻ em khuyết tật", "With disability"),
    (
        "HCDB-H",
        "Bỏ học kiếm sống chưa hoàn thành phổ cập THCS",
        "Dropped out to earn a living",
    ),
    ("HCDB-K", "Trẻ em bị bóc lột", "Exploited (incl. labour)"),
    (
        "HCDB-N",
        "Bệnh hiểm nghèo/điều trị dài ngày thuộc hộ nghèo/cận nghèo",
        "Serious/long-term illness in poor/near-poor household",
    ),
    (
        "HCDB-O",
        "Trẻ em di cư/lánh nạn/tị nạn chưa xác định cha mẹ/không người chăm sóc",
        "Migrant/refugee without parents or carer",
    ),
    ("PLAN-POOR", "Trẻ em thuộc hộ nghèo/cận nghèo", "Child of poor/near-poor household"),
    ("PLAN-LABOUR", "Lao động trẻ em (chưa đến mức bóc lột)", "Child labour (not meeting K)"),
    (
        "PLAN-STREET",
        "Trẻ em lang thang/sống ngoài gia đình",
        "Street child / living away from family",
    ),
    ("RISK", "Trẻ em có nguy cơ rơi vào HCĐB", "At risk of special circumstances"),
    ("AGEOUT-16-22", "Đã đủ 16, còn hưởng trợ cấp đến 22", "Aged 16–22 still entitled (studying)"),
]
CIRCUMSTANCE = choice_list("circumstance", PHONE_CATEGORIES)


def lists(*choice_lists: list[Row]) -> list[Row]:
    """Concatenate choice lists into one choices sheet."""
    return [row for rows in choice_lists for row in rows]

"""Rows both forms share: the confidential protection-concern section (Section F of
`docs/screening.md` §4) and a shared constraint."""

from __future__ import annotations

from xlsforms.sheet import Check, Row, Sensitivity, T, q

PROTECTION_GROUP = "f_protection"


def exclusive(*choices: str) -> Check:
    """Constraint (and its message) for a select_multiple where each of `choices`
    ("none", "dont_know") must be the only answer."""
    parts = " and ".join(
        f"not(selected(., '{choice}') and count-selected(.) > 1)" for choice in choices
    )
    if "dont_know" in choices:
        message = T(
            "“Chưa nhận”/“Không rõ” không chọn cùng lựa chọn khác.",
            "“None”/“Don't know” cannot be combined with other answers.",
        )
    else:
        message = T(
            "“Không có” không chọn cùng lựa chọn khác.",
            "“None” cannot be combined with other answers.",
        )
    return Check(parts, message)


def protection_section(relevant: str | None = None) -> list[Row]:
    """Section F: the enumerator's own observation, filled in after the visit and never
    read aloud. It records only whether there is a concern, its type, urgency and a short
    note for the commune child-protection officer — no question to the family about abuse,
    HIV or drugs (docs/privacy.md §2). One screen (field-list) so it is filled in one go."""
    concern_yes = "${f_concern} = 'yes'"
    note_limit = "string-length(.) <= 500"
    return [
        q(
            "begin_group",
            PROTECTION_GROUP,
            T(
                "Dấu hiệu cần bảo vệ — người rà soát tự điền, bảo mật",
                "Protection concern — enumerator's observation, confidential",
            ),
            relevant=relevant,
            appearance="field-list",
            sensitivity=Sensitivity.CONFIDENTIAL,
        ),
        q(
            "select_one yes_no",
            "f_concern",
            T(
                "Ông/bà (người rà soát) có lo ngại trẻ đang bị tổn hại hoặc có nguy cơ "
                "(bạo lực, bị bỏ mặc, bị đưa đi, bị xâm hại, sử dụng chất gây nghiện, "
                "bị công an/tòa án xử lý)?",
                "Do you (enumerator) have a concern that the child is harmed or at risk "
                "(violence, neglect, taken away, abuse, substance use, dealt with by "
                "police/court)?",
            ),
            hint=T(
                "Không đọc các mục này cho gia đình. Người rà soát tự điền sau buổi thăm.",
                "Do not read these items aloud to the household. Fill them in after the visit.",
            ),
            required=True,
        ),
        q(
            "select_multiple concern_type",
            "f_type",
            T("Loại lo ngại", "Type of concern"),
            hint=T(
                "Chỉ ghi nhận nghi ngờ của người rà soát; không hỏi gia đình.",
                "Record your suspicion only; never ask the family.",
            ),
            required=True,
            relevant=concern_yes,
        ),
        q(
            "select_one urgency",
            "f_urgency",
            T("Mức độ khẩn cấp", "Urgency"),
            required=True,
            relevant=concern_yes,
        ),
        q(
            "text",
            "f_note",
            T(
                "Ghi chú ngắn (chỉ cán bộ bảo vệ trẻ em xã xem)",
                "Short note (commune child-protection officer only)",
            ),
            hint=T("Tối đa 500 ký tự.", "At most 500 characters."),
            relevant=concern_yes,
            constraint=note_limit,
            constraint_message=T(
                "Ghi chú dài quá 500 ký tự.", "The note is longer than 500 characters."
            ),
            appearance="multiline",
        ),
        q(
            "note",
            "f_hotline",
            T(
                "Trường hợp khẩn cấp gọi Tổng đài quốc gia bảo vệ trẻ em 111 và báo Chủ tịch "
                "UBND xã.",
                "In an emergency call the national child-protection hotline 111 and inform "
                "the commune chair.",
            ),
        ),
        q("end_group", PROTECTION_GROUP),
    ]

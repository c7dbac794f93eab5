"""The household screening form's calculations, as XPath: the child's age, the spec's
flags, and the provisional special-circumstance categories a phone may show.

They follow the mapping table of `docs/screening.md` §7; the server's rules are
authoritative (docs/categories.md §6).
"""

from __future__ import annotations

THIS_YEAR = "int(format-date(today(), '%Y'))"
THIS_MONTH = "int(format-date(today(), '%m'))"


def age_on_today(dob: str) -> str:
    """Completed years between `dob` and today: the year difference, minus one until
    the birthday (month-day compared as numbers, e.g. 0315 < 1201)."""
    return (
        f"{THIS_YEAR} - int(format-date({dob}, '%Y')) - "
        f"if(format-date(today(), '%m%d') < format-date({dob}, '%m%d'), 1, 0)"
    )


def either(field: str, values: list[str]) -> str:
    return "(" + " or ".join(f"{field} = '{value}'" for value in values) + ")"


# The spec's `int((today()-dob) div 365.25)` is off by one near birthdays; this is exact.
# When the month of birth is known it is used too.
C_AGE = (
    f"if(${{c_dob_known}} = 'full', {age_on_today('${c_dob}')}, "
    "if(${c_dob_known} = 'estimated', ${c_age_est}, "
    f"if(${{c_dob_known}} = 'month_year', {THIS_YEAR} - ${{c_birth_year}} - "
    f"if({THIS_MONTH} < ${{c_birth_month}}, 1, 0), "
    f"{THIS_YEAR} - ${{c_birth_year}})))"
)

# Decree 56 / Decree 20 "no one to rely on": both parents in one of these situations
# (and not both dead, which is HCDB-A). The server re-checks the exact combinations.
NO_SUPPORT_STATUSES = [
    "dead",
    "missing_declared",
    "prison_or_compulsory",
    "in_social_facility",
    "unable_to_care",
]
FLAG_NO_SUPPORT = (
    "if(${flag_orphan_both} = 0 and "
    f"{either('${c_mother_status}', NO_SUPPORT_STATUSES)} and "
    f"{either('${c_father_status}', NO_SUPPORT_STATUSES)}, 1, 0)"
)

DOMAINS = [
    "d_see",
    "d_hear",
    "d_walk",
    "d_selfcare",
    "d_communicate",
    "d_learn",
    "d_behaviour",
]
FLAG_DISAB = (
    "if(${d_cert} = 'yes' or "
    + " or ".join(f"selected(${{{d}}}, 'a_lot') or selected(${{{d}}}, 'cannot')" for d in DOMAINS)
    + ", 1, 0)"
)

# HCDB-K thresholds (under 13, over 40 hours, any hazard) are the spec's placeholders,
# to be set by the officer with the Labour Code rules for minors [U].
FLAG_EXPLOITED = (
    "if(${c_works} = 'yes' and (${c_age} < 13 or ${c_work_hours} > 40 or "
    "(count-selected(${c_hazard}) > 0 and not(selected(${c_hazard}, 'none')))), 1, 0)"
)

POOR = either("${hh_poverty}", ["poor", "near_poor"])
PARENTS_UNKNOWN = "(${c_mother_status} = 'unknown' and ${c_father_status} = 'unknown')"
RISK_STATUSES = ["dead", "prison_or_compulsory", "missing_not_declared"]

# Provisional categories shown on phones (entity property `categories`), from the mapping
# table of docs/screening.md §7. Only non-sensitive codes (choices.
# PHONE_CATEGORIES); referrals from the confidential Section F never reach this list, and
# RISK here leaves out f_urgency for the same reason. The server's rules are authoritative
# and replace this value when they serve children.csv.
CATEGORY_RULES: list[tuple[str, str]] = [
    ("HCDB-A", "${flag_orphan_both} = 1"),
    ("HCDB-B", f"${{c_joined}} = 'found_abandoned' or {PARENTS_UNKNOWN}"),
    ("HCDB-C", "${flag_no_support} = 1"),
    ("HCDB-D", "${flag_disab} = 1"),
    (
        "HCDB-H",
        "${c_age} < 16 and ${c_school} = 'dropped_out' and "
        "selected(${c_drop_reason}, 'work_earn') and ${c_grade} < 9",
    ),
    ("HCDB-K", "${flag_exploited} = 1"),
    ("HCDB-N", f"${{e_longterm}} = 'yes' and {POOR}"),
    ("HCDB-O", f"${{c_migrant}} = 'yes' and ({PARENTS_UNKNOWN} or ${{c_carer}} = 'no_one')"),
    ("PLAN-POOR", POOR),
    ("PLAN-LABOUR", "${c_works} = 'yes' and ${flag_exploited} = 0"),
    ("PLAN-STREET", either("${c_sleep}", ["street_public_place", "workplace"])),
    (
        "RISK",
        f"{either('${c_mother_status}', RISK_STATUSES)} or "
        f"{either('${c_father_status}', RISK_STATUSES)} or ${{c_carer}} = 'no_one'",
    ),
]
C_CATEGORIES = (
    "normalize-space(concat("
    + ", ".join(f"if({rule}, '{code} ', '')" for code, rule in CATEGORY_RULES)
    + "))"
)

# Birth year for the entity label, and the date of birth at its known precision in the
# registry's import format (YYYY-MM-DD, YYYY-MM or YYYY; an estimate gives a year).
C_YOB = (
    "if(${c_dob_known} = 'full', format-date(${c_dob}, '%Y'), "
    f"if(${{c_dob_known}} = 'estimated', {THIS_YEAR} - ${{c_age_est}}, ${{c_birth_year}}))"
)
C_DOB_VALUE = (
    "if(${c_dob_known} = 'full', format-date(${c_dob}, '%Y-%m-%d'), "
    "if(${c_dob_known} = 'month_year', "
    "concat(${c_birth_year}, '-', if(${c_birth_month} < 10, '0', ''), ${c_birth_month}), "
    "${c_yob}))"
)
# `Họ tên (tên ở nhà) (năm sinh)`: the home name in the label lets a collaborator who knows
# the child only as "Bắp" find it in the follow-up's child list (autocomplete on the label).
C_ENTITY_LABEL = (
    "concat(${c_full_name}, if(${c_home_name} != '', concat(' (', ${c_home_name}, ')'), ''), "
    "' (', if(${c_dob_known} = 'estimated', '~', ''), ${c_yob}, ')')"
)

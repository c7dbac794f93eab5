"""A follow-up updates only children of its sender's villages (README, "Who sees what").

The submitter of a follow-up version may update a child only when the child's current village
is one whose children it receives (`server.auth.visibility.children_list_scope`: a phone its
own villages, a web user the villages of its roles; site administrators and unlimited office
roles every village). Any other visit — a child of another village, a sender without villages,
deleted since, or unknown — is not applied (`server.registry.followup`): it stays as sent, its
sync state is `not_applied` with the reason, and the officer receives a flag.

The flag's code (`NOT_APPLIED_CODE`) is no category of the catalogue, and `server.registry.
access` treats an unknown code as sensitive: only the roles that read sensitive data (the
child-protection officer, managers) see it, on the child's village. Its note gives the reason
and says whether the visit carried a Section F protection concern — never the concern's
content, which the officer reads in the submission — so a concern is never silently dropped;
an urgent concern (immediate danger) gives the flag the 12-hour clock, so the commune chair
receives it masked as any confidential urgent case. One flag per submission: an edit raises
none again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.principal import Principal, principal_for_user, principal_from_app_user
from server.auth.visibility import children_list_scope
from server.models import Actor, AppUser, Child, Flag, SubmissionDef, User
from server.models.registry import FlagStatus
from sync.categories import default_catalogue

NOT_APPLIED_CODE = "FOLLOWUP-NOT-APPLIED"
NOT_APPLIED_KIND = "followup_not_applied"


@dataclass(frozen=True)
class NotApplied:
    """Why a follow-up was stored but not applied, in English (the sync state's
    `sync_error`) and Vietnamese (with the English, the flag's note)."""

    reason: str
    reason_vi: str


@dataclass(frozen=True)
class Concern:
    """What a visit not applied carried beside its news."""

    noted: bool  # a Section F protection concern
    urgent: bool  # ...with an urgent signal (immediate danger)
    circumstances: bool  # new special circumstances ticked


def submitter_of(session: Session, actor_id: int | None) -> Principal | None:
    """The submitter as a caller, as it is now: None when unknown or deleted."""
    actor = session.get(Actor, actor_id) if actor_id is not None else None
    if actor is None or actor.deleted_at is not None:
        return None
    if actor.type == "field_key":
        app_user = session.get(AppUser, actor.id)
        return principal_from_app_user(app_user) if app_user is not None else None
    user = session.get(User, actor.id)
    return principal_for_user(session, user) if user is not None else None


def _who(principal: Principal) -> str:
    assert principal.actor is not None
    kind = "app user" if principal.app_user is not None else "web user"
    return f"{kind} {principal.actor.id}, {principal.actor.display_name}"


def refusal(session: Session, version: SubmissionDef, child: Child) -> NotApplied | None:
    """Why the version's submitter may not update `child`, or None when it may."""
    village = child.village_code or "?"
    submitter = submitter_of(session, version.submitter_id)
    if submitter is None:
        return NotApplied(
            f"the submitter (actor {version.submitter_id}) is unknown or deleted; only a "
            f"phone or user of village {village} may update child {child.id}",
            f"người gửi (tài khoản {version.submitter_id}) không còn hoặc không xác định; chỉ "
            f"điện thoại hoặc người dùng của thôn {village} được cập nhật trẻ {child.id}")
    scope = children_list_scope(submitter, child.project_id)
    if scope.covers(child.village_code):
        return None
    if scope.is_empty:
        return NotApplied(
            f"the submitter ({_who(submitter)}) has no villages, so it may update no child; "
            f"child {child.id} is in village {village}",
            f"người gửi ({_who(submitter)}) chưa được giao thôn nào nên không được cập nhật "
            f"trẻ nào; trẻ {child.id} ở thôn {village}")
    held = ", ".join(sorted(scope.codes or ()))
    return NotApplied(
        f"the submitter ({_who(submitter)}) may update children of village(s) {held} only; "
        f"child {child.id} is in village {village}",
        f"người gửi ({_who(submitter)}) chỉ được cập nhật trẻ của thôn {held}; trẻ {child.id} "
        f"ở thôn {village}")


def note_of(refused: NotApplied, concern: Concern) -> str:
    """The flag's note, one line per language (Vietnamese, then English): the reason, then
    what the visit carried that was not applied — never the concern's content."""
    vi = [f"Lượt thăm lại không được áp dụng vào sổ trẻ em: {refused.reason_vi}."]
    en = [f"The follow-up visit was not applied to the registry: {refused.reason}."]
    if concern.noted:
        vi.append("Lượt thăm có ghi nhận một lo ngại về bảo vệ trẻ em (phần F): hãy mở bản "
                  "gửi để xem và xử lý.")
        en.append("The visit noted a child-protection concern (Section F): open the "
                  "submission to read it and act.")
    if concern.circumstances:
        vi.append("Lượt thăm cũng đề xuất hoàn cảnh đặc biệt; chưa mở nhóm nào.")
        en.append("The visit also proposed special circumstances; none was opened.")
    return " ".join(vi) + "\n" + " ".join(en)


def _flagged_submission(session: Session, version: SubmissionDef) -> bool:
    """Whether a version of this submission already raised the flag (an edit raises none)."""
    return session.scalar(
        select(Flag.id).join(SubmissionDef, SubmissionDef.id == Flag.submission_def_id)
        .where(SubmissionDef.submission_id == version.submission_id,
               Flag.code == NOT_APPLIED_CODE).limit(1)) is not None


def flag_not_applied(session: Session, version: SubmissionDef, child: Child,
                     refused: NotApplied, concern: Concern) -> Flag | None:
    """The officer's flag for a follow-up not applied, once per submission; the clock of an
    urgent concern starts when the report reached the server, as for any report."""
    if _flagged_submission(session, version):
        return None
    deadline = (default_catalogue().urgent_signal_deadline(version.created_at)
                if concern.urgent else None)
    flag = Flag(project_id=child.project_id, child_id=child.id, code=NOT_APPLIED_CODE,
                kind=NOT_APPLIED_KIND, deadline=deadline, confidential=True,
                status=FlagStatus.OPEN.value, raised_at=version.created_at,
                note=note_of(refused, concern), submission_def_id=version.id)
    session.add(flag)
    session.flush()
    return flag

"""The record: writing resolutions and corrections into a community's hash chain, checking the
chain, the archive's queries and exports, and implementation updates.

There is no operation that changes or deletes a record; the database refuses it too (triggers
from migration 0006). Closing a measure calls ``write_resolution`` inside its own transaction,
so a closed measure always has exactly one resolution (the unique ``measure_id`` makes sure).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..agenda import services as agenda
from ..agenda.models import AgendaItem, ItemStatus
from ..attachments import services as attachments
from ..audit.services import record
from ..communities.models import Community
from ..communities.permissions import require
from ..errors import InvalidTransition, NotFound, ValidationError
from ..extensions import db
from ..notifications import services as notifications
from ..review.models import Review
from ..timeutil import local_today, utc_to_local, utcnow
from ..urls import link
from ..voting.models import Measure, MeasureStatus
from . import chain
from .models import Follow, ImplementationUpdate, Outcome, Progress, RecordKind, Resolution

RECORD_VERSION = 1
STALLED_AFTER = timedelta(days=60)
NOTE_MAX = 2000

OUTCOME_OF_RESULT = {
    "passed": Outcome.ADOPTED,
    "winner": Outcome.ADOPTED,
    "rejected": Outcome.REJECTED,
    "no_quorum": Outcome.NO_QUORUM,
    "tie": Outcome.TIE,
}


def _moment(value: datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() if value else None


def _local_year(moment: datetime) -> int:
    return utc_to_local(moment).year


# ---------------------------------------------------------------- writing


def _append(community: Community, fields: dict, body: dict, *, now: datetime) -> Resolution:
    """Add one record at the head of the community's chain (in the caller's transaction)."""
    # Appends to one chain must take turns: lock the community's row (PostgreSQL; SQLite's
    # single writer already serialises them). NO KEY UPDATE, because the rows this transaction
    # already inserted (audit entries, ...) hold KEY SHARE locks on it through their foreign
    # keys: a plain FOR UPDATE would deadlock two closes. The unique (community, seq) is the backstop.
    db.session.execute(select(Community.id).where(Community.id == community.id).with_for_update(key_share=True))
    head = db.session.execute(
        select(Resolution.seq, Resolution.hash).where(Resolution.community_id == community.id)
        .order_by(Resolution.seq.desc()).limit(1)).first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, chain.GENESIS)
    recorded_at = now.replace(microsecond=0)
    decided_at = fields.pop("decided_at").replace(microsecond=0)
    year = _local_year(decided_at)
    in_year = db.session.scalar(select(func.count(Resolution.id)).where(
        Resolution.community_id == community.id, Resolution.year == year)) or 0
    number = f"{year}-{in_year + 1:03d}"
    corrects = fields.pop("corrects", None)
    content = {
        "v": RECORD_VERSION, "seq": seq, "number": number, "community_id": community.id,
        "community": community.name, "year": year, "decided_at": _moment(decided_at),
        "recorded_at": _moment(recorded_at), "corrects": corrects.seq if corrects else None,
        **fields, "body": body,
    }
    text = chain.canonical(content)
    resolution = Resolution(
        community_id=community.id, seq=seq, kind=fields["kind"], number=number, measure_id=fields["measure_id"],
        item_id=fields["item_id"], category_id=fields["category_id"], corrects_id=corrects.id if corrects else None,
        year=year, outcome=fields["outcome"], decided_at=decided_at, recorded_at=recorded_at, canonical=text,
        prev_hash=prev_hash, hash=chain.link_hash(prev_hash, text))
    db.session.add(resolution)
    db.session.flush()
    return resolution


def _reviews_of(item: AgendaItem) -> list[dict]:
    reviews = db.session.scalars(select(Review).where(Review.item_id == item.id).order_by(Review.id))
    return [{"reviewer": r.reviewer.display_name, "role": r.role, "verdict": r.verdict, "version": r.version,
             "objection": r.objection_state, "at": _moment(r.updated_at)} for r in reviews]


def _minutes_link(measure: Measure) -> str | None:
    from ..meetings.services import minutes_link  # meetings build on voting, which calls this module

    return minutes_link(measure)


def write_resolution(measure: Measure, *, closed_by: User | None, now: datetime,
                     extra: dict | None = None) -> Resolution:
    """The resolution of a measure that has just closed (its result stored). Called by the
    voting service inside the closing transaction; the caller commits. ``extra``: what other
    components add to the record (a convention's consolidated text)."""
    item = measure.item
    community = db.session.get(Community, measure.community_id)
    result = measure.result or {}
    slug = community.slug
    body = {
        "question": measure.question,
        "measure_kind": measure.kind,
        "options": [{"key": o.key, "label": o.label} for o in measure.options],
        "rules": {
            "preset": measure.preset, "electorate": measure.electorate, "weighting": measure.weighting,
            "quorum_headcount": str(measure.quorum_headcount), "quorum_area": str(measure.quorum_area),
            "threshold": measure.threshold, "abstentions_count": measure.abstentions_count,
            "secret": measure.secret, "results_live": measure.results_live,
        },
        "method": measure.method,
        "opened_at": _moment(measure.opened_at),
        "closes_at": _moment(measure.closes_at),
        "closed_by": closed_by.display_name if closed_by else None,
        "result": result,
        "convention": ({"text": measure.frozen_text, "sha256": measure.frozen_text_sha256}
                       if measure.frozen_text is not None else None),
        "item": {"title": item.title, "category": item.category.name, "category_key": item.category.key},
        "reviews": _reviews_of(item),
        "minutes": _minutes_link(measure),
        "links": {
            "item": link("agenda.show", slug=slug, item_id=item.id),
            "results": link("voting.results", slug=slug, measure_id=measure.id),
            "board": link("voting.board_json", slug=slug, measure_id=measure.id),
        },
        **(extra or {}),
    }
    # The files people saw (on the item and its reviews), each by its SHA-256, so the chain
    # covers them too. Left out when there are none, so such records keep their earlier shape.
    cited = attachments.for_record(item.id)
    if cited:
        body["attachments"] = cited
    fields = {
        "kind": RecordKind.RESOLUTION.value, "measure_id": measure.id, "item_id": item.id,
        "category_id": item.category_id, "outcome": OUTCOME_OF_RESULT.get(result.get("outcome"), Outcome.NONE).value,
        "decided_at": measure.closed_at or now,
    }
    resolution = _append(community, fields, body, now=now)
    if item.author_id:  # whoever raised the matter hears how it is carried out
        db.session.add(Follow(resolution_id=resolution.id, user_id=item.author_id))
    return resolution


def write_correction(*, actor: User, community: Community, seq: int, text: str) -> Resolution:
    """A new record that corrects an earlier one; the earlier one stays exactly as it was."""
    require(actor, community, "records.correct")
    corrected = resolution_at(community, seq)
    text = (text or "").strip()
    if len(text) < 10:
        raise ValidationError(_l("Please say what is corrected and why (at least 10 characters)."), field="text")
    if len(text) > NOTE_MAX:
        raise ValidationError(_l("Please keep the correction under %(n)d characters.", n=NOTE_MAX), field="text")
    now = utcnow()
    body = {"text": text, "by": actor.display_name,
            "corrected": {"seq": corrected.seq, "number": corrected.number, "hash": corrected.hash}}
    fields = {"kind": RecordKind.CORRECTION.value, "measure_id": None, "item_id": corrected.item_id,
              "category_id": corrected.category_id, "outcome": Outcome.NONE.value, "decided_at": now,
              "corrects": corrected}
    correction = _append(community, fields, body, now=now)
    record(actor=actor, action="record.corrected", community=community, seq=correction.seq, corrects=corrected.seq)
    db.session.commit()
    return correction


# ---------------------------------------------------------------- reading


def content_of(resolution: Resolution) -> dict:
    return json.loads(resolution.canonical)


def resolution_at(community: Community, seq: int) -> Resolution:
    found = db.session.scalar(select(Resolution).where(Resolution.community_id == community.id,
                                                       Resolution.seq == seq))
    if found is None:
        raise NotFound(_l("There is no record with that number in this community."))
    return found


def resolution_of(measure: Measure) -> Resolution | None:
    return db.session.scalar(select(Resolution).where(Resolution.measure_id == measure.id))


def corrections_of(resolution: Resolution) -> list[Resolution]:
    return list(db.session.scalars(select(Resolution).where(Resolution.corrects_id == resolution.id)
                                   .order_by(Resolution.seq)))


def head(community: Community) -> tuple[int, str]:
    """How many records the chain holds and its head hash (what goes on the notice board)."""
    row = db.session.execute(select(Resolution.seq, Resolution.hash).where(Resolution.community_id == community.id)
                             .order_by(Resolution.seq.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, chain.GENESIS)


@dataclass(frozen=True)
class Verification:
    check: chain.ChainCheck
    broken: Resolution | None  # the first record that does not hold
    unrecorded: list[int]  # closed measures without a record (a record was deleted)

    @property
    def ok(self) -> bool:
        return self.check.ok and not self.unrecorded


def verify(community: Community) -> Verification:
    """Recompute the community's whole chain from what is stored."""
    rows = list(db.session.scalars(select(Resolution).where(Resolution.community_id == community.id)
                                   .order_by(Resolution.seq)))
    seq_of = {r.id: r.seq for r in rows}
    stored = [chain.StoredRecord(
        seq=r.seq, canonical=r.canonical, prev_hash=r.prev_hash, hash=r.hash,
        fields={"seq": r.seq, "kind": r.kind, "number": r.number, "community_id": r.community_id,
                "measure_id": r.measure_id, "item_id": r.item_id, "category_id": r.category_id, "year": r.year,
                "outcome": r.outcome, "decided_at": _moment(r.decided_at), "recorded_at": _moment(r.recorded_at),
                "corrects": seq_of.get(r.corrects_id, -1) if r.corrects_id else None})
        for r in rows]
    check = chain.verify(stored)
    broken = next((r for r in rows if check.first_break and r.seq == check.first_break.seq), None)
    unrecorded = list(db.session.scalars(
        select(Measure.id).where(Measure.community_id == community.id, Measure.status == MeasureStatus.CLOSED,
                                 ~Measure.id.in_(select(Resolution.measure_id).where(
                                     Resolution.measure_id.is_not(None))))
        .order_by(Measure.id)))
    return Verification(check=check, broken=broken, unrecorded=unrecorded)


@dataclass
class ArchiveFilter:
    year: int | None = None
    category_id: int | None = None
    outcome: str | None = None
    progress: str | None = None  # done / in_progress / stalled / not_started


def archive(community: Community, filters: ArchiveFilter) -> list[Resolution]:
    query = select(Resolution).where(Resolution.community_id == community.id)
    if filters.year:
        query = query.where(Resolution.year == filters.year)
    if filters.category_id:
        query = query.where(Resolution.category_id == filters.category_id)
    if filters.outcome in set(Outcome) - {Outcome.NONE}:
        query = query.where(Resolution.outcome == filters.outcome)
    rows = list(db.session.scalars(query.order_by(Resolution.seq.desc())))
    if filters.progress:
        states = implementation_states(rows)
        rows = [r for r in rows if states.get(r.id) and states[r.id].state == filters.progress]
    return rows


def years_of(community: Community) -> list[int]:
    return list(db.session.scalars(select(Resolution.year).where(Resolution.community_id == community.id)
                                   .distinct().order_by(Resolution.year.desc())))


# ---------------------------------------------------------------- implementation


@dataclass(frozen=True)
class Implementation:
    state: str  # not_started / in_progress / on_hold / done / stalled
    percent: int
    latest: ImplementationUpdate | None


def needs_carrying_out(resolution: Resolution) -> bool:
    """Whether someone has to carry the decision out. Votes on a convention's amendments and
    clauses only settle the text its final vote adopts: they are not tracked (nor reported
    "stalled") as implementations; the final vote is (the text is posted, made known)."""
    if resolution.kind != RecordKind.RESOLUTION or resolution.outcome != Outcome.ADOPTED:
        return False
    body = content_of(resolution).get("body") or {}
    return not body.get("convention_part")


def implementation_states(resolutions: list[Resolution], now: datetime | None = None) -> dict[int, Implementation]:
    """For each adopted resolution that needs carrying out: where its implementation stands.
    Stalled: not done and nothing reported for 60 days (counted from the decision while nothing
    was ever reported)."""
    now = now or utcnow()
    adopted = [r for r in resolutions if needs_carrying_out(r)]
    if not adopted:
        return {}
    latest_ids = select(func.max(ImplementationUpdate.id)).where(
        ImplementationUpdate.resolution_id.in_([r.id for r in adopted])).group_by(ImplementationUpdate.resolution_id)
    latest = {u.resolution_id: u for u in db.session.scalars(
        select(ImplementationUpdate).where(ImplementationUpdate.id.in_(latest_ids)))}
    states = {}
    for r in adopted:
        update = latest.get(r.id)
        status = update.status if update else Progress.NOT_STARTED
        last = update.created_at if update else r.decided_at
        if status != Progress.DONE and now - last > STALLED_AFTER:
            status = "stalled"
        states[r.id] = Implementation(state=str(status), percent=update.percent if update else 0, latest=update)
    return states


def updates_of(resolution: Resolution) -> list[ImplementationUpdate]:
    return list(db.session.scalars(select(ImplementationUpdate).where(
        ImplementationUpdate.resolution_id == resolution.id).order_by(ImplementationUpdate.id.desc())))


def post_update(*, actor: User, community: Community, seq: int, status: str, percent, note: str,
                on_date: date | None) -> ImplementationUpdate:
    """Staff report progress on an adopted resolution; followers are told."""
    require(actor, community, "records.progress")
    resolution = resolution_at(community, seq)
    if resolution.kind != RecordKind.RESOLUTION or resolution.outcome != Outcome.ADOPTED:
        raise InvalidTransition(_l("Only an adopted resolution is carried out and tracked."))
    if not needs_carrying_out(resolution):
        raise InvalidTransition(_l("A vote on an amendment or a clause only settles the convention's text; progress "
                                   "is reported on the convention's final vote."))
    if status not in set(Progress):
        raise ValidationError(_l("Please choose a status."), field="status")
    try:
        percent = int(percent)
    except (TypeError, ValueError):
        raise ValidationError(_l("Please enter how much is done, from 0 to 100."), field="percent") from None
    if not 0 <= percent <= 100:
        raise ValidationError(_l("Please enter how much is done, from 0 to 100."), field="percent")
    if status == Progress.DONE and percent != 100:
        raise ValidationError(_l("A finished matter is all done: please enter 100, or choose another status."),
                              field="percent")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(_l("Please keep the note under %(n)d characters.", n=NOTE_MAX), field="note")
    today = local_today()
    on_date = on_date or today
    if on_date > today:
        raise ValidationError(_l("The date of a report cannot be in the future."), field="on_date")
    if on_date < utc_to_local(resolution.decided_at).date():
        raise ValidationError(_l("The date of a report cannot be before the decision."), field="on_date")
    update = ImplementationUpdate(resolution_id=resolution.id, author_id=actor.id, status=status, percent=percent,
                                  note=note, on_date=on_date)
    db.session.add(update)
    item = db.session.get(AgendaItem, resolution.item_id) if resolution.item_id else None
    moved = _advance_item(item, actor, done=status == Progress.DONE)
    record(actor=actor, action="record.progress", community=community, seq=resolution.seq, status=status,
           percent=percent)
    followers = db.session.scalars(select(Follow.user_id).where(Follow.resolution_id == resolution.id))
    sent = notifications.notify(
        recipients=followers, kind="resolution.progress", actor=actor, community_id=community.id,
        link=link("records.show", slug=community.slug, seq=resolution.seq), number=resolution.number,
        percent=percent)
    db.session.commit()
    notifications.announce_to(sent)
    if moved:
        agenda.announce_status(item)
    return update


def _advance_item(item: AgendaItem | None, actor: User, *, done: bool) -> bool:
    """The item follows its resolutions: implementing after the first report, closed once
    every adopted resolution of it is done."""
    if item is None:
        return False
    if item.status == ItemStatus.DECIDED:
        agenda.move_item(item, ItemStatus.IMPLEMENTING, actor=actor)
    if not done or item.status != ItemStatus.IMPLEMENTING:
        return item.status == ItemStatus.IMPLEMENTING
    db.session.flush()
    adopted = list(db.session.scalars(select(Resolution).where(
        Resolution.item_id == item.id, Resolution.kind == RecordKind.RESOLUTION,
        Resolution.outcome == Outcome.ADOPTED)))
    states = implementation_states(adopted)
    if all(s.state == Progress.DONE for s in states.values()):
        agenda.move_item(item, ItemStatus.CLOSED, actor=actor, note=agenda.system_note("implemented"))
    return True


def is_following(resolution: Resolution, user: User | None) -> bool:
    if user is None:
        return False
    return db.session.scalar(select(Follow.id).where(Follow.resolution_id == resolution.id,
                                                     Follow.user_id == user.id)) is not None


def follow(*, actor: User, community: Community, seq: int, on: bool) -> bool:
    """Follow (or stop following) a resolution's implementation. Anyone signed in may."""
    resolution = resolution_at(community, seq)
    existing = db.session.scalar(select(Follow).where(Follow.resolution_id == resolution.id,
                                                      Follow.user_id == actor.id))
    if on and existing is None:
        db.session.add(Follow(resolution_id=resolution.id, user_id=actor.id))
    elif not on and existing is not None:
        db.session.delete(existing)
    try:
        db.session.commit()
    except IntegrityError:  # two clicks at once: the unique constraint kept one follow
        db.session.rollback()
    return on


# ---------------------------------------------------------------- exports


def export_rows(community: Community) -> list[dict]:
    """Every record, oldest first, with what anyone needs to check the chain."""
    rows = list(db.session.scalars(select(Resolution).where(Resolution.community_id == community.id)
                                   .order_by(Resolution.seq)))
    return [{"seq": r.seq, "number": r.number, "kind": r.kind, "outcome": r.outcome, "year": r.year,
             "decided_at": _moment(r.decided_at), "recorded_at": _moment(r.recorded_at), "prev_hash": r.prev_hash,
             "hash": r.hash, "canonical": r.canonical} for r in rows]


CSV_COLUMNS = ["seq", "number", "kind", "decided_at", "category", "question", "outcome", "eligible", "cast",
               "corrects", "url", "prev_hash", "hash"]


def _cell(value) -> str:
    """A spreadsheet must not run residents' text as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(community: Community) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in export_rows(community):
        content = json.loads(row["canonical"])
        body = content["body"]
        result = body.get("result") or {}
        writer.writerow({
            "seq": row["seq"], "number": row["number"], "kind": row["kind"], "decided_at": row["decided_at"],
            "category": _cell((body.get("item") or {}).get("category", "")),
            "question": _cell(body.get("question") or body.get("text", "")), "outcome": row["outcome"],
            "eligible": (result.get("eligible") or {}).get("count", ""),
            "cast": (result.get("cast") or {}).get("count", ""), "corrects": content.get("corrects") or "",
            "url": link("records.show", slug=community.slug, seq=row["seq"], _external=True),
            "prev_hash": row["prev_hash"], "hash": row["hash"],
        })
    return out.getvalue()

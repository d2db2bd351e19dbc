"""Models of measures (表决事项), their options, the voter roll, participation, ballots,
proxies (委托) and shows of hands.

Secrecy lives in the shape of these tables: ``Participation`` records who took part;
``Ballot`` records what was chosen. For a secret measure a ballot carries no user id, its id
and receipt are random, it has no timestamp, and the SQLite table is stored WITHOUT ROWID so not
even the storage order follows the order of casting. Nothing joins the two tables.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..agenda.models import AgendaItem
from ..extensions import db
from ..timeutil import utcnow


class MeasureKind(StrEnum):
    YES_NO = "yes_no"  # yes / no / abstain
    SINGLE = "single"  # one of several options
    APPROVAL = "approval"  # approve any of several options
    RANKED = "ranked"  # rank the options: instant runoff, with the Schulze ranking alongside
    CONVENTION = "convention"  # a text voted yes / no / abstain as a whole


class Electorate(StrEnum):
    RESIDENTS = "residents"  # verified members
    OWNERS = "owners"  # verified members who hold a unit


class Weighting(StrEnum):
    PERSON = "person"
    UNIT = "unit"  # one per unit (co-owners share their unit's vote)
    AREA = "area"  # by exclusive floor area (co-owners share their unit's area)


class MeasureStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Channel(StrEnum):
    ONLINE = "online"
    PAPER = "paper"  # entered by staff from a paper ballot
    PROXY = "proxy"  # cast by a delegate (委托)


class ProxyStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class Measure(db.Model):
    __tablename__ = "measures"
    __table_args__ = (
        CheckConstraint("quorum_headcount >= 0 AND quorum_headcount <= 1", name="quorum_headcount_share"),
        CheckConstraint("quorum_area >= 0 AND quorum_area <= 1", name="quorum_area_share"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(12))
    question: Mapped[str] = mapped_column(String(300))
    # The convention's text (kind convention). Frozen into ``frozen_text`` when voting opens.
    text: Mapped[str] = mapped_column(Text, default="")
    frozen_text: Mapped[str | None] = mapped_column(Text)
    frozen_text_sha256: Mapped[str | None] = mapped_column(String(64))
    # The rules. ``preset`` names a rule set (see rules.PRESETS) that fixes the others.
    preset: Mapped[str] = mapped_column(String(20), default="custom")
    electorate: Mapped[str] = mapped_column(String(10), default=Electorate.RESIDENTS)
    weighting: Mapped[str] = mapped_column(String(10), default=Weighting.PERSON)
    quorum_headcount: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=0)
    quorum_area: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=0)
    threshold: Mapped[str] = mapped_column(String(20), default="majority")
    # Whether abstentions count among the votes cast (so they work like "no") or are left out.
    abstentions_count: Mapped[bool] = mapped_column(default=False)
    secret: Mapped[bool] = mapped_column(default=True)
    results_live: Mapped[bool] = mapped_column(default=False)
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(8), default=MeasureStatus.DRAFT)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The tally written when the measure closes (see services.tally); never changed after.
    result: Mapped[dict | None] = mapped_column(JSON)
    # A secret measure's public figures while open, published in steps of several ballots
    # (``live_cast`` is how many ballots they cover).
    live_cast: Mapped[int] = mapped_column(default=0, server_default="0")
    live_figures: Mapped[dict | None] = mapped_column(JSON)
    # How the votes came in: "ballots", or "hands" when a chair recorded a show of hands.
    method: Mapped[str] = mapped_column(String(8), default="ballots")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Opened in a meeting: the roll is who was present (in the room or online) at opening.
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)

    item: Mapped[AgendaItem] = relationship()
    created_by: Mapped[User] = relationship()
    options: Mapped[list[MeasureOption]] = relationship(order_by="MeasureOption.position",
                                                        cascade="all, delete-orphan")

    @property
    def has_options(self) -> bool:
        return self.kind in (MeasureKind.SINGLE, MeasureKind.APPROVAL, MeasureKind.RANKED)


class MeasureOption(db.Model):
    __tablename__ = "measure_options"
    __table_args__ = (UniqueConstraint("measure_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    key: Mapped[str] = mapped_column(String(8))  # "A", "B", ... as printed on paper ballots
    label: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)


class Eligibility(db.Model):
    """The voter roll, taken when the measure opens: who may vote and with what weight.
    Fixing it then keeps the quorum's denominator from moving while people vote."""

    __tablename__ = "eligibilities"
    __table_args__ = (UniqueConstraint("measure_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    weight: Mapped[Decimal] = mapped_column(Numeric(14, 6))
    area: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=0)
    units: Mapped[str] = mapped_column(String(400), default="")  # labels, for the roll-call list
    # Preset measures: the place on the register roll whose one vote this person may cast.
    register_voter_id: Mapped[int | None] = mapped_column(ForeignKey("register_voters.id"), index=True)

    user: Mapped[User] = relationship()


class RegisterVoter(db.Model):
    """One voter of a preset measure's roll, counted from the unit register when the vote opens,
    whether or not anyone of it has an account: under Civil Code art. 278 an owner with all
    their units (the developer's unsold units together count as one); in a residents' meeting a
    household (a unit of the register) or a resident. The roll is fixed at opening, so units
    added to the register later do not move the denominators."""

    __tablename__ = "register_voters"
    __table_args__ = (UniqueConstraint("measure_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    position: Mapped[int]
    units: Mapped[str] = mapped_column(Text, default="")  # labels of its units
    unit_count: Mapped[int] = mapped_column(default=0)
    area: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=0)
    weight: Mapped[Decimal] = mapped_column(Numeric(14, 6))
    # Who it is, in words: account holders' names, or the owner's name staff recorded.
    names: Mapped[str] = mapped_column(String(400), default="")
    developer: Mapped[bool] = mapped_column(default=False)
    building: Mapped[str] = mapped_column(String(20), default="")  # of its first unit, for lists by building


class RegisterVote(db.Model):
    """That a register voter's one vote was cast, how and by whom. The unique constraint is the
    rule that co-owners share one vote and that a unit voting on paper cannot vote online (or
    the reverse): whichever comes first is stored, the second is refused."""

    __tablename__ = "register_votes"
    __table_args__ = (UniqueConstraint("register_voter_id", name="uq_register_votes_one_per_voter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    register_voter_id: Mapped[int] = mapped_column(ForeignKey("register_voters.id"))
    channel: Mapped[str] = mapped_column(String(8), default=Channel.ONLINE)
    # The account holder whose ballot it was (None: a paper sheet for the unit as a whole).
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cast_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    voter: Mapped[User | None] = relationship(foreign_keys=[voter_id])
    cast_by: Mapped[User | None] = relationship(foreign_keys=[cast_by_id])


class Participation(db.Model):
    """That a person's vote on a measure was cast, how, and by whom. The unique constraint is
    the one-person-one-ballot rule: a second ballot for the same voter cannot be stored."""

    __tablename__ = "participations"
    __table_args__ = (UniqueConstraint("measure_id", "voter_id", name="uq_participations_one_per_voter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"))
    voter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8), default=Channel.ONLINE)
    # The delegate who cast a proxy ballot, or the staff member who entered a paper one.
    cast_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    voter: Mapped[User] = relationship(foreign_keys=[voter_id])
    cast_by: Mapped[User | None] = relationship(foreign_keys=[cast_by_id])


class Ballot(db.Model):
    """What one ballot chose. For a secret measure: no voter, no time, random id and receipt."""

    __tablename__ = "ballots"
    __table_args__ = (
        Index("ix_ballots_measure", "measure_id"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"))
    receipt: Mapped[str] = mapped_column(String(16), unique=True)
    # {"choice": "yes"}, {"choice": "B"}, {"choices": ["A", "C"]} or {"ranking": ["C", "A"]}
    content: Mapped[dict] = mapped_column(JSON)
    weight: Mapped[Decimal] = mapped_column(Numeric(14, 6))
    area: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=0)
    # Roll-call (open) measures only: whose ballot this is.
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Roll-call preset measures only: the register voter (unit) it was cast for. No foreign key,
    # so the migration need not rebuild this WITHOUT ROWID table on SQLite.
    register_voter_id: Mapped[int | None]

    voter: Mapped[User | None] = relationship()


class BallotEnvelope(db.Model):
    """A secret ballot as cast, sealed (``voting.envelopes``), until the mixer moves it into
    ``ballots`` in a shuffled batch. Random id, no voter, no time."""

    __tablename__ = "ballot_envelopes"
    __table_args__ = ({"sqlite_with_rowid": False},)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    sealed: Mapped[str] = mapped_column(Text)


class Proxy(db.Model):
    """An owner's authorisation (委托) for another member to vote for them on one measure."""

    __tablename__ = "proxies"
    __table_args__ = (
        Index("ix_proxies_delegate", "measure_id", "delegate_id"),
        Index("ix_proxies_grantor", "measure_id", "grantor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"))
    grantor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(8), default=ProxyStatus.ACTIVE)
    channel: Mapped[str] = mapped_column(String(8), default=Channel.ONLINE)  # paper: entered by staff
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    grantor: Mapped[User] = relationship(foreign_keys=[grantor_id])
    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id])


class HandCount(db.Model):
    """A show of hands in a meeting, recorded by the chair as counts (an analog vote)."""

    __tablename__ = "hand_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), unique=True)
    counts: Mapped[dict] = mapped_column(JSON)  # {"yes": 31, "no": 4, "abstain": 2} or per option key
    present: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    recorded_by: Mapped[User] = relationship()


class SheetStatus(StrEnum):
    PRINTED = "printed"
    DELIVERED = "delivered"
    RETURNED = "returned"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    COUNTED = "counted"  # entered twice alike (or settled by a third look): its ballot is stored


class BallotSheet(db.Model):
    """A paper ballot sheet (业主大会书面表决票) printed for one place of a roll-call register roll,
    carried door to door and entered twice by two different staff members. Only roll-call
    measures have sheets: what a sheet's entries say is public after close anyway."""

    __tablename__ = "ballot_sheets"
    __table_args__ = (UniqueConstraint("register_voter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    register_voter_id: Mapped[int] = mapped_column(ForeignKey("register_voters.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)  # printed as text and as QR
    status: Mapped[str] = mapped_column(String(12), default=SheetStatus.PRINTED)
    collected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # who last carried it
    status_at: Mapped[datetime | None]
    first_entry: Mapped[dict | None] = mapped_column(JSON)
    first_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    second_entry: Mapped[dict | None] = mapped_column(JSON)
    second_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when the two entries differed and a third staff member read the sheet again.
    third_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    place: Mapped[RegisterVoter] = relationship()
    collected_by: Mapped[User | None] = relationship(foreign_keys=[collected_by_id])
    first_by: Mapped[User | None] = relationship(foreign_keys=[first_by_id])
    second_by: Mapped[User | None] = relationship(foreign_keys=[second_by_id])

    @property
    def mismatch(self) -> bool:
        return (self.status != SheetStatus.COUNTED and self.first_entry is not None
                and self.second_entry is not None and self.first_entry != self.second_entry)


class Scrutineer(db.Model):
    """A scrutineer (监票人 or 计票人) named on a measure; they sign off the paper count before the
    vote closes, and their names and signatures go into the record."""

    __tablename__ = "scrutineers"
    __table_args__ = (UniqueConstraint("measure_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(8))  # "monitor" (监票人) or "counter" (计票人)
    named_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])

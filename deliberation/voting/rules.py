"""Rule presets, thresholds and the count of one measure, as pure functions of plain data.

``count_measure`` turns a measure's rules, its voter roll and its ballots into the result that is
published and stored when the measure closes. It is also what anyone recounting the public
board runs, so it takes nothing the board does not show (plus the roll's sizes).
Adding a threshold or a preset touches this module only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from . import methods
from .methods import AT_LEAST_THREE_QUARTERS, AT_LEAST_TWO_THIRDS, MORE_THAN_HALF, Threshold

THRESHOLDS: dict[str, Threshold | None] = {
    "plurality": None,  # most votes wins (options only)
    "majority": MORE_THAN_HALF,
    "two_thirds": AT_LEAST_TWO_THIRDS,
    "three_quarters": AT_LEAST_THREE_QUARTERS,
}


@dataclass(frozen=True)
class Preset:
    """A named rule set; it fixes who votes, the weighting and how the result is decided.

    ``roll``: how the roll is counted when the vote opens (services.register_roll): "owners"
    (art. 278: every unit of the register, an owner of several units once, the developer's units
    together once), "households" (every unit of the register) or "residents" (every verified
    resident). ``counting``: the rule applied, "double_majority" or "residents_meeting"."""

    key: str
    electorate: str
    weighting: str
    major: bool
    roll: str = "owners"
    counting: str = "double_majority"
    kinds: tuple[str, ...] = ("yes_no", "convention")
    secret: bool = False  # the default offered: art. 278 sheets are signed (记名)


PRESETS: dict[str, Preset] = {
    "art278_ordinary": Preset("art278_ordinary", "owners", "area", major=False),
    "art278_major": Preset("art278_major", "owners", "area", major=True),
    # Urban Residents' Committee Organization Law art. 15: one representative per household, or
    # every resident aged 18 and over; valid with more than half present, passed by more than
    # half of those present (not of the votes cast).
    "residents_households": Preset("residents_households", "residents", "person", major=False,
                                   roll="households", counting="residents_meeting", secret=True),
    "residents_persons": Preset("residents_persons", "residents", "person", major=False,
                                roll="residents", counting="residents_meeting", secret=True),
}

YES_NO_CHOICES = ("yes", "no", "abstain")


@dataclass(frozen=True)
class MeasureRules:
    kind: str
    options: Sequence[str] = ()
    preset: str = "custom"
    threshold: str = "majority"
    abstentions_count: bool = False
    quorum_headcount: Decimal = Decimal(0)
    quorum_area: Decimal = Decimal(0)


@dataclass(frozen=True)
class BallotRow:
    id: str
    content: dict
    weight: Decimal
    area: Decimal = Decimal(0)


def dec(value) -> str:
    """An exact figure as a decimal string ("89.5", "0.333333"); fractions that do not end are
    rounded to six places, which only happens for shares, never for stored weights."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    result = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.000001"))
    return format(result.normalize(), "f")


def _share(part: Fraction, whole: Fraction) -> str:
    return dec(part / whole) if whole else "0"


def choice_of(content: dict) -> str | None:
    return content.get("choice")


def count_measure(rules: MeasureRules, *, roll_count: int, roll_weight: Decimal, roll_area: Decimal,
                  ballots: Sequence[BallotRow], absent_areas: Sequence[Decimal] = (),
                  present: int | None = None, register: dict | None = None) -> dict:
    """The result of a measure as a JSON-friendly dict (figures as decimal strings).

    For presets the roll is the register roll (every unit, whether or not it has an account).
    ``absent_areas``: the floor areas of the register voters who did not vote, needed by the
    art. 278 presets (which count owners and area together). ``present``: a residents' meeting
    held in a meeting counts those present, voting or not (None: those who voted).
    ``register``: the register totals the roll was taken from, stored with the result."""
    cast = len(ballots)
    weights = [Fraction(b.weight) for b in ballots]
    areas = [Fraction(b.area) for b in ballots]
    turnout_area = sum(areas, Fraction(0))
    result: dict = {
        "eligible": {"count": roll_count, "weight": dec(roll_weight), "area": dec(roll_area)},
        "cast": {"count": cast, "weight": dec(sum(weights, Fraction(0))), "area": dec(turnout_area)},
        "winner": None,
    }
    quorum_ok = True
    quorum: dict = {}
    if rules.quorum_headcount:
        met = roll_count > 0 and Fraction(cast) >= Fraction(rules.quorum_headcount) * roll_count
        quorum["headcount"] = {"required": dec(rules.quorum_headcount),
                               "reached": _share(Fraction(cast), Fraction(roll_count)), "met": met}
        quorum_ok &= met
    if rules.quorum_area:
        met = roll_area > 0 and turnout_area >= Fraction(rules.quorum_area) * Fraction(roll_area)
        quorum["area"] = {"required": dec(rules.quorum_area), "reached": _share(turnout_area, Fraction(roll_area)),
                          "met": met}
        quorum_ok &= met

    preset = PRESETS.get(rules.preset)
    if register is not None:
        result["register"] = register
    if preset is not None and preset.counting == "residents_meeting":
        return _residents_meeting(result, ballots, roll_count=roll_count, present=present)
    if preset is not None:
        owner_areas = {b.id: b.area for b in ballots}
        owner_areas.update({f"absent-{i}": a for i, a in enumerate(absent_areas)})
        dm = methods.double_majority(owner_areas, {b.id: choice_of(b.content) for b in ballots}, major=preset.major)
        result["counts"] = {c: dec(sum((a for b, a in zip(ballots, areas, strict=True) if choice_of(b.content) == c),
                                       Fraction(0))) for c in YES_NO_CHOICES}
        result["headcounts"] = {c: sum(1 for b in ballots if choice_of(b.content) == c) for c in YES_NO_CHOICES}
        result["double_majority"] = {
            "owners": dm.owners, "area": dec(dm.area),
            "participating_owners": dm.participating_owners, "participating_area": dec(dm.participating_area),
            "yes_owners": dm.yes_owners, "yes_area": dec(dm.yes_area),
            "participation_ok": dm.participation_ok, "major": dm.major,
        }
        result["quorum"] = {"met": dm.participation_ok}
        result["outcome"] = "passed" if dm.passed else ("no_quorum" if not dm.participation_ok else "rejected")
        return result

    result["quorum"] = {"met": quorum_ok, **quorum}
    threshold = THRESHOLDS.get(rules.threshold)
    if rules.kind in ("yes_no", "convention"):
        tallied = methods.plurality([choice_of(b.content) for b in ballots], YES_NO_CHOICES, weights)
        result["counts"] = {c: dec(v) for c, v in tallied.items()}
        yes, no, abstain = (Fraction(tallied[c]) for c in YES_NO_CHOICES)
        base = yes + no + (abstain if rules.abstentions_count else 0)
        passed = (threshold or MORE_THAN_HALF).met(yes, base)
        result["base"] = dec(base)
        result["outcome"] = "no_quorum" if not quorum_ok else ("passed" if passed else "rejected")
        return result

    if rules.kind in ("single", "approval"):
        if rules.kind == "single":
            tallied = methods.plurality([choice_of(b.content) for b in ballots], rules.options, weights)
        else:
            tallied = methods.approval([b.content.get("choices", []) for b in ballots], rules.options, weights)
        result["counts"] = {o: dec(v) for o, v in tallied.items()}
        base = sum(weights, Fraction(0))
        top = max(tallied.values(), default=0)
        leaders = [o for o, v in tallied.items() if v == top and top > 0]
        result["base"] = dec(base)
        if not quorum_ok:
            result["outcome"] = "no_quorum"
        elif len(leaders) != 1:
            result["outcome"] = "tie" if leaders else "rejected"
            result["tied"] = leaders
        elif threshold is not None and not threshold.met(Fraction(top), base):
            result["outcome"] = "rejected"
        else:
            result["outcome"] = "winner"
            result["winner"] = leaders[0]
        return result

    # ranked
    rankings = [b.content.get("ranking", []) for b in ballots]
    irv = methods.instant_runoff(rankings, rules.options, weights)
    result["counts"] = {o: dec(v) for o, v in irv.rounds[0].items()}
    result["irv"] = {
        "rounds": [{o: dec(v) for o, v in r.items()} for r in irv.rounds],
        "eliminated": irv.eliminated, "exhausted": [dec(x) for x in irv.exhausted],
        "winner": irv.winner, "tied": irv.tied,
    }
    result["schulze"] = methods.schulze(rankings, rules.options, weights)
    result["agree"] = irv.winner is not None and result["schulze"][0] == [irv.winner]
    if not quorum_ok:
        result["outcome"] = "no_quorum"
    elif irv.winner is None:
        result["outcome"] = "tie"
        result["tied"] = irv.tied
    else:
        result["outcome"] = "winner"
        result["winner"] = irv.winner
    return result


def _residents_meeting(result: dict, ballots: Sequence[BallotRow], *, roll_count: int, present: int | None) -> dict:
    """Urban Residents' Committee Organization Law art. 15: the meeting is valid with more than
    half of the electorate present and decides by more than half of those present, so an
    abstention, a blank or a silent person present all weigh like "no"."""
    present_count = max(present or 0, len(ballots))
    headcounts = {c: sum(1 for b in ballots if choice_of(b.content) == c) for c in YES_NO_CHOICES}
    quorum_ok = roll_count > 0 and MORE_THAN_HALF.met(Fraction(present_count), Fraction(roll_count))
    passed = quorum_ok and MORE_THAN_HALF.met(Fraction(headcounts["yes"]), Fraction(present_count))
    result["counts"] = {c: str(n) for c, n in headcounts.items()}
    result["headcounts"] = headcounts
    result["residents_meeting"] = {"electorate": roll_count, "present": present_count, "yes": headcounts["yes"],
                                   "quorum_ok": quorum_ok}
    result["base"] = str(present_count)
    result["quorum"] = {"met": quorum_ok}
    result["outcome"] = "passed" if passed else ("no_quorum" if not quorum_ok else "rejected")
    return result

"""The tally engine: pure functions from plain data to a result. No Flask, no database.

Weights are optional everywhere (one per person when absent); they may be ints, Fractions or
Decimals and are summed exactly as Fractions, so a recount of the public board gives exactly
the same figures as the tally that was published.

Tie-break rule of ``instant_runoff`` (stated on every ranked-choice results page): when several
options share the fewest votes, the one of them with the fewest votes in the latest earlier
round where they differ is eliminated (backwards tie-breaking); if they were equal in every
round, all of them are eliminated together, unless that would eliminate every remaining
option, in which case there is no winner (``winner is None``) and the tied options are given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

Number = int | Fraction


def _exact(value) -> Fraction:
    """A weight as an exact fraction (floats by their decimal spelling, so 89.5 stays 89.5)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    return Fraction(value)


def _tidy(value: Fraction) -> Number:
    return value.numerator if value.denominator == 1 else value


def _weights(count: int, weights: Sequence | None) -> list[Fraction]:
    if weights is None:
        return [Fraction(1)] * count
    if len(weights) != count:
        raise ValueError("one weight per ballot")
    return [_exact(w) for w in weights]


def _grouped(rankings: Sequence[Sequence[str]], weights: Sequence | None, known: set[str]):
    """Identical rankings merged, with their summed weight: real ballots repeat a lot, and
    counting each distinct ranking once keeps 100,000 ballots fast. Plain ints when every weight
    is whole (int arithmetic is much faster than Fraction)."""
    if weights is not None and len(weights) == len(rankings) and all(w == 1 for w in weights):
        weights = None  # one each: count in ints
    if weights is None:
        counted: dict[tuple[str, ...], int] = {}
        for ballot in rankings:
            if known.issuperset(ballot):
                key = tuple(dict.fromkeys(ballot))
            else:
                key = tuple(dict.fromkeys(o for o in ballot if o in known))
            counted[key] = counted.get(key, 0) + 1
        return list(counted.items())
    groups: dict[tuple[str, ...], Fraction] = {}
    for ballot, weight in zip(rankings, _weights(len(rankings), weights), strict=True):
        key = tuple(dict.fromkeys(o for o in ballot if o in known))
        groups[key] = groups.get(key, Fraction(0)) + weight
    if all(w.denominator == 1 for w in groups.values()):
        return [(k, int(w)) for k, w in groups.items()]
    return list(groups.items())


# ---------------------------------------------------------------- counting


def plurality(ballots: Sequence[str | None], options: Sequence[str],
              weights: Sequence | None = None) -> dict[str, Number]:
    """Votes per option for single-choice ballots; a ballot naming no listed option counts nowhere."""
    counts = dict.fromkeys(options, Fraction(0))
    for choice, weight in zip(ballots, _weights(len(ballots), weights), strict=True):
        if choice in counts:
            counts[choice] += weight
    return {option: _tidy(votes) for option, votes in counts.items()}


def approval(ballots: Sequence[Iterable[str]], options: Sequence[str],
             weights: Sequence | None = None) -> dict[str, Number]:
    """Approvals per option; each ballot approves any number of options (each at most once)."""
    counts = dict.fromkeys(options, Fraction(0))
    for approved, weight in zip(ballots, _weights(len(ballots), weights), strict=True):
        for option in set(approved):
            if option in counts:
                counts[option] += weight
    return {option: _tidy(votes) for option, votes in counts.items()}


# ---------------------------------------------------------------- instant runoff


@dataclass(frozen=True)
class RunoffResult:
    winner: str | None
    # One dict per round: votes for each option still in the race (eliminated options absent).
    rounds: list[dict[str, Number]]
    # What was eliminated after each round (the last round eliminates nothing).
    eliminated: list[list[str]]
    # Ballots no longer counting (all their ranked options eliminated), per round.
    exhausted: list[Number]
    # When there is no winner: the options that stayed tied to the end.
    tied: list[str] = field(default_factory=list)


def instant_runoff(ballots: Sequence[Sequence[str]], options: Sequence[str],
                   weights: Sequence | None = None) -> RunoffResult:
    """Instant runoff. Ballots rank options best first and may be partial; unknown and repeated
    options on a ballot are ignored. An option wins when it holds more than half of the ballots
    still counting in a round; otherwise the weakest option goes (see the module's tie-break
    rule) and its ballots move to their next continuing choice."""
    grouped = _grouped(ballots, weights, set(options))
    # Each ballot sits on the pile of its highest continuing choice; eliminating an option only
    # moves the ballots on its pile, so a count of 100,000 ballots stays fast.
    piles: dict[str, list[int]] = {o: [] for o in options}
    tally = dict.fromkeys(options, 0)
    pointer = [0] * len(grouped)
    for number, (ranking, weight) in enumerate(grouped):
        if ranking:
            piles[ranking[0]].append(number)
            tally[ranking[0]] += weight
    continuing = list(options)
    rounds: list[dict[str, Number]] = []
    eliminated: list[list[str]] = []
    exhausted: list[Number] = []
    history: list[dict[str, Fraction]] = []
    total = sum((w for _, w in grouped), Fraction(0))
    while continuing:
        counts = {o: Fraction(tally[o]) for o in continuing}
        history.append(counts)
        rounds.append({o: _tidy(v) for o, v in counts.items()})
        counting = sum(counts.values(), Fraction(0))
        exhausted.append(_tidy(total - counting))
        leader = max(continuing, key=lambda o: counts[o])
        if counting > 0 and counts[leader] * 2 > counting:
            eliminated.append([])
            return RunoffResult(leader, rounds, eliminated, exhausted)
        if len(continuing) == 1:  # a lone option with no votes left
            eliminated.append([])
            return RunoffResult(None, rounds, eliminated, exhausted, tied=list(continuing))
        fewest = min(counts.values())
        weakest = [o for o in continuing if counts[o] == fewest]
        for earlier in reversed(history[:-1]):
            if len(weakest) == 1:
                break
            low = min(earlier[o] for o in weakest)
            weakest = [o for o in weakest if earlier[o] == low]
        if len(weakest) == len(continuing):
            eliminated.append([])
            return RunoffResult(None, rounds, eliminated, exhausted, tied=list(continuing))
        eliminated.append(weakest)
        continuing = [o for o in continuing if o not in weakest]
        alive = set(continuing)
        for gone in weakest:
            for number in piles.pop(gone):
                ranking, weight = grouped[number]
                at = pointer[number] + 1
                while at < len(ranking) and ranking[at] not in alive:
                    at += 1
                pointer[number] = at
                if at < len(ranking):
                    piles[ranking[at]].append(number)
                    tally[ranking[at]] += weight
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------- Schulze


def pairwise(ballots: Sequence[Sequence[str]], options: Sequence[str],
             weights: Sequence | None = None) -> dict[tuple[str, str], Fraction]:
    """d[(a, b)]: the weight of ballots ranking a above b. Unranked options share last place."""
    index = {o: i for i, o in enumerate(options)}
    n = len(options)
    # An option at some place on a ballot beats every option not ranked at or above that place.
    # Ballots share those (option, options-so-far) pairs a lot, so add them up first.
    beats: dict[tuple[int, int], object] = {}
    for ranking, weight in _grouped(ballots, weights, set(options)):
        mask = 0
        for option in ranking:
            a = index[option]
            mask |= 1 << a
            beats[(a, mask)] = beats.get((a, mask), 0) + weight
    matrix = [[0] * n for _ in range(n)]
    for (a, mask), weight in beats.items():
        row = matrix[a]
        for b in range(n):
            if not mask >> b & 1:
                row[b] += weight
    return {(a, b): Fraction(matrix[index[a]][index[b]]) for a in options for b in options if a != b}


def strongest_paths(d: Mapping[tuple[str, str], Fraction], options: Sequence[str]) -> dict[tuple[str, str], Fraction]:
    """Widest-path strengths by Floyd–Warshall, links weighted by winning votes."""
    p = {}
    for a in options:
        for b in options:
            if a != b:
                p[(a, b)] = d[(a, b)] if d[(a, b)] > d[(b, a)] else Fraction(0)
    for k in options:
        for i in options:
            if i == k:
                continue
            for j in options:
                if j in (i, k):
                    continue
                p[(i, j)] = max(p[(i, j)], min(p[(i, k)], p[(k, j)]))
    return p


def schulze(ballots: Sequence[Sequence[str]], options: Sequence[str],
            weights: Sequence | None = None) -> list[list[str]]:
    """The Schulze ranking, best first; options neither of which beats the other by the
    strongest-path relation share a group. Groups keep the options' listed order."""
    p = strongest_paths(pairwise(ballots, options, weights), options)
    remaining = list(options)
    ranking: list[list[str]] = []
    while remaining:
        unbeaten = [a for a in remaining if not any(p[(b, a)] > p[(a, b)] for b in remaining if b != a)]
        ranking.append(unbeaten)
        remaining = [a for a in remaining if a not in unbeaten]
    return ranking


# ---------------------------------------------------------------- thresholds and the art. 278 double majority


@dataclass(frozen=True)
class Threshold:
    """A share of a whole that must be exceeded (``strict``) or reached."""

    share: Fraction
    strict: bool

    def met(self, part, whole) -> bool:
        part, whole = _exact(part), _exact(whole)
        if whole == 0:
            return False
        return part > self.share * whole if self.strict else part >= self.share * whole


MORE_THAN_HALF = Threshold(Fraction(1, 2), strict=True)
AT_LEAST_TWO_THIRDS = Threshold(Fraction(2, 3), strict=False)
AT_LEAST_THREE_QUARTERS = Threshold(Fraction(3, 4), strict=False)


@dataclass(frozen=True)
class DoubleMajority:
    owners: int
    area: Number
    participating_owners: int
    participating_area: Number
    yes_owners: int
    yes_area: Number
    no_owners: int
    abstain_owners: int
    participation_ok: bool
    passed: bool
    major: bool


def double_majority(owner_areas: Mapping[str, object], votes: Mapping[str, str], *, major: bool) -> DoubleMajority:
    """PRC Civil Code art. 278. ``owner_areas``: every owner entitled to vote, once, with all the
    exclusive area they hold. ``votes``: "yes", "no" or "abstain" per participating owner.

    Participation needs owners holding at least 2/3 of the area and at least 2/3 of the owners.
    An ordinary matter passes with more than 1/2, a major matter with at least 3/4, of the
    participating area and of the participating owners. Abstaining takes part but does not consent.
    """
    unknown = set(votes) - set(owner_areas)
    if unknown:
        raise ValueError(f"votes from people who are not owners: {sorted(unknown)}")
    bad = {v for v in votes.values() if v not in ("yes", "no", "abstain")}
    if bad:
        raise ValueError(f"unknown vote values: {sorted(bad)}")
    areas = {owner: _exact(a) for owner, a in owner_areas.items()}
    total_area = sum(areas.values(), Fraction(0))
    took_part = [o for o in votes]
    part_area = sum((areas[o] for o in took_part), Fraction(0))
    yes = [o for o, v in votes.items() if v == "yes"]
    yes_area = sum((areas[o] for o in yes), Fraction(0))
    participation_ok = (AT_LEAST_TWO_THIRDS.met(part_area, total_area)
                        and AT_LEAST_TWO_THIRDS.met(len(took_part), len(areas)))
    consent = AT_LEAST_THREE_QUARTERS if major else MORE_THAN_HALF
    passed = participation_ok and consent.met(yes_area, part_area) and consent.met(len(yes), len(took_part))
    return DoubleMajority(
        owners=len(areas), area=_tidy(total_area),
        participating_owners=len(took_part), participating_area=_tidy(part_area),
        yes_owners=len(yes), yes_area=_tidy(yes_area),
        no_owners=sum(1 for v in votes.values() if v == "no"),
        abstain_owners=sum(1 for v in votes.values() if v == "abstain"),
        participation_ok=participation_ok, passed=passed, major=major,
    )

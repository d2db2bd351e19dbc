"""The tally engine against worked examples and, with Hypothesis, against small brute-force references."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deliberation.voting.methods import (
    approval,
    double_majority,
    instant_runoff,
    pairwise,
    plurality,
    schulze,
)

OPTIONS = ["A", "B", "C", "D"]


def rankings(options=OPTIONS):
    return st.lists(st.sampled_from(options), unique=True, max_size=len(options))


ballot_lists = st.lists(rankings(), max_size=25)


# ---------------------------------------------------------------- worked examples


def test_instant_runoff_moves_ballots_of_the_eliminated_option():
    ballots = [["A"]] * 4 + [["B", "C"]] * 2 + [["C", "B"]] * 3
    result = instant_runoff(ballots, ["A", "B", "C"])
    assert result.rounds == [{"A": 4, "B": 2, "C": 3}, {"A": 4, "C": 5}]
    assert result.eliminated == [["B"], []]
    assert result.winner == "C"


def test_instant_runoff_drops_exhausted_ballots():
    ballots = [["A"]] * 3 + [["B"]] * 2 + [["C", "B"]] * 1 + [["C"]] * 1
    result = instant_runoff(ballots, ["A", "B", "C"])
    # Round 1: A 3, B 2, C 2: B and C tie; in no earlier round do they differ, but eliminating both leaves A.
    assert result.rounds[0] == {"A": 3, "B": 2, "C": 2}
    assert result.eliminated[0] == ["B", "C"]
    assert result.winner == "A"
    assert result.exhausted[-1] == 4


def test_instant_runoff_tie_break_looks_at_the_latest_earlier_round_where_they_differ():
    ballots = [["A"]] * 5 + [["B"]] * 3 + [["C"]] * 4 + [["D", "B"]] * 1
    result = instant_runoff(ballots, ["A", "B", "C", "D"])
    # Round 1: A5 B3 C4 D1 -> D goes, its ballot to B. Round 2: A5 B4 C4 -> B and C tie;
    # in round 1 B had 3 and C 4, so B goes. Round 3: A5 C4 -> A has more than half of 9.
    assert result.rounds[1] == {"A": 5, "B": 4, "C": 4}
    assert result.eliminated[1] == ["B"]
    assert result.winner == "A"


def test_instant_runoff_with_a_tie_that_cannot_be_broken_has_no_winner():
    result = instant_runoff([["A"], ["B"]], ["A", "B"])
    assert result.winner is None
    assert sorted(result.tied) == ["A", "B"]


def test_instant_runoff_without_ballots_has_no_winner():
    result = instant_runoff([], ["A", "B"])
    assert result.winner is None
    assert result.rounds == [{"A": 0, "B": 0}]


def test_instant_runoff_weights_count_exactly():
    result = instant_runoff([["A"], ["B"], ["C", "B"]], ["A", "B", "C"], weights=[Fraction(5, 2), 1, 2])
    assert result.rounds[0] == {"A": Fraction(5, 2), "B": 1, "C": 2}
    # B (1) is weakest and goes; its ballot is exhausted. Round 2: A 5/2 of 9/2 is more than half.
    assert result.rounds[1] == {"A": Fraction(5, 2), "C": 2}
    assert result.exhausted == [0, 1]
    assert result.winner == "A"


def test_schulze_finds_the_condorcet_winner_irv_misses():
    # The centre squeeze: B beats A and C head to head but has the fewest first choices.
    ballots = [["A", "B", "C"]] * 35 + [["C", "B", "A"]] * 34 + [["B", "A", "C"]] * 16 + [["B", "C", "A"]] * 15
    assert instant_runoff(ballots, ["A", "B", "C"]).winner == "A"
    assert schulze(ballots, ["A", "B", "C"])[0] == ["B"]


def test_schulze_groups_options_that_tie():
    assert schulze([["A", "B"], ["B", "A"]], ["A", "B", "C"]) == [["A", "B"], ["C"]]


def test_schulze_wikipedia_example():
    ballots = ([list("ACBED")] * 5 + [list("ADECB")] * 5 + [list("BEDAC")] * 8 + [list("CABED")] * 3
               + [list("CAEBD")] * 7 + [list("CBADE")] * 2 + [list("DCEBA")] * 7 + [list("EBADC")] * 8)
    assert schulze(ballots, list("ABCDE")) == [["E"], ["A"], ["C"], ["B"], ["D"]]


def test_approval_counts_each_option_once_per_ballot():
    assert approval([{"A", "B"}, {"B"}, set(), {"B", "Z"}], ["A", "B", "C"]) == {"A": 1, "B": 3, "C": 0}


def test_plurality_ignores_blank_and_unknown_choices():
    assert plurality(["A", None, "B", "A", "Z"], ["A", "B"]) == {"A": 2, "B": 1}


@pytest.mark.parametrize(("votes", "major", "participation_ok", "passed"), [
    # Owners o1..o6 with areas 100, 100, 100, 50, 50, 100 (total 500).
    ({"o1": "yes", "o2": "yes", "o3": "yes", "o4": "no"}, False, True, True),  # 4/6 owners, 350/500 area
    ({"o1": "yes", "o2": "yes", "o3": "yes"}, False, False, False),  # 3/6 owners: too few take part
    ({"o1": "yes", "o4": "yes", "o5": "yes", "o2": "no"}, False, False, False),  # 4/6 owners but 300/500 area
    ({"o1": "yes", "o2": "yes", "o4": "no", "o5": "no"}, False, False, False),
    ({"o1": "yes", "o2": "yes", "o3": "no", "o6": "no"}, False, True, False),  # exactly half is not more than half
    ({"o1": "yes", "o2": "yes", "o3": "yes", "o6": "abstain"}, True, True, True),  # 3/4 of owners and of area
    ({"o1": "yes", "o2": "yes", "o4": "yes", "o6": "abstain"}, True, True, False),  # 250/350 area < 3/4
])
def test_double_majority_examples(votes, major, participation_ok, passed):
    areas = {"o1": 100, "o2": 100, "o3": 100, "o4": 50, "o5": 50, "o6": 100}
    result = double_majority(areas, votes, major=major)
    assert (result.participation_ok, result.passed) == (participation_ok, passed)


def test_double_majority_abstaining_takes_part_but_does_not_consent():
    areas = {"a": 1, "b": 1, "c": 1}
    result = double_majority(areas, {"a": "yes", "b": "abstain", "c": "abstain"}, major=False)
    assert result.participation_ok and not result.passed
    assert result.participating_owners == 3 and result.yes_owners == 1


def test_double_majority_refuses_votes_from_non_owners():
    with pytest.raises(ValueError):
        double_majority({"a": 1}, {"b": "yes"}, major=False)


def test_double_majority_area_is_exact():
    result = double_majority({"a": 89.5, "b": 0.1, "c": 0.2}, {"a": "yes", "b": "yes"}, major=False)
    assert result.area == Fraction("89.8") and result.participating_area == Fraction("89.6")


# ---------------------------------------------------------------- brute-force references


def reference_irv(ballots, options):
    """IRV by repeated recounting from scratch, written independently of the engine."""
    out: list[str] = []
    history = []
    while True:
        remaining = [o for o in options if o not in out]
        tally = {o: 0 for o in remaining}
        for ballot in ballots:
            for choice in ballot:
                if choice in tally:
                    tally[choice] += 1
                    break
        history.append(tally)
        counting = sum(tally.values())
        for o in remaining:
            if counting and 2 * tally[o] > counting:
                return o
        if len(remaining) == 1:
            return None
        low = min(tally.values())
        losers = {o for o in remaining if tally[o] == low}
        for past in history[-2::-1]:
            if len(losers) == 1:
                break
            past_low = min(past[o] for o in losers)
            losers = {o for o in losers if past[o] == past_low}
        if len(losers) == len(remaining):
            return None
        out.extend(losers)


@settings(max_examples=300, deadline=None)
@given(ballot_lists)
def test_instant_runoff_matches_the_reference(ballots):
    assert instant_runoff(ballots, OPTIONS).winner == reference_irv(ballots, OPTIONS)


@settings(max_examples=300, deadline=None)
@given(ballot_lists)
def test_instant_runoff_rounds_account_for_every_ballot(ballots):
    result = instant_runoff(ballots, OPTIONS)
    gone: set[str] = set()
    for counts, out, exhausted in zip(result.rounds, result.eliminated, result.exhausted, strict=True):
        assert not gone & set(counts)  # an eliminated option never comes back
        assert sum(counts.values()) + exhausted == len(ballots)
        gone |= set(out)
    if result.winner is not None:
        final = result.rounds[-1]
        assert 2 * final[result.winner] > sum(final.values())


@settings(max_examples=200, deadline=None)
@given(ballot_lists)
def test_a_majority_of_first_choices_wins_outright(ballots):
    firsts = [b[0] for b in ballots if b]
    for option in OPTIONS:
        if 2 * firsts.count(option) > len(firsts):
            result = instant_runoff(ballots, OPTIONS)
            assert result.winner == option and len(result.rounds) == 1


def reference_strongest_paths(ballots, options):
    """Strongest paths by trying every simple path (fine for four options)."""
    d = pairwise(ballots, options)
    link = {(a, b): d[(a, b)] if d[(a, b)] > d[(b, a)] else 0 for a in options for b in options if a != b}
    best = {}
    for a in options:
        for b in options:
            if a == b:
                continue
            strength = 0
            others = [o for o in options if o not in (a, b)]
            for size in range(len(others) + 1):
                for middle in itertools.permutations(others, size):
                    path = [a, *middle, b]
                    strength = max(strength, min(link[(x, y)] for x, y in itertools.pairwise(path)))
            best[(a, b)] = strength
    return best


def reference_schulze(ballots, options):
    p = reference_strongest_paths(ballots, options)
    wins = {a: {b for b in options if b != a and p[(a, b)] > p[(b, a)]} for a in options}
    groups, left = [], list(options)
    while left:
        top = [a for a in left if not any(a in wins[b] for b in left)]
        groups.append(top)
        left = [a for a in left if a not in top]
    return groups


@settings(max_examples=300, deadline=None)
@given(ballot_lists)
def test_schulze_matches_the_brute_force_reference(ballots):
    assert schulze(ballots, OPTIONS) == reference_schulze(ballots, OPTIONS)


@settings(max_examples=200, deadline=None)
@given(ballot_lists)
def test_schulze_puts_a_condorcet_winner_first(ballots):
    d = pairwise(ballots, OPTIONS)
    for a in OPTIONS:
        if all(d[(a, b)] > d[(b, a)] for b in OPTIONS if b != a):
            assert schulze(ballots, OPTIONS)[0] == [a]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sets(st.sampled_from(OPTIONS)), max_size=30))
def test_approval_matches_counting_by_hand(ballots):
    expected = {o: sum(1 for b in ballots if o in b) for o in OPTIONS}
    assert approval(ballots, OPTIONS) == expected


owner_areas = st.dictionaries(st.sampled_from([f"o{i}" for i in range(8)]),
                              st.integers(min_value=1, max_value=200), min_size=1)


@settings(max_examples=300, deadline=None)
@given(owner_areas, st.data(), st.booleans())
def test_double_majority_matches_the_reference(areas, data, major):
    voters = data.draw(st.lists(st.sampled_from(sorted(areas)), unique=True))
    votes = {o: data.draw(st.sampled_from(["yes", "no", "abstain"])) for o in voters}
    result = double_majority(areas, votes, major=major)
    total, part = sum(areas.values()), sum(areas[o] for o in votes)
    yes = [o for o, v in votes.items() if v == "yes"]
    yes_area = sum(areas[o] for o in yes)
    participation = 3 * part >= 2 * total and 3 * len(votes) >= 2 * len(areas)
    if major:
        consent = 4 * yes_area >= 3 * part and 4 * len(yes) >= 3 * len(votes)
    else:
        consent = 2 * yes_area > part and 2 * len(yes) > len(votes)
    assert result.participation_ok == participation
    assert result.passed == (participation and consent and len(votes) > 0)

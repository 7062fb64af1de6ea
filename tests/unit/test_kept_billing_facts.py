"""What the billing facts kept per agreement share, and that sharing changes no value.

A firm keeps its billing facts per agreement for every report of a date; the
collector walks whatever is kept in each full collection, so the facts share
what is the same from one agreement to the next: a milestone's plan key, the
(empty) columns of an agreement without a recurring charge, the names a
rewind cut.  Each test checks the value against the one made afresh.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from milestonebill.agreement import Agreement, AgreementId, PlanItem, history, sign
from milestonebill.agreement.columns import plan_columns
from milestonebill.agreement.plan import fixed_items
from milestonebill.ids import PlanKey
from milestonebill.money import Money
from milestonebill.schedule import ChargeKind, Interval, ItemId, RecurringCharge
from milestonebill.testing.firm import generated_firm
from milestonebill.testing.scenarios import CARD, proposal


def _signed(aid: str, recurring: list[RecurringCharge] | None = None) -> Agreement:
    return sign(proposal([("design", "4000.00"), ("build", "6000.00")],
                         recurring=recurring or []),
                option="std", signer="Ada", payment_method=CARD, agreement_id=AgreementId(aid),
                signed_at=datetime(2026, 3, 2, tzinfo=UTC))


def test_a_milestones_plan_item_is_the_one_its_fields_make() -> None:
    a = _signed("a-1")
    design = fixed_items(a)[0]
    assert design == PlanItem(
        key=PlanKey.milestone("design"), kind=ChargeKind.MILESTONE, item_id="design",
        name=design.name, amount=Money("4000.00", "USD"), on=design.on, period=None,
        terms=design.terms, provenance=design.provenance)
    assert type(design.key) is PlanKey


def test_two_agreements_share_the_plan_key_of_a_milestone_of_one_id() -> None:
    first, second = fixed_items(_signed("a-1"))[0], fixed_items(_signed("a-2"))[0]
    assert first.key == "m:design"
    assert first.key is second.key


def test_agreements_without_a_recurring_charge_share_their_empty_columns() -> None:
    a, b = _signed("a-1"), _signed("a-2")
    cols = plan_columns(a, through=date(2030, 1, 1))
    assert len(cols) == 0
    assert plan_columns(b, through=date(2027, 1, 1)) is cols


def test_an_agreement_with_a_recurring_charge_has_columns_of_its_own() -> None:
    fee = RecurringCharge(ItemId("ret"), "Retainer", Money("3100.00", "USD"), Interval.MONTHLY,
                          start=date(2026, 4, 1))
    a = _signed("a-1", [fee])
    cols = plan_columns(a, through=date(2026, 6, 1))
    assert cols.minors == (310000, 310000)
    assert plan_columns(_signed("a-2"), through=date(2026, 6, 1)) is not cols


def test_a_rewound_state_is_cut_from_its_agreement_unless_a_field_read_was_cut() -> None:
    names = sorted(set(history.APPENDS.values()))
    seen = 0
    for a in generated_firm(12, months=12, seed=5).agreements():
        for keep in range(1, len(a.events)):
            tail = a.events[keep:]
            if any(type(e) not in history.APPENDS for e in tail):
                continue  # replayed, not cut
            earlier = history.as_of(a, a.events[keep - 1].effective_at)
            if len(earlier.events) != keep:
                continue  # events at the same instant: not a cut at this position
            cut = {history.APPENDS[type(e)] for e in tail}
            seen += 1
            assert history.cut_from(earlier, frozenset()) is a
            for name in names:
                want = None if name in cut else a
                assert history.cut_from(earlier, frozenset({name})) is want, (name, cut)
    assert seen > 0


def test_kept_values_are_bounded_per_kind_and_sit_under_keys_the_collector_drops() -> None:
    """``_kept.kept`` keeps at most ``at_most`` values of a kind (then forgets that kind's
    values, and only those), ``entries`` lists a kind's values, ``slot``/``fill`` keep one;
    a key of plain values is one the garbage collector stops tracking."""
    import functools
    import gc

    from milestonebill._kept import AT_MOST, entries, fill, kept, slot

    a = _signed("a-kept")
    calls: list[int] = []

    def compute(n: int) -> list[int]:
        calls.append(n)
        return [n]

    first = kept(a, ("kept:test", date(2026, 1, 1)), lambda: compute(0))
    assert kept(a, ("kept:test", date(2026, 1, 1)), lambda: compute(99)) is first
    assert kept(a, ("kept:other", 1), lambda: compute(1)) == [1]
    for day in range(2, AT_MOST + 1):  # the kind now holds AT_MOST values
        kept(a, ("kept:test", date(2026, 1, day)), functools.partial(compute, day))
    assert len(entries(a, "kept:test")) == AT_MOST
    kept(a, ("kept:test", date(2026, 2, 1)), lambda: compute(50))  # one more: forgets them
    assert [k for k, _ in entries(a, "kept:test")] == [("kept:test", date(2026, 2, 1))]
    assert entries(a, "kept:other") == [(("kept:other", 1), [1])]  # another kind stays
    assert kept(a, ("kept:test", date(2026, 1, 1)), lambda: compute(7)) == [7]  # again
    assert calls == [0, 1, *range(2, AT_MOST + 1), 50, 7]
    gc.collect()
    assert not any(gc.is_tracked(k) for k, _ in entries(a, "kept:test"))
    assert slot(a, "kept:one") is None
    fill(a, "kept:one", ("source", (1, 2)))
    assert slot(a, "kept:one") == ("source", (1, 2))

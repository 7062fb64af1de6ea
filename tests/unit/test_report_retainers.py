"""Retainer metrics with hand-checked numbers: MRR and ARR, movements, NRR.

Every agreement here is signed on 1 January 2026 (unless a test says
otherwise) and billed by recurring charges only; amendments need no client
approval unless a test asks for it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    AgreementState,
    Amendment,
    AmendmentId,
    ApprovalRules,
    ChangeRecurringInterval,
    ChangeRecurringPrice,
    Collection,
    EndRecurringCharge,
    Operation,
    PackageOption,
    Proposal,
    ProposalId,
    ProrationPolicy,
    apply,
    approve,
    cancel,
    pause,
    propose,
    sign,
)
from milestonebill.errors import ValidationError
from milestonebill.money import Money
from milestonebill.periods import Period
from milestonebill.reports import (
    Movement,
    movement_totals,
    mrr,
    mrr_movements,
    mrr_totals,
    net_revenue_retention,
)
from milestonebill.schedule import (
    BillingSchedule,
    Escalation,
    Interval,
    IntervalUnit,
    ItemId,
    RecurringCharge,
)

JAN1 = date(2026, 1, 1)


def at(d: date, hour: int = 9) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=UTC)


def charge(price: str, interval: Interval = Interval.MONTHLY, *, start: date = JAN1,
           item: str = "retainer", currency: str = "USD", **kw: Any) -> RecurringCharge:
    return RecurringCharge(ItemId(item), item.title(), Money(price, currency), interval,
                           start=start, **kw)


def agreement(*charges: RecurringCharge, aid: str = "agr-1", client: str = "Acme",
              signed_on: date = JAN1, needs_approval: bool = False) -> Agreement:
    cur = charges[0].amount.currency
    offer = Proposal(ProposalId(f"p-{aid}"), client, cur, (PackageOption(
        "std", "Std", BillingSchedule(currency=cur, recurring=list(charges))),),
        collection=Collection.SEND_INVOICE,
        approval=ApprovalRules(require_client_approval=needs_approval))
    return sign(offer, option="std", signer="Ada", payment_method=None,
                agreement_id=AgreementId(aid), signed_at=at(signed_on))


def amend(a: Agreement, *ops: Operation, on: date, approved_on: date | None = None,
          amendment_id: str = "am-1") -> Agreement:
    a = apply(a, propose(a, Amendment(AmendmentId(amendment_id), ops), by="Bo", at=at(on)))
    if approved_on is not None:
        a = apply(a, approve(a, AmendmentId(amendment_id), by="Client", at=at(approved_on)))
    return a


def usd(v: str) -> Money:
    return Money(v, "USD")


def monthly(a: Agreement | list[Agreement], d: date) -> Money | None:
    """The MRR of a one-currency book on ``d`` (``None``: nothing in force)."""
    totals = mrr_totals(mrr(a if isinstance(a, list) else [a], d))
    return totals[0].mrr if len(totals) else None


# ---------------------------------------------------------------- normalisation


def test_a_monthly_charge_is_its_own_mrr_and_twelve_times_that_is_its_arr() -> None:
    row, = mrr([agreement(charge("2000.00"))], date(2026, 1, 15))
    assert (row.client, row.agreement_id, row.item_id, row.as_of) == (
        "Acme", "agr-1", "retainer", date(2026, 1, 15))
    assert (row.price, row.interval, row.period) == (
        usd("2000.00"), Interval.MONTHLY, Period(JAN1, date(2026, 2, 1)))
    assert (row.exact_monthly, row.mrr, row.arr) == (Fraction(2000), usd("2000.00"),
                                                     usd("24000.00"))


@pytest.mark.parametrize(("price", "interval", "exact", "rounded"), [
    ("3000.00", Interval.QUARTERLY, Fraction(1000), "1000.00"),
    ("12000.00", Interval.YEARLY, Fraction(1000), "1000.00"),
    ("1000.00", Interval.QUARTERLY, Fraction(1000, 3), "333.33"),
    ("1000.00", Interval.every(6, IntervalUnit.MONTH), Fraction(500, 3), "166.67"),
    ("600.00", Interval.WEEKLY, Fraction(2600), "2600.00"),
    ("100.00", Interval.WEEKLY, Fraction(1300, 3), "433.33"),
    ("100.00", Interval.every(2, IntervalUnit.WEEK), Fraction(650, 3), "216.67"),
])
def test_quarterly_yearly_and_weekly_prices_are_normalised_to_a_month_exactly(
        price: str, interval: Interval, exact: Fraction, rounded: str) -> None:
    row, = mrr([agreement(charge(price, interval))], date(2026, 2, 1))
    assert (row.exact_monthly, row.mrr) == (exact, usd(rounded))
    assert row.arr == Money.from_minor(12 * row.mrr.minor, "USD")


def test_an_agreement_is_rounded_once_and_its_rows_share_the_rounded_mrr() -> None:
    three = [charge("1000.00", Interval.QUARTERLY, item=i) for i in ("audit", "tax", "payroll")]
    rows = mrr([agreement(*three)], date(2026, 2, 1))
    # 1000/3 three times is exactly 1000.00: rounding each would lose a cent.
    assert [r.mrr for r in rows] == [usd("333.33"), usd("333.34"), usd("333.33")]
    assert mrr_totals(rows)[0].mrr == usd("1000.00")
    assert mrr_totals(rows)[0].arr == usd("12000.00")


def test_yen_rounds_half_up_to_the_yen() -> None:
    # 1,000,014 / 12 = 83,334.5 -> 83,335 (half even would give 83,334).
    row, = mrr([agreement(charge("1000014", Interval.YEARLY, currency="JPY"))], JAN1)
    assert (row.exact_monthly, row.mrr, row.arr) == (
        Fraction(1000014, 12), Money("83335", "JPY"), Money("1000020", "JPY"))
    row, = mrr([agreement(charge("100000", Interval.QUARTERLY, currency="JPY"))], JAN1)
    assert row.mrr == Money("33333", "JPY")


@pytest.mark.parametrize(("price", "interval", "rounded"), [
    ("1.230", Interval.YEARLY, "0.103"),        # 0.1025 -> 0.103, half up
    ("100.000", Interval.QUARTERLY, "33.333"),  # 33.3333...
    ("1.000", Interval.WEEKLY, "4.333"),        # 4.3333...
])
def test_kuwaiti_dinars_round_to_the_fils(price: str, interval: Interval, rounded: str) -> None:
    row, = mrr([agreement(charge(price, interval, currency="KWD"))], JAN1)
    assert row.mrr == Money(rounded, "KWD")
    assert row.arr == Money.from_minor(12 * row.mrr.minor, "KWD")


# ---------------------------------------------------------------- in force


def test_an_escalation_changes_mrr_on_its_anniversary() -> None:
    a = agreement(charge("2450.00", start=date(2025, 1, 31), escalations=(
        Escalation(percent=Decimal(3), step=Decimal(1)),)), signed_on=date(2025, 1, 31))
    assert monthly(a, date(2026, 1, 30)) == usd("2450.00")
    assert monthly(a, date(2026, 1, 31)) == usd("2524.00")
    move, = mrr_movements([a], date(2026, 1, 30), date(2026, 1, 31))
    assert (move.movement, move.expansion) == (Movement.EXPANSION, usd("74.00"))


def test_a_price_increase_is_expansion_from_its_effective_date() -> None:
    a = amend(agreement(charge("1000.00")),
              ChangeRecurringPrice(date(2026, 2, 15), ItemId("retainer"), usd("1500.00")),
              on=date(2026, 2, 10))
    assert monthly(a, date(2026, 2, 14)) == usd("1000.00")
    row, = mrr([a], date(2026, 2, 15))
    assert (row.price, row.mrr, row.period) == (usd("1500.00"), usd("1500.00"),
                                                Period(date(2026, 2, 1), date(2026, 3, 1)))
    move, = mrr_movements([a], JAN1, date(2026, 3, 1))
    assert (move.movement, move.opening, move.expansion, move.closing) == (
        Movement.EXPANSION, usd("1000.00"), usd("500.00"), usd("1500.00"))
    assert move.new == move.contraction == move.churn == usd("0.00")


def test_a_price_change_for_the_next_period_moves_mrr_when_that_period_starts() -> None:
    a = amend(agreement(charge("1000.00")),
              ChangeRecurringPrice(date(2026, 2, 15), ItemId("retainer"), usd("1500.00"),
                                   ProrationPolicy.NEXT_PERIOD), on=date(2026, 2, 10))
    assert monthly(a, date(2026, 2, 28)) == usd("1000.00")
    assert monthly(a, date(2026, 3, 1)) == usd("1500.00")


def test_mrr_counts_an_amendment_only_once_it_was_approved() -> None:
    a = amend(agreement(charge("1000.00"), needs_approval=True),
              ChangeRecurringPrice(date(2026, 2, 15), ItemId("retainer"), usd("1500.00")),
              on=date(2026, 2, 10), approved_on=date(2026, 3, 10))
    assert monthly(a, date(2026, 2, 20)) == usd("1000.00")  # as known on 20 February
    assert monthly(a, date(2026, 3, 9)) == usd("1000.00")
    assert monthly(a, date(2026, 3, 10)) == usd("1500.00")


def test_a_price_cut_is_contraction() -> None:
    a = amend(agreement(charge("1000.00")),
              ChangeRecurringPrice(date(2026, 3, 1), ItemId("retainer"), usd("600.00")),
              on=date(2026, 2, 10))
    move, = mrr_movements([a], JAN1, date(2026, 4, 1))
    assert (move.movement, move.contraction, move.closing) == (
        Movement.CONTRACTION, usd("400.00"), usd("600.00"))


def test_a_monthly_charge_turned_quarterly_at_the_same_price_contracts_mrr() -> None:
    a = amend(agreement(charge("1000.00")),
              ChangeRecurringInterval(date(2026, 2, 1), ItemId("retainer"), Interval.QUARTERLY),
              on=date(2026, 1, 20))
    row, = mrr([a], date(2026, 3, 15))
    assert (row.interval, row.period, row.mrr) == (
        Interval.QUARTERLY, Period(date(2026, 2, 1), date(2026, 5, 1)), usd("333.33"))
    move, = mrr_movements([a], JAN1, date(2026, 3, 15))
    assert (move.movement, move.contraction) == (Movement.CONTRACTION, usd("666.67"))


def test_ending_a_recurring_charge_is_churn_from_its_effective_date() -> None:
    a = amend(agreement(charge("800.00")),
              EndRecurringCharge(date(2026, 3, 1), ItemId("retainer")), on=date(2026, 2, 10))
    assert monthly(a, date(2026, 2, 28)) == usd("800.00")
    assert mrr([a], date(2026, 3, 1)).rows == ()
    move, = mrr_movements([a], JAN1, date(2026, 4, 1))
    assert (move.movement, move.opening, move.churn, move.closing) == (
        Movement.CHURN, usd("800.00"), usd("800.00"), usd("0.00"))


def test_ending_a_charge_at_the_next_period_keeps_it_in_force_until_then() -> None:
    a = amend(agreement(charge("800.00")),
              EndRecurringCharge(date(2026, 3, 10), ItemId("retainer"),
                                 ProrationPolicy.NEXT_PERIOD), on=date(2026, 3, 5))
    assert monthly(a, date(2026, 3, 31)) == usd("800.00")
    assert monthly(a, date(2026, 4, 1)) is None


def test_a_cancellation_crediting_unused_time_churns_on_its_date() -> None:
    a = agreement(charge("1000.00"))
    a = apply(a, cancel(a, at=at(date(2026, 3, 10))))
    assert monthly(a, date(2026, 3, 9)) == usd("1000.00")
    assert monthly(a, date(2026, 3, 10)) is None
    move, = mrr_movements([a], JAN1, date(2026, 4, 1))
    assert (move.movement, move.churn) == (Movement.CHURN, usd("1000.00"))


def test_a_cancellation_without_credit_stays_in_force_to_the_end_of_the_paid_period() -> None:
    a = agreement(charge("1000.00"))
    a = apply(a, cancel(a, at=at(date(2026, 3, 10)), credit_unused=False))
    row, = mrr([a], date(2026, 3, 31))
    assert (row.state, row.mrr) == (AgreementState.CANCELLED, usd("1000.00"))
    assert monthly(a, date(2026, 4, 1)) is None


def test_a_paused_agreement_is_still_in_force_with_its_billing_held() -> None:
    a = agreement(charge("1000.00"))
    a = apply(a, pause(a, at=at(date(2026, 2, 5)), reason="client on holiday"))
    row, = mrr([a], date(2026, 2, 10))
    assert (row.state, row.mrr) == (AgreementState.PAUSED, usd("1000.00"))
    assert mrr([a], date(2026, 2, 4))[0].state is AgreementState.ACTIVE
    move, = mrr_movements([a], JAN1, date(2026, 3, 1))
    assert move.movement is Movement.UNCHANGED


def test_an_agreement_signed_between_the_dates_is_new() -> None:
    a = agreement(charge("500.00", start=date(2026, 2, 15)), signed_on=date(2026, 2, 15))
    assert mrr([a], JAN1).rows == ()  # not signed yet: no MRR, not an error
    move, = mrr_movements([a], JAN1, date(2026, 4, 1))
    assert (move.movement, move.opening, move.new, move.closing) == (
        Movement.NEW, usd("0.00"), usd("500.00"), usd("500.00"))


def test_a_charge_starting_after_signing_has_no_mrr_before_its_start() -> None:
    a = agreement(charge("1000.00", start=date(2026, 2, 1)), signed_on=date(2026, 1, 10))
    assert mrr([a], date(2026, 1, 31)).rows == ()
    assert monthly(a, date(2026, 2, 1)) == usd("1000.00")


def test_a_charge_past_its_last_period_has_no_mrr() -> None:
    a = agreement(charge("1000.00", count=3))
    assert monthly(a, date(2026, 3, 31)) == usd("1000.00")
    assert mrr([a], date(2026, 4, 1)).rows == ()


# ---------------------------------------------------------------- a book


def book() -> list[Agreement]:
    """Four USD retainers over the first quarter of 2026 and one in EUR.

    up: 1,000.00 -> 1,500.00 (expansion 500.00); gone: 800.00 ended
    (churn 800.00); down: 600.00 -> 450.00 (contraction 150.00); fresh: new
    500.00; euro: 90.00 EUR signed in February (new).
    """
    up = amend(agreement(charge("1000.00"), aid="up", client="Up Ltd"),
               ChangeRecurringPrice(date(2026, 2, 1), ItemId("retainer"), usd("1500.00")),
               on=date(2026, 1, 20))
    gone = amend(agreement(charge("800.00"), aid="gone", client="Gone Ltd"),
                 EndRecurringCharge(date(2026, 3, 1), ItemId("retainer")), on=date(2026, 2, 1))
    down = amend(agreement(charge("1800.00", Interval.QUARTERLY), aid="down", client="Down Ltd"),
                 ChangeRecurringPrice(date(2026, 2, 1), ItemId("retainer"), usd("1350.00")),
                 on=date(2026, 1, 25))
    fresh = agreement(charge("500.00", start=date(2026, 2, 10)), aid="fresh", client="Fresh",
                      signed_on=date(2026, 2, 10))
    euro = agreement(charge("90.00", currency="EUR", start=date(2026, 2, 3)), aid="euro",
                     client="Euro SA", signed_on=date(2026, 2, 3))
    return [up, gone, down, fresh, euro]


def test_movements_add_up_per_currency_to_the_closing_mrr() -> None:
    moves = mrr_movements(book(), JAN1, date(2026, 4, 1))
    assert [(m.agreement_id, m.movement) for m in moves] == [
        ("up", Movement.EXPANSION), ("gone", Movement.CHURN), ("down", Movement.CONTRACTION),
        ("fresh", Movement.NEW), ("euro", Movement.NEW)]
    eur, usd_total = movement_totals(moves)
    assert (usd_total.opening, usd_total.new, usd_total.expansion, usd_total.contraction,
            usd_total.churn, usd_total.closing) == (
        usd("2400.00"), usd("500.00"), usd("500.00"), usd("150.00"), usd("800.00"),
        usd("2450.00"))
    for t in (eur, usd_total):
        assert t.opening + t.new + t.expansion - t.contraction - t.churn == t.closing
    for m in moves:
        assert m.opening + m.new + m.expansion - m.contraction - m.churn == m.closing
    assert (eur.opening, eur.new, eur.closing) == (Money("0.00", "EUR"), Money("90.00", "EUR"),
                                                   Money("90.00", "EUR"))


def test_totals_are_per_currency_and_never_add_currencies() -> None:
    totals = mrr_totals(mrr(book(), date(2026, 4, 1)))
    assert [(t.agreements, t.mrr, t.arr) for t in totals] == [
        (1, Money("90.00", "EUR"), Money("1080.00", "EUR")),
        (3, usd("2450.00"), usd("29400.00"))]


def test_the_opening_and_closing_of_movements_are_the_mrr_on_each_date() -> None:
    b = book()
    usd_total = movement_totals(mrr_movements(b, JAN1, date(2026, 4, 1)))[1]
    assert usd_total.opening == mrr_totals(mrr(b, JAN1))[0].mrr
    assert usd_total.closing == mrr_totals(mrr(b, date(2026, 4, 1)))[1].mrr


def test_net_revenue_retention_leaves_new_agreements_out() -> None:
    eur, usd_row = net_revenue_retention(book(), JAN1, date(2026, 4, 1))
    # (2,400.00 + 500.00 - 150.00 - 800.00) / 2,400.00 = 1,950 / 2,400 = 13/16 = 81.25 %
    assert (usd_row.opening, usd_row.retained) == (usd("2400.00"), usd("1950.00"))
    assert (usd_row.ratio, usd_row.percent) == (Fraction(13, 16), Decimal("81.3"))
    assert (eur.opening, eur.ratio, eur.percent) == (Money("0.00", "EUR"), None, None)


def test_movements_over_a_day_with_no_change_are_all_unchanged() -> None:
    moves = mrr_movements(book(), date(2026, 3, 5), date(2026, 3, 5))
    assert {m.movement for m in moves} == {Movement.UNCHANGED}
    row, = net_revenue_retention(book()[:3], date(2026, 3, 5), date(2026, 3, 5))
    assert (row.ratio, row.percent) == (Fraction(1), Decimal("100.0"))


def test_agreement_ids_narrow_a_report_to_some_agreements() -> None:
    moves = mrr_movements(book(), JAN1, date(2026, 4, 1), agreement_ids=["down", "up"])
    assert [m.agreement_id for m in moves] == ["up", "down"]
    row, = net_revenue_retention(book(), JAN1, date(2026, 4, 1), agreement_ids={"up"})
    assert (row.ratio, row.percent) == (Fraction(3, 2), Decimal("150.0"))


def test_reports_read_as_records_and_data_frames() -> None:
    rows = mrr([agreement(charge("1000.00", Interval.QUARTERLY))], date(2026, 2, 1))
    record, = rows.to_records()
    assert (record["exact_monthly"], record["mrr"], record["state"]) == (
        "1000/3", {"amount": "333.33", "currency": "USD"}, "active")
    frame = mrr_movements(book(), JAN1, date(2026, 4, 1)).to_pandas()
    assert list(frame["currency"]) == ["USD"] * 4 + ["EUR"]
    assert list(frame["closing"]) == [Decimal(v) for v in ("1500.00", "0.00", "450.00",
                                                           "500.00", "90.00")]
    assert "<caption>MRR</caption>" in rows._repr_html_()


# ---------------------------------------------------------------- bad input


def test_an_end_before_the_start_is_refused_naming_end() -> None:
    for report in (mrr_movements, net_revenue_retention):
        with pytest.raises(ValidationError) as err:
            report(book(), date(2026, 4, 1), JAN1)
        assert err.value.field == "end"


@pytest.mark.parametrize(("call", "field"), [
    (lambda b: mrr(b, datetime(2026, 1, 1, tzinfo=UTC)), "as_of"),
    (lambda b: mrr(b, "2026-01-01"), "as_of"),  # type: ignore[arg-type]
    (lambda b: mrr_movements(b, None, JAN1), "start"),  # type: ignore[arg-type]
    (lambda b: mrr([*b, b[0]], JAN1), "agreements[5].id"),
    (lambda b: mrr([b[0], "agr-2"], JAN1), "agreements[1]"),  # type: ignore[list-item]
    (lambda b: mrr(b[0], JAN1), "agreements"),
    (lambda b: mrr(b, JAN1, agreement_ids=["up", "nobody"]), "agreement_ids"),
    (lambda b: mrr(b, JAN1, agreement_ids="up"), "agreement_ids"),
])
def test_bad_input_raises_a_validation_error_naming_the_field(call: Any, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        call(book())
    assert err.value.field == field


def test_unknown_ids_are_named_in_the_error() -> None:
    with pytest.raises(ValidationError, match="nobody"):
        net_revenue_retention(book(), JAN1, date(2026, 4, 1), agreement_ids=["up", "nobody"])


def test_a_book_with_nothing_in_force_gives_empty_reports() -> None:
    assert len(mrr([], JAN1)) == len(mrr_totals([])) == 0
    assert len(net_revenue_retention([], JAN1, date(2026, 4, 1))) == 0
    assert len(mrr_movements(book(), date(2025, 6, 1), date(2025, 12, 31))) == 0


def test_amendments_on_milestones_alone_leave_the_recurring_terms_as_they_stood() -> None:
    """MRR at a date reads the recurring terms as they stood; an amendment that only
    adds or reprices a milestone (proposed, or approved later) and a rejected one do
    not change them, so MRR does not replay the agreement to before them -- and the
    results are the replay's."""
    import attrs

    from milestonebill._reference import reference_path
    from milestonebill.agreement import AddMilestone, ChangeMilestoneAmount, reject
    from milestonebill.reports import monthly_movements
    from milestonebill.reports.retainers import _rate_changes
    from milestonebill.schedule import Milestone, MilestoneId, Trigger

    a = agreement(charge("1000.00"), needs_approval=True)
    kickoff = Milestone(MilestoneId("kickoff"), "Kick-off", amount=usd("500.00"),
                        trigger=Trigger.ON_COMPLETION)
    a = amend(a, AddMilestone(date(2026, 2, 1), kickoff), on=date(2026, 1, 20),
              approved_on=date(2026, 1, 25), amendment_id="am-1")
    a = amend(a, ChangeRecurringPrice(date(2026, 3, 1), ItemId("retainer"), usd("1500.00")),
              on=date(2026, 2, 10), approved_on=date(2026, 2, 20), amendment_id="am-2")
    a = amend(a, ChangeMilestoneAmount(date(2026, 3, 5), MilestoneId("kickoff"),
                                       usd("650.00")), on=date(2026, 3, 5), amendment_id="am-3")
    a = amend(a, ChangeRecurringPrice(date(2026, 4, 1), ItemId("retainer"), usd("9000.00")),
              on=date(2026, 3, 20), amendment_id="am-4")
    a = apply(a, reject(a, AmendmentId("am-4"), by="Client", at=at(date(2026, 3, 25))))
    # the signing and the approval of the price change; the proposal of am-2 is a change
    # too (pending, it is not looked into), am-1, am-3 and the rejection are not
    assert _rate_changes(a) == (JAN1, date(2026, 2, 10), date(2026, 2, 20), date(2026, 3, 20))
    with reference_path():
        want = list(monthly_movements([a], JAN1, 6))
    assert list(monthly_movements([attrs.evolve(a)], JAN1, 6)) == want
    # closing on 1 February, 1 March (the new price), 1 April (am-4 was rejected), 1 May
    assert [r.closing for r in want][:4] == [usd("1000.00"), usd("1500.00"), usd("1500.00"),
                                             usd("1500.00")]


def test_an_agreement_without_a_recurring_charge_since_its_signing_has_no_mrr_at_any_date(
) -> None:
    """MRR skips an agreement that never had a recurring charge (no recurring terms now
    and no change since its signing that could add one) -- and one that gained a charge
    by an amendment is not skipped: both are the replay's."""
    import attrs

    from milestonebill._reference import reference_path
    from milestonebill.agreement import AddMilestone, AddRecurringCharge
    from milestonebill.reports import monthly_movements
    from milestonebill.reports.retainers import _never_recurring
    from milestonebill.schedule import Milestone, MilestoneId, Trigger
    from milestonebill.testing.scenarios import proposal, signed

    project = signed(proposal([("design", "4000.00")]), at=at(JAN1))
    extra = Milestone(MilestoneId("extra"), "Extra", amount=usd("500.00"),
                      trigger=Trigger.ON_COMPLETION)
    project = amend(project, AddMilestone(date(2026, 2, 1), extra), on=date(2026, 1, 20))
    gained = amend(signed(proposal([("design", "4000.00")]), at=at(JAN1),
                          agreement_id=AgreementId("agr-2")),
                   AddRecurringCharge(date(2026, 3, 1), charge("600.00", start=date(2026, 3, 1))),
                   on=date(2026, 2, 15))
    assert _never_recurring(project)
    assert not _never_recurring(gained)
    book = [project, gained]
    with reference_path():
        want = ([list(mrr(book, d)) for d in (JAN1, date(2026, 3, 15))],
                list(mrr_movements(book, JAN1, date(2026, 4, 1))),
                list(monthly_movements(book, JAN1, 6)))
    fresh = [attrs.evolve(a) for a in book]
    got = ([list(mrr(fresh, d)) for d in (JAN1, date(2026, 3, 15))],
           list(mrr_movements(fresh, JAN1, date(2026, 4, 1))),
           list(monthly_movements(fresh, JAN1, 6)))
    assert got == want
    assert [r.agreement_id for r in got[0][1]] == ["agr-2"]
    move, = got[1]
    assert (move.agreement_id, move.movement, move.new) == ("agr-2", Movement.NEW, usd("600.00"))


@pytest.mark.parametrize(("start", "end"), [(JAN1, date(2026, 4, 1)),
                                            (date(2026, 2, 3), date(2026, 3, 15)),
                                            (date(2026, 3, 1), date(2026, 3, 1))])
def test_retention_added_up_in_integers_is_the_retention_of_the_movement_rows(
        start: date, end: date) -> None:
    """Net revenue retention adds up the MRR levels without making movement rows; per
    currency, over a span and over a single day, it is the rows' totals."""
    import attrs

    from milestonebill._reference import reference_path

    with reference_path():
        want = list(net_revenue_retention(book(), start, end))
    assert list(net_revenue_retention([attrs.evolve(a) for a in book()], start, end)) == want
    assert [r.opening.currency.code for r in want] == ["EUR", "USD"]

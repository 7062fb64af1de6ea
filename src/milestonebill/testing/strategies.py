"""Hypothesis strategies for milestonebill values, shared by the property tests.

Host applications can use them to property-test their own adapters: money
and weights, and the parts of random agreement histories -- milestones,
monthly retainers, two-package proposals with an add-on, amendment
operations of every kind, what the gateway does with a charge, and the
steps of an agreement's life (complete, re-price, run).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from milestonebill.agreement import (
    AddAddOn,
    AddMilestone,
    AddOn,
    AddRecurringCharge,
    Agreement,
    ApprovalRules,
    CancelAddOn,
    ChangeBillingDay,
    ChangeMilestoneAmount,
    ChangeRecurringInterval,
    ChangeRecurringPrice,
    Collection,
    EndRecurringCharge,
    Operation,
    PackageOption,
    Proposal,
    ProposalId,
    ProrationPolicy,
    RemoveMilestone,
    RescheduleMilestone,
    SwitchPackage,
)
from milestonebill.gateways.memory import Scripted
from milestonebill.limits import MAX_AMOUNT_MINOR
from milestonebill.money import ISO_4217_EXPONENTS, Currency, Money
from milestonebill.schedule import (
    BillingSchedule,
    Interval,
    IntervalUnit,
    ItemId,
    Milestone,
    MilestoneId,
    RecurringCharge,
    Timing,
    Trigger,
)

__all__ = [
    "INTERVALS",
    "amendment_operations",
    "charge_outcomes",
    "complete_steps",
    "currencies",
    "decimal_weights",
    "exponent_currencies",
    "int_weights",
    "milestone_lists",
    "minor_amounts",
    "moneys",
    "monthly_retainers",
    "offered_milestones",
    "offered_recurring",
    "offers",
    "reprice_steps",
    "run_steps",
    "sample_currencies",
]

#: A spread of exponents: 0 (JPY), 2 (USD, EUR), 3 (KWD), 4 (CLF).
sample_currencies = ("USD", "EUR", "JPY", "KWD", "BHD", "CLF", "GBP", "KRW")
#: The intervals :func:`offers` and :func:`amendment_operations` draw: month,
#: quarter and year (anchor-based) and two weeks (no anchor).
INTERVALS: tuple[Interval, ...] = (Interval.MONTHLY, Interval.QUARTERLY, Interval.YEARLY,
                                   Interval.every(2, IntervalUnit.WEEK))
_NO_APPROVAL = ApprovalRules(require_client_approval=False)


def currencies(*, every: bool = False) -> st.SearchStrategy[Currency]:
    """Currencies; by default a sample covering exponents 0, 2, 3 and 4."""
    codes = sorted(ISO_4217_EXPONENTS) if every else list(sample_currencies)
    return st.sampled_from(codes).map(Currency.of)


def exponent_currencies() -> st.SearchStrategy[Currency]:
    """USD, JPY or KWD: one currency for each usual minor unit (cents, none,
    thousandths), shrinking towards USD."""
    return st.sampled_from(["USD", "JPY", "KWD"]).map(Currency.of)


def minor_amounts(*, max_abs: int = 10**15, allow_negative: bool = True) -> st.SearchStrategy[int]:
    """Integer minor-unit amounts (for the integer bulk paths; a ``Money`` holds at most
    :data:`~milestonebill.limits.MAX_AMOUNT_MINOR`, see :func:`moneys`)."""
    return st.integers(min_value=-max_abs if allow_negative else 0, max_value=max_abs)


def moneys(
    currency: Currency | str | None = None,
    *,
    max_abs: int = 10**15,
    allow_negative: bool = True,
) -> st.SearchStrategy[Money]:
    """Money values in one currency, or in a drawn currency when none is given.

    ``max_abs`` (minor units) is capped at
    :data:`~milestonebill.limits.MAX_AMOUNT_MINOR`, the largest amount a
    ``Money`` may hold.
    """
    cur = st.just(Currency.of(currency)) if currency is not None else currencies()
    top = min(max_abs, MAX_AMOUNT_MINOR)
    return st.builds(
        Money.from_minor, minor_amounts(max_abs=top, allow_negative=allow_negative), cur
    )


def int_weights(*, max_size: int = 24) -> st.SearchStrategy[list[int]]:
    """Non-negative integer weights with a positive sum."""
    return st.lists(st.integers(0, 10**6), min_size=1, max_size=max_size).filter(
        lambda ws: sum(ws) > 0
    )


def decimal_weights(*, max_size: int = 12) -> st.SearchStrategy[list[Decimal]]:
    """Percent-like Decimal weights with up to 4 decimals and a positive sum."""
    w = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False)
    return st.lists(w, min_size=1, max_size=max_size).filter(lambda ws: sum(ws) > 0)


def milestone_lists(
    currency: Currency,
    *,
    max_size: int = 4,
    max_minor: int = 10**7,
    triggers: Sequence[Trigger] = (Trigger.ON_COMPLETION,),
    first_due: date | None = None,
    due_within_days: int = 90,
) -> st.SearchStrategy[list[Milestone]]:
    """One to ``max_size`` milestones ``m0``, ``m1``... (titled ``M0``,
    ``M1``...) of 1 to ``max_minor`` minor units of ``currency``.

    Each is billed on a trigger drawn from ``triggers``; an ``ON_DATE``
    one falls due 0 to ``due_within_days`` days after ``first_due``.
    """
    if not triggers:
        raise ValueError("triggers: at least one")
    if Trigger.ON_DATE in triggers and first_due is None:
        raise ValueError("first_due: needed when milestones may be ON_DATE")

    @st.composite
    def draw_milestones(draw: st.DrawFn) -> list[Milestone]:
        out = []
        for i in range(draw(st.integers(1, max_size))):
            amount = Money.from_minor(draw(st.integers(1, max_minor)), currency)
            trigger = triggers[0] if len(triggers) == 1 else draw(st.sampled_from(triggers))
            due = None
            if trigger is Trigger.ON_DATE and first_due is not None:
                due = first_due + timedelta(days=draw(st.integers(0, due_within_days)))
            out.append(Milestone(MilestoneId(f"m{i}"), f"M{i}", amount=amount,
                                 trigger=trigger, due_on=due))
        return out

    return draw_milestones()


def monthly_retainers(
    currency: Currency,
    *,
    start: date,
    start_within_days: int = 0,
    max_minor: int = 10**6,
    max_count: int = 4,
) -> st.SearchStrategy[RecurringCharge]:
    """A monthly charge ``ret`` ("Retainer") of 1 to ``max_minor`` minor
    units of ``currency``, for 1 to ``max_count`` months from ``start``
    (or a day up to ``start_within_days`` after it)."""

    @st.composite
    def draw_retainer(draw: st.DrawFn) -> RecurringCharge:
        amount = Money.from_minor(draw(st.integers(1, max_minor)), currency)
        first = start
        if start_within_days:
            first += timedelta(days=draw(st.integers(0, start_within_days)))
        return RecurringCharge(ItemId("ret"), "Retainer", amount, Interval.MONTHLY, start=first,
                               count=draw(st.integers(1, max_count)))

    return draw_retainer()


def charge_outcomes(
    *, successes: int = 1, actions: bool = True, timeouts: bool = True
) -> st.SearchStrategy[Scripted]:
    """What the in-memory gateway does with a charge: succeed (listed
    ``successes`` times, to weight it), a soft decline (insufficient funds),
    a hard one (stolen card) and, unless told not to, asking the customer
    to act and timing out after charging."""
    choices = [Scripted.succeed() for _ in range(successes)]
    choices += [Scripted.decline("insufficient_funds"), Scripted.decline("stolen_card")]
    if actions:
        choices.append(Scripted.require_action())
    if timeouts:
        choices.append(Scripted.time_out_after_charge())
    return st.sampled_from(choices)


def complete_steps(milestones: int) -> st.SearchStrategy[tuple[str, int, int]]:
    """A step ``("complete", i, 0)`` of an agreement's life: complete milestone ``i``
    of ``milestones``.  Steps are ``(kind, index, percent)`` triples."""
    return st.tuples(st.just("complete"), st.integers(0, milestones - 1), st.just(0))


def reprice_steps(
    milestones: int, *, max_percent: int = 150
) -> st.SearchStrategy[tuple[str, int, int]]:
    """A step ``("reprice", i, percent)``: amend milestone ``i`` (of
    ``milestones``) to 1 to ``max_percent`` % of its first price."""
    return st.tuples(st.just("reprice"), st.integers(0, milestones - 1),
                     st.integers(1, max_percent))


def run_steps() -> st.SearchStrategy[tuple[str, int, int]]:
    """A step ``("run", 0, 0)``: a billing run on the day."""
    return st.just(("run", 0, 0))


# ------------------------------------------------------------ proposals and amendments


def offered_milestones(currency: Currency, milestone_id: str, *, start: date,
                       max_minor: int = 500_000, within_days: int = 400,
                       ) -> st.SearchStrategy[Milestone]:
    """A milestone ``milestone_id`` of 1 to ``max_minor`` minor units on any
    trigger; an ``ON_DATE`` one falls due 0 to ``within_days`` days after ``start``."""

    @st.composite
    def draw_milestone(draw: st.DrawFn) -> Milestone:
        trigger = draw(st.sampled_from(list(Trigger)))
        due = (start + timedelta(days=draw(st.integers(0, within_days)))
               if trigger is Trigger.ON_DATE else None)
        return Milestone(MilestoneId(milestone_id), milestone_id,
                         amount=Money.from_minor(draw(st.integers(1, max_minor)), currency),
                         trigger=trigger, due_on=due)

    return draw_milestone()


def offered_recurring(currency: Currency, item_id: str, *, start: date,
                      max_minor: int = 500_000, max_count: int = 8,
                      open_ended: bool = True) -> st.SearchStrategy[RecurringCharge]:
    """A recurring charge ``item_id`` on one of :data:`INTERVALS`, in advance or in
    arrears, starting 0 to 60 days after ``start``, for 1 to ``max_count``
    periods (or, if ``open_ended``, possibly without end)."""

    @st.composite
    def draw_recurring(draw: st.DrawFn) -> RecurringCharge:
        count = st.integers(1, max_count)
        return RecurringCharge(
            ItemId(item_id), item_id,
            Money.from_minor(draw(st.integers(1, max_minor)), currency),
            draw(st.sampled_from(INTERVALS)),
            start=start + timedelta(days=draw(st.integers(0, 60))),
            count=draw(st.none() | count if open_ended else count),
            timing=draw(st.sampled_from(list(Timing))))

    return draw_recurring()


def offers(
    *,
    start: date,
    currency: Currency | None = None,
    collection: Collection = Collection.SEND_INVOICE,
    approval: ApprovalRules | st.SearchStrategy[ApprovalRules] = _NO_APPROVAL,
    max_minor: int = 500_000,
    max_count: int = 8,
    open_ended: bool = True,
) -> st.SearchStrategy[Proposal]:
    """A proposal ``"p"`` with packages ``"a"`` and ``"b"`` (each zero to three
    milestones ``am0``/``bm0``... on any trigger and zero to two recurring
    charges ``r0``, ``r1``) and an add-on ``"extra"`` (milestone ``xm``,
    recurring ``xr``); everything starts on or after ``start``.

    ``currency`` defaults to a draw of USD, JPY or KWD; ``approval`` may be a
    strategy.  Switching packages between ``a`` and ``b`` keeps the recurring
    ids, so a switch changes a charge's terms rather than ending it.
    """

    @st.composite
    def draw_offer(draw: st.DrawFn) -> Proposal:
        cur = currency if currency is not None else draw(exponent_currencies())

        def package(tag: str) -> BillingSchedule:
            ms = [draw(offered_milestones(cur, f"{tag}m{i}", start=start, max_minor=max_minor))
                  for i in range(draw(st.integers(0, 3)))]
            rs = [draw(offered_recurring(cur, f"r{i}", start=start, max_minor=max_minor,
                                         max_count=max_count, open_ended=open_ended))
                  for i in range(draw(st.integers(0, 2)))]
            return BillingSchedule(currency=cur, milestones=ms, recurring=rs)

        extra = AddOn("extra", "Extra", BillingSchedule(
            currency=cur,
            milestones=[draw(offered_milestones(cur, "xm", start=start, max_minor=max_minor))],
            recurring=[draw(offered_recurring(cur, "xr", start=start, max_minor=max_minor,
                                              max_count=max_count, open_ended=open_ended))]))
        rules = approval if isinstance(approval, ApprovalRules) else draw(approval)
        return Proposal(ProposalId("p"), "Client", cur,
                        (PackageOption("a", "A", package("a")),
                         PackageOption("b", "B", package("b"))),
                        (extra,), approval=rules, collection=collection)

    return draw_offer()


def amendment_operations(agreement: Agreement, effective: date, n: int, *,
                         start: date | None = None,
                         max_minor: int = 500_000) -> st.SearchStrategy[Operation]:
    """One amendment operation of any kind for ``agreement`` (signed from
    :func:`offers`), effective on ``effective``: a milestone's amount changed
    (zero included), removed, rescheduled or added (``new<n>``); a recurring
    charge added (``newr<n>``), re-priced, moved to another interval or
    billing day, or ended; the package switched; the add-on added or
    cancelled -- each with any :class:`ProrationPolicy`.  Added items start
    on or after ``start`` (default ``effective``).  Some may not apply
    to the agreement as it stands (the add-on is already active, say):
    proposing them raises :class:`~milestonebill.errors.AmendmentError`.
    """

    first = effective if start is None else start

    @st.composite
    def draw_operation(draw: st.DrawFn) -> Operation:
        cur = agreement.currency
        policy = draw(st.sampled_from(list(ProrationPolicy)))
        mids = [t.milestone.id for t in agreement.milestones]
        rids = sorted({t.charge.id for t in agreement.recurring})
        kinds = ["add_m", "add_r", "switch", "addon", "cancel_addon"]
        if mids:
            kinds += ["change_m", "remove_m", "reschedule"]
        if rids:
            kinds += ["price", "interval", "day", "end"]
        kind = draw(st.sampled_from(kinds))
        if kind == "change_m":
            return ChangeMilestoneAmount(effective, draw(st.sampled_from(mids)),
                                         Money.from_minor(draw(st.integers(0, max_minor)), cur))
        if kind == "remove_m":
            return RemoveMilestone(effective, draw(st.sampled_from(mids)))
        if kind == "reschedule":
            return RescheduleMilestone(effective, draw(st.sampled_from(mids)),
                                       effective + timedelta(days=draw(st.integers(-30, 90))))
        if kind == "add_m":
            return AddMilestone(effective, draw(offered_milestones(
                cur, f"new{n}", start=first, max_minor=max_minor)))
        if kind == "add_r":
            return AddRecurringCharge(effective, draw(offered_recurring(
                cur, f"newr{n}", start=first, max_minor=max_minor)))
        if kind == "switch":
            return SwitchPackage(effective, "b" if agreement.option_id == "a" else "a", policy)
        if kind == "addon":
            return AddAddOn(effective, "extra")
        if kind == "cancel_addon":
            return CancelAddOn(effective, "extra", policy)
        rid = ItemId(draw(st.sampled_from(rids)))
        if kind == "price":
            return ChangeRecurringPrice(
                effective, rid, Money.from_minor(draw(st.integers(0, max_minor)), cur), policy)
        if kind == "interval":
            return ChangeRecurringInterval(effective, rid, draw(st.sampled_from(INTERVALS)),
                                           policy)
        if kind == "day":
            return ChangeBillingDay(effective, rid, draw(st.integers(1, 31)), policy)
        return EndRecurringCharge(effective, rid, policy)

    return draw_operation()

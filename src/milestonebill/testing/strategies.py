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

import attrs
from hypothesis import strategies as st

from milestonebill.agreement import (
    AddAddOn,
    AddDiscount,
    AddMilestone,
    AddOn,
    AddRecurringCharge,
    Agreement,
    ApprovalRules,
    CancelAddOn,
    ChangeBillingDay,
    ChangeInstallments,
    ChangeMilestoneAmount,
    ChangeRecurringInterval,
    ChangeRecurringPrice,
    Collection,
    EndDiscount,
    EndRecurringCharge,
    Operation,
    PackageOption,
    Proposal,
    ProposalId,
    ProrationPolicy,
    RaiseTimeCap,
    RemoveMilestone,
    RescheduleMilestone,
    SwitchPackage,
    time_caps,
)
from milestonebill.errors import ValidationError
from milestonebill.gateways.memory import Scripted
from milestonebill.limits import MAX_AMOUNT_MINOR
from milestonebill.money import ISO_4217_EXPONENTS, Currency, Money, Rounding
from milestonebill.schedule import (
    BillingSchedule,
    Discount,
    DiscountScope,
    InstallmentPlan,
    Interval,
    IntervalUnit,
    ItemId,
    LateFee,
    Milestone,
    MilestoneId,
    PaymentTerms,
    PhaseCap,
    Rate,
    RecurringCharge,
    RoundingScope,
    TimeAndMaterials,
    TimeCadence,
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
    "late_fees",
    "milestone_lists",
    "minor_amounts",
    "moneys",
    "monthly_retainers",
    "offered_discounts",
    "offered_installments",
    "offered_milestones",
    "offered_recurring",
    "offers",
    "reprice_steps",
    "run_steps",
    "sample_currencies",
    "time_terms",
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


# ------------------------------------------------------------ the terms of docs/terms.md

#: The roles :func:`time_terms` puts on its rate card.
_ROLES = ("senior", "junior")
#: The phase :func:`time_terms` may cap on its own.
_PHASE = "design"


def _payment_terms(draw: st.DrawFn) -> PaymentTerms:
    return PaymentTerms.net(draw(st.sampled_from([0, 7, 30])))


def offered_installments(currency: Currency, plan_id: str, *, start: date,
                         max_minor: int = 500_000) -> st.SearchStrategy[InstallmentPlan]:
    """An installment plan ``plan_id`` of one to four installments (equal, or
    weighted 1 to 3) on one of :data:`INTERVALS`, from 0 to 60 days after
    ``start``, of a fee of at least one minor unit per installment."""

    @st.composite
    def draw_plan(draw: st.DrawFn) -> InstallmentPlan:
        weights = draw(st.none() | st.lists(st.integers(1, 3), min_size=1, max_size=4))
        parts = len(weights) if weights else draw(st.integers(1, 4))
        least = sum(weights) if weights else parts  # a minor unit for every installment
        return InstallmentPlan(
            ItemId(plan_id), plan_id,
            Money.from_minor(draw(st.integers(least, max(least, max_minor))), currency),
            draw(st.sampled_from(INTERVALS)),
            start=start + timedelta(days=draw(st.integers(0, 60))),
            count=None if weights else parts,
            weights=tuple(Decimal(w) for w in weights or ()),
            terms=_payment_terms(draw))

    return draw_plan()


def offered_discounts(currency: Currency, discount_id: str, items: Sequence[str], *,
                      start: date, max_minor: int = 500_000) -> st.SearchStrategy[Discount]:
    """A discount ``discount_id``: a percentage (0.1 to 100 %, any rounding) or a fixed
    amount of 1 to ``max_minor // 4`` minor units; on one or two of ``items``
    (when there are any), the package or the agreement; for ever, or in a
    window that opens 0 to 90 days after ``start`` and may close 1 to 180
    days later.  A fixed amount may be more than its items come to: such
    a discount is refused where it is given."""

    @st.composite
    def draw_discount(draw: st.DrawFn) -> Discount:
        scopes = [DiscountScope.PACKAGE, DiscountScope.AGREEMENT]
        if items:
            scopes.append(DiscountScope.ITEMS)
        scope = draw(st.sampled_from(scopes))
        named: tuple[str, ...] = ()
        if scope is DiscountScope.ITEMS:
            named = tuple(draw(st.lists(st.sampled_from(list(items)), min_size=1, max_size=2,
                                        unique=True)))
        starts = ends = None
        if draw(st.booleans()):
            starts = start + timedelta(days=draw(st.integers(0, 90)))
            if draw(st.booleans()):
                ends = starts + timedelta(days=draw(st.integers(1, 180)))
        if draw(st.booleans()):
            return Discount(ItemId(discount_id), discount_id,
                            percent=Decimal(draw(st.integers(1, 1000))) / 10, scope=scope,
                            items=named, starts_on=starts, ends_on=ends,
                            rounding=draw(st.sampled_from(list(Rounding))))
        return Discount(ItemId(discount_id), discount_id,
                        amount=Money.from_minor(draw(st.integers(1, max(1, max_minor // 4))),
                                                currency),
                        scope=scope, items=named, starts_on=starts, ends_on=ends)

    return draw_discount()


def late_fees(currency: Currency, *, max_minor: int = 50_000) -> st.SearchStrategy[LateFee]:
    """A late-fee term: 1 to 30 days after the due date, a percentage (0.1 to
    10 %) or a fixed 1 to ``max_minor`` minor units; once, or every 7 to 30
    days up to 1 to 3 times or without limit; a repeating percentage may
    compound."""

    @st.composite
    def draw_fee(draw: st.DrawFn) -> LateFee:
        every = draw(st.none() | st.integers(7, 30))
        percent = fixed = None
        if draw(st.booleans()):
            percent = Decimal(draw(st.integers(1, 100))) / 10
        else:
            fixed = Money.from_minor(draw(st.integers(1, max_minor)), currency)
        return LateFee(after_days=draw(st.integers(1, 30)), percent=percent, fixed=fixed,
                       every_days=every,
                       max_fees=None if every is None else draw(st.none() | st.integers(1, 3)),
                       compound=every is not None and percent is not None and draw(st.booleans()))

    return draw_fee()


def time_terms(currency: Currency, *, start: date,
               max_minor: int = 500_000) -> st.SearchStrategy[TimeAndMaterials]:
    """A time-and-materials term: ``senior`` and ``junior`` rates of 1 to
    ``max_minor // 20`` minor units an hour from a year before ``start`` (the
    senior rate may change 10 to 60 days after it), billed weekly or monthly,
    rounded per line or per invoice, with or without a cap on the agreement
    and on the phase ``design``."""

    @st.composite
    def draw_term(draw: st.DrawFn) -> TimeAndMaterials:
        hourly = st.integers(1, max(1, max_minor // 20))
        since = start - timedelta(days=365)
        rates = [Rate(role, Money.from_minor(draw(hourly), currency), since) for role in _ROLES]
        if draw(st.booleans()):
            rates.append(Rate("senior", Money.from_minor(draw(hourly), currency),
                              start + timedelta(days=draw(st.integers(10, 60)))))
        cap = st.integers(1, max_minor * 2).map(lambda m: Money.from_minor(m, currency))
        phase = draw(st.none() | cap)
        return TimeAndMaterials(
            rates=tuple(rates), cadence=draw(st.sampled_from([TimeCadence.WEEKLY,
                                                              TimeCadence.MONTHLY])),
            cap=draw(st.none() | cap),
            phase_caps=() if phase is None else (PhaseCap(_PHASE, phase),),
            rounding=draw(st.sampled_from([Rounding.HALF_UP, Rounding.HALF_EVEN])),
            rounding_scope=draw(st.sampled_from(list(RoundingScope))),
            terms=_payment_terms(draw))

    return draw_term()


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
    terms: bool = False,
) -> st.SearchStrategy[Proposal]:
    """A proposal ``"p"`` with packages ``"a"`` and ``"b"`` (each zero to three
    milestones ``am0``/``bm0``... on any trigger and zero to two recurring
    charges ``r0``, ``r1``) and an add-on ``"extra"`` (milestone ``xm``,
    recurring ``xr``); everything starts on or after ``start``.

    ``currency`` defaults to a draw of USD, JPY or KWD; ``approval`` may be a
    strategy.  Switching packages between ``a`` and ``b`` keeps the recurring
    ids, so a switch changes a charge's terms rather than ending it.

    With ``terms``, a package may also carry an installment plan ``ai0`` /
    ``bi0`` (:func:`offered_installments`) and up to two discounts ``ad0``,
    ``ad1``... (:func:`offered_discounts`; one that cannot be honoured is
    left out), a send-invoice proposal a late fee (:func:`late_fees`) and
    any proposal a time-and-materials term (:func:`time_terms`).
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
            if not terms:
                return BillingSchedule(currency=cur, milestones=ms, recurring=rs)
            plans = [draw(offered_installments(cur, f"{tag}i0", start=start, max_minor=max_minor))
                     for _ in range(draw(st.integers(0, 1)))]
            ids = [m.id for m in ms] + [r.id for r in rs] + [p.id for p in plans]
            discounts = [draw(offered_discounts(cur, f"{tag}d{i}", ids, start=start,
                                                max_minor=max_minor))
                         for i in range(draw(st.integers(0, 2)))]
            try:
                return BillingSchedule(currency=cur, milestones=ms, recurring=rs,
                                       installments=plans, discounts=discounts)
            except ValidationError:  # a fixed discount larger than its items
                return BillingSchedule(currency=cur, milestones=ms, recurring=rs,
                                       installments=plans)

        extra = AddOn("extra", "Extra", BillingSchedule(
            currency=cur,
            milestones=[draw(offered_milestones(cur, "xm", start=start, max_minor=max_minor))],
            recurring=[draw(offered_recurring(cur, "xr", start=start, max_minor=max_minor,
                                              max_count=max_count, open_ended=open_ended))]))
        rules = approval if isinstance(approval, ApprovalRules) else draw(approval)
        options = (PackageOption("a", "A", package("a")), PackageOption("b", "B", package("b")))
        if not terms:
            return Proposal(ProposalId("p"), "Client", cur, options, (extra,), approval=rules,
                            collection=collection)
        fee = (draw(st.none() | late_fees(cur, max_minor=max(1, max_minor // 10)))
               if collection is Collection.SEND_INVOICE else None)
        hourly = draw(st.none() | time_terms(cur, start=start, max_minor=max_minor))
        try:
            return Proposal(ProposalId("p"), "Client", cur, options, (extra,), approval=rules,
                            collection=collection, late_fee=fee, time_materials=hourly)
        except ValidationError:  # a package discount larger than the package
            plain = tuple(attrs.evolve(o, schedule=attrs.evolve(o.schedule, discounts=()))
                          for o in options)
            return Proposal(ProposalId("p"), "Client", cur, plain, (extra,), approval=rules,
                            collection=collection, late_fee=fee, time_materials=hourly)

    return draw_offer()


def amendment_operations(agreement: Agreement, effective: date, n: int, *,
                         start: date | None = None, max_minor: int = 500_000,
                         terms: bool = False) -> st.SearchStrategy[Operation]:
    """One amendment operation of any kind for ``agreement`` (signed from
    :func:`offers`), effective on ``effective``: a milestone's amount changed
    (zero included), removed, rescheduled or added (``new<n>``); a recurring
    charge added (``newr<n>``), re-priced, moved to another interval or
    billing day, or ended; the package switched; the add-on added or
    cancelled -- each with any :class:`ProrationPolicy`.  Added items start
    on or after ``start`` (default ``effective``).  Some may not apply
    to the agreement as it stands (the add-on is already active, say):
    proposing them raises :class:`~milestonebill.errors.AmendmentError`.

    With ``terms`` it may also add a discount (``newd<n>``,
    :func:`offered_discounts`) or end one, re-plan an installment plan
    (:class:`~milestonebill.agreement.ChangeInstallments`: count, start or
    total) and, on an agreement with a time-and-materials term, ask for a
    cap (the agreement's or the ``design`` phase's) near the one in force
    (:class:`~milestonebill.agreement.RaiseTimeCap`).
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
        if terms:
            kinds += _term_kinds(agreement)
        kind = draw(st.sampled_from(kinds))
        if kind in _TERM_KINDS:
            return draw(_term_operation(agreement, kind, effective, n, first=first,
                                        max_minor=max_minor))
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


_TERM_KINDS = ("add_discount", "end_discount", "installments", "raise_cap")


def _term_kinds(agreement: Agreement) -> list[str]:
    kinds = ["add_discount"]
    if agreement.discounts:
        kinds.append("end_discount")
    if agreement.installments:
        kinds.append("installments")
    if agreement.proposal.time_materials is not None:
        kinds.append("raise_cap")
    return kinds


def _term_operation(agreement: Agreement, kind: str, effective: date, n: int, *, first: date,
                    max_minor: int) -> st.SearchStrategy[Operation]:
    """An operation on the terms of docs/terms.md, for :func:`amendment_operations`."""

    @st.composite
    def draw_operation(draw: st.DrawFn) -> Operation:
        cur = agreement.currency
        if kind == "add_discount":
            items = ([t.milestone.id for t in agreement.milestones]
                     + sorted({t.charge.id for t in agreement.recurring})
                     + [t.plan.id for t in agreement.installments])
            return AddDiscount(effective, draw(offered_discounts(
                cur, f"newd{n}", items, start=first, max_minor=max_minor)))
        if kind == "end_discount":
            return EndDiscount(effective, draw(st.sampled_from(
                [t.discount.id for t in agreement.discounts])))
        if kind == "installments":
            plan = draw(st.sampled_from([t.plan.id for t in agreement.installments]))
            amount = draw(st.none() | st.integers(1, max_minor))
            moved = draw(st.none() | st.integers(0, 45))
            return ChangeInstallments(
                effective, plan, count=draw(st.none() | st.integers(1, 4)),
                start=None if moved is None else effective + timedelta(days=moved),
                amount=None if amount is None else Money.from_minor(amount, cur))
        term = agreement.proposal.time_materials
        phase = draw(st.sampled_from([None, _PHASE]))
        in_force = time_caps(term, agreement.events, agreement.id).get(phase or "")
        base = 0 if in_force is None else in_force.minor
        return RaiseTimeCap(effective, Money.from_minor(
            max(1, base + draw(st.integers(-1_000, max_minor))), cur), phase)

    return draw_operation()

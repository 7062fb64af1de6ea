"""The revenue model of an agreement: its obligations, their prices and what each has earned.

Billing is a payment schedule; revenue follows performance (ASC 606-10-25-23,
IFRS 15 31).  This module reads a signed agreement -- its package's
:class:`~milestonebill.agreement.ObligationTerms` (or the default), its
amended billing plan, its milestone completions and progress reports -- and
answers, for any date:

* :func:`revenue_model` -- each performance obligation with its share of
  the transaction price (:class:`Obligation`): mapped milestones' amounts,
  or the milestones' price shared by relative SSP (step 4, through
  :func:`~milestonebill.recognition.allocate_transaction_price`); each
  recurring charge is a series of its own, priced at its plan pieces;
* :func:`earned` -- the revenue each has earned by the end of a day,
  cumulative and rounded once (so a change of estimate or an amendment
  catches up in the period it happens, ASC 606-10-55-133 style, and the
  last day ties to the price exactly).

Progress by measure: milestones achieved (completed, or dated and passed;
a milestone billed on signing is an advance, never progress), weighted by
amount unless weights are stated; hours, costs or units reported against
the estimate in force; straight line by days over a period; a named
milestone's completion or a date.  A completed or cancelled agreement has
satisfied every obligation: it has earned exactly its transaction price.

A 60,000.00 fee: a 12,000.00 deposit on signing (an advance), then Design
18,000.00 and Build 30,000.00 on completion.  With no obligation stated,
the package earns by the milestones achieved, weighted by amount; the
deposit is no progress:

>>> from datetime import UTC, date, datetime
>>> from milestonebill.agreement import AgreementId, apply, complete_milestone, sign
>>> from milestonebill.schedule import Milestone, MilestoneId, Trigger
>>> from milestonebill.testing.scenarios import CARD, proposal, usd
>>> deposit = Milestone(MilestoneId("deposit"), "Deposit", amount=usd("12000.00"),
...                     trigger=Trigger.ON_SIGNING)
>>> a = sign(proposal([deposit, ("design", "18000.00"), ("build", "30000.00")]),
...          option="std", signer="Ada", payment_method=CARD, agreement_id=AgreementId("a-1"),
...          signed_at=datetime(2025, 1, 10, tzinfo=UTC))
>>> {o: str(m) for o, m in earned(a, date(2025, 1, 31)).items()}
{'package': '0.00 USD'}
>>> a = apply(a, complete_milestone(a, MilestoneId("design"), by="Ada",
...                                 at=datetime(2025, 2, 20, tzinfo=UTC)))
>>> {o: str(m) for o, m in earned(a, date(2025, 2, 28)).items()}
{'package': '22500.00 USD'}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import attrs

from milestonebill.agreement import (
    Agreement,
    AgreementState,
    Completed,
    MilestoneTerm,
    ObligationTerms,
    PlanItem,
    Progress,
    SspApproach,
    billed_by_key,
    billing_plan,
)
from milestonebill.agreement.terms import term_limit
from milestonebill.errors import NotFoundError
from milestonebill.ids import ContractId, MilestoneId, ObligationId, PlanKey
from milestonebill.money import Currency, Money, Rounding, allocate_minor, round_ratio
from milestonebill.periods import Period
from milestonebill.recognition import (
    Contract,
    PerformanceObligation,
    Satisfaction,
    allocate_transaction_price,
)
from milestonebill.schedule import ChargeKind, Discount, Trigger

__all__ = [
    "PACKAGE",
    "Obligation",
    "RevenueModel",
    "concessions",
    "discount_allocation",
    "earned",
    "revenue_model",
]

#: The id of a package's default obligation (when it states none).
PACKAGE = ObligationId("package")


@attrs.frozen
class Obligation:
    """One performance obligation of an agreement with its price and what funds it.

    ``milestones`` are the plan keys of the milestones whose price it is
    (or shares); ``series`` is the recurring item it is, for a series.
    """

    terms: ObligationTerms
    price: Money
    milestones: tuple[str, ...] = ()
    series: str | None = None

    @property
    def id(self) -> ObligationId:
        """The obligation's id."""
        return self.terms.id


@attrs.frozen
class RevenueModel:
    """Every obligation of an agreement, as amended; prices sum to the transaction price."""

    agreement_id: str
    currency: Currency
    obligations: tuple[Obligation, ...]

    @property
    def transaction_price(self) -> Money:
        """The sum of the obligations' prices."""
        return Money.total((o.price for o in self.obligations), currency=self.currency)

    def obligation(self, obligation_id: str) -> Obligation:
        """The obligation with this id."""
        for o in self.obligations:
            if o.id == obligation_id:
                return o
        raise NotFoundError(f"agreement {self.agreement_id!r} has no obligation "
                            f"{obligation_id!r}")


# ---------------------------------------------------------------- the model


def _default_terms(obligation_id: ObligationId, name: str) -> ObligationTerms:
    return ObligationTerms(obligation_id, name, Progress.MILESTONES)


def _milestone_groups(a: Agreement) -> dict[str, list[str]]:
    """Milestone and installment plan ids by where they came from: the package (and
    amendments), each add-on."""
    groups: dict[str, list[str]] = {}
    for source, item_id in [*((t.source, t.milestone.id) for t in a.milestones),
                            *((t.source, t.plan.id) for t in a.installments)]:
        groups.setdefault(source if source in a.addons else "package", []).append(item_id)
    return groups


def _plan_amounts(a: Agreement, through: date) -> dict[str, Money]:
    """The price each milestone and installment plan pays (before discounts)."""
    out: dict[str, Money] = {}
    for i in billing_plan(a, through=through):
        if i.kind in (ChargeKind.MILESTONE, ChargeKind.INSTALLMENT):
            out[i.item_id] = out[i.item_id] + i.amount if i.item_id in out else i.amount
    return out


def _package_obligations(a: Agreement, ids_: Sequence[str],
                         amounts: Mapping[str, Money]) -> list[Obligation]:
    zero = Money.zero(a.currency)
    stated = a.obligation_terms
    ids = [m for m in ids_ if m in amounts]
    if not stated:
        price = Money.total((amounts[m] for m in ids), currency=a.currency)
        return [Obligation(_default_terms(PACKAGE, "The engagement"), price, tuple(ids))]
    mapped = {m for o in stated for m in o.items}
    if mapped:
        out = [Obligation(o, Money.total((amounts[m] for m in o.items if m in amounts),
                                         currency=a.currency),
                          tuple(m for m in o.items if m in amounts)) for o in stated]
        # Milestones an amendment added fund a point-in-time obligation of their own.
        out += [Obligation(_added_terms(a, m), amounts[m], (m,))
                for m in ids if m not in mapped]
        return out
    total = Money.total((amounts[m] for m in ids), currency=a.currency)
    if total == zero:
        return [Obligation(o, zero, tuple(ids)) for o in stated]
    shares = _by_ssp(a, stated, total)
    return [Obligation(o, shares[o.id], tuple(ids)) for o in stated]


def _added_terms(a: Agreement, item_id: str) -> ObligationTerms:
    """The point-in-time obligation of an item no stated obligation maps."""
    t = next((t for t in a.milestones if t.milestone.id == item_id), None)
    if t is None:
        # Installments kept from a package switched away from: earned by their last date.
        plan = next(p for p in a.installments if p.plan.id == item_id)
        return ObligationTerms(ObligationId(item_id), plan.plan.name, Progress.ON_DATE,
                               items=(item_id,), on=plan.installments[-1].on)
    m = t.milestone
    if m.trigger is Trigger.ON_COMPLETION:
        return ObligationTerms(ObligationId(m.id), m.name, Progress.ON_COMPLETION,
                               items=(m.id,), milestone=m.id)
    if m.trigger is Trigger.ON_DATE and m.due_on is not None:
        return ObligationTerms(ObligationId(m.id), m.name, Progress.ON_DATE, items=(m.id,),
                               on=m.due_on)
    return ObligationTerms(ObligationId(m.id), m.name, Progress.MILESTONES, items=(m.id,))


def _by_ssp(a: Agreement, stated: Sequence[ObligationTerms], total: Money
            ) -> dict[str, Money]:
    """Step 4: the milestones' price shared by relative SSP (or residual)."""
    residual = next((o.id for o in stated if o.ssp_approach is SspApproach.RESIDUAL), None)
    contract = Contract(ContractId(a.id), [
        PerformanceObligation(o.id, o.name, o.ssp,
                              Satisfaction.OVER_TIME if o.progress.over_time
                              else Satisfaction.POINT_IN_TIME)
        for o in stated], total)
    allocation = allocate_transaction_price(contract, residual=residual)
    return {line.obligation_id: line.amount for line in allocation.lines}


def _series(a: Agreement, through: date) -> list[Obligation]:
    pieces: dict[str, list[PlanItem]] = {}
    for item in billing_plan(a, through=through):
        if item.kind is ChargeKind.RECURRING:
            pieces.setdefault(item.item_id, []).append(item)
    return [Obligation(ObligationTerms(ObligationId(item_id), items[0].name,
                                       Progress.STRAIGHT_LINE),
                       Money.total((i.amount for i in items), currency=a.currency),
                       series=item_id)
            for item_id, items in pieces.items()]


def _raw_net(a: Agreement) -> dict[str, int]:
    """Net billed per plan key, counting item lines only (no refund absorption)."""
    net: dict[str, int] = {}
    for inv in a.invoices:
        for ln in inv.lines:
            if ln.item_key is not None:
                net[ln.item_key] = net.get(ln.item_key, 0) + ln.amount.minor
    for cn in a.credit_notes:
        for ln in cn.lines:
            if ln.item_key is not None:
                net[ln.item_key] = net.get(ln.item_key, 0) - ln.amount.minor
    return net


def concessions(agreement: Agreement) -> dict[PlanKey, int]:
    """Refund and goodwill credits that lower the price, per plan key (minor units).

    A credit note not tied to an item is a price concession (ASC 606-10-32-6)
    on the items the credited invoice billed, shared by what it billed of
    each.  The part of it that an item's later reduction absorbed (see
    :func:`~milestonebill.agreement.billed_by_key`) lowered the plan already
    and is not counted twice.
    """
    out: dict[PlanKey, int] = {}
    for cn in agreement.credit_notes:
        free = sum(ln.amount.minor for ln in cn.lines if ln.item_key is None)
        # Shared by what the lines charged (a discount line charges nothing).
        lines = [ln for ln in agreement.invoice(cn.credits).lines
                 if ln.item_key is not None and ln.amount.minor > 0]
        if free <= 0 or not lines:
            continue
        for ln, share in zip(lines, allocate_minor(free, [ln.amount.minor for ln in lines]),
                             strict=True):
            assert ln.item_key is not None
            out[ln.item_key] = out.get(ln.item_key, 0) + share
    raw = _raw_net(agreement)
    for key, (net, _first, _n) in billed_by_key(agreement).items():
        if raw.get(key, 0) != net:
            out[key] = out.get(key, 0) - (raw.get(key, 0) - net)
    return {k: v for k, v in out.items() if v}


def revenue_model(agreement: Agreement, *, through: date) -> RevenueModel:
    """The agreement's obligations and their prices, as amended.

    Recurring series count the service periods that start before
    ``through`` (their price grows as the agreement goes on; open-ended
    charges have no total).  Add-on milestones form one default obligation
    per add-on; milestones an amendment added to a package whose
    obligations map milestones are point-in-time obligations of their own.
    An installment plan pays for obligations as milestones do.  Discounts
    lower the price: see :func:`discount_allocation`.
    """
    amounts = _plan_amounts(agreement, through)
    out: list[Obligation] = []
    for source, ids in _milestone_groups(agreement).items():
        if source == "package":
            out += _package_obligations(agreement, ids, amounts)
        else:
            mine = tuple(m for m in ids if m in amounts)
            out.append(Obligation(_default_terms(ObligationId(f"addon:{source}"), source),
                                  Money.total((amounts[m] for m in mine),
                                              currency=agreement.currency), mine))
    if not out:
        out.append(Obligation(_default_terms(PACKAGE, "The engagement"),
                              Money.zero(agreement.currency)))
    out += _series(agreement, through)
    pieces, whole = _plan_discounts(agreement, through)
    less = discount_allocation(out, whole)
    owner = {m: o.id for o in out for m in o.milestones}
    owner.update({o.series: o.id for o in out if o.series is not None})
    for key, minor in [*concessions(agreement).items(), *pieces.items()]:
        if key.item_id in owner:
            less[owner[key.item_id]] = less.get(owner[key.item_id], 0) + minor
    return RevenueModel(agreement.id, agreement.currency, tuple(
        attrs.evolve(o, price=o.price - Money.from_minor(less.get(o.id, 0), agreement.currency))
        for o in out))


# ---------------------------------------------------------------- discounts


def _plan_discounts(a: Agreement, through: date
                    ) -> tuple[dict[PlanKey, int], list[tuple[Discount, int]]]:
    """The plan's discounts (positive minor units): on service periods, by the
    period's key; on milestones and installments, each discount's total."""
    pieces: dict[PlanKey, int] = {}
    totals: dict[str, int] = {}
    for i in billing_plan(a, through=through):
        inner, did = i.key.discounted, i.key.discount_id
        if i.kind is not ChargeKind.DISCOUNT or inner is None or did is None:
            continue
        if inner.start is not None:
            pieces[inner] = pieces.get(inner, 0) - i.amount.minor
        else:
            totals[did] = totals.get(did, 0) - i.amount.minor
    return pieces, [(t.discount, totals[t.discount.id]) for t in a.discounts
                    if totals.get(t.discount.id)]


def _spread(total: int, group: Sequence[Obligation], room: Mapping[str, int]
            ) -> list[int] | None:
    """``total`` over ``group`` by relative SSP (stated on every one) or else by
    price; by what is left of each price if a share would pass it; ``None`` when
    even that cannot hold it."""
    if not group or sum(room[o.id] for o in group) < total:
        return None
    ssps = [o.terms.ssp.minor if o.terms.ssp is not None else 0 for o in group]
    weights = ssps if all(ssps) else [o.price.minor for o in group]
    shares = allocate_minor(total, weights)
    if all(x <= room[o.id] for x, o in zip(shares, group, strict=True)):
        return shares
    return allocate_minor(total, [room[o.id] for o in group])


def discount_allocation(obligations: Sequence[Obligation],
                        discounts: Sequence[tuple[Discount, int]]) -> dict[ObligationId, int]:
    """How much of each discount (minor units) lowers each obligation's price.

    A discount on milestones or installments lowers the transaction price and
    is shared by every obligation that is not a recurring series, by relative
    stand-alone selling price (ASC 606-10-32-36): the SSPs the package states
    when every one states one, else the obligations' own prices (the prices
    the items were offered at).  A discount whose ``relates_to`` names
    obligations, with the observable evidence of 32-37 stated, goes to those
    only, shared the same way.  No obligation's price goes below zero: a
    share that would pass it is shared by what is left of each price.
    Discounts on service periods stay with their series.
    """
    candidates = [o for o in obligations if o.series is None and o.price.minor > 0]
    room: dict[str, int] = {o.id: o.price.minor for o in candidates}
    out: dict[ObligationId, int] = {}
    for discount, total in discounts:
        group = [o for o in candidates if o.id in discount.relates_to]
        shares = _spread(total, group, room) if discount.relates_to else None
        if shares is None:
            group = candidates
            shares = _spread(total, group, room)
        assert shares is not None  # no item is ever discounted below zero
        for o, x in zip(group, shares, strict=True):
            out[o.id] = out.get(o.id, 0) + x
            room[o.id] -= x
    return out


# ---------------------------------------------------------------- progress


def _ended(a: Agreement, as_of: date) -> bool:
    """True once a completed or cancelled agreement's end has passed."""
    if a.state is AgreementState.CANCELLED and a.cancelled_on is not None:
        return a.cancelled_on <= as_of
    if a.state is AgreementState.COMPLETED:
        done = next(e for e in reversed(a.events) if isinstance(e, Completed))
        return done.effective_on <= as_of
    return False


def _achieved(t: MilestoneTerm, a: Agreement, as_of: date) -> bool:
    m = t.milestone
    if m.trigger is Trigger.ON_COMPLETION:
        done = a.completions.get(m.id)
        return done is not None and done <= as_of
    if m.trigger is Trigger.ON_DATE:
        return m.due_on is not None and m.due_on <= as_of
    return False


def _milestone_progress(a: Agreement, o: Obligation, as_of: date,
                        amounts: Mapping[str, Money]) -> Fraction:
    terms: dict[str, MilestoneTerm] = {t.milestone.id: t for t in a.milestones}
    if o.terms.milestones:
        weights = dict(o.terms.milestones)
    else:
        weights = {m: Decimal(amounts[m].minor) for m in o.milestones
                   if m in terms and terms[m].milestone.trigger is not Trigger.ON_SIGNING}
    total = sum(weights.values(), Decimal(0))
    if total == 0:
        return _advance_progress(a, as_of)
    done = sum((w for m, w in weights.items() if m in terms and _achieved(terms[m], a, as_of)),
               Decimal(0))
    return Fraction(done) / Fraction(total)


def _advance_progress(a: Agreement, as_of: date) -> Fraction:
    """Progress of a package billed only on signing (an advance with no deliverable).

    An up-front fee pays for the services that follow (ASC 606-10-55-51): it
    is earned straight line over the agreement's recurring services, or --
    when there are none, or they never end -- not before the agreement is
    completed or cancelled (``_ended``).
    """
    if not a.recurring or any(term_limit(t) is None for t in a.recurring):
        return Fraction(0)
    pieces = [i.period for i in billing_plan(a) if i.kind is ChargeKind.RECURRING
              and i.period is not None]
    if not pieces:
        return Fraction(0)
    return _days_progress(Period(min(p.start for p in pieces), max(p.end for p in pieces)),
                          as_of)


def _days_progress(period: Period, as_of: date) -> Fraction:
    if period.days == 0:
        return Fraction(1 if as_of >= period.start else 0)
    elapsed = min(max((as_of + timedelta(days=1) - period.start).days, 0), period.days)
    return Fraction(elapsed, period.days)


def _default_period(a: Agreement, o: Obligation) -> Period | None:
    """Signing to the last dated milestone (or the expected end); ``None`` if that
    is no later than signing."""
    dated = [t.milestone.due_on for t in a.milestones
             if t.milestone.id in o.milestones and t.milestone.due_on is not None]
    end = max([*dated, *([o.terms.expected_end] if o.terms.expected_end else [])],
              default=a.signed_on)
    return Period(a.signed_on, end) if end > a.signed_on else None


def _progress(a: Agreement, o: Obligation, as_of: date, amounts: Mapping[str, Money]
              ) -> Fraction:
    p = o.terms.progress
    if as_of < a.signed_on:
        return Fraction(0)
    if _ended(a, as_of):
        return Fraction(1)
    if p is Progress.MILESTONES:
        return _milestone_progress(a, o, as_of, amounts)
    if p.is_input:
        done = a.progress(o.id, as_of)
        return min(Fraction(done) / Fraction(a.estimate(o.id, as_of)), Fraction(1))
    if p is Progress.STRAIGHT_LINE:
        period = o.terms.period or _default_period(a, o)
        return _advance_progress(a, as_of) if period is None else _days_progress(period, as_of)
    if p is Progress.ON_COMPLETION:
        completed = a.completions.get(MilestoneId(o.terms.milestone or ""))
        return Fraction(1 if completed is not None and completed <= as_of else 0)
    assert o.terms.on is not None
    return Fraction(1 if o.terms.on <= as_of else 0)


def _series_earned(items: Iterable[PlanItem], as_of: date, less: Mapping[PlanKey, int]) -> int:
    total = 0
    for i in items:
        assert i.period is not None
        share = _days_progress(i.period, as_of)
        total += round_ratio((i.amount.minor - less.get(i.key, 0)) * share.numerator,
                             share.denominator, Rounding.HALF_UP)
    return total


def earned(agreement: Agreement, as_of: date) -> dict[str, Money]:
    """Revenue each obligation has earned by the end of ``as_of`` (cumulative).

    Its price times its progress, rounded once half up to the minor unit;
    a series earns each service period day by day.  Over the life of the
    agreement the obligations earn exactly the transaction price.
    """
    through = as_of + timedelta(days=1)
    model = revenue_model(agreement, through=through)
    amounts = _plan_amounts(agreement, through)
    plan = [i for i in billing_plan(agreement, through=through)
            if i.kind is ChargeKind.RECURRING]
    less: dict[PlanKey, int] = {}
    for key, minor in [*concessions(agreement).items(),
                       *_plan_discounts(agreement, through)[0].items()]:
        piece = key.discounted or key  # a concession on a period's discount is the period's
        less[piece] = less.get(piece, 0) + minor
    out: dict[str, Money] = {}
    for o in model.obligations:
        if o.series is not None:
            minor = _series_earned((i for i in plan if i.item_id == o.series), as_of, less)
        else:
            share = _progress(agreement, o, as_of, amounts)
            minor = round_ratio(o.price.minor * share.numerator, share.denominator,
                                Rounding.HALF_UP)
        out[o.id] = Money.from_minor(minor, agreement.currency)
    return out

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

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import attrs

from milestonebill._concessions import concessions
from milestonebill._earning import Earning, advance_span, default_period, milestone_weights
from milestonebill._reference import reference
from milestonebill._validate import check_date
from milestonebill.agreement import (
    Agreement,
    AgreementState,
    Completed,
    MilestoneTerm,
    ObligationTerms,
    PlanItem,
    Progress,
    SspApproach,
    billing_plan,
    history,
)
from milestonebill.agreement.columns import plan_columns
from milestonebill.agreement.plan import fixed_items, open_ended
from milestonebill.discounting import discount_allocation, plan_discounts
from milestonebill.errors import NotFoundError
from milestonebill.ids import ContractId, MilestoneId, ObligationId, PlanKey
from milestonebill.money import Currency, Money, Rounding, round_ratio
from milestonebill.periods import Period
from milestonebill.recognition import (
    Contract,
    PerformanceObligation,
    Satisfaction,
    allocate_transaction_price,
)
from milestonebill.schedule import ChargeKind, Trigger
from milestonebill.timebilling import TIME_OBLIGATION, time_earned_minor_series

__all__ = [
    "PACKAGE",
    "Obligation",
    "RevenueModel",
    "concessions",
    "discount_allocation",
    "earned",
    "earned_minor_changes",
    "earned_minor_series",
    "earned_minor_totals",
    "earned_minor_with_time",
    "earned_series",
    "obligation_names",
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
        """The obligation with this id; :class:`~milestonebill.errors.NotFoundError` if none."""
        for o in self.obligations:
            if o.id == obligation_id:
                return o
        raise NotFoundError(f"agreement {self.agreement_id!r} has no obligation "
                            f"{obligation_id!r}")


# ---------------------------------------------------------------- the model


@functools.lru_cache(maxsize=4096)
def _default_terms(obligation_id: ObligationId, name: str) -> ObligationTerms:
    """Default terms, made once per id and name (values: safe to share, and a firm's
    revenue models keep one instead of one per agreement)."""
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
    if not reference() and _fast(a):  # milestones only: their items' amounts, no items made
        for t in a.milestones:
            m = t.milestone
            assert m.amount is not None
            if not m.amount.is_zero():  # a zero amount makes no item (``milestone_item``)
                out[m.id] = out[m.id] + m.amount if m.id in out else m.amount
        return out
    # The fast path reads only the items no horizon changes (no recurring piece is made).
    for i in billing_plan(a, through=through) if reference() else fixed_items(a):
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


@functools.lru_cache(maxsize=4096)
def _straight_line(item_id: str, name: str) -> ObligationTerms:
    """A series' terms, checked once per id and name (values: safe to share)."""
    return ObligationTerms(ObligationId(item_id), name, Progress.STRAIGHT_LINE)


def _series(a: Agreement, through: date) -> list[Obligation]:
    if not reference():  # the same from the bulk plan's columns
        c = plan_columns(a, through=through)
        names: dict[str, str] = {}
        totals: dict[str, int] = {}
        for item_id, name, minor in zip(c.item_ids, c.names, c.minors, strict=True):
            names.setdefault(item_id, name)  # the name on its first piece
            totals[item_id] = totals.get(item_id, 0) + minor
        return [Obligation(_straight_line(i, names[i]), Money.from_minor(minor, a.currency),
                           series=i) for i, minor in totals.items()]
    pieces: dict[str, list[PlanItem]] = {}
    for item in billing_plan(a, through=through):
        if item.kind is ChargeKind.RECURRING:
            pieces.setdefault(item.item_id, []).append(item)
    return [Obligation(ObligationTerms(ObligationId(item_id), items[0].name,
                                       Progress.STRAIGHT_LINE),
                       Money.total((i.amount for i in items), currency=a.currency),
                       series=item_id)
            for item_id, items in pieces.items()]


def _fixed_obligations(agreement: Agreement, amounts: Mapping[str, Money]) -> list[Obligation]:
    """The obligations milestones fund (the package's, each add-on's), before concessions.

    They do not depend on the horizon: milestones (and installments, which pay for
    obligations as milestones do) are in the plan whatever it is.
    """
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
    return out


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
    if reference() or not _fast(agreement):
        out = _fixed_obligations(agreement, _plan_amounts(agreement, through))
        conceded = concessions(agreement)
    else:
        parts = agreement.derived(_Parts)
        out, conceded = list(parts.fixed), parts.less
    out += _series(agreement, through)
    pieces, whole = plan_discounts(agreement, through)
    if not (conceded or pieces or whole):  # nothing lowers a price (most agreements)
        return RevenueModel(agreement.id, agreement.currency, tuple(out))
    less = discount_allocation(out, whole)
    owner = {m: o.id for o in out for m in o.milestones}
    owner.update({o.series: o.id for o in out if o.series is not None})
    for key, minor in [*conceded.items(), *pieces.items()]:
        if key.item_id in owner:
            less[owner[key.item_id]] = less.get(owner[key.item_id], 0) + minor
    return RevenueModel(agreement.id, agreement.currency, tuple(
        attrs.evolve(o, price=o.price - Money.from_minor(less[o.id], agreement.currency))
        if less.get(o.id) else o for o in out))  # most obligations are not lowered


def obligation_names(agreement: Agreement, *, through: date) -> dict[str, str]:
    """Each obligation's name by id, as in ``revenue_model(agreement, through=through)``
    (without working out the prices)."""
    if reference() or not _fast(agreement):
        return {o.id: o.terms.name for o in revenue_model(agreement, through=through).obligations}
    out: dict[str, str] = {o.id: o.terms.name for o in agreement.derived(_Parts).fixed}
    if not agreement.recurring:  # no recurring charge, no series (the plan is not needed)
        return out
    c = plan_columns(agreement, through=through)
    firsts = dict(zip(reversed(c.item_ids), reversed(c.names), strict=True))  # first name wins
    out.update((i, firsts[i]) for i in dict.fromkeys(c.item_ids))
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
    weights = milestone_weights(o, amounts, terms)
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
    span = advance_span(a)
    return Fraction(0) if span is None else _days_progress(span, as_of)


def _days_progress(period: Period, as_of: date) -> Fraction:
    if period.days == 0:
        return Fraction(1 if as_of >= period.start else 0)
    elapsed = min(max((as_of + timedelta(days=1) - period.start).days, 0), period.days)
    return Fraction(elapsed, period.days)


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
        period = o.terms.period or default_period(a, o)
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
    :func:`earned_series` gives it at many dates at once.
    """
    if reference():
        return _earned_reference(agreement, as_of)
    return earned_series(agreement, [as_of])[0]


def _earned_reference(agreement: Agreement, as_of: date) -> dict[str, Money]:
    """:func:`earned` as defined: the revenue model at ``as_of``, each obligation's progress."""
    through = as_of + timedelta(days=1)
    model = revenue_model(agreement, through=through)
    amounts = _plan_amounts(agreement, through)
    plan = [i for i in billing_plan(agreement, through=through)
            if i.kind is ChargeKind.RECURRING]
    less: dict[PlanKey, int] = {}
    for key, minor in [*concessions(agreement).items(),
                       *plan_discounts(agreement, through)[0].items()]:
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


# ---------------------------------------------------------------- many dates at once
#
# One model per agreement (:class:`milestonebill._earning.Earning`), kept with it,
# answers for many dates at once; ``_earned_reference`` above is the definition.

#: What an agreement records that its revenue model reads (beside its terms, state and
#: concessions): an earlier state cut back only in other records shares its model.
_MODEL_READS = frozenset({"completion_records", "progress_reports", "estimates"})
#: The records concessions are worked out from (with the terms and completions).
_CONCESSIONS_READ = frozenset({"credit_notes", "invoices"})


def _fast(a: Agreement) -> bool:
    """Whether the many-dates path models every term of ``a`` (not installments, discounts)."""
    return not (a.installments or a.discounts)


def _fixed_of(a: Agreement) -> tuple[dict[str, Money], list[Obligation]]:
    """The milestone amounts and the obligations they fund, worked out once per agreement,
    and once for an earlier state and the agreement it was cut back from (they have the
    same terms, :func:`~milestonebill.agreement.history.cut_from`) when the amounts come
    from the terms alone: a plan of milestones only (a cut completion dates their items,
    it does not price them)."""
    base = history.cut_from(a, frozenset())  # any cut: the same terms
    if base is not None and _fast(a):
        return base.derived(_fixed_of)
    amounts = _plan_amounts(a, a.signed_on)
    return amounts, _fixed_obligations(a, amounts)


class _Parts:
    """What an agreement's revenue model is made of whatever the horizon, worked out once
    per agreement (:meth:`~milestonebill.agreement.Agreement.derived`): milestone
    amounts (the plan's milestones do not depend on the horizon), the obligations they
    fund, the concessions, and the latest :class:`Earning` -- or the agreement an
    earlier state was cut back from (:func:`~milestonebill.agreement.history.cut_from`)
    when that one's model serves for both."""

    __slots__ = ("amounts", "earning", "fixed", "less", "source")  # no __dict__ per agreement

    amounts: dict[str, Money]
    fixed: list[Obligation]
    less: dict[PlanKey, int]
    source: Agreement | None

    def __init__(self, a: Agreement) -> None:
        self.earning: Earning | None = None
        self.source = history.cut_from(a, _MODEL_READS | _CONCESSIONS_READ)
        if self.source is not None:  # the same terms, progress and documents: one model
            parts = self.source.derived(_Parts)
            self.amounts, self.fixed, self.less = parts.amounts, parts.fixed, parts.less
            return
        self.less = concessions(a)
        self.source = history.cut_from(a, _MODEL_READS)
        if self.source is not None:  # an earlier state with the same terms and progress
            parts = self.source.derived(_Parts)
            if parts.less == self.less:  # and the same concessions: the same model
                self.amounts, self.fixed, self.less = parts.amounts, parts.fixed, parts.less
                return
            self.source = None
        self.amounts, self.fixed = a.derived(_fixed_of)

    def earning_to(self, a: Agreement, last: date) -> Earning:
        """The model for days up to ``last`` (one made for a later day serves as well).

        A plan that ends is taken whole, so one model serves every date; an
        open-ended one exactly to ``last``: the bulk plan keeps an open-ended
        plan's columns to the horizon asked, and the forecasts that ask first
        ask for the horizon their billing half read (a longer one would build
        the plan's columns again), while the reports after them ask for less.
        """
        if self.source is not None:  # one model for both (it reads nothing they differ in)
            return self.source.derived(_Parts).earning_to(self.source, last)
        if self.earning is None or self.earning.last < last:
            if not open_ended(a):
                last = date.max - timedelta(days=1)
            self.earning = Earning(a, last, self.fixed, self.amounts, self.less)
        return self.earning


def _checked(days: Sequence[date]) -> list[date]:
    if set(map(type, days)) <= {date}:  # plain dates (the usual case): nothing to check
        return list(days)
    return [check_date(f"days[{i}]", d) for i, d in enumerate(days)]


def earned_minor_series(agreement: Agreement, days: Sequence[date]) -> list[dict[str, int]]:
    """:func:`earned_series` in integer minor units: the bulk path for reports."""
    checked = _checked(days)
    if not checked:
        return []
    if reference() or not _fast(agreement):
        return [{o: m.minor for o, m in _earned_reference(agreement, d).items()}
                for d in checked]
    model = agreement.derived(_Parts).earning_to(agreement, max(checked))
    return model.many(agreement, checked)


def earned_minor_with_time(agreement: Agreement, days: Sequence[date]) -> list[dict[str, int]]:
    """:func:`earned_minor_series` with time and materials beside the obligations of the
    plan: what the term earned by the right to invoice
    (:func:`~milestonebill.timebilling.time_earned`), under
    :data:`~milestonebill.timebilling.TIME_OBLIGATION` -- together, what month-end
    recognition (``Biller.recognise``) posts.  Raises :class:`~milestonebill.errors.ValidationError` naming
    ``days[i]`` for a day that is not a date."""
    rows = earned_minor_series(agreement, days)
    if agreement.proposal.time_materials is None:
        return rows
    return [{**row, TIME_OBLIGATION: t}
            for row, t in zip(rows, time_earned_minor_series(agreement, days), strict=True)]


def earned_minor_totals(agreement: Agreement, days: Sequence[date]) -> list[int]:
    """What the agreement earned by the end of each day, every obligation together, in
    minor units: the sum of each row of :func:`earned_minor_with_time` (time and
    materials too), worked out without the rows when the model allows -- what a
    forecast of revenue by period reads.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import AgreementId, sign
    >>> from milestonebill.schedule import Interval, ItemId, RecurringCharge
    >>> from milestonebill.testing.scenarios import CARD, proposal, usd
    >>> fee = RecurringCharge(ItemId("ret"), "Retainer", usd("3100.00"), Interval.MONTHLY,
    ...                       start=date(2026, 1, 1), count=12)
    >>> a = sign(proposal([("design", "500.00")], recurring=[fee]), option="std",
    ...          signer="Ada", payment_method=CARD, agreement_id=AgreementId("a-1"),
    ...          signed_at=datetime(2025, 12, 20, tzinfo=UTC))
    >>> earned_minor_totals(a, [date(2026, 1, 10), date(2026, 1, 31)])
    [100000, 310000]
    """
    checked = _checked(days)
    if not checked:
        return []
    timed = agreement.proposal.time_materials is not None
    if not reference() and _fast(agreement):
        model = agreement.derived(_Parts).earning_to(agreement, max(checked))
        if model.in_order and model.unique(*([TIME_OBLIGATION] if timed else [])):
            totals = model.totals(checked)
            if timed:
                totals = [m + t for m, t in zip(
                    totals, time_earned_minor_series(agreement, checked), strict=True)]
            return totals
    return [sum(row.values()) for row in earned_minor_with_time(agreement, checked)]


def earned_minor_changes(agreement: Agreement, days: Sequence[date]
                         ) -> list[list[tuple[str, int]]]:
    """What each obligation earned between one of ``days`` and the next, in minor units.

    For each day after the first: ``(obligation, earned by its end less earned by the
    end of the day before it in the list)`` for the obligations of
    :func:`earned_minor_with_time` on that day, in its order, leaving out those that
    earned nothing -- what :func:`~milestonebill.reports.revenue_schedule` reports,
    worked out by obligation over all days at once when the model allows.
    """
    checked = _checked(days)
    if not reference() and _fast(agreement) and agreement.proposal.time_materials is None \
            and len(checked) > 1:
        model = agreement.derived(_Parts).earning_to(agreement, max(checked))
        if model.in_order:
            got = model.changes(checked)
            if got is not None:
                return got
    rows = earned_minor_with_time(agreement, checked)
    out: list[list[tuple[str, int]]] = []
    for before, now in itertools.pairwise(rows):
        out.append([(oid, m - before.get(oid, 0)) for oid, m in now.items()
                    if m != before.get(oid, 0)])
    return out


def earned_series(agreement: Agreement, days: Sequence[date]) -> list[dict[str, Money]]:
    """:func:`earned` at each of ``days``, from one revenue model: exactly
    ``[earned(agreement, d) for d in days]``, without working the model out per day.

    The days may come in any order.  Cumulative, so the revenue of a period
    is the difference between its last day and the day before it starts:

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import AgreementId, sign
    >>> from milestonebill.schedule import Interval, ItemId, RecurringCharge
    >>> from milestonebill.testing.scenarios import CARD, proposal, usd
    >>> fee = RecurringCharge(ItemId("ret"), "Retainer", usd("3100.00"), Interval.MONTHLY,
    ...                       start=date(2026, 1, 1), count=12)
    >>> a = sign(proposal(recurring=[fee]), option="std", signer="Ada", payment_method=CARD,
    ...          agreement_id=AgreementId("a-1"), signed_at=datetime(2025, 12, 20, tzinfo=UTC))
    >>> [str(e["ret"]) for e in earned_series(a, [date(2026, 1, 10), date(2026, 1, 31)])]
    ['1000.00 USD', '3100.00 USD']
    """
    cur = agreement.currency
    return [{o: Money.from_minor(m, cur) for o, m in row.items()}
            for row in earned_minor_series(agreement, days)]

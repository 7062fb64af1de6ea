"""What a forecast knows and what it assumes, per agreement.

Private to :mod:`milestonebill.reports`; :mod:`milestonebill.reports.forecast`
turns these into reports.  For each agreement:

* :func:`prepare` -- the agreement as it stood at the end of ``as_of``
  (``past``), and the same with the scenario's changes and the expected
  completions of its on-completion milestones applied as events
  (``future``), with how each completion date was arrived at;
* :func:`plan_days` -- what the plan still bills or credits, each on the day
  it is expected to be billed (never before the day after ``as_of``);
* :func:`receipts` -- the cash each open invoice and each expected invoice or
  credit note is expected to bring, on the day the :class:`CollectionLag`
  says, with the basis of both dates (grouped from what is still owed as
  integer columns, :mod:`milestonebill._owed`; from the invoice lines inside
  :func:`~milestonebill._reference.reference_path` and for a host's own tax
  rule, which reads lines);
* :func:`stood` -- an agreement as it stood at the end of a day.

The assumptions and scenarios themselves are values of
:mod:`milestonebill.reports._assumptions`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

import attrs

from milestonebill._kept import kept
from milestonebill._owed import Owed, owed
from milestonebill._reference import reference
from milestonebill._validate import check_date
from milestonebill.agreement import (
    Agreement,
    Amendment,
    AmendmentStatus,
    PaymentMethodKind,
    apply,
    approve,
    billed_by_key,
    billing_plan,
    complete_milestone,
    history,
    propose,
    sign,
)
from milestonebill.agreement.plan import fixed_items
from milestonebill.collection import (
    CollectionState,
    auto_collects,
    collection_state,
)
from milestonebill.documents import NO_TAX, FlatTax, TaxMethod, TaxPolicy, compute_tax
from milestonebill.errors import ValidationError
from milestonebill.ids import AmendmentId, MilestoneId, PlanKey
from milestonebill.invoicing import Unbilled, unbilled
from milestonebill.money import Money, Rounding, as_fraction, round_ratio
from milestonebill.reports._assumptions import (
    DEFAULT_ASSUMPTIONS,
    Approval,
    Assumptions,
    CollectionLag,
    CompletionAssumption,
    Scenario,
    Signing,
)
from milestonebill.reports._open import open_balances
from milestonebill.schedule import ChargeKind, PaymentTerms, Trigger
from milestonebill.timebilling import time_invoices_due, time_position

__all__ = [
    "DEFAULT_ASSUMPTIONS",
    "Approval",
    "Assumptions",
    "CollectionLag",
    "CompletionAssumption",
    "ExpectedReceipt",
    "Prepared",
    "Row",
    "Scenario",
    "Signing",
    "days_late",
    "plan_days",
    "prepare",
    "receipt_rows",
    "receipts",
    "stood",
    "time_billing",
]

#: Who hypothetical events are recorded as made by.
_BY = "forecast"


# ---------------------------------------------------------------- the prepared agreements


@attrs.frozen
class Prepared:
    """One agreement for a forecast: known (``past``) and expected (``future``).

    ``completions`` says for each on-completion milestone not yet delivered
    when it is expected (``None``: not forecast) and why.
    """

    past: Agreement
    future: Agreement
    completions: tuple[tuple[str, date | None, str], ...]

    def timing(self, milestone_id: str) -> tuple[date | None, str] | None:
        """The expected completion of a milestone and its basis, if it is expected."""
        for mid, when, how in self.completions:
            if mid == milestone_id:
                return when, how
        return None


def _end_of(d: date) -> datetime:
    return datetime.combine(d, time.max, tzinfo=UTC)


def stood(agreement: Agreement, day: date) -> Agreement | None:
    """The agreement as it stood at the end of ``day`` (``None`` before signing)."""
    if day < agreement.signed_on:
        return None
    if agreement.events[-1].effective_at <= _end_of(day):
        return agreement
    if reference():
        return history.as_of(agreement, day)
    # Kept by day: every forecast of one date asks for the same day (finding it among the
    # agreement's kept earlier states takes a search of its events).
    return kept(agreement, ("kept:stood", day), lambda: history.as_of(agreement, day),
                at_most=64)


def _check_firm(agreements: Sequence[Agreement], as_of: date) -> None:
    seen: set[str] = set()
    for i, a in enumerate(agreements):
        if not isinstance(a, Agreement):
            raise ValidationError(f"agreements[{i}]", "an Agreement", a)
        if a.id in seen:
            raise ValidationError("agreements", "agreements with distinct ids", a.id)
        seen.add(a.id)
        if as_of < a.signed_on:
            raise ValidationError("as_of", f"on or after the signing of {a.id!r} "
                                  f"({a.signed_on})", as_of)


def _approve(a: Agreement, change: Approval, as_of: date, field: str) -> Agreement:
    at = max(_end_of(as_of), a.events[-1].effective_at)
    if isinstance(change.amendment, Amendment):
        a = apply(a, propose(a, change.amendment, by=_BY, at=at))
        amendment_id: str = change.amendment.id
    else:
        amendment_id = change.amendment
    record = next((r for r in a.amendments if r.amendment.id == amendment_id), None)
    if record is None:
        raise ValidationError(f"{field}.amendment", f"a pending amendment of {a.id!r}",
                              amendment_id)
    if record.status is AmendmentStatus.PENDING:
        a = apply(a, approve(a, AmendmentId(amendment_id), by=_BY, at=at))
    return a


def _changed(known: dict[str, Agreement], scenario: Scenario | None, as_of: date
             ) -> dict[str, Agreement]:
    """The agreements with the scenario's approvals and signings applied."""
    out = dict(known)
    for i, change in enumerate(() if scenario is None else scenario.changes):
        field = f"scenario.changes[{i}]"
        if isinstance(change, Signing):
            if change.agreement_id in out:
                raise ValidationError(f"{field}.agreement_id", "an id no agreement has",
                                      change.agreement_id)
            out[change.agreement_id] = sign(
                change.proposal, option=change.option, signer=_BY,
                signed_at=datetime.combine(check_date(f"{field}.signed_on", change.signed_on),
                                           time(), tzinfo=UTC),
                payment_method=change.payment_method, agreement_id=change.agreement_id,
                addons=change.addons)
        elif isinstance(change, Approval):
            if change.agreement_id not in out:
                raise ValidationError(f"{field}.agreement_id", "an agreement of the firm",
                                      change.agreement_id)
            out[change.agreement_id] = _approve(out[change.agreement_id], change, as_of, field)
        else:
            raise ValidationError(field, "an Approval or a Signing", change)
    return out


def _expectations(a: Agreement, as_of: date, assumptions: Assumptions
                  ) -> list[tuple[str, date | None, str]]:
    """Expected completion of each undelivered on-completion milestone, in order."""
    if not a.state.amendable:
        return []
    done = a.completions
    anchor: date | None = a.signed_on
    n = assumptions.completion.days_after_previous
    out: list[tuple[str, date | None, str]] = []
    for t in a.milestones:
        m = t.milestone
        if m.trigger is not Trigger.ON_COMPLETION:
            continue
        if m.id in done:
            anchor = done[m.id]
            continue
        given = assumptions.expected_on(a.id, m.id)
        if given is not None:
            out.append((m.id, given, "completion on its stated expected date"))
            anchor = given
        elif n is None or anchor is None:
            out.append((m.id, None, f"completion {assumptions.completion.describe()}"))
            anchor = None
        else:
            anchor = max(anchor + timedelta(days=n), as_of + timedelta(days=1))
            out.append((m.id, anchor, f"completion {assumptions.completion.describe()}"))
    return out


def _check_dates(firm: Mapping[str, Agreement], as_of: date, assumptions: Assumptions,
                 elsewhere: frozenset[str]) -> None:
    for (aid, mid), when in assumptions.expected_dates:
        field = f"expected_dates[{(aid, mid)!r}]"
        a = firm.get(aid)
        if a is None and aid in elsewhere:
            continue  # signed in another scenario of the same comparison
        if a is None:
            raise ValidationError(field, "a key naming an agreement of the firm", aid)
        if not any(t.milestone.id == mid and t.milestone.trigger is Trigger.ON_COMPLETION
                   for t in a.milestones):
            raise ValidationError(field, f"a key naming an on-completion milestone of {aid!r}",
                                  mid)
        if when <= as_of or when < a.signed_on:
            raise ValidationError(field, f"a date after as_of ({as_of}) and signing", when)


def prepare(agreements: Sequence[Agreement], as_of: date, assumptions: Assumptions,
            scenario: Scenario | None = None,
            elsewhere: frozenset[str] = frozenset()) -> list[Prepared]:
    """Each agreement as known at the end of ``as_of`` and as expected after it.

    ``elsewhere`` names agreements that other scenarios of one comparison
    sign: expected dates stated for them are not an error here.
    """
    check_date("as_of", as_of)
    _check_firm(agreements, as_of)
    # The keys of what is kept per agreement, made once for the firm.
    keys = (_PREPARED, as_of, assumptions), (_EXPECTED, as_of, assumptions)
    try:
        hash(keys)
    except TypeError:  # a tax rule of the host's that cannot be a key
        kept = False
    else:
        kept = not reference()
    ready: dict[str, Prepared] = {}
    if kept:  # each agreement as known and as expected, kept with it
        ready = {a.id: _prepared_kept(a, keys) for a in agreements}
        known = {aid: p.past for aid, p in ready.items()}
    else:
        known = {a.id: stood(a, as_of) or a for a in agreements}
    firm = _changed(known, scenario, as_of)
    _check_dates(firm, as_of, assumptions, elsewhere)
    if kept and scenario is None:
        return list(ready.values())
    out: list[Prepared] = []
    for aid, a in firm.items():
        p = ready.get(aid)
        if p is not None and p.past is a:  # not changed by the scenario
            out.append(p)
            continue
        future, expected = _expected_kept(a, as_of, assumptions)
        past = known.get(aid) or _signed_only(a)
        out.append(Prepared(past, future, expected))
    return out


#: An agreement prepared for a forecast (:func:`prepare` without a scenario's changes),
#: kept with it by date and assumptions: every forecast of one date, and both passes of a
#: scenario comparison, prepare it the same way.
_PREPARED = "kept:prepared"
#: :func:`_expected` kept with the agreement by date and assumptions: the forecasts of one
#: date then share the expected agreement (and what is worked out from it).
_EXPECTED = "kept:expected"
_Keys = tuple[tuple[str, date, Assumptions], tuple[str, date, Assumptions]]


def _prepared_kept(a: Agreement, keys: _Keys) -> Prepared:
    def prepared() -> Prepared:
        _tag, as_of, assumptions = keys[0]
        past = stood(a, as_of) or a
        return Prepared(past, *_expected_kept(past, as_of, assumptions, key=keys[1]))

    return kept(a, keys[0], prepared)


_Expected = tuple[Agreement, tuple[tuple[str, date | None, str], ...]]


def _expected(a: Agreement, as_of: date, assumptions: Assumptions) -> _Expected:
    """The agreement with its expected completions applied, and each expectation."""
    expected = _expectations(a, as_of, assumptions)
    future = a
    for mid, when, _how in sorted(expected, key=lambda x: (x[1] or date.max, x[0])):
        if when is None:
            continue
        future = apply(future, complete_milestone(
            future, MilestoneId(mid), by=_BY, completed_on=when,
            at=max(datetime.combine(when, time(12), tzinfo=UTC),
                   future.events[-1].effective_at),
            event_id=f"{a.id}/forecast/complete:{mid}"))
    return future, tuple(expected)


def _expected_kept(a: Agreement, as_of: date, assumptions: Assumptions, *,
                   key: tuple[str, date, Assumptions] | None = None) -> _Expected:
    """:func:`_expected`, kept with the agreement when the assumptions can be a key
    (``key``, already hashed, when :func:`prepare` has it: one key object for the firm,
    not one kept per agreement)."""
    if reference():
        return _expected(a, as_of, assumptions)
    if key is None:
        key = (_EXPECTED, as_of, assumptions)
        try:
            hash(key)
        except TypeError:  # a tax rule of the host's that cannot be a key
            return _expected(a, as_of, assumptions)
    return kept(a, key, lambda: _expected(a, as_of, assumptions))


def _signed_only(a: Agreement) -> Agreement:
    """A hypothetically signed agreement as it stood when signed (its first event)."""
    return Agreement.from_events(a.events[:1])


# ---------------------------------------------------------------- billing and cash


def plan_days(p: Prepared, as_of: date, end: date) -> list[tuple[date, Unbilled]]:
    """What the plan still bills or credits before ``end``, each on its expected day.

    Anything billable on or before ``as_of`` and not yet billed is expected
    the day after.
    """
    tomorrow = as_of + timedelta(days=1)
    out = [(max(u.billable_on, tomorrow), u) for u in unbilled(p.future, through=end)]
    return [(d, u) for d, u in out if d < end]


def time_billing(p: Prepared, as_of: date, end: date, tax: TaxPolicy = NO_TAX
                 ) -> list[tuple[date, int, int]]:
    """Time and materials approved and not yet billed, as the time invoices its cadence
    issues before ``end``: ``(billing day, subtotal, tax)`` in minor units per day.

    Each entry is billed on its cadence day (the day after ``as_of`` when that
    has passed); work not yet recorded has no amount, and a term billed on
    demand is not forecast.  A day's invoice bills everything due by then, so
    what it adds is the difference from the day before -- rounded per line or
    per invoice exactly as the Biller rounds.
    """
    a = p.future
    term = a.proposal.time_materials
    if term is None:
        return []
    tomorrow = as_of + timedelta(days=1)
    days = sorted({max(d, tomorrow) for w in time_position(a) if w.unbilled > 0
                   and (d := term.next_billing_day(w.entry.on)) is not None})
    out: list[tuple[date, int, int]] = []
    before = before_tax = 0
    for day in (d for d in days if d < end):
        for inv in time_invoices_due(a, day, tax=tax):
            if inv.subtotal.minor > before:
                tax_minor = inv.total.minor - inv.subtotal.minor
                out.append((day, inv.subtotal.minor - before, tax_minor - before_tax))
                before, before_tax = inv.subtotal.minor, tax_minor
    return out


@attrs.frozen
class ExpectedReceipt:
    """Cash expected from one open invoice, or from one invoice (or credit note) still
    to be billed, and why then.

    ``amount`` includes tax and is negative for a credit; ``expected_on`` is
    ``None`` for what is not forecast.  ``timing`` says where the billing
    date comes from, ``collection`` how the payment date follows from it.
    """

    agreement_id: str
    source: str
    billed_on: date | None
    due_on: date | None
    expected_on: date | None
    amount: Money
    timing: str
    collection: str


def days_late(agreements: Iterable[Agreement]) -> dict[str, tuple[int, int]]:
    """Per client: (days from due date to payment, summed; paid sent invoices counted)."""
    out: dict[str, tuple[int, int]] = {}
    for a in agreements:
        late = _late_of(a) if reference() else a.derived(_late_of)
        if late is not None:
            total, n = out.get(a.proposal.client, (0, 0))
            out[a.proposal.client] = (total + late[0], n + late[1])
    return out


def _late_of(a: Agreement) -> tuple[int, int] | None:
    """One agreement's part of :func:`days_late` (``None``: it is charged automatically)."""
    if auto_collects(a):
        return None
    paid_on: dict[str, date] = {}
    for p in a.payments:
        day = p.effective_at.date()
        paid_on[p.invoice_id] = max(day, paid_on.get(p.invoice_id, day))
    total = n = 0
    owed = {inv.id: minor for inv, minor in open_balances(a)}  # settled: not in it
    for inv in a.invoices:
        last = paid_on.get(inv.id)
        if last is None or owed.get(inv.id, 0) > 0:
            continue
        total, n = total + (last - inv.due_on).days, n + 1
    return total, n


def _settles(a: Agreement, billed_on: date, due_on: date, *, as_of: date, lag: CollectionLag,
             late: Mapping[str, tuple[int, int]]) -> tuple[date, str]:
    """When money billed on ``billed_on`` (due ``due_on``) is expected, and why."""
    if auto_collects(a):
        assert a.payment_method is not None
        if a.payment_method.kind is PaymentMethodKind.CARD:
            when, how = billed_on + timedelta(days=lag.card_days), \
                f"card: {lag.card_days} days after billing"
        else:
            when, how = billed_on + timedelta(days=lag.bank_debit_days), \
                f"bank debit: {lag.bank_debit_days} days after billing"
    else:
        total, n = late.get(a.proposal.client, (0, 0))
        if lag.use_history and n:
            days = round_ratio(total, n, Rounding.HALF_UP)
            when = due_on + timedelta(days=days)
            how = f"sent invoice: due date + {days} days (the client's average over {n} paid)"
        else:
            when, how = due_on, "sent invoice: on its due date"
    tomorrow = as_of + timedelta(days=1)
    if when < tomorrow:
        return tomorrow, f"{how}; overdue, so the day after as_of"
    return when, how


_NOT_CHARGED = (CollectionState.ACTION_REQUIRED, CollectionState.EXHAUSTED,
                CollectionState.ON_HOLD)


def _open_invoices(p: Prepared, as_of: date, lag: CollectionLag,
                   late: Mapping[str, tuple[int, int]]) -> list[ExpectedReceipt]:
    a = p.past
    out: list[ExpectedReceipt] = []
    for inv, minor in open_balances(a):
        if minor <= 0:
            continue
        balance = Money.from_minor(minor, a.currency)
        start = inv.issued_on
        if auto_collects(a):
            state = collection_state(a, inv.id, lag.retry)
            if state.state in _NOT_CHARGED:
                out.append(ExpectedReceipt(a.id, f"invoice {inv.number}", inv.issued_on,
                                           inv.due_on, None, balance, "open invoice",
                                           f"not forecast: collection {state.state.value}"))
                continue
            start = state.retry_on or start
        when, how = _settles(a, start, inv.due_on, as_of=as_of, lag=lag, late=late)
        out.append(ExpectedReceipt(a.id, f"invoice {inv.number}", inv.issued_on, inv.due_on,
                                   when, balance, "open invoice", how))
    return out


def _timing(p: Prepared, u: Unbilled, day: date, as_of: date) -> str:
    key = u.line.item_key
    if u.credit:
        return "credit from an amendment"
    if day == as_of + timedelta(days=1) and u.billable_on <= as_of:
        return "billable by as_of, not yet billed"
    expected = p.timing(key.item_id) if key is not None else None
    if expected is not None:
        return expected[1]
    return "adjustment from an amendment" if u.line.adjusts else "on its plan date"


def _not_forecast(p: Prepared) -> list[ExpectedReceipt]:
    waiting = {mid: how for mid, when, how in p.completions if when is None}
    if not waiting:
        return []
    billed = billed_by_key(p.future)
    out: list[ExpectedReceipt] = []
    # Only milestones are read: the plan's fixed items hold them all.
    items = (billing_plan(p.future, through=p.future.signed_on) if reference()
             else fixed_items(p.future))
    for item in items:
        if item.kind is ChargeKind.MILESTONE and item.item_id in waiting:
            left = item.amount.minor - billed.get(item.key, (0, None, 0))[0]
            if left > 0:
                out.append(ExpectedReceipt(p.future.id, f"milestone {item.key}", None, None,
                                           None, Money.from_minor(left, item.amount.currency),
                                           waiting[item.item_id], "not forecast"))
    return out


#: One expected receipt as kept with its agreement: source, billed on, due on, expected
#: on, amount in minor units, the amount's currency code, timing, collection.  Plain
#: values only, so the collector stops walking them once it has seen them (an
#: :class:`ExpectedReceipt` and its :class:`Money` are walked by every full collection
#: while kept).
Row = tuple[str, date | None, date | None, date | None, int, str, str, str]


def receipts(prepared: Sequence[Prepared], as_of: date, end: date,
             assumptions: Assumptions) -> list[ExpectedReceipt]:
    """Every receipt expected after ``as_of`` from billing before ``end`` (and every
    open invoice), and what is left out, in agreement order."""
    out: list[ExpectedReceipt] = []
    # A firm's receipts repeat a few amounts: one Money each, shared inline (a call to
    # ``reports._amounts.Amounts`` per receipt costs about 8 ms at 41,000 receipts).
    amounts: dict[tuple[int, str], Money] = {}
    for p, rows in receipt_rows(prepared, as_of, end, assumptions):
        cur = p.future.currency
        for source, billed, due, when, minor, code, timing, how in rows:
            amount = amounts.get((minor, code))
            if amount is None:
                amount = amounts[minor, code] = Money.from_minor(
                    minor, cur if code == cur.code else code)
            out.append(ExpectedReceipt(p.future.id, source, billed, due, when, amount,
                                       timing, how))
    return out


def receipt_rows(prepared: Sequence[Prepared], as_of: date, end: date,
                 assumptions: Assumptions) -> list[tuple[Prepared, tuple[Row, ...]]]:
    """:func:`receipts` as :data:`Row` values, per agreement: for a forecast that adds
    the amounts up and makes no receipt."""
    late = days_late(p.past for p in prepared)
    return [(p, _receipts_of(p, as_of, end, assumptions, late)) for p in prepared]


def _receipts_of(p: Prepared, as_of: date, end: date, assumptions: Assumptions,
                 late: Mapping[str, tuple[int, int]]) -> tuple[Row, ...]:
    """:func:`receipts` of one agreement.  When nothing is assumed about it (what is
    expected is what is known), they depend only on the arguments and on its client's
    payment history, and are kept with it (the cash, receipts and scenario forecasts of
    one date ask for the same ones)."""
    if reference() or p.past is not p.future:
        return _receipts_computed(p, as_of, end, assumptions, late)
    key: tuple[object, ...] = ("kept:receipts", as_of, end, assumptions,
                               late.get(p.future.proposal.client), p.completions)
    try:
        hash(key)
    except TypeError:  # a tax rule of the host's that cannot be a key
        return _receipts_computed(p, as_of, end, assumptions, late)
    return kept(p.future, key, lambda: _receipts_computed(p, as_of, end, assumptions, late))


def _row(r: ExpectedReceipt) -> Row:
    return (r.source, r.billed_on, r.due_on, r.expected_on, r.amount.minor,
            r.amount.currency.code, r.timing, r.collection)


def _receipts_computed(p: Prepared, as_of: date, end: date, assumptions: Assumptions,
                       late: Mapping[str, tuple[int, int]]) -> tuple[Row, ...]:
    rule = assumptions.tax.rule
    out = [_row(r) for r in _open_invoices(p, as_of, assumptions.lag, late)]
    if reference() or not (rule is None or type(rule) is FlatTax):
        out += [_row(r) for r in _billing_from_lines(p, as_of, end, assumptions, late)]
    else:
        out += _billing_from_columns(p, as_of, end, assumptions, late)
    out += [_row(r) for r in _time_receipts(p, as_of, end, assumptions, late)]
    out += [_row(r) for r in _not_forecast(p)]
    return tuple(out)


def _billing_from_lines(p: Prepared, as_of: date, end: date, assumptions: Assumptions,
                        late: Mapping[str, tuple[int, int]]) -> list[ExpectedReceipt]:
    """The receipts of what the plan still bills, from its invoice lines (the plain
    definition, and the path for a host's own tax rule, which reads the lines)."""
    lag = assumptions.lag
    out: list[ExpectedReceipt] = []
    groups: dict[tuple[date, bool, PaymentTerms], list[Unbilled]] = {}
    timings: dict[tuple[date, bool, PaymentTerms], list[str]] = {}
    for day, u in plan_days(p, as_of, end):
        key = (day, u.credit, PaymentTerms() if u.credit else u.terms)
        groups.setdefault(key, []).append(u)
        timings.setdefault(key, []).append(_timing(p, u, day, as_of))
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2].net_days)):
        day, credit, terms = key
        lines = [u.line for u in groups[key]]
        cur = p.future.currency
        tax = compute_tax(lines, assumptions.tax, cur)
        gross = sum(ln.amount.minor for ln in lines) + sum(t.amount.minor for t in tax)
        due = terms.due_date(day)
        when, how = _settles(p.future, day, due, as_of=as_of, lag=lag, late=late)
        source = ("credit " if credit else "billing ") + ", ".join(
            str(ln.item_key) for ln in lines)
        out.append(ExpectedReceipt(p.future.id, source, day, due, when,
                                   Money.from_minor(-gross if credit else gross, cur),
                                   "; ".join(dict.fromkeys(timings[key])), how))
    return out


def _billing_from_columns(p: Prepared, as_of: date, end: date, assumptions: Assumptions,
                          late: Mapping[str, tuple[int, int]]) -> list[Row]:
    """:func:`_billing_from_lines` from what is owed as columns (:func:`owed`): no plan
    item, invoice line or ``Unbilled`` per piece, one receipt per group.

    What is owed comes in billable-day order, and so do the days it is expected on
    (the day after ``as_of`` at the earliest), so the groups of one day are found
    together: a day with one position (the usual one) is its own receipt."""
    a = p.future
    o = owed(a, through=end)
    tomorrow = as_of + timedelta(days=1)
    tax = _flat_tax(assumptions.tax)
    settle = _settler(a, as_of, assumptions.lag, late)
    code = a.currency.code
    days, n = o.days, len(o.days)
    out: list[Row] = []
    i = 0
    while i < n:
        billable = days[i]
        day = tomorrow if billable < tomorrow else billable
        if day >= end:
            break
        j = i + 1
        while j < n and (days[j] if days[j] > tomorrow else tomorrow) == day:
            j += 1
        if j == i + 1:  # the only position billed that day: its terms and timing inline
            minor = o.minors[i]
            gross = minor if tax is None else minor + tax([minor])
            if o.credit[i]:  # due on receipt
                due, source, timing, gross = day, _CREDIT + o.keys[i], _BY_AMENDMENT, -gross
            else:
                net = o.terms[i].net_days
                due = day + timedelta(days=net) if net else day
                source = _BILLING + o.keys[i]
                timing = (_NOT_YET_BILLED if billable < tomorrow
                          else _timing_of(p, o, i, day, as_of) if p.completions
                          else _ADJUSTMENT if o.adjusts[i] else _ON_PLAN_DATE)
            when, how = settle(day, due)
            out.append((source, day, due, when, gross, code, timing, how))
        else:
            out += _day_groups(p, o, range(i, j), day, as_of=as_of, tax=tax, settle=settle)
        i = j
    return out


_CREDIT, _BILLING = "credit ", "billing "


def _day_groups(p: Prepared, o: Owed, at_day: range, day: date, *, as_of: date,
                tax: Callable[[list[int]], int] | None,
                settle: Callable[[date, date], tuple[date, str]]) -> list[Row]:
    """The receipts of one day's positions: one per credit or payment terms, credits
    after invoices, shorter terms first."""
    groups: dict[tuple[bool, PaymentTerms], list[int]] = {}
    for i in at_day:
        credit = o.credit[i]
        groups.setdefault((credit, _ON_RECEIPT if credit else o.terms[i]), []).append(i)
    code = p.future.currency.code
    out: list[Row] = []
    for key in sorted(groups, key=lambda k: (k[0], k[1].net_days)):
        credit, terms = key
        at = groups[key]
        minors = [o.minors[i] for i in at]
        gross = sum(minors) if tax is None else sum(minors) + tax(minors)
        due = terms.due_date(day)
        when, how = settle(day, due)
        source = (_CREDIT if credit else _BILLING) + ", ".join([o.keys[i] for i in at])
        timing = (_timing_of(p, o, at[0], day, as_of) if len(at) == 1 else
                  "; ".join(dict.fromkeys([_timing_of(p, o, i, day, as_of) for i in at])))
        out.append((source, day, due, when, -gross if credit else gross, code, timing, how))
    return out


_ON_RECEIPT = PaymentTerms()


def _flat_tax(policy: TaxPolicy) -> Callable[[list[int]], int] | None:
    """The tax :func:`compute_tax` puts on lines of these amounts, in minor units, for a
    :class:`FlatTax` (one rate on every line); ``None`` for no tax rule."""
    rule = policy.rule
    if rule is None:
        return None
    assert isinstance(rule, FlatTax)
    f = as_fraction(rule.rate.rate)
    num, den, rounding = f.numerator, f.denominator, policy.rounding
    if policy.method is TaxMethod.PER_LINE:
        return lambda minors: sum(round_ratio(m * num, den, rounding) for m in minors)
    return lambda minors: round_ratio(sum(minors) * num, den, rounding)


def _settler(a: Agreement, as_of: date, lag: CollectionLag, late: Mapping[str, tuple[int, int]]
             ) -> Callable[[date, date], tuple[date, str]]:
    """:func:`_settles` for one agreement, its rule worked out once for all its receipts."""
    from_due = not auto_collects(a)
    if not from_due:
        assert a.payment_method is not None
        if a.payment_method.kind is PaymentMethodKind.CARD:
            days, how = lag.card_days, f"card: {lag.card_days} days after billing"
        else:
            days, how = lag.bank_debit_days, f"bank debit: {lag.bank_debit_days} days after billing"
    else:
        total, n = late.get(a.proposal.client, (0, 0))
        if lag.use_history and n:
            days = round_ratio(total, n, Rounding.HALF_UP)
            how = f"sent invoice: due date + {days} days (the client's average over {n} paid)"
        else:
            days, how = 0, "sent invoice: on its due date"
    step, tomorrow = timedelta(days=days), as_of + timedelta(days=1)
    overdue = f"{how}; overdue, so the day after as_of"

    def settle(billed_on: date, due_on: date) -> tuple[date, str]:
        when = (due_on if from_due else billed_on) + step
        return (tomorrow, overdue) if when < tomorrow else (when, how)

    return settle


_BY_AMENDMENT, _NOT_YET_BILLED = "credit from an amendment", "billable by as_of, not yet billed"
_ADJUSTMENT, _ON_PLAN_DATE = "adjustment from an amendment", "on its plan date"


def _timing_of(p: Prepared, o: Owed, i: int, day: date, as_of: date) -> str:
    """:func:`_timing` of position ``i`` of what is owed."""
    if o.credit[i]:
        return _BY_AMENDMENT
    if o.days[i] <= as_of and day == as_of + timedelta(days=1):
        return _NOT_YET_BILLED
    expected = p.timing(PlanKey(o.keys[i]).item_id) if p.completions else None
    if expected is not None:
        return expected[1]
    return _ADJUSTMENT if o.adjusts[i] else _ON_PLAN_DATE


def _time_receipts(p: Prepared, as_of: date, end: date, assumptions: Assumptions,
                   late: Mapping[str, tuple[int, int]]) -> list[ExpectedReceipt]:
    """The receipts of approved time and materials, on its billing days."""
    out: list[ExpectedReceipt] = []
    term = p.future.proposal.time_materials
    for day, minor, tax_minor in time_billing(p, as_of, end, assumptions.tax):
        assert term is not None  # time_billing gives nothing without a term
        due = term.terms.due_date(day)
        when, how = _settles(p.future, day, due, as_of=as_of, lag=assumptions.lag, late=late)
        out.append(ExpectedReceipt(p.future.id, "time and materials", day, due, when,
                                   Money.from_minor(minor + tax_minor, p.future.currency),
                                   "approved time on its billing day", how))
    return out

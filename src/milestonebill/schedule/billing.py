"""The billable items of one engagement: :class:`BillingSchedule`.

A schedule holds milestones and recurring charges in one currency, with
unique ids.  When it has a ``fee`` its milestones add up to the fee exactly
(percentages resolved together by largest remainder).  It resolves its
items into dated :class:`~milestonebill.schedule.charges.Charge` s in one
order: by billing date, then milestones as listed, then recurring items as
listed.

>>> s = BillingSchedule(currency="EUR", milestones=[
...     Milestone(MilestoneId("design"), "Design", amount=Money("900.00", "EUR"))])
>>> s.charges_between(date(2025, 1, 1), date(2026, 1, 1))
()
>>> [c.due for c in s.charges_between(date(2025, 1, 1), date(2026, 1, 1),
...                                   completions={MilestoneId("design"): date(2025, 5, 2)})]
[datetime.date(2025, 5, 2)]
>>> BillingSchedule(currency="EUR", milestones=[
...     Milestone(MilestoneId("design"), "Design", amount=Money("900.00", "USD"))])
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'milestones[0].amount' must be an amount in EUR (got Money('900.00', 'USD'))
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from datetime import date
from fractions import Fraction
from typing import Any

import attrs

from milestonebill._json import decode, encode
from milestonebill._validate import raise_all
from milestonebill.errors import ValidationError
from milestonebill.ids import MilestoneId
from milestonebill.money import Currency, Money, allocate
from milestonebill.schedule._common import date_problems, is_date
from milestonebill.schedule.charges import Charge, ChargeKind
from milestonebill.schedule.discounts import Discount, DiscountScope
from milestonebill.schedule.installments import InstallmentPlan
from milestonebill.schedule.milestones import Milestone
from milestonebill.schedule.recurring import RecurringCharge
from milestonebill.schedule.terms import Trigger

__all__ = ["BillingSchedule"]


def _milestones(value: Iterable[Milestone]) -> tuple[Milestone, ...]:
    return tuple(value)


def _recurrings(value: Iterable[RecurringCharge]) -> tuple[RecurringCharge, ...]:
    return tuple(value)


def _plans(value: Iterable[InstallmentPlan]) -> tuple[InstallmentPlan, ...]:
    return tuple(value)


def _discounts(value: Iterable[Discount]) -> tuple[Discount, ...]:
    return tuple(value)


_NO_COMPLETIONS: Mapping[MilestoneId, date] = types.MappingProxyType({})


def _percent_text(pct: Fraction) -> str:
    """A sum of percentages as the decimal it is (each has at most 40 places)."""
    whole, rest = divmod(pct.numerator * 10**40, pct.denominator)
    assert rest == 0
    text = f"{whole:041d}"
    return (text[:-40] + "." + text[-40:]).rstrip("0").rstrip(".")


def _currency(value: object) -> Currency:
    if isinstance(value, Currency):
        return value
    if isinstance(value, str):
        return Currency.of(value)
    raise ValidationError("currency", "a Currency or ISO 4217 code", value)


@attrs.frozen
class BillingSchedule:
    """The billable items of one engagement, all in one currency.

    When ``fee`` is given the milestones and installment plans must add up
    to it exactly; percentage milestones are shares of the fee, resolved
    together by largest remainder (:func:`milestonebill.money.allocate`), so
    3 x 33.33 % plus 0.01 % of 100.00 is 33.33 + 33.33 + 33.33 + 0.01 and
    nothing is lost.  ``installments`` are fees paid in installments
    (:class:`~milestonebill.schedule.InstallmentPlan`); ``discounts`` apply
    to the schedule's items (:class:`~milestonebill.schedule.Discount`).
    Ids are unique over milestones, recurring charges, plans and discounts.
    """

    currency: Currency = attrs.field(converter=_currency)
    fee: Money | None = None
    milestones: tuple[Milestone, ...] = attrs.field(default=(), converter=_milestones)
    recurring: tuple[RecurringCharge, ...] = attrs.field(default=(), converter=_recurrings)
    installments: tuple[InstallmentPlan, ...] = attrs.field(default=(), converter=_plans)
    discounts: tuple[Discount, ...] = attrs.field(default=(), converter=_discounts)

    def __attrs_post_init__(self) -> None:
        problems: list[ValidationError] = []
        cur = self.currency
        if self.fee is not None and not (isinstance(self.fee, Money) and self.fee.currency == cur):
            problems.append(ValidationError("fee", f"a Money in {cur.code}", self.fee))
        seen: set[str] = set()
        for i, m in enumerate(self.milestones):
            if not isinstance(m, Milestone):
                problems.append(ValidationError(f"milestones[{i}]", "a Milestone", m))
                continue
            if m.id in seen:
                problems.append(ValidationError(f"milestones[{i}].id", "a unique id", m.id))
            seen.add(m.id)
            if m.amount is not None and m.amount.currency != cur:
                problems.append(ValidationError(f"milestones[{i}].amount",
                                                f"an amount in {cur.code}", m.amount))
            if m.percent is not None and self.fee is None:
                problems.append(ValidationError(f"milestones[{i}].percent",
                                                "None unless the schedule has a fee", m.percent))
        for i, r in enumerate(self.recurring):
            if not isinstance(r, RecurringCharge):
                problems.append(ValidationError(f"recurring[{i}]", "a RecurringCharge", r))
                continue
            if r.id in seen:
                problems.append(ValidationError(f"recurring[{i}].id", "a unique id", r.id))
            seen.add(r.id)
            if r.amount.currency != cur:
                problems.append(ValidationError(f"recurring[{i}].amount",
                                                f"an amount in {cur.code}", r.amount))
        problems += self._plan_problems(seen)
        if not problems and self.fee is not None:
            # Summed as fractions: exact whatever the thread's decimal context.
            pct = sum((Fraction(m.percent) for m in self.milestones if m.percent is not None),
                      Fraction(0))
            if pct > 100:
                problems.append(ValidationError("milestones", "percentages totalling at most 100",
                                                f"{_percent_text(pct)}%"))
            else:
                total = Money.total([*self._resolve().values(),
                                     *(p.amount for p in self.installments)], currency=cur)
                if total != self.fee:
                    what = "amounts" if not self.installments else "milestone and installment " \
                        "plan amounts"
                    problems.append(ValidationError(
                        "milestones", f"{what} adding up to the fee {self.fee}", str(total)
                    ))
        if not problems:
            problems += self._discount_problems(seen)
        raise_all(problems)

    def _plan_problems(self, seen: set[str]) -> list[ValidationError]:
        problems: list[ValidationError] = []
        for i, p in enumerate(self.installments):
            if not isinstance(p, InstallmentPlan):
                problems.append(ValidationError(f"installments[{i}]", "an InstallmentPlan", p))
                continue
            if p.id in seen:
                problems.append(ValidationError(f"installments[{i}].id", "a unique id", p.id))
            seen.add(p.id)
            if p.amount.currency != self.currency:
                problems.append(ValidationError(f"installments[{i}].amount",
                                                f"an amount in {self.currency.code}", p.amount))
        return problems

    def _discount_problems(self, items: set[str]) -> list[ValidationError]:
        """Discounts: unique ids, in the currency, naming this schedule's items; a fixed
        discount for ever on milestones and plans only (named, or the whole package
        when it has no recurring charge) no more than they add up to."""
        problems: list[ValidationError] = []
        seen = set(items)
        amounts: dict[str, Money] = {str(k): v for k, v in self._resolve().items()}
        amounts.update({p.id: p.amount for p in self.installments})
        for i, d in enumerate(self.discounts):
            at = f"discounts[{i}]"
            if not isinstance(d, Discount):
                problems.append(ValidationError(at, "a Discount", d))
                continue
            if d.id in seen:
                problems.append(ValidationError(f"{at}.id", "a unique id", d.id))
            seen.add(d.id)
            if d.amount is not None and d.amount.currency != self.currency:
                problems.append(ValidationError(f"{at}.amount",
                                                f"an amount in {self.currency.code}", d.amount))
                continue
            problems += [ValidationError(f"{at}.items", "ids of this schedule's milestones, "
                                         "recurring charges and installment plans", x)
                         for x in d.items if x not in items]
            named = [amounts[x] for x in d.items if x in amounts]
            if d.scope is DiscountScope.PACKAGE and not self.recurring:
                named = list(amounts.values())  # the package's own items, all known
            known = len(named) == len(d.items) if d.scope is DiscountScope.ITEMS \
                else d.scope is DiscountScope.PACKAGE and not self.recurring
            if (d.amount is not None and known and d.starts_on is None
                    and d.ends_on is None):
                most = Money.total(named, currency=self.currency)
                if d.amount > most:
                    problems.append(ValidationError(
                        f"{at}.amount", f"at most what the items add up to ({most}), so "
                        "that no line is discounted below zero", d.amount))
        return problems

    def _resolve(self) -> dict[MilestoneId, Money]:
        pcts = [m for m in self.milestones if m.percent is not None]
        shares: dict[MilestoneId, Money] = {}
        if pcts:
            assert self.fee is not None
            weights = [Fraction(m.percent) for m in pcts if m.percent is not None]
            rest = 100 - sum(weights, Fraction(0))
            parts = allocate(self.fee, [*weights, rest] if rest else weights)
            shares = {m.id: part for m, part in zip(pcts, parts, strict=False)}
        return {m.id: m.amount if m.amount is not None else shares[m.id] for m in self.milestones}

    def milestone_amounts(self) -> dict[MilestoneId, Money]:
        """Each milestone's amount, percentages resolved so the total is exactly the fee.

        >>> from decimal import Decimal
        >>> s = BillingSchedule(currency="USD", fee=Money("100.00", "USD"), milestones=[
        ...     Milestone(MilestoneId(f"m{i}"), f"Phase {i}", percent=Decimal("33.33"))
        ...     for i in range(3)] + [Milestone(MilestoneId("m3"), "Rest", percent=Decimal("0.01"))])
        >>> [str(a.amount) for a in s.milestone_amounts().values()]
        ['33.33', '33.33', '33.33', '0.01']
        """
        return self._resolve()

    def _milestone_charges(
        self, signed_on: date | None, completions: Mapping[MilestoneId, date]
    ) -> list[tuple[date, int, Charge]]:
        known = {m.id for m in self.milestones}
        for k, v in completions.items():
            if k not in known:
                raise ValidationError("completions", "ids of this schedule's milestones", k)
            raise_all(date_problems(f"completions[{k!r}]", v))
        if signed_on is not None:
            raise_all(date_problems("signed_on", signed_on))
        amounts = self._resolve()
        out: list[tuple[date, int, Charge]] = []
        for order, m in enumerate(self.milestones):
            if m.trigger is Trigger.ON_SIGNING:
                on = signed_on
            elif m.trigger is Trigger.ON_DATE:
                on = m.due_on
            else:
                on = completions.get(m.id)
            if on is None:
                continue
            amount = amounts[m.id]
            share = (f"{m.percent}% of fee {self.fee}" if m.percent is not None
                     else f"fixed {amount}")
            text = (f"{m.name} ({m.id}), milestone {m.trigger.value} {on.isoformat()}: "
                    f"{share}; {m.terms}")
            charge = Charge(
                item_id=m.id, kind=ChargeKind.MILESTONE, name=m.name, on=on, amount=amount,
                period=None, base_amount=amount, due=m.terms.due_date(on), provenance=text,
            )
            out.append((on, order, charge))
        return out

    def _installment_charges(self) -> list[tuple[date, int, Charge]]:
        base = len(self.milestones) + len(self.recurring)
        return [(c.on, base + i, c) for i, p in enumerate(self.installments) for c in p.charges()]

    def charges_between(
        self,
        start: date,
        end: date,
        *,
        signed_on: date | None = None,
        completions: Mapping[MilestoneId, date] = _NO_COMPLETIONS,
    ) -> tuple[Charge, ...]:
        """Charges billed on dates in ``[start, end)``, by (date, schedule order).

        The range is half-open: a charge on ``start`` is in, one on ``end`` is not.  Raises
        :class:`~milestonebill.errors.ValidationError` naming ``end`` when it is before ``start``
        or either is not a date.

        Schedule order is the milestones as listed, then the recurring items
        as listed, then the installment plans.  Charges are before discounts
        (the agreement's billing plan applies those).  Milestones on signing need ``signed_on``; milestones on
        completion appear once their id is in ``completions`` (an id not in
        the schedule is refused; completion dates of milestones with another
        trigger are ignored, since their own trigger dates them).
        """
        if not (is_date(start) and is_date(end)) or end < start:
            raise ValidationError("end", f"a date on or after start {start}", end)
        found = [t for t in self._milestone_charges(signed_on, completions) if start <= t[0] < end]
        found += [t for t in self._installment_charges() if start <= t[0] < end]
        base = len(self.milestones)
        for i, r in enumerate(self.recurring):
            for c in r.charges():
                if c.on >= end:
                    break
                if c.on >= start:
                    found.append((c.on, base + i, c))
        found.sort(key=lambda t: (t[0], t[1]))
        return tuple(c for _, _, c in found)

    def next_charge_after(
        self,
        d: date,
        *,
        signed_on: date | None = None,
        completions: Mapping[MilestoneId, date] = _NO_COMPLETIONS,
    ) -> Charge | None:
        """The first charge billed strictly after ``d``, or ``None`` if there is none.

        Raises :class:`~milestonebill.errors.ValidationError` naming ``d`` when it is not a date.

        >>> from milestonebill.schedule import Interval, ItemId
        >>> s = BillingSchedule(currency="USD", recurring=[RecurringCharge(ItemId("r"), "Support",
        ...     Money("500.00", "USD"), Interval.QUARTERLY, start=date(2024, 11, 30))])
        >>> s.next_charge_after(date(2024, 11, 30)).on
        datetime.date(2025, 2, 28)
        """
        if not is_date(d):
            raise ValidationError("d", "a date", d)
        best: tuple[date, int, Charge] | None = None
        for t in [*self._milestone_charges(signed_on, completions), *self._installment_charges()]:
            if t[0] > d and (best is None or (t[0], t[1]) < (best[0], best[1])):
                best = t
        base = len(self.milestones)
        for i, r in enumerate(self.recurring):
            for c in r.charges():
                if best is not None and c.on > best[0]:
                    break
                if c.on > d:
                    if best is None or (c.on, base + i) < (best[0], best[1]):
                        best = (c.on, base + i, c)
                    break
        return None if best is None else best[2]

    # ------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the library's one JSON convention: every field present,
        money as ``{"amount": "12.30", "currency": "USD"}``, decimals as strings,
        enums by lower-case name).

        >>> from decimal import Decimal
        >>> s = BillingSchedule(currency="JPY", fee=Money(300000, "JPY"), milestones=[
        ...     Milestone(MilestoneId("a"), "All", percent=Decimal(100))])
        >>> s.to_json()["milestones"][0]["percent"], s.to_json()["fee"]
        ('100', {'amount': '300000', 'currency': 'JPY'})
        >>> BillingSchedule.from_json(s.to_json()) == s
        True
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> BillingSchedule:
        """Parse the form made by :meth:`to_json`; fields with defaults may be left out.

        Amounts and decimals must be strings; a JSON number there (a float
        after ``json.loads``) is refused with the field named, as is a key
        the schedule does not know.

        >>> BillingSchedule.from_json({"currency": "USD", "fee": {"amount": 48000.0,
        ...                                                      "currency": "USD"}})
        Traceback (most recent call last):
        ...
        milestonebill.errors.ValidationError: 'fee.amount' must be a decimal string such as '12.30' (got 48000.0)
        """
        return decode(data, cls)  # type: ignore[no-any-return]

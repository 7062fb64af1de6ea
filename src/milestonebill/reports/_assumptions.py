"""What a forecast assumes: completions, collection lags, failures, tax, and scenarios.

Private to :mod:`milestonebill.reports` (:mod:`milestonebill.reports.forecast`
exports them): plain values, checked when made, that the forecasts record
on their rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Final

import attrs

from milestonebill._validate import check_date, check_int, exact_decimal
from milestonebill.agreement import Amendment, PaymentMethodRef, Proposal
from milestonebill.collection import DEFAULT_RETRY_POLICY, RetryPolicy
from milestonebill.documents import NO_TAX, TaxPolicy
from milestonebill.errors import ValidationError
from milestonebill.ids import AgreementId

__all__ = [
    "DEFAULT_ASSUMPTIONS",
    "Approval",
    "Assumptions",
    "CollectionLag",
    "CompletionAssumption",
    "Scenario",
    "Signing",
]


# ---------------------------------------------------------------- assumptions


def _days_or_none(_inst: object, attribute: attrs.Attribute[int | None], value: object) -> None:
    if value is not None:
        check_int(attribute.name, value, at_least=0)


@attrs.frozen
class CompletionAssumption:
    """When an on-completion milestone with no stated date is assumed delivered.

    ``days_after_previous``: that many days after the agreement's previous
    on-completion milestone was (or is expected to be) delivered -- after
    signing for the first -- and never before the day after ``as_of`` (an
    overdue milestone is assumed delivered the next day).  ``None`` (the
    default): not forecast; the milestone is listed with no expected date
    and counts nowhere.

    >>> CompletionAssumption(30).describe(), CompletionAssumption().describe()
    ('assumed 30 days after the previous milestone', 'not forecast (no expected date)')
    """

    days_after_previous: int | None = attrs.field(default=None, validator=_days_or_none)

    def describe(self) -> str:
        """The assumption in words, as the rows state it."""
        if self.days_after_previous is None:
            return "not forecast (no expected date)"
        return f"assumed {self.days_after_previous} days after the previous milestone"


def _whole_days(_inst: object, attribute: attrs.Attribute[int], value: object) -> None:
    check_int(attribute.name, value, at_least=0)


@attrs.frozen
class CollectionLag:
    """When billed money is expected to arrive, by how the agreement is paid.

    * ``card_days`` / ``bank_debit_days`` -- after the day an automatically
      charged invoice is billed (or its scheduled retry, see ``retry``);
    * sent invoices (the client pays) -- on their due date, plus the
      client's average days from due date to payment over its paid sent
      invoices when ``use_history`` and there are any (rounded half up to
      whole days; negative when it pays early);
    * nothing is expected before the day after ``as_of``.

    >>> CollectionLag().card_days, CollectionLag().bank_debit_days
    (2, 5)
    """

    card_days: int = attrs.field(default=2, validator=_whole_days)
    bank_debit_days: int = attrs.field(default=5, validator=_whole_days)
    use_history: bool = True
    retry: RetryPolicy = DEFAULT_RETRY_POLICY


def _dates(value: object) -> tuple[tuple[tuple[str, str], date], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    if not isinstance(items, Iterable):
        raise ValidationError("expected_dates", "a mapping (agreement id, milestone id) -> date",
                              value)
    out: list[tuple[tuple[str, str], date]] = []
    for key, when in items:
        if not (isinstance(key, tuple) and len(key) == 2
                and all(isinstance(k, str) for k in key)):
            raise ValidationError("expected_dates", "keys (agreement id, milestone id)", key)
        out.append(((key[0], key[1]), check_date(f"expected_dates[{key!r}]", when)))
    return tuple(sorted(out))


def _rate(value: object) -> Decimal:
    rate = exact_decimal(value, "failure_rate")
    if not 0 <= rate < 1:
        raise ValidationError("failure_rate", "a rate from 0 up to (not including) 1", value)
    return rate


@attrs.frozen(cache_hash=True)
class Assumptions:
    """Everything a forecast assumes, stated once and recorded on its rows.

    * ``expected_dates`` -- ``(agreement id, milestone id) -> date`` on which
      an on-completion milestone is expected to be delivered (after
      ``as_of``); the others follow ``completion``;
    * ``lag`` -- the :class:`CollectionLag`;
    * ``failure_rate`` -- the share of expected receipts assumed never
      collected (exact: ``Decimal``, ``int`` or ``str``, from 0 up to 1): each
      expected cash figure is ``round(sum x (1 - failure_rate))``, exact
      until that one rounding, half up to the minor unit;
    * ``tax`` -- the tax policy the Biller applies, so expected invoices
      bring their tax too (billing and revenue are always net of tax).
    """

    expected_dates: tuple[tuple[tuple[str, str], date], ...] = attrs.field(
        default=(), converter=_dates)
    completion: CompletionAssumption = CompletionAssumption()
    lag: CollectionLag = CollectionLag()
    failure_rate: Decimal = attrs.field(default=Decimal(0), converter=_rate)
    tax: TaxPolicy = NO_TAX

    def expected_on(self, agreement_id: str, milestone_id: str) -> date | None:
        """The stated expected date of a milestone, if any."""
        return dict(self.expected_dates).get((agreement_id, milestone_id))


#: No completion forecast, the default lags, no failures, no tax.
DEFAULT_ASSUMPTIONS: Final = Assumptions()


# ---------------------------------------------------------------- scenarios


@attrs.frozen
class Approval:
    """A change to one of the firm's agreements: ``amendment`` approved.

    An id (:class:`~milestonebill.ids.AmendmentId`) names a pending amendment; an
    :class:`~milestonebill.agreement.Amendment` not yet proposed is proposed
    and approved.  Approved at the end of ``as_of`` (its operations keep
    their own effective dates).
    """

    agreement_id: str
    amendment: str | Amendment


@attrs.frozen
class Signing:
    """A proposal not yet signed, signed hypothetically on ``signed_on``."""

    proposal: Proposal
    option: str
    signed_on: date
    agreement_id: AgreementId
    payment_method: PaymentMethodRef | None = None
    addons: tuple[str, ...] = ()


def _changes(value: Iterable[Approval | Signing]) -> tuple[Approval | Signing, ...]:
    return tuple(value)


@attrs.frozen
class Scenario:
    """A named set of hypothetical changes to the firm: approvals and signings."""

    name: str
    changes: tuple[Approval | Signing, ...] = attrs.field(converter=_changes)

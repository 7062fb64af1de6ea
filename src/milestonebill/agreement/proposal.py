"""What is offered to a client before anything is signed: a :class:`Proposal`.

A proposal offers one or more :class:`PackageOption` s (each a
:class:`~milestonebill.schedule.BillingSchedule` and a scope text) and
optional :class:`AddOn` s, valid until a date, with the
:class:`ApprovalRules` for later amendments and the :class:`Collection`
mode of its invoices.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date

import attrs

from milestonebill._validate import check_id, check_int, check_text, problem, raise_all
from milestonebill.agreement.obligations import ObligationTerms, obligation_problems
from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.ids import ProposalId
from milestonebill.limits import MAX_DAYS
from milestonebill.money import Currency, Rounding
from milestonebill.periods import DayCount
from milestonebill.schedule import BillingSchedule, DiscountScope, LateFee
from milestonebill.schedule.time_materials import TimeAndMaterials

__all__ = [
    "AddOn",
    "ApprovalRules",
    "Collection",
    "PackageOption",
    "Proposal",
]


class Collection(enum.Enum):
    """How invoices are paid: charged automatically, or sent for the client to pay."""

    AUTO_CHARGE = "auto_charge"
    SEND_INVOICE = "send_invoice"


@attrs.frozen
class ApprovalRules:
    """Whether amendments that change money or scope need the client's approval.

    ``auto_approve_after_days``: a pending amendment counts as approved once
    this many days have passed since it was proposed (the engine appends the
    :class:`~milestonebill.agreement.AmendmentApproved` event, see
    :func:`~milestonebill.agreement.approvals_due`).
    """

    require_client_approval: bool = True
    auto_approve_after_days: int | None = None

    def __attrs_post_init__(self) -> None:
        n = self.auto_approve_after_days
        if n is not None:
            check_int("auto_approve_after_days", n, at_least=0, at_most=MAX_DAYS, unit="days")


def _obligation_tuple(value: Iterable[ObligationTerms]) -> tuple[ObligationTerms, ...]:
    return tuple(value)


@attrs.frozen
class PackageOption:
    """A package the client can choose: a billing schedule, a scope text and the
    performance obligations it earns its price by.

    With no ``obligations`` the package has the default revenue model: one
    over-time obligation measured by the milestones achieved (see
    :mod:`milestonebill.agreement.obligations`).
    """

    id: str = attrs.field(validator=lambda _i, _a, v: check_id("id", v))
    name: str = attrs.field(validator=lambda _i, _a, v: check_text("name", v))
    schedule: BillingSchedule
    scope: str = attrs.field(default="", validator=lambda _i, _a, v: check_text("scope", v))
    obligations: tuple[ObligationTerms, ...] = attrs.field(default=(),
                                                          converter=_obligation_tuple)


@attrs.frozen
class AddOn:
    """An optional extra with its own milestones and recurring charges."""

    id: str = attrs.field(validator=lambda _i, _a, v: check_id("id", v))
    name: str = attrs.field(validator=lambda _i, _a, v: check_text("name", v))
    schedule: BillingSchedule
    scope: str = attrs.field(default="", validator=lambda _i, _a, v: check_text("scope", v))


def _currency(value: str | Currency) -> Currency:
    return Currency.of(value)


def _item_ids(schedule: BillingSchedule) -> list[str]:
    return [*(m.id for m in schedule.milestones), *(r.id for r in schedule.recurring),
            *(p.id for p in schedule.installments), *(d.id for d in schedule.discounts)]


@attrs.frozen
class Proposal:
    """What is offered to a client: package options, add-ons, validity and rules.

    ``proration_basis``/``proration_rounding`` are used whenever a service
    period is cut by an amendment.  With ``Collection.AUTO_CHARGE`` a
    payment method is required at signing.  ``late_fee`` is an optional
    term for invoices the client pays itself (``Collection.SEND_INVOICE``
    only; see :class:`~milestonebill.schedule.LateFee` and ``docs/terms.md``).  ``currency`` may be given as
    an ISO 4217 code, as for :class:`~milestonebill.schedule.BillingSchedule`.
    ``time_materials`` is an optional time-and-materials term (a rate card,
    a cadence and caps; see :class:`~milestonebill.schedule.TimeAndMaterials`).
    """

    id: ProposalId
    client: str
    currency: Currency = attrs.field(converter=_currency)
    options: tuple[PackageOption, ...]
    addons: tuple[AddOn, ...] = ()
    valid_until: date | None = None
    approval: ApprovalRules = ApprovalRules()
    collection: Collection = Collection.AUTO_CHARGE
    proration_basis: DayCount = DayCount.ACTUAL_OVER_PERIOD
    proration_rounding: Rounding = Rounding.HALF_UP
    late_fee: LateFee | None = None
    time_materials: TimeAndMaterials | None = None

    def __attrs_post_init__(self) -> None:
        problems = problem(check_id, "id", self.id) + problem(check_text, "client", self.client)
        if not self.options:
            problems.append(ValidationError("options", "at least one package option", ()))
        problems += self._entry_problems()
        problems += self._late_fee_problems()
        problems += self._time_materials_problems()
        raise_all(problems)

    def _time_materials_problems(self) -> list[ValidationError]:
        """A time-and-materials term prices in the proposal's currency."""
        tm = self.time_materials
        if tm is None:
            return []
        if not isinstance(tm, TimeAndMaterials):
            return [ValidationError("time_materials", "a TimeAndMaterials", tm)]
        if tm.currency_code != self.currency.code:
            return [ValidationError("time_materials.rates", f"amounts in {self.currency.code}",
                                    tm.currency_code)]
        return []

    def _late_fee_problems(self) -> list[ValidationError]:
        """A late fee is a term of sent invoices, in the proposal's currency."""
        fee = self.late_fee
        if fee is None:
            return []
        if not isinstance(fee, LateFee):
            return [ValidationError("late_fee", "a LateFee", fee)]
        problems = []
        if self.collection is not Collection.SEND_INVOICE:
            problems.append(ValidationError("late_fee", "only on a proposal whose invoices are "
                                            "sent (collection send_invoice)",
                                            self.collection.value))
        if fee.fixed is not None and fee.fixed.currency != self.currency:
            problems.append(ValidationError("late_fee.fixed", f"an amount in "
                                            f"{self.currency.code}", fee.fixed))
        return problems

    def _entry_problems(self) -> list[ValidationError]:
        """Ids unique over options and add-ons, schedules in the proposal's currency."""
        problems: list[ValidationError] = []
        seen: set[str] = set()
        groups: tuple[tuple[str, tuple[PackageOption | AddOn, ...]], ...] = (
            ("options", self.options), ("addons", self.addons))
        for kind, entries in groups:
            for i, entry in enumerate(entries):
                if entry.id in seen:
                    problems.append(ValidationError(f"{kind}[{i}].id", "a unique id", entry.id))
                seen.add(entry.id)
                if entry.schedule.currency != self.currency:
                    problems.append(ValidationError(f"{kind}[{i}].schedule.currency",
                                                    f"{self.currency.code}",
                                                    entry.schedule.currency.code))
        for i, a in enumerate(self.addons):
            for j, d in enumerate(a.schedule.discounts):
                if d.scope is DiscountScope.AGREEMENT or d.relates_to:
                    problems.append(ValidationError(
                        f"addons[{i}].schedule.discounts[{j}]", "a discount on the add-on's "
                        "own items (a discount on the whole agreement, or one that relates to "
                        "the package's obligations, belongs to a package option)", d.id))
        addon_items = [x for a in self.addons for x in _item_ids(a.schedule)]
        if len(addon_items) != len(set(addon_items)):
            problems.append(ValidationError("addons", "item ids unique across add-ons",
                                            sorted(addon_items)))
        for i, o in enumerate(self.options):
            problems += obligation_problems(o.obligations, o.schedule, f"options[{i}].obligations")
            clash = set(_item_ids(o.schedule)) & set(addon_items)
            if clash:
                problems.append(ValidationError(f"options[{i}]",
                                                "item ids distinct from the add-ons'",
                                                sorted(clash)))
        return problems

    def option(self, option_id: str) -> PackageOption:
        """The package option with this id, or :class:`~milestonebill.errors.NotFoundError`."""
        for o in self.options:
            if o.id == option_id:
                return o
        raise NotFoundError(f"proposal {self.id!r} has no package option {option_id!r} "
                            f"(options: {[o.id for o in self.options]})")

    def addon(self, addon_id: str) -> AddOn:
        """The add-on with this id, or :class:`~milestonebill.errors.NotFoundError`."""
        for a in self.addons:
            if a.id == addon_id:
                return a
        raise NotFoundError(f"proposal {self.id!r} has no add-on {addon_id!r}")

"""Resolved charges: the dated amounts a schedule produces, with their provenance.

A :class:`Charge` is a plain value: which item it bills (``item_id`` and its
:class:`ChargeKind`), when (``on``, and ``due`` under the item's payment
terms), how much, and how that amount came about -- the service period,
the escalations and the proration.  Its JSON form follows the library's one
convention.

>>> fee = Money("12000.00", "USD")
>>> kickoff = Charge(item_id="kickoff", kind=ChargeKind.MILESTONE, name="Kickoff",
...                  on=date(2025, 1, 15), amount=fee, period=None, base_amount=fee)
>>> data = kickoff.to_json()
>>> data["kind"], data["amount"], data["on"], data["period"]
('milestone', {'amount': '12000.00', 'currency': 'USD'}, '2025-01-15', None)
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Any

import attrs

from milestonebill._json import encode
from milestonebill.money import Money
from milestonebill.periods import Period, Proration

__all__ = ["Charge", "ChargeKind"]


class ChargeKind(enum.Enum):
    """Where a charge comes from."""

    MILESTONE = "milestone"
    RECURRING = "recurring"
    INSTALLMENT = "installment"
    DISCOUNT = "discount"


@attrs.frozen
class Charge:
    """One resolved, dated amount with its provenance.

    ``on`` is the billing date and ``due`` the payment due date.
    ``base_amount`` is the item's amount before escalation and proration,
    ``price`` (recurring only) the escalated price in force for the
    period, ``escalations`` the escalations applied to reach it, in order,
    and ``proration`` how a partial period was prorated.  Amounts are
    :class:`~milestonebill.money.Money`; ``period`` (recurring only) is the
    half-open service period ``[start, end)`` the charge pays for.
    """

    item_id: str
    kind: ChargeKind
    name: str
    on: date
    amount: Money
    period: Period | None
    base_amount: Money
    escalations: tuple[str, ...] = ()
    proration: Proration | None = None
    price: Money | None = None
    due: date | None = None
    provenance: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON form (money as objects, fractions as ``"n/d"``, periods as
        ``{"start", "end"}``), in the library's one JSON convention."""
        return encode(self)  # type: ignore[no-any-return]

"""What the Biller reports back: run summaries, charge outcomes, dry runs.

Values only; the Biller builds them with a :class:`Tally` while it works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, Final, TypeVar

import attrs

from milestonebill._json import decode, encode
from milestonebill.agreement import AmendmentApproved
from milestonebill.collection import PlannedCharge
from milestonebill.documents import CreditNote, Invoice
from milestonebill.errors import ValidationError
from milestonebill.gateways.base import ChargeStatus
from milestonebill.ids import AgreementId, InvoiceId
from milestonebill.ledger import Account, JournalEntry
from milestonebill.money import Money
from milestonebill.stores.base import ParkedAgreement

__all__ = [
    "BillingProblem",
    "ChargeOutcome",
    "DryRun",
    "Kept",
    "RecognitionSummary",
    "RunCounts",
    "RunSummary",
    "Tally",
]


@attrs.frozen
class ChargeOutcome:
    """What one charge attempt came to (``FAILED_RETRYABLE``: left for reconciliation)."""

    #: The agreement whose invoice was charged.
    agreement_id: AgreementId
    #: The invoice charged.
    invoice_id: InvoiceId
    #: The attempt number on that invoice, from 1; retries count up.
    attempt: int
    #: The amount asked for, in integer minor units.
    amount: Money
    #: What the gateway answered (``SUCCEEDED``, ``DECLINED``, ``PROCESSING``...).
    status: ChargeStatus
    #: The gateway's decline code (``"insufficient_funds"``) when declined.
    decline_code: str | None = None
    #: The gateway's id for the payment (Stripe: the PaymentIntent ``pi_...``;
    #: in memory: ``pi_mem_0001``), ``None`` when no payment was created.
    gateway_ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the status by lower-case name).

        >>> from milestonebill.money import Money
        >>> c = ChargeOutcome(AgreementId("agr-1"), InvoiceId("inv-1"), 1,
        ...                   Money("10.00", "USD"), ChargeStatus.DECLINED, "card_declined")
        >>> c.to_json()["status"], ChargeOutcome.from_json(c.to_json()) == c
        ('declined', True)
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> ChargeOutcome:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]


@attrs.frozen
class BillingProblem:
    """An agreement the Biller could not finish.

    It is tried again on a later run, unless ``parked`` is true: then it was
    set aside (see :class:`~milestonebill.stores.base.ParkedAgreement`) and
    waits for :meth:`~milestonebill.engine.Biller.unpark`.
    """

    agreement_id: AgreementId
    error: str
    message: str
    parked: bool = False

    @classmethod
    def of(cls, agreement_id: str, exc: BaseException) -> BillingProblem:
        """The problem an exception raised while handling ``agreement_id`` describes."""
        return cls(AgreementId(agreement_id), type(exc).__name__, str(exc))


_KINDS: Final = ("agreements", "approvals", "invoices", "credit_notes", "charges", "reconciled",
                 "problems", "parked")


@attrs.frozen
class RunCounts:
    """How many of each kind of result a run had, whether or not its summary kept them."""

    agreements: int = 0
    approvals: int = 0
    invoices: int = 0
    credit_notes: int = 0
    charges: int = 0
    reconciled: int = 0
    problems: int = 0
    parked: int = 0


@attrs.frozen
class RunSummary:
    """What :meth:`Biller.run`, :meth:`Biller.bill` or :meth:`Biller.handle` did.

    ``parked`` lists the agreements this call set aside (each also in
    ``problems``), or for :meth:`Biller.bill` the agreement left alone
    because it was parked before.

    So that a run's memory does not grow with its size, :meth:`Biller.run`
    keeps at most ``summary_limit`` (a Biller setting, default 1,000) of each
    kind of result in these tuples -- the first ones -- while ``counts``
    counts them all; :attr:`complete` says whether anything was left out.
    To see every result of a large run, pass ``results`` to
    :meth:`Biller.run`: it is called with each one as it happens.
    """

    as_of: date
    agreements: tuple[AgreementId, ...] = ()
    approvals: tuple[AmendmentApproved, ...] = ()
    invoices: tuple[Invoice, ...] = ()
    credit_notes: tuple[CreditNote, ...] = ()
    charges: tuple[ChargeOutcome, ...] = ()
    reconciled: tuple[ChargeOutcome, ...] = ()
    problems: tuple[BillingProblem, ...] = ()
    parked: tuple[ParkedAgreement, ...] = ()
    #: How many of each kind there were (``None`` in a summary built by hand:
    #: the lengths of the tuples).
    counts: RunCounts | None = None

    @property
    def complete(self) -> bool:
        """True when the tuples hold every result (``counts`` equals their lengths)."""
        c = self.counts
        return c is None or (c.agreements, c.approvals, c.invoices, c.credit_notes, c.charges,
                             c.reconciled, c.problems, c.parked) == tuple(map(len, (
                                 self.agreements, self.approvals, self.invoices,
                                 self.credit_notes, self.charges, self.reconciled,
                                 self.problems, self.parked)))

    @property
    def failures(self) -> tuple[ChargeOutcome, ...]:
        """Charges and re-driven attempts that did not succeed."""
        return tuple(c for c in (*self.reconciled, *self.charges)
                     if c.status is not ChargeStatus.SUCCEEDED)

    def combine(self, other: RunSummary, *, limit: int | None = None) -> RunSummary:
        """One summary of two runs on the same date: this one's results, then ``other``'s.

        Each tuple keeps at most ``limit`` results (``None``: all), the
        first ones; ``counts`` adds both runs' counts, so :attr:`complete`
        says whether anything was left out.  This is how
        :class:`~milestonebill.engine.tenants.TenantScheduler` reports the
        many short runs of one tenant as one.  Raises
        :class:`~milestonebill.errors.ValidationError` naming ``other`` for
        anything but a summary of the same ``as_of``, or ``limit`` for less
        than 0.

        >>> a = RunSummary(date(2026, 3, 2), agreements=(AgreementId("agr-1"),))
        >>> b = RunSummary(date(2026, 3, 2), agreements=(AgreementId("agr-2"),))
        >>> both = a.combine(b)
        >>> both.agreements, both.counts.agreements
        (('agr-1', 'agr-2'), 2)
        >>> capped = a.combine(b, limit=1)
        >>> capped.agreements, capped.counts.agreements, capped.complete
        (('agr-1',), 2, False)
        """
        if not isinstance(other, RunSummary) or other.as_of != self.as_of:
            raise ValidationError("other", f"a RunSummary as of {self.as_of.isoformat()}", other)
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValidationError("limit", "a whole number of results, 0 or more, or None",
                                  limit)
        mine, theirs = self.counts or _counted(self), other.counts or _counted(other)
        kept: dict[str, Any] = {k: (getattr(self, k) + getattr(other, k))[:limit]
                                for k in _KINDS}
        total = RunCounts(*(getattr(mine, k) + getattr(theirs, k) for k in _KINDS))
        return RunSummary(self.as_of, counts=total, **kept)

    def to_json(self) -> dict[str, Any]:
        """The JSON form: invoices, credit notes and outcomes in theirs.

        >>> s = RunSummary(date(2026, 3, 2), agreements=(AgreementId("agr-1"),))
        >>> s.to_json()["as_of"], RunSummary.from_json(s.to_json()) == s
        ('2026-03-02', True)
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> RunSummary:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]


def _counted(summary: RunSummary) -> RunCounts:
    """The counts of a summary built by hand: the lengths of its tuples."""
    return RunCounts(*(len(getattr(summary, k)) for k in _KINDS))


@attrs.frozen
class RecognitionSummary:
    """What :meth:`Biller.recognise` posted: one release entry per agreement that moved.

    ``parked`` lists the agreements left out because they are parked
    (parked by this call -- each also in ``problems`` -- or before it).
    """

    as_of: date
    agreements: tuple[AgreementId, ...] = ()
    entries: tuple[JournalEntry, ...] = ()
    problems: tuple[BillingProblem, ...] = ()
    parked: tuple[ParkedAgreement, ...] = ()

    @property
    def released(self) -> dict[str, Money]:
        """Revenue posted, per currency code (negative: reversed)."""
        out: dict[str, Money] = {}
        for e in self.entries:
            for ln in e.lines:
                if ln.account is Account.REVENUE:
                    code = ln.amount.currency.code
                    out[code] = out.get(code, Money.zero(code)) - Money.from_minor(
                        ln.signed_minor, ln.amount.currency)
        return out

    def to_json(self) -> dict[str, Any]:
        """The JSON form: journal entries in theirs.

        >>> s = RecognitionSummary(date(2026, 3, 31))
        >>> s.to_json()
        {'as_of': '2026-03-31', 'agreements': [], 'entries': [], 'problems': [], 'parked': []}
        >>> RecognitionSummary.from_json(s.to_json()) == s
        True
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> RecognitionSummary:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]


@attrs.frozen
class DryRun:
    """What :meth:`Biller.run` would do on ``as_of``; invoices are unnumbered drafts.

    ``problems`` names agreements whose plan could not be worked out (a dry
    run parks nothing: it writes nothing).
    """

    as_of: date
    agreements: tuple[AgreementId, ...]
    approvals: tuple[AmendmentApproved, ...]
    invoices: tuple[Invoice, ...]
    credit_notes: tuple[CreditNote, ...]
    charges: tuple[PlannedCharge, ...]
    problems: tuple[BillingProblem, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON form: draft invoices (``"number": null``) and planned charges.

        >>> d = DryRun(date(2026, 3, 2), (), (), (), (), ())
        >>> d.to_json()["charges"], DryRun.from_json(d.to_json()) == d
        ([], True)
        """
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> DryRun:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]


_T = TypeVar("_T")


class Kept(list[_T]):
    """A list that keeps its first ``limit`` items but counts every one added.

    ``sink``, if given, sees every item as it is added (kept or not), so a
    host can stream a run's results somewhere of its own.
    """

    def __init__(self, limit: int | None = None,
                 sink: Callable[[object], None] | None = None) -> None:
        super().__init__()
        self.limit = limit
        self.sink = sink
        self.total = 0

    def append(self, item: _T) -> None:
        """Count ``item``, pass it to the sink, keep it while there is room."""
        self.total += 1
        if self.sink is not None:
            self.sink(item)
        if self.limit is None or len(self) < self.limit:
            super().append(item)

    def extend(self, items: Iterable[_T]) -> None:
        """:meth:`append` each of ``items``."""
        for item in items:
            self.append(item)


@attrs.define
class Tally:
    """What a run did so far (mutable while the Biller works; :meth:`freeze` it).

    ``limit`` caps how many of each kind of result are kept (``None``: all);
    counts are always whole.  ``sink`` sees every result as it is added.
    """

    as_of: date
    agreements: Kept[AgreementId] = attrs.field(init=False)
    approvals: Kept[AmendmentApproved] = attrs.field(init=False)
    invoices: Kept[Invoice] = attrs.field(init=False)
    credit_notes: Kept[CreditNote] = attrs.field(init=False)
    charges: Kept[ChargeOutcome] = attrs.field(init=False)
    reconciled: Kept[ChargeOutcome] = attrs.field(init=False)
    problems: Kept[BillingProblem] = attrs.field(init=False)
    parked: Kept[ParkedAgreement] = attrs.field(init=False)
    limit: int | None = None
    sink: Callable[[object], None] | None = None

    def __attrs_post_init__(self) -> None:
        for kind in _KINDS:
            setattr(self, kind, Kept(self.limit, self.sink))

    def problem(self, agreement_id: str, exc: BaseException) -> None:
        """Note an agreement the run could not finish."""
        self.problems.append(BillingProblem.of(agreement_id, exc))

    def park(self, record: ParkedAgreement) -> None:
        """Note an agreement the run set aside."""
        self.parked.append(record)
        self.problems.append(BillingProblem(record.agreement_id, record.error, record.message,
                                            parked=True))

    def merge(self, other: Tally) -> None:
        """Add what ``other`` (one agreement's part of a batch) did."""
        for kind in _KINDS:
            getattr(self, kind).extend(getattr(other, kind))

    def freeze(self) -> RunSummary:
        """The summary so far."""
        return RunSummary(self.as_of, tuple(self.agreements), tuple(self.approvals),
                          tuple(self.invoices), tuple(self.credit_notes), tuple(self.charges),
                          tuple(self.reconciled), tuple(self.problems), tuple(self.parked),
                          RunCounts(*(getattr(self, kind).total for kind in _KINDS)))

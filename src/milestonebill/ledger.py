"""Double-entry ledger: accounts, balanced journal entries and the ``Ledger`` port.

A :class:`JournalEntry` is a dated set of :class:`JournalLine` s in one
currency whose debits equal its credits; an unbalanced or mixed-currency
entry cannot even be constructed.  A :class:`Ledger` posts entries by id and
is idempotent: posting the same entry twice posts it once, and a *different*
entry under a used id is refused with :class:`~milestonebill.errors.DuplicateIdError`.

Balances are signed **debit minus credit** in minor units, so asset and
expense accounts (receivable, cash) are normally positive and liability,
revenue and contra accounts (deferred revenue, revenue) normally negative;
:attr:`Account.normal_side` says which side is normal for display.

>>> from datetime import date
>>> from milestonebill.money import Money
>>> invoice = JournalEntry(
...     id=EntryId("inv-1001"), posted_on=date(2024, 2, 29),
...     lines=(JournalLine.dr(Account.RECEIVABLE, Money("1200.00", "USD")),
...            JournalLine.cr(Account.REVENUE, Money("1000.00", "USD")),
...            JournalLine.cr(Account.TAX_PAYABLE, Money("200.00", "USD"))),
...     memo="Invoice 1001", agreement_id="agr-7")
>>> ledger = InMemoryLedger()
>>> ledger.post(invoice), ledger.post(invoice)
(True, False)
>>> ledger.balance(Account.RECEIVABLE, currency="USD")
Money('1200.00', 'USD')
>>> ledger.balance(Account.REVENUE, currency="USD", as_of=date(2024, 2, 28))
Money('0.00', 'USD')
>>> ledger.balances(currency="USD")[Account.TAX_PAYABLE]
Money('-200.00', 'USD')

Unbalanced entries are refused before anything is posted:

>>> JournalEntry(id=EntryId("bad"), posted_on=date(2024, 3, 1),
...     lines=(JournalLine.dr(Account.CASH, Money("10.00", "USD")),
...            JournalLine.cr(Account.RECEIVABLE, Money("9.99", "USD"))))
Traceback (most recent call last):
...
milestonebill.errors.UnbalancedEntryError: journal entry 'bad' does not balance: debits 10.00 USD, credits 9.99 USD
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Protocol, runtime_checkable

import attrs

from milestonebill._json import canonical_json, decode, encode
from milestonebill._validate import check_date, check_id
from milestonebill.errors import (
    CurrencyMismatchError,
    DuplicateIdError,
    UnbalancedEntryError,
    ValidationError,
)
from milestonebill.ids import EntryId
from milestonebill.limits import MAX_KEY_LENGTH
from milestonebill.money import Currency, Money

__all__ = [
    "Account",
    "DateRange",
    "EntryId",
    "InMemoryLedger",
    "JournalEntry",
    "JournalLine",
    "Ledger",
    "Side",
    "SingleBalance",
    "account_of",
    "balances_by_period",
    "period_bounds",
    "sum_balances",
]

#: Identity of a journal entry; derive it from domain identity
#: (``f"{invoice_id}:issue"``), never from a random UUID, so retries post once.


class Side(enum.Enum):
    """The side of a journal line."""

    DEBIT = "debit"
    CREDIT = "credit"


class Account(enum.StrEnum):
    """The standard accounts the Biller and recognition post to.

    Values are the stable names stored by every store; never rename one.

    >>> Account.RECEIVABLE.value, Account.REVENUE.normal_side
    ('receivable', <Side.CREDIT: 'credit'>)
    """

    RECEIVABLE = "receivable"
    CONTRACT_ASSET = "contract_asset"
    CASH = "cash"
    CLEARING = "clearing"
    GATEWAY_FEES = "gateway_fees"
    #: The platform's cut of payments taken on the firm's connected account
    #: (Stripe Connect's application fee): an expense, like gateway fees.
    PLATFORM_FEES = "platform_fees"
    REFUNDS = "refunds"
    #: Receivables written off as uncollectible (a credit loss, ASC 326), less
    #: what was recovered later.
    BAD_DEBT = "bad_debt"
    #: The same account by its income-statement name.
    BAD_DEBT_EXPENSE = "bad_debt"
    DEFERRED_REVENUE = "deferred_revenue"
    #: The same account by its ASC 606 / IFRS 15 name: consideration billed
    #: (or received) before the revenue it pays for is earned.
    CONTRACT_LIABILITY = "deferred_revenue"
    REVENUE = "revenue"
    TAX_PAYABLE = "tax_payable"
    CUSTOMER_CREDIT = "customer_credit"
    #: Income that is not revenue from the contract's promises: forfeited
    #: customer credit and late fees.
    OTHER_INCOME = "other_income"

    @property
    def normal_side(self) -> Side:
        """The side on which this account normally carries its balance."""
        return _NORMAL_SIDE[self]


_NORMAL_SIDE = {
    Account.RECEIVABLE: Side.DEBIT,
    Account.CONTRACT_ASSET: Side.DEBIT,
    Account.CASH: Side.DEBIT,
    Account.CLEARING: Side.DEBIT,
    Account.GATEWAY_FEES: Side.DEBIT,
    Account.PLATFORM_FEES: Side.DEBIT,
    Account.REFUNDS: Side.DEBIT,
    Account.BAD_DEBT: Side.DEBIT,
    Account.DEFERRED_REVENUE: Side.CREDIT,
    Account.REVENUE: Side.CREDIT,
    Account.TAX_PAYABLE: Side.CREDIT,
    Account.CUSTOMER_CREDIT: Side.CREDIT,
    Account.OTHER_INCOME: Side.CREDIT,
}


def account_of(value: object) -> Account:
    """The :class:`Account` named by ``value`` (an ``Account`` or its stored name).

    Raises :class:`~milestonebill.errors.ValidationError` naming ``account`` for any other value.

    >>> account_of("revenue") is Account.REVENUE
    True
    """
    if isinstance(value, Account):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return Account(value)
    except ValueError:
        raise ValidationError(
            "account", f"one of {sorted(a.value for a in Account)}", value
        ) from None


@attrs.frozen
class JournalLine:
    """One line of an entry: a positive amount on one side of one account.

    Give exactly one of ``debit`` and ``credit``; it must be greater than
    zero (a reversal is a line on the other side, not a negative one).

    >>> JournalLine.cr(Account.REVENUE, Money("0.500", "KWD")).signed_minor
    -500
    >>> JournalLine(Account.CASH, debit=Money("5", "JPY"), credit=Money("5", "JPY"))
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'line' must be exactly one of debit or credit (got (Money('5', 'JPY'), Money('5', 'JPY')))
    """

    account: Account = attrs.field(converter=account_of)
    debit: Money | None = None
    credit: Money | None = None

    def __attrs_post_init__(self) -> None:
        if (self.debit is None) == (self.credit is None):
            raise ValidationError(
                "line", "exactly one of debit or credit", (self.debit, self.credit)
            )
        amount = self.amount
        if not isinstance(amount, Money):
            raise TypeError(f"'amount' must be Money (got {type(amount).__name__}: {amount!r})")
        if amount.minor <= 0:
            raise ValidationError(f"{self.side.value}", "greater than zero", amount)

    @classmethod
    def dr(cls, account: Account, amount: Money) -> JournalLine:
        """A debit line."""
        return cls(account, debit=amount)

    @classmethod
    def cr(cls, account: Account, amount: Money) -> JournalLine:
        """A credit line."""
        return cls(account, credit=amount)

    @property
    def side(self) -> Side:
        """Which side the amount is on."""
        return Side.DEBIT if self.debit is not None else Side.CREDIT

    @property
    def amount(self) -> Money:
        """The (positive) amount, whichever side it is on."""
        found = self.debit if self.debit is not None else self.credit
        assert found is not None
        return found

    @property
    def signed_minor(self) -> int:
        """Minor units, positive for a debit and negative for a credit."""
        return self.amount.minor if self.debit is not None else -self.amount.minor


def _lines(value: Iterable[JournalLine]) -> tuple[JournalLine, ...]:
    return tuple(value)


def _posted_on(value: object) -> date:
    return check_date("posted_on", value)


@attrs.frozen
class JournalEntry:
    """A dated, balanced set of lines in one currency, identified by ``id``.

    ``agreement_id`` names the contract the entry belongs to and
    ``obligation_id`` the performance obligation (revenue entries).
    ``posted_on`` is the one date the entry counts on.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``lines`` for fewer than two lines
    (or ``lines[i]`` for one that is not a :class:`JournalLine`), or an id
    that is not a valid key;
    :class:`~milestonebill.errors.CurrencyMismatchError` when the lines are in
    more than one currency; and
    :class:`~milestonebill.errors.UnbalancedEntryError` when debits and
    credits differ.

    >>> e = JournalEntry(id=EntryId("pay-1"), posted_on=date(2024, 1, 31),
    ...     lines=[JournalLine.dr(Account.CLEARING, Money("97.10", "EUR")),
    ...            JournalLine.dr(Account.GATEWAY_FEES, Money("2.90", "EUR")),
    ...            JournalLine.cr(Account.RECEIVABLE, Money("100.00", "EUR"))])
    >>> e.currency, e.total
    (Currency('EUR', exponent=2), Money('100.00', 'EUR'))
    >>> JournalEntry.from_json(e.to_json()) == e
    True
    """

    id: EntryId
    posted_on: date = attrs.field(converter=_posted_on)
    lines: tuple[JournalLine, ...] = attrs.field(converter=_lines)
    memo: str = ""
    agreement_id: str | None = None
    obligation_id: str | None = None

    def __attrs_post_init__(self) -> None:
        check_id("id", self.id, max_length=MAX_KEY_LENGTH)
        for name in ("agreement_id", "obligation_id"):
            if getattr(self, name) is not None:
                check_id(name, getattr(self, name))
        if len(self.lines) < 2:
            raise ValidationError("lines", "at least two lines", len(self.lines))
        for i, line in enumerate(self.lines):
            if not isinstance(line, JournalLine):
                raise ValidationError(f"lines[{i}]", "a JournalLine", line)
        cur = self.lines[0].amount.currency
        for line in self.lines[1:]:
            if line.amount.currency != cur:
                raise CurrencyMismatchError(cur.code, line.amount.currency.code, "post")
        debits = sum(line.amount.minor for line in self.lines if line.side is Side.DEBIT)
        credits = sum(line.amount.minor for line in self.lines if line.side is Side.CREDIT)
        if debits != credits:
            raise UnbalancedEntryError(
                self.id,
                str(Money.from_minor(debits, cur)),
                str(Money.from_minor(credits, cur)),
            )

    @property
    def currency(self) -> Currency:
        """The one currency of every line."""
        return self.lines[0].amount.currency

    @property
    def total(self) -> Money:
        """The sum of the debits (equal to the sum of the credits), as :class:`Money`."""
        return Money.from_minor(
            sum(line.amount.minor for line in self.lines if line.side is Side.DEBIT),
            self.currency,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the library's one JSON convention), used by the stores."""
        return encode(self)  # type: ignore[no-any-return]

    def canonical(self) -> str:
        """Canonical JSON text; two entries are the same posting iff these are equal."""
        return canonical_json(self.to_json(), "entry")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JournalEntry:
        """Parse the form made by :meth:`to_json`."""
        return decode(data, cls, "entry")  # type: ignore[no-any-return]


@runtime_checkable
class DateRange(Protocol):
    """Anything with a half-open ``[start, end)`` of dates, e.g. ``periods.Period``."""

    @property
    def start(self) -> date:
        """The first day in the range (included)."""

    @property
    def end(self) -> date:
        """The first day after the range (excluded)."""


def period_bounds(
    as_of: date | None, period: DateRange | None
) -> tuple[date | None, date | None]:
    """Turn the ``as_of``/``period`` filters into a half-open ``[lo, hi)`` range.

    ``as_of`` includes the day itself; ``period`` is half-open.  Raises
    :class:`~milestonebill.errors.ValidationError` naming ``as_of`` when both are given, or
    ``period`` when its start is not before its end.

    >>> period_bounds(date(2024, 2, 29), None)
    (None, datetime.date(2024, 3, 1))
    """
    if as_of is not None and period is not None:
        raise ValidationError("as_of", "not given together with period", as_of)
    if period is not None:
        start, end = period.start, period.end
        if not (isinstance(start, date) and isinstance(end, date)) or not start < end:
            raise ValidationError("period", "a date range with start < end", period)
        return start, end
    if as_of is not None:
        return None, date.fromordinal(_posted_on(as_of).toordinal() + 1)
    return None, None


def sum_balances(
    rows: Iterable[tuple[str, int]], currency: str | Currency
) -> dict[Account, Money]:
    """Sum ``(account, signed_minor)`` rows into a balance per account.

    The rows are integer minor units (debit positive); the balances are
    :class:`Money` in ``currency``, debit minus credit.
    """
    cur = Currency.of(currency)
    acc: dict[Account, int] = {}
    for account, minor in rows:
        key = account_of(account)
        acc[key] = acc.get(key, 0) + minor
    return {a: Money.from_minor(m, cur) for a, m in sorted(acc.items())}


@runtime_checkable
class Ledger(Protocol):
    """Port: a double-entry ledger.

    ``post`` is idempotent by entry id: it returns ``True`` when the entry was
    posted now, ``False`` when the identical entry was already posted, and
    raises :class:`~milestonebill.errors.DuplicateIdError` for a different
    entry under a used id.  Balances are debit minus credit in ``currency``,
    over entries posted on or before ``as_of`` or within the half-open
    ``period``; both omitted means all time.
    """

    def post(self, entry: JournalEntry) -> bool:
        """Post a balanced entry once: ``True`` if posted now, ``False`` if the
        identical entry was already there.

        Raises :class:`~milestonebill.errors.DuplicateIdError` when the id is
        used by a different entry; nothing is written then.
        """

    def get_entry(self, entry_id: str) -> JournalEntry | None:
        """The entry posted under ``entry_id``, or ``None``."""

    def entries(self, *, agreement_id: str | None = None) -> list[JournalEntry]:
        """Every entry in posting order, or only one agreement's."""

    def balance(
        self,
        account: Account,
        *,
        currency: str | Currency,
        as_of: date | None = None,
        period: DateRange | None = None,
    ) -> Money:
        """One account's balance, debit minus credit, as :class:`Money` in
        ``currency``, on or before ``as_of`` (inclusive) or within the
        half-open ``period``; giving both raises
        :class:`~milestonebill.errors.ValidationError`."""

    def balances(
        self,
        *,
        currency: str | Currency,
        as_of: date | None = None,
        period: DateRange | None = None,
    ) -> dict[Account, Money]:
        """Every account's balance in ``currency`` (debit minus credit), with
        the same ``as_of`` / half-open ``period`` selection as :meth:`balance`."""


class SingleBalance:
    """Mixin: :meth:`Ledger.balance` from :meth:`Ledger.balances`, for every ledger."""

    def balances(
        self,
        *,
        currency: str | Currency,
        as_of: date | None = None,
        period: DateRange | None = None,
    ) -> dict[Account, Money]:
        """Debit minus credit for every account with lines in range (``as_of``
        inclusive, ``period`` half-open), as :class:`Money` in ``currency``."""
        raise NotImplementedError  # pragma: no cover - every ledger defines it

    def balance(
        self,
        account: Account,
        *,
        currency: str | Currency,
        as_of: date | None = None,
        period: DateRange | None = None,
    ) -> Money:
        """Debit minus credit on ``account`` as :class:`Money` (``as_of``
        inclusive, ``period`` half-open); see :class:`Ledger`."""
        key = account_of(account)
        return self.balances(currency=currency, as_of=as_of, period=period).get(
            key, Money.zero(currency)
        )


class InMemoryLedger(SingleBalance):
    """A :class:`Ledger` in a dict, for tests and notebooks (thread-safe).

    :meth:`copy` is a snapshot (entries are immutable).  A store that keeps
    it rolls a unit of work back with :meth:`mark` and :meth:`rollback_to`,
    in time proportional to what the unit posted.  Entries are indexed by
    agreement, so one agreement's entries cost what it has, not the ledger.

    >>> led = InMemoryLedger()
    >>> m, usd = led.mark(), Money("5.00", "USD")
    >>> led.post(JournalEntry(EntryId("je-1"), date(2024, 2, 29),
    ...     (JournalLine.dr(Account.CASH, usd), JournalLine.cr(Account.REVENUE, usd))))
    True
    >>> led.rollback_to(m)
    >>> led.entries()
    []
    """

    def __init__(self, entries: Mapping[str, JournalEntry] | None = None) -> None:
        self._entries: dict[str, JournalEntry] = {}
        self._by_agreement: dict[str | None, list[JournalEntry]] = {}
        self._lock = threading.Lock()
        for entry in (entries or {}).values():
            self._add(entry)

    def _add(self, entry: JournalEntry) -> None:
        self._entries[entry.id] = entry
        self._by_agreement.setdefault(entry.agreement_id, []).append(entry)

    def mark(self) -> int:
        """How many entries are posted: a point :meth:`rollback_to` can return to."""
        with self._lock:
            return len(self._entries)

    def rollback_to(self, mark: int) -> None:
        """Remove every entry posted since :meth:`mark` returned ``mark`` (newest
        first), for a store rolling a unit of work back.  Raises
        :class:`~milestonebill.errors.ValidationError` naming ``mark`` when it is
        not a count of entries this ledger held."""
        with self._lock:
            if not isinstance(mark, int) or isinstance(mark, bool) \
                    or not 0 <= mark <= len(self._entries):
                raise ValidationError("mark", f"a count from 0 to {len(self._entries)}", mark)
            while len(self._entries) > mark:
                _, entry = self._entries.popitem()  # the newest first
                self._by_agreement[entry.agreement_id].pop()

    def copy(self) -> InMemoryLedger:
        """An independent ledger holding the same entries."""
        with self._lock:
            return InMemoryLedger(self._entries)

    def post(self, entry: JournalEntry) -> bool:
        """Post ``entry`` once; see :class:`Ledger`.

        Raises :class:`~milestonebill.errors.ValidationError` naming ``entry`` for anything but a
        :class:`JournalEntry`, and :class:`~milestonebill.errors.DuplicateIdError`
        for a different entry under a used id; nothing is written then.
        """
        if not isinstance(entry, JournalEntry):
            raise ValidationError("entry", "a JournalEntry", entry)
        with self._lock:
            old = self._entries.get(entry.id)
            if old is not None:
                if old.canonical() != entry.canonical():
                    raise DuplicateIdError("journal entry", entry.id)
                return False
            self._add(entry)
            return True

    def get_entry(self, entry_id: str) -> JournalEntry | None:
        """The entry posted under ``entry_id``, if any."""
        return self._entries.get(entry_id)

    def entries(self, *, agreement_id: str | None = None) -> list[JournalEntry]:
        """Posted entries by (posted_on, id), optionally for one agreement."""
        with self._lock:
            found = list(self._entries.values() if agreement_id is None
                         else self._by_agreement.get(agreement_id, ()))
        return sorted(found, key=lambda e: (e.posted_on, e.id))

    def balances(
        self,
        *,
        currency: str | Currency,
        as_of: date | None = None,
        period: DateRange | None = None,
    ) -> dict[Account, Money]:
        """Debit minus credit for every account with lines in range (``as_of``
        inclusive, ``period`` half-open), as :class:`Money` in ``currency``."""
        cur = Currency.of(currency)
        lo, hi = period_bounds(as_of, period)
        with self._lock:
            found = list(self._entries.values())
        rows = ((line.account.value, line.signed_minor) for e in found
                if e.currency == cur and (lo is None or e.posted_on >= lo)
                and (hi is None or e.posted_on < hi) for line in e.lines)
        return sum_balances(rows, cur)


def balances_by_period(
    ledger: Ledger, periods: Iterable[DateRange], *, currency: str | Currency
) -> dict[DateRange, dict[Account, Money]]:
    """Balances by account for each half-open period (e.g. each month of a year).

    >>> from milestonebill.money import Money
    >>> led = InMemoryLedger()
    >>> for n, day in enumerate((date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 29))):
    ...     m = Money("100", "JPY")
    ...     _ = led.post(JournalEntry(EntryId(f"je-{n}"), day,
    ...         (JournalLine.dr(Account.CASH, m), JournalLine.cr(Account.REVENUE, m))))
    >>> class Span:
    ...     def __init__(self, start, end): self.start, self.end = start, end
    >>> jan, feb = Span(date(2024, 1, 1), date(2024, 2, 1)), Span(date(2024, 2, 1), date(2024, 3, 1))
    >>> by = balances_by_period(led, [jan, feb], currency="JPY")
    >>> by[jan][Account.REVENUE], by[feb][Account.REVENUE]
    (Money('-100', 'JPY'), Money('-200', 'JPY'))
    """
    return {p: ledger.balances(currency=currency, period=p) for p in periods}

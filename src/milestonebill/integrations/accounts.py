"""The firm's chart of accounts: where each of the library's accounts goes in QuickBooks or Xero.

The library posts to a fixed set of accounts (:class:`~milestonebill.ledger.Account`);
a firm's books have their own.  An :class:`AccountMap` says, for one
accounting system, which of the firm's accounts each library account is,
which revenue account each performance obligation earns into (if not the
general one), which customer or contact each client is, which tax code each
tax rate is, and -- for QuickBooks -- the service item invoice lines use.
It is read from a JSON file (``AccountMap.from_json``, :func:`read_account_map`;
its JSON Schema is :func:`account_map_schema`) and checked against a
period's entries before anything is exported (:meth:`AccountMap.check`):
every account the entries post must be mapped, and every problem is
reported at once, naming the field.

>>> amap = AccountMap.from_json('''{
...   "accounts": {"receivable": {"id": "1100"}, "contract_liability": {"id": "2300"},
...                "revenue": {"id": "4000", "name": "Fees"}},
...   "revenue": {"audit": {"id": "4010"}},
...   "customers": {"Northwind": {"id": "58"}}}''')
>>> amap.ref(Account.CONTRACT_LIABILITY).id, amap.ref(Account.REVENUE, "audit").id
('2300', '4010')
>>> amap.ref(Account.REVENUE, "tax-work")
Ref(id='4000', name='Fees')
>>> amap.ref(Account.CASH)
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'accounts.cash' must be mapped to one of the firm's accounts (got None)
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from milestonebill._json import CODEC, decode, encode
from milestonebill._validate import check_id, check_text, raise_all
from milestonebill.documents import TaxLine
from milestonebill.errors import ValidationError
from milestonebill.ledger import Account, JournalEntry
from milestonebill.money import Currency

__all__ = [
    "AccountMap",
    "Ref",
    "account_map_schema",
    "read_account_map",
]

#: The name the JSON may use for the contract liability (the same account).
_ALIASES = {"contract_liability": Account.DEFERRED_REVENUE.value}


def _name(_inst: object, _attr: object, value: str) -> None:
    if value:
        check_id("name", value)


@attrs.frozen
class Ref:
    """One of the accounting system's things, as its API and its screens know it.

    ``id`` is how the API refers to it: a QuickBooks ``Id``, a Xero account
    ``Code``, ``ContactID`` or ``TaxType``.  ``name`` is how the system shows
    it (optional): QuickBooks' journal CSV names accounts and customers,
    Xero's manual journal CSV names tax rates.

    >>> Ref("84", "Accounts Receivable (A/R)").name
    'Accounts Receivable (A/R)'
    """

    id: str = attrs.field(validator=lambda _i, _a, v: check_id("id", v))
    name: str = attrs.field(default="", validator=_name)


def _frozen(value: Mapping[Any, Ref]) -> Mapping[Any, Ref]:
    return types.MappingProxyType(dict(value))


def _chart(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError("chart", "a list of account ids, not one string", value)
    return tuple(value)


@attrs.frozen
class AccountMap:
    """The firm's accounts, customers and tax codes in one accounting system.

    * ``accounts`` -- each library account the books post (``receivable``,
      ``contract_asset``, ``contract_liability`` (or ``deferred_revenue``),
      ``revenue``, ``tax_payable``, ``clearing``, ``cash``, ``gateway_fees``,
      ``platform_fees`` (Stripe Connect), ``customer_credit``, ...) to the firm's account;
    * ``revenue`` -- an obligation's own revenue account, by obligation id
      (the rest earn into ``accounts.revenue``);
    * ``customers`` -- each client (the proposal's client name) to its
      QuickBooks customer or Xero contact;
    * ``tax_rates`` -- each tax rate (its name on our documents) to the
      system's tax code; ``no_tax`` is the code of untaxed lines;
    * ``item`` -- QuickBooks only: the service item invoice and credit memo
      lines use; its income account must be the contract liability account;
    * ``currency`` -- the books' home currency: Xero manual journals carry no
      currency, so a journal in another currency is refused when it is set;
    * ``chart`` -- the firm's account ids, if given: a mapped account that is
      not in it is refused.
    """

    accounts: Mapping[Account, Ref] = attrs.field(converter=_frozen)
    revenue: Mapping[str, Ref] = attrs.field(factory=dict, converter=_frozen)
    customers: Mapping[str, Ref] = attrs.field(factory=dict, converter=_frozen)
    tax_rates: Mapping[str, Ref] = attrs.field(factory=dict, converter=_frozen)
    no_tax: Ref | None = None
    item: Ref | None = None
    currency: Currency | None = None
    chart: tuple[str, ...] = attrs.field(default=(), converter=_chart)

    def __attrs_post_init__(self) -> None:
        problems: list[ValidationError] = []
        for name, table in (("accounts", self.accounts), ("revenue", self.revenue),
                            ("customers", self.customers), ("tax_rates", self.tax_rates)):
            for key, ref in table.items():
                where = f"{name}.{key.value if isinstance(key, Account) else key}"
                if not isinstance(ref, Ref):
                    problems.append(ValidationError(where, "a Ref", ref))
                elif name in ("revenue", "customers", "tax_rates"):
                    try:
                        check_text(where, key, max_length=255)
                    except ValidationError as exc:
                        problems.append(exc)
        known = set(self.chart)
        if known:
            for name, table in (("accounts", self.accounts), ("revenue", self.revenue)):
                for key, ref in table.items():
                    if isinstance(ref, Ref) and ref.id not in known:
                        where = f"{name}.{key.value if isinstance(key, Account) else key}.id"
                        problems.append(ValidationError(
                            where, f"one of the {len(known)} accounts in 'chart'", ref.id))
        raise_all(problems)

    def ref(self, account: Account, obligation_id: str | None = None) -> Ref:
        """The firm's account for a line on ``account`` (of ``obligation_id``'s revenue).

        Raises :class:`~milestonebill.errors.ValidationError` naming
        ``accounts.<account>`` when the map has no account for it.
        """
        if account is Account.REVENUE and obligation_id is not None:
            own = self.revenue.get(obligation_id)
            if own is not None:
                return own
        found = self.accounts.get(account)
        if found is None:
            raise ValidationError(f"accounts.{account.value}",
                                  "mapped to one of the firm's accounts", None)
        return found

    def customer(self, client: str) -> Ref | None:
        """The customer or contact of ``client``, if mapped."""
        return self.customers.get(client)

    def tax(self, tax_lines: tuple[TaxLine, ...], field: str) -> Ref | None:
        """The tax code of a document's tax lines: ``no_tax`` for none, else the one
        rate's code; ``field`` names the document in errors.

        Raises :class:`~milestonebill.errors.ValidationError` naming
        ``<field>.tax_lines`` for a document with more than one tax rate, or
        ``tax_rates.<name>`` for a rate the map has no code for.
        """
        if not tax_lines:
            return self.no_tax
        if len(tax_lines) > 1:
            raise ValidationError(f"{field}.tax_lines", "one tax rate per document (an "
                                  "export gives every line the document's one tax code)",
                                  [t.name for t in tax_lines])
        code = self.tax_rates.get(tax_lines[0].name)
        if code is None:
            raise ValidationError(f"tax_rates.{tax_lines[0].name}",
                                  "mapped to the accounting system's tax code", None)
        return code

    def check(self, entries: Iterable[JournalEntry]) -> None:
        """Refuse, naming every field at once, the accounts ``entries`` post that are
        not mapped (each with the first entry that posts it)."""
        raise_all(self.problems(entries))

    def problems(self, entries: Iterable[JournalEntry]) -> list[ValidationError]:
        """What :meth:`check` raises, as a list (export functions add their own)."""
        first: dict[str, str] = {}
        for e in entries:
            for line in e.lines:
                try:
                    self.ref(line.account, e.obligation_id)
                except ValidationError as exc:
                    first.setdefault(exc.field, e.id)
        return [ValidationError(field, "mapped to one of the firm's accounts: the period's "
                                f"entries post to it (first {entry!r})", None)
                for field, entry in sorted(first.items())]

    def to_json(self) -> dict[str, Any]:
        """The JSON form :meth:`from_json` reads."""
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> AccountMap:
        """Read the JSON form (parsed, or JSON text); see :func:`account_map_schema`.

        ``contract_liability`` may name the ``deferred_revenue`` account.

        Raises :class:`~milestonebill.errors.ValidationError` naming the field
        for text that is not JSON, an account given twice (under its name and
        its alias), or anything the schema refuses.
        """
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise ValidationError("account map", "JSON text", str(exc)) from None
        if isinstance(data, dict) and isinstance(data.get("accounts"), dict):
            accounts = dict(data["accounts"])
            for alias, name in _ALIASES.items():
                if alias in accounts:
                    if name in accounts:
                        raise ValidationError(f"accounts.{alias}", f"given once (it is "
                                              f"{name!r} too)", accounts[alias])
                    accounts[name] = accounts.pop(alias)
            data = {**data, "accounts": accounts}
        return decode(data, cls)  # type: ignore[no-any-return]


def read_account_map(path: str | os.PathLike[str]) -> AccountMap:
    """Read an account map file (UTF-8 JSON); errors name the file and the field.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``accounts`` for a
    file that cannot be read as UTF-8 JSON, and what :meth:`AccountMap.from_json`
    raises for its content.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("accounts", "a readable UTF-8 JSON file", os.fspath(path),
                              f"cannot read the account map {os.fspath(path)!r}: "
                              f"{getattr(exc, 'strerror', None) or exc}") from None
    return AccountMap.from_json(text)


def account_map_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an account map file.

    >>> s = account_map_schema()
    >>> s["$defs"]["AccountMap"]["required"], s["$defs"]["Ref"]["required"]
    (['accounts'], ['id'])
    """
    return CODEC.schema(AccountMap, title="milestonebill account map",
                        description="The firm's accounts, customers and tax codes in one "
                        "accounting system, for the QuickBooks and Xero exports.")

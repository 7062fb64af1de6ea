"""Every accounting export ties to the ledger to the cent.

Each export is read back the way its system books it -- a QuickBooks
invoice's lines on the service item's account (the contract liability), its
tax on the tax account, its total on receivable; a Xero payment from the
account named to receivable; a journal line by line -- and summed by
currency and the firm's account id.  The sums must be the ledger's balances
for the period, account by account, with each obligation's revenue on its
own account.  The readers below know the systems' documents, not the
exporters' code.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill.errors import ValidationError
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerRef,
    CustomerRequest,
    GatewayEvent,
    PaymentMethodId,
    RefundRequest,
    RefundResult,
    SetupRequest,
    SetupResult,
)
from milestonebill.gateways.connect import ApplicationFee
from milestonebill.gateways.memory import InMemoryGateway, percent_plus_fixed
from milestonebill.integrations.accounting import Books, Export
from milestonebill.integrations.accounts import AccountMap, Ref
from milestonebill.integrations.csv import (
    XERO_LINE_LIMIT,
    quickbooks_journal_csv,
    xero_journal_csv,
    xero_journal_csv_parts,
)
from milestonebill.integrations.quickbooks import quickbooks_export
from milestonebill.integrations.xero import xero_export
from milestonebill.ledger import Account, Ledger
from milestonebill.money import Currency, Money
from milestonebill.periods import Period, add_months
from milestonebill.reports.catalog import Books as ReadBooks
from milestonebill.testing.accounting import FIRST, SECOND, accounting_world, example_account_map
from milestonebill.testing.firm import Firm, generated_firm
from milestonebill.testing.scenarios import World, proposal

Totals = dict[tuple[str, str], int]


def _add(totals: Totals, currency: str, account: str, minor: int) -> None:
    totals[(currency, account)] = totals.get((currency, account), 0) + minor


def _minor(value: Any, currency: str) -> int:
    return Money(Decimal(str(value)), currency).minor


def _parsed(export: Export) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for d in export.documents:
        yield d.kind, d.currency.code, json.loads(d.text(), parse_float=Decimal)


def quickbooks_totals(export: Export, amap: AccountMap) -> Totals:
    """QuickBooks books an invoice's lines on its item's income account (the map's
    contract liability), its tax on the tax account, its total on receivable."""
    ar, lines_to = amap.ref(Account.RECEIVABLE).id, amap.ref(Account.CONTRACT_LIABILITY).id
    tax_to = amap.ref(Account.TAX_PAYABLE).id
    out: Totals = {}
    for kind, _, body in _parsed(export):
        if kind in ("Invoice", "CreditMemo"):
            cur, sign = body["CurrencyRef"]["value"], 1 if kind == "Invoice" else -1
            net = sum(_minor(ln["Amount"], cur) for ln in body["Line"])
            tax = _minor(body.get("TxnTaxDetail", {}).get("TotalTax", 0), cur)
            _add(out, cur, ar, sign * (net + tax))
            _add(out, cur, lines_to, -sign * net)
            _add(out, cur, tax_to, -sign * tax)
        elif kind == "Payment":
            cur, paid = body["CurrencyRef"]["value"], _minor(body["TotalAmt"],
                                                             body["CurrencyRef"]["value"])
            _add(out, cur, body["DepositToAccountRef"]["value"], paid)
            _add(out, cur, ar, -paid)
        else:
            assert kind == "JournalEntry"
            cur = body["CurrencyRef"]["value"]
            for ln in body["Line"]:
                detail = ln["JournalEntryLineDetail"]
                sign = 1 if detail["PostingType"] == "Debit" else -1
                _add(out, cur, detail["AccountRef"]["value"], sign * _minor(ln["Amount"], cur))
    return out


def xero_totals(export: Export, amap: AccountMap) -> Totals:
    """Xero books an ACCREC invoice's lines on their AccountCode, their TaxAmount on
    the tax account, the total on receivable; a payment between the Account and
    receivable; a manual journal line by line (in the base currency)."""
    ar, tax_to = amap.ref(Account.RECEIVABLE).id, amap.ref(Account.TAX_PAYABLE).id
    out: Totals = {}
    for kind, base, body in _parsed(export):
        if kind in ("Invoice", "CreditNote"):
            cur = body["CurrencyCode"]
            sign = 1 if body["Type"] == "ACCREC" else -1
            assert body["Type"] == ("ACCREC" if kind == "Invoice" else "ACCRECCREDIT")
            for item in body["LineItems"]:
                net, tax = _minor(item["LineAmount"], cur), _minor(item.get("TaxAmount", 0), cur)
                _add(out, cur, item["AccountCode"], -sign * net)
                _add(out, cur, tax_to, -sign * tax)
                _add(out, cur, ar, sign * (net + tax))
        elif kind == "Payment":
            amount = _minor(body["Amount"], base)
            sign = 1 if "Invoice" in body else -1
            _add(out, base, body["Account"]["Code"], sign * amount)
            _add(out, base, ar, -sign * amount)
        else:
            assert kind == "ManualJournal"
            for ln in body["JournalLines"]:
                _add(out, base, ln["AccountCode"], _minor(ln["LineAmount"], base))
    return out


def xero_csv_totals(text: str, amap: AccountMap) -> Totals:
    assert amap.currency is not None
    out: Totals = {}
    for row in csv.DictReader(io.StringIO(text)):
        _add(out, amap.currency.code, row["AccountCode"], _minor(row["Amount"],
                                                                 amap.currency.code))
    return out


def quickbooks_csv_totals(text: str, amap: AccountMap) -> Totals:
    assert amap.currency is not None
    by_name = {ref.name: ref.id for ref in [*amap.accounts.values(), *amap.revenue.values()]}
    cur = amap.currency.code
    out: Totals = {}
    for row in csv.DictReader(io.StringIO(text)):
        debit, credit = row["Debits"], row["Credits"]
        assert bool(debit) != bool(credit)
        _add(out, cur, by_name[row["Account Name"]],
             _minor(debit, cur) if debit else -_minor(credit, cur))
    return out


def ledger_totals(ledger: Ledger, books: Books, period: Period, amap: AccountMap) -> Totals:
    """The ledger's balances for the period by the firm's account; revenue split by
    obligation from the entries, and that split checked against the balance."""
    out: Totals = {}
    entries = [e for e in books.entries() if period.start <= e.posted_on < period.end]
    for cur in sorted({e.currency.code for e in entries}):
        balances = ledger.balances(currency=cur, period=period)
        for account, money in balances.items():
            if account is not Account.REVENUE:
                _add(out, cur, amap.ref(account).id, money.minor)
        split = 0
        for e in entries:
            for ln in e.lines:
                if ln.account is Account.REVENUE and e.currency.code == cur:
                    _add(out, cur, amap.ref(Account.REVENUE, e.obligation_id).id,
                         ln.signed_minor)
                    split += ln.signed_minor
        assert split == balances.get(Account.REVENUE, Money.zero(cur)).minor
    return out


def nonzero(totals: Totals) -> Totals:
    return {k: v for k, v in sorted(totals.items()) if v}


# ---------------------------------------------------------------- the generated firm


def firm_map(*, clients: Iterable[str]) -> AccountMap:
    accounts = {a: Ref(str(1000 + 10 * n), f"{a.value.replace('_', ' ').title()}")
                for n, a in enumerate(Account)}
    return AccountMap(
        accounts, revenue={"work": Ref("4100", "Project work"),
                           "retainer": Ref("4200", "Retainers")},
        customers={c: Ref(f"c-{n}", c) for n, c in enumerate(sorted(clients))},
        tax_rates={}, no_tax=Ref("NONE", "No Tax"), item=Ref("1", "Services"),
        currency=Currency.of("USD"))


@pytest.fixture(scope="module")
def firm() -> Firm:
    return generated_firm(agreements=30, months=12, seed=11)


@pytest.fixture(scope="module")
def books(firm: Firm) -> ReadBooks:
    return ReadBooks.of(firm.agreements(), firm.store.entries())


@pytest.fixture(scope="module")
def amap(firm: Firm, books: ReadBooks) -> AccountMap:
    return firm_map(clients={a.proposal.client for a in books.agreements()})


def _all_exports(books: Books, period: Period, amap: AccountMap) -> dict[str, Totals]:
    return {
        "quickbooks": quickbooks_totals(quickbooks_export(books, period, amap), amap),
        "xero": xero_totals(xero_export(books, period, amap), amap),
        "xero-csv": xero_csv_totals(xero_journal_csv(books, period, amap), amap),
        "quickbooks-csv": quickbooks_csv_totals(quickbooks_journal_csv(books, period, amap),
                                                amap),
    }


def _months(firm: Firm) -> list[Period]:
    return [Period(add_months(firm.start, n), add_months(firm.start, n + 1)) for n in range(12)]


def test_every_export_of_every_month_ties_to_the_ledger(firm: Firm, books: ReadBooks,
                                                        amap: AccountMap) -> None:
    for period in _months(firm):
        expected = nonzero(ledger_totals(firm.store, books, period, amap))
        got = {name: nonzero(t) for name, t in _all_exports(books, period, amap).items()}
        assert got == dict.fromkeys(got, expected), period


def test_the_firm_posts_what_the_exports_are_meant_to_carry(firm: Firm, books: ReadBooks) -> None:
    # The tie-out means something only if the firm has each kind of entry.
    accounts = {ln.account for e in books.entries() for ln in e.lines}
    obligations = {e.obligation_id for e in books.entries()}
    assert {Account.CONTRACT_ASSET, Account.CLEARING, Account.CASH}.issubset(accounts)
    assert {"work", "retainer"}.issubset(obligations)
    assert any(":refund:" in e.id for e in books.entries())


days = st.integers(min_value=0, max_value=365)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days, st.integers(min_value=1, max_value=200))
def test_any_period_ties(firm: Firm, books: ReadBooks, amap: AccountMap, start: int,
                         length: int) -> None:
    first = firm.start + timedelta(days=start)
    period = Period(first, first + timedelta(days=length))
    expected = nonzero(ledger_totals(firm.store, books, period, amap))
    for name, totals in _all_exports(books, period, amap).items():
        assert nonzero(totals) == expected, name


def _data_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))[1:]


def _whole_year(firm: Firm) -> Period:
    return Period(firm.start, add_months(firm.start, 12))


def test_a_year_of_xero_journals_goes_in_files_xero_can_import(firm: Firm, books: ReadBooks,
                                                               amap: AccountMap) -> None:
    year = _whole_year(firm)
    one = xero_journal_csv(books, year, amap)
    parts = xero_journal_csv_parts(books, year, amap)
    assert len(_data_rows(one)) > XERO_LINE_LIMIT  # else the split is not exercised
    assert len(parts) > 1
    assert all(len(_data_rows(p)) <= XERO_LINE_LIMIT for p in parts)
    assert all(p.splitlines()[0] == one.splitlines()[0] for p in parts)
    assert [r for p in parts for r in _data_rows(p)] == _data_rows(one)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=3, max_value=400), st.integers(min_value=0, max_value=11))
def test_xero_files_keep_each_journal_whole_and_tie_to_the_ledger(
        firm: Firm, books: ReadBooks, amap: AccountMap, max_lines: int, month: int) -> None:
    period = Period(add_months(firm.start, month), add_months(firm.start, month + 12))
    parts = xero_journal_csv_parts(books, period, amap, max_lines=max_lines)
    owner: dict[tuple[str, str], int] = {}
    totals: Totals = {}
    for n, part in enumerate(parts):
        rows = _data_rows(part)
        assert 0 < len(rows) <= max_lines
        for row in rows:  # a journal is the rows of one narration and date
            assert owner.setdefault((row[0], row[1]), n) == n
        for cur_account, minor in xero_csv_totals(part, amap).items():
            _add(totals, *cur_account, minor)
    assert nonzero(totals) == nonzero(ledger_totals(firm.store, books, period, amap))


def test_a_journal_longer_than_a_file_is_refused_naming_the_limit(
        firm: Firm, books: ReadBooks, amap: AccountMap) -> None:
    with pytest.raises(ValidationError) as err:
        xero_journal_csv_parts(books, _whole_year(firm), amap, max_lines=2)
    with pytest.raises(ValidationError) as zero:
        xero_journal_csv_parts(books, _whole_year(firm), amap, max_lines=0)
    assert (err.value.field, err.value.value, zero.value.field) == ("max_lines", 2, "max_lines")
    assert "Xero imports a journal from one file" in str(err.value)
    assert xero_journal_csv_parts(books, Period(date(2000, 1, 1), date(2000, 2, 1)), amap) == ()


# ---------------------------------------------------------------- tax, fees, credit, currencies


def _whole(w: World[InMemoryGateway]) -> tuple[Books, Period]:
    return ReadBooks.of([w.load(FIRST), w.load(SECOND)],
                        w.store.entries()), Period(w.start.date(), w.clock.today() + timedelta(1))


def test_quickbooks_ties_with_tax_fees_refunds_customer_credit_and_two_currencies() -> None:
    w = accounting_world()
    books, period = _whole(w)
    amap = example_account_map(None)
    got = nonzero(quickbooks_totals(quickbooks_export(books, period, amap), amap))
    assert {cur for cur, _ in got} == {"EUR", "USD"}
    assert got == nonzero(ledger_totals(w.store, books, period, amap))


def test_xero_ties_with_tax_fees_refunds_and_customer_credit() -> None:
    w = accounting_world("EUR")
    books, period = _whole(w)
    amap = example_account_map("EUR")
    expected = nonzero(ledger_totals(w.store, books, period, amap))
    assert nonzero(xero_totals(xero_export(books, period, amap), amap)) == expected
    assert nonzero(xero_csv_totals(xero_journal_csv(books, period, amap), amap)) == expected


def test_journals_in_two_currencies_are_refused_by_xero_rather_than_added() -> None:
    w = accounting_world("USD")
    books, period = _whole(w)
    with pytest.raises(ValidationError) as no_home:
        xero_export(books, period, example_account_map(None))
    with pytest.raises(ValidationError) as other:
        xero_export(books, period, example_account_map("EUR"))
    with pytest.raises(ValidationError) as file:
        quickbooks_journal_csv(books, period, example_account_map(None))
    assert (no_home.value.field, no_home.value.value, other.value.value, file.value.field) == (
        "currency", ["EUR", "USD"], ["USD"], "currency")


def test_a_period_with_nothing_posted_exports_nothing() -> None:
    w = accounting_world("EUR")
    books, _ = _whole(w)
    empty = Period(date(2020, 1, 1), date(2020, 2, 1))
    amap = example_account_map("EUR")
    assert (quickbooks_export(books, empty, amap).documents,
            xero_journal_csv(books, empty, amap).splitlines()[1:]) == ((), [])


# ------------------------------------------------------------ a platform's application fee


class PlatformCut:
    """An in-memory gateway on a Connect platform: each payment reports the
    platform's application fee beside the gateway's own."""

    name = "memory"

    def __init__(self, inner: InMemoryGateway, cut: ApplicationFee) -> None:
        self.inner, self.cut = inner, cut

    def create_customer(self, request: CustomerRequest) -> CustomerRef:
        return self.inner.create_customer(request)

    def save_payment_method(self, request: SetupRequest) -> SetupResult:
        return self.inner.save_payment_method(request)

    def detach_payment_method(self, payment_method_id: PaymentMethodId, *,
                              idempotency_key: str) -> None:
        self.inner.detach_payment_method(payment_method_id, idempotency_key=idempotency_key)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        result = self.inner.charge(request)
        if result.status is not ChargeStatus.SUCCEEDED:
            return result
        return attrs.evolve(result, application_fee=self.cut.for_amount(result.amount))

    def refund(self, request: RefundRequest) -> RefundResult:
        return self.inner.refund(request)

    def parse_webhook(self, payload: bytes, signature_header: str,
                      now: datetime) -> GatewayEvent | None:
        return self.inner.parse_webhook(payload, signature_header, now)


def test_every_export_ties_with_a_platforms_application_fee() -> None:
    gw = PlatformCut(InMemoryGateway(fees=percent_plus_fixed("2.9", 30)),
                     ApplicationFee(basis_points=150, fixed_minor=30))
    w = World(gateway=gw)
    w.open(proposal([("design", "1000.00"), ("build", "1500.00")]), agreement_id=FIRST)
    w.complete("design", FIRST)
    w.later(3)
    w.complete("build", FIRST)
    w.biller.recognise(w.clock.today())
    books = ReadBooks.of([w.load(FIRST)], w.store.entries())
    period = Period(w.start.date(), w.clock.today() + timedelta(1))
    amap = example_account_map("USD")
    expected = nonzero(ledger_totals(w.store, books, period, amap))
    # 1.5 % + 0.30 of 1,000.00 and of 1,500.00: 15.30 + 22.80.
    assert expected[("USD", amap.ref(Account.PLATFORM_FEES).id)] == 3810
    assert {name: nonzero(t) for name, t in _all_exports(books, period, amap).items()} == \
        dict.fromkeys(("quickbooks", "xero", "xero-csv", "quickbooks-csv"), expected)

"""Invariant 5: the ledger balances, and posting an entry twice posts it once."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill.ledger import Account, EntryId, InMemoryLedger, JournalEntry, JournalLine, Ledger
from milestonebill.money import Money, allocate_minor
from milestonebill.stores.memory import InMemoryStore
from milestonebill.stores.sqlite import SQLiteStore

CURRENCIES = ("USD", "JPY", "KWD")


@st.composite
def entries(draw: st.DrawFn, n: int) -> JournalEntry:
    cur = draw(st.sampled_from(CURRENCIES))
    total = draw(st.integers(min_value=1, max_value=10**12))
    debit_accounts = draw(st.lists(st.sampled_from(list(Account)), min_size=1, max_size=3))
    credit_accounts = draw(st.lists(st.sampled_from(list(Account)), min_size=1, max_size=3))
    lines: list[JournalLine] = []
    for accounts, make in ((debit_accounts, JournalLine.dr), (credit_accounts, JournalLine.cr)):
        weights = draw(st.lists(st.integers(1, 9), min_size=len(accounts), max_size=len(accounts)))
        for account, part in zip(accounts, allocate_minor(total, weights), strict=True):
            if part:
                lines.append(make(account, Money.from_minor(part, cur)))
    on = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 400)))
    return JournalEntry(EntryId(f"je-{n}"), on, tuple(lines), agreement_id="agr-1")


@st.composite
def postings(draw: st.DrawFn) -> list[JournalEntry]:
    made = [draw(entries(n)) for n in range(draw(st.integers(1, 8)))]
    repeats = draw(st.lists(st.sampled_from(made), max_size=4))
    return made + repeats


def check(ledger: Ledger, posted: list[JournalEntry]) -> None:
    for e in posted:
        ledger.post(e)
    unique = {e.id: e for e in posted}
    for cur in CURRENCIES:
        balances = ledger.balances(currency=cur)
        assert Money.total(balances.values(), currency=cur).is_zero()
        expected: dict[Account, int] = {}
        for e in unique.values():
            if e.currency.code == cur:
                for line in e.lines:
                    expected[line.account] = expected.get(line.account, 0) + line.signed_minor
        assert {a: m.minor for a, m in balances.items()} == expected


@given(postings())
def test_in_memory_ledger_balances_and_counts_each_entry_once(posted: list[JournalEntry]) -> None:
    check(InMemoryLedger(), posted)


@given(postings())
def test_in_memory_store_ledger_balances_and_counts_each_entry_once(
    posted: list[JournalEntry],
) -> None:
    check(InMemoryStore(), posted)


@settings(max_examples=30, deadline=None)
@given(postings())
def test_sqlite_ledger_balances_and_counts_each_entry_once(posted: list[JournalEntry]) -> None:
    with SQLiteStore(":memory:") as store:
        check(store, posted)

"""Property: revenue-only entries on top of billing leave the netted contract position."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from milestonebill.ledger import Account, EntryId, InMemoryLedger, JournalEntry, JournalLine
from milestonebill.money import Currency, Money
from milestonebill.recognition import (
    Billing,
    ContractActivity,
    ContractId,
    Granularity,
    RevenueEvent,
    recognition_entries,
)

DAY0 = date(2024, 1, 1)
days = st.integers(min_value=0, max_value=500).map(lambda n: DAY0 + timedelta(days=n))
amounts = st.integers(min_value=1, max_value=10**9)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["USD", "JPY", "KWD"]), st.lists(st.tuples(days, amounts), max_size=6),
       st.lists(st.tuples(days, amounts), max_size=8),
       st.sampled_from([Granularity.DAY, Granularity.MONTH, Granularity.QUARTER]))
def test_billing_plus_recognition_entries_net_per_contract(
        code: str, bills: list[tuple[date, int]], revenue: list[tuple[date, int]],
        granularity: Granularity) -> None:
    cur = Currency.of(code)
    act = ContractActivity(ContractId("c"), cur,
                           billings=[Billing(d, Money.from_minor(m, cur)) for d, m in bills],
                           revenue=[RevenueEvent(d, Money.from_minor(m, cur)) for d, m in revenue])
    ledger = InMemoryLedger()
    for i, (d, m) in enumerate(bills):  # what the billing side posts
        amount = Money.from_minor(m, cur)
        ledger.post(JournalEntry(EntryId(f"bill-{i}"), d, (
            JournalLine.dr(Account.RECEIVABLE, amount),
            JournalLine.cr(Account.DEFERRED_REVENUE, amount))))
    entries = recognition_entries(act, granularity=granularity)
    for e in entries:
        assert ledger.post(e)
        assert {ln.account for ln in e.lines} <= {
            Account.REVENUE, Account.DEFERRED_REVENUE, Account.CONTRACT_ASSET}
    for e in entries:
        b = sum(m for d, m in bills if d <= e.posted_on)
        r = sum(m for d, m in revenue if d <= e.posted_on)
        got = {a: ledger.balance(a, currency=cur, as_of=e.posted_on).minor
               for a in (Account.DEFERRED_REVENUE, Account.CONTRACT_ASSET, Account.REVENUE)}
        assert got == {Account.DEFERRED_REVENUE: -max(b - r, 0),
                       Account.CONTRACT_ASSET: max(r - b, 0), Account.REVENUE: -r}

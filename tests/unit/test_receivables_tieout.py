"""The receivables reports tie to the ledger on a generated firm, month end after month end.

Sixty engagements billed day by day for two years
(:func:`~milestonebill.testing.firm.generated_firm`): milestone projects,
escalating retainers, cancellations, repricings, partial refunds, clients
who pay late or never -- and, in a second run of the same firm, their
invoices written off 60 days after issue and recovered when a late client
pays.  The reports replay each agreement's stream; the ledger is what the
Biller posted as it went.  They must say the same to the cent.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from milestonebill.agreement import Agreement, PaymentMethodKind
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.periods import Period, add_months
from milestonebill.reports import (
    AgingBucket,
    ReceivableStatus,
    aging,
    client_statement,
    leakage_audit,
    receivables,
)
from milestonebill.testing.firm import Firm, generated_firm

MONTHS = 24


@pytest.fixture(scope="module", params=[None, 60], ids=["collected", "written-off-at-60"])
def firm(request: pytest.FixtureRequest) -> Firm:
    """The firm as generated, and the same firm writing off sent invoices still unpaid
    60 days after issue (clients who pay at 75 days recover them)."""
    return generated_firm(agreements=60, months=MONTHS, seed=1,
                          write_off_after_days=request.param)


@pytest.fixture(scope="module")
def agreements(firm: Firm) -> list[Agreement]:
    return firm.agreements()


def month_ends(firm: Firm) -> list[date]:
    return [add_months(firm.start, m) - timedelta(days=1) for m in range(1, MONTHS + 1)]


def signed_by(agreements: list[Agreement], day: date) -> list[Agreement]:
    return [a for a in agreements if a.signed_on <= day]


def ledger_receivable(firm: Firm, agreement_ids: set[str], day: date) -> int:
    """Minor units on the receivable account for these agreements, posted on or before ``day``."""
    return sum(ln.signed_minor for aid in agreement_ids
               for e in firm.store.entries(agreement_id=aid) if e.posted_on <= day
               for ln in e.lines if ln.account is Account.RECEIVABLE)


def test_at_every_month_end_the_aging_total_is_the_ledgers_receivable(
        firm: Firm, agreements: list[Agreement]) -> None:
    seen_open = 0
    for end in month_ends(firm):
        table = aging(signed_by(agreements, end), end)
        totals = {r.total.currency.code: r.total for r in table if r.client is None}
        assert totals.get("USD", Money.zero("USD")) == firm.store.balance(
            Account.RECEIVABLE, currency="USD", as_of=end), end
        assert set(totals) <= {"USD"}
        seen_open = max(seen_open, sum(r.invoices for r in table if r.client is None))
    assert seen_open > (50 if firm.write_off_after is None else 10)  # money left owing


def test_every_client_statement_closes_on_that_clients_receivable(
        firm: Firm, agreements: list[Agreement]) -> None:
    for end in month_ends(firm)[5::6]:
        mine = signed_by(agreements, end)
        per_client = {r.client: r.total for r in aging(mine, end) if r.client is not None}
        month = Period(end.replace(day=1), end + timedelta(days=1))
        before = end.replace(day=1) - timedelta(days=1)
        for client in sorted({a.proposal.client for a in mine}):
            statement = client_statement(mine, client, month)
            ids: set[str] = {a.id for a in mine if a.proposal.client == client}
            owed = per_client.get(client, Money.zero("USD"))
            assert statement[-1].balance == owed, (client, end)
            assert owed.minor == ledger_receivable(firm, ids, end)
            assert statement[0].balance.minor == ledger_receivable(firm, ids, before)
            movements = sum(line.amount.minor for line in statement)
            assert statement[0].balance.minor + movements == owed.minor


def test_the_audit_finds_nothing_at_any_month_end_or_on_the_last_day(
        firm: Firm, agreements: list[Agreement]) -> None:
    for end in month_ends(firm):
        assert list(leakage_audit(signed_by(agreements, end), end)) == [], end
    assert firm.through == month_ends(firm)[-1]


def test_bank_debits_the_generated_firm_never_settles_stay_processing_not_overdue(
        firm: Firm, agreements: list[Agreement]) -> None:
    """The generator delivers no webhooks, so a bank debit stays processing for good:
    the one thing it legitimately leaves open besides unpaid sent invoices.  The
    audit does not count it as a leak; the receivables show it as processing."""
    rows = receivables(agreements, firm.through)
    debits = {a.id for a in agreements if a.payment_method is not None
              and a.payment_method.kind is PaymentMethodKind.BANK_DEBIT}
    sent = {a.id for a in agreements if a.payment_method is None}
    processing = [r for r in rows if r.status is ReceivableStatus.PROCESSING]
    assert processing
    assert {r.agreement_id for r in processing} <= debits
    assert all(r.bucket is AgingBucket.PROCESSING for r in processing)
    assert {r.agreement_id for r in rows if r.status is not ReceivableStatus.PROCESSING} <= sent
    # The in-memory gateway never declines a card here: nothing is in dunning.
    assert {r.status for r in rows} <= {ReceivableStatus.PROCESSING, ReceivableStatus.OVERDUE,
                                        ReceivableStatus.CURRENT}


def test_write_offs_and_recoveries_tie_to_the_bad_debt_account(
        firm: Firm, agreements: list[Agreement]) -> None:
    written = sum(a.written_off(i.id).minor for a in agreements for i in a.invoices)
    assert firm.store.balance(Account.BAD_DEBT_EXPENSE, currency="USD").minor == written
    if firm.write_off_after is None:
        assert written == 0
    else:
        assert sum(len(a.write_offs) for a in agreements) > 10
        assert sum(len(a.recoveries) for a in agreements) > 10
        assert written > 0

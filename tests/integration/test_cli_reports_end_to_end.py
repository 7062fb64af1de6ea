"""Every report of ``milestonebill report``, end to end against a real store.

A small firm's books are made through the library on SQLite and on
PostgreSQL: Acme's monthly retainer (charged by card, raised from April),
Globex's project (invoices sent, one partly paid, a milestone completed and
never billed).  Each report is then asked of the real entry point in a
subprocess, and what it prints must be the library's own table for the same
store and the same options -- so the command adds nothing and loses nothing.
The text and CSV forms are checked in process, on SQLite.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from test_cli_end_to_end import BACKENDS, Shop, make_shop

from milestonebill.agreement import (
    Agreement,
    AgreementId,
    ChangeRecurringPrice,
    Collection,
    ProposalId,
    complete_milestone,
)
from milestonebill.cli import main
from milestonebill.clock import FixedClock
from milestonebill.ids import InvoiceId, MilestoneId
from milestonebill.periods import Period
from milestonebill.reports import (
    Cadence,
    Table,
    aging,
    billing_revenue_forecast,
    cash_forecast,
    client_statement,
    expected_receipts,
    forecast_periods,
    leakage_audit,
    monthly_movements,
    mrr,
    mrr_movements,
    net_revenue_retention,
    receivables,
)
from milestonebill.schedule import Interval, ItemId, Milestone, RecurringCharge, Trigger
from milestonebill.testing.scenarios import World, proposal, usd

AS_OF = date(2025, 3, 31)
Books = list[Agreement]


def seed(shop: Shop) -> None:
    """Acme's retainer and Globex's project, billed into March 2025."""
    store = shop.store()
    w = World(store, clock=FixedClock(datetime(2025, 1, 1, 9, tzinfo=UTC)))
    retainer = RecurringCharge(ItemId("ret"), "Retainer", usd("1000.00"), Interval.MONTHLY,
                               start=date(2025, 1, 1), count=12)
    w.open(attrs.evolve(proposal(recurring=[retainer]), id=ProposalId("p-ret")),
           agreement_id=AgreementId("ret-1"))
    w.on(date(2025, 1, 15))
    design = Milestone(MilestoneId("design"), "Design", amount=usd("4000.00"),
                       trigger=Trigger.ON_SIGNING)
    project = proposal([design, ("build", "6000.00")], collection=Collection.SEND_INVOICE)
    w.open(attrs.evolve(project, id=ProposalId("p-proj"), client="Globex"), payment_method=None,
           agreement_id=AgreementId("proj-1"))
    first = w.biller.run(date(2025, 1, 15))
    w.on(date(2025, 2, 1))
    w.biller.run(date(2025, 2, 1))
    (sent,) = [i for i in first.invoices if i.agreement_id == "proj-1"]
    w.biller.record_payment(InvoiceId(sent.id), usd("1000.00"), reference="wire-1",
                            received_at=datetime(2025, 2, 10, 12, tzinfo=UTC))
    w.on(date(2025, 3, 1))
    w.amend(ChangeRecurringPrice(date(2025, 4, 1), ItemId("ret"), usd("1200.00")),
            agreement_id=AgreementId("ret-1"))
    w.on(date(2025, 3, 10))
    proj = w.load(AgreementId("proj-1"))
    w.biller.record(proj.id, [complete_milestone(proj, MilestoneId("build"), by="Bo",
                                                 at=w.clock.now())])
    store.close()  # type: ignore[attr-defined]
    shop.state.write_text(json.dumps(w.gateway.to_state()), "utf-8")


@pytest.fixture(scope="module", params=BACKENDS)
def firm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Shop]:
    for s in make_shop(request, request.param, tmp_path_factory.mktemp("firm")):
        seed(s)
        yield s


def books(shop: Shop) -> Books:
    store = shop.store()
    try:
        return [World(store).biller.load(aid) for aid in store.agreement_ids()]
    finally:
        store.close()  # type: ignore[attr-defined]


#: Each case: the command line after ``report``, and the library's table for the books.
CASES: dict[str, tuple[list[str], Callable[[Books], Table[Any]]]] = {
    "cash-forecast": (["cash-forecast", "--as-of", "2025-03-31"],
                      lambda b: cash_forecast(b, AS_OF, periods=3)),
    "cash-forecast-weekly": (
        ["cash-forecast", "--as-of", "2025-03-31", "--periods", "2", "--cadence", "week",
         "--history", "1"],
        lambda b: cash_forecast(b, AS_OF, periods=2, cadence=Cadence.WEEK, history=1)),
    "billing-revenue": (["billing-revenue-forecast", "--as-of", "2025-03-31", "--periods", "4"],
                        lambda b: billing_revenue_forecast(b, AS_OF, periods=4)),
    "expected-receipts": (["expected-receipts", "--as-of", "2025-03-31"],
                          lambda b: expected_receipts(
                              b, AS_OF, through=forecast_periods(AS_OF, periods=3)[-1].end)),
    "receivables": (["receivables", "--as-of", "2025-03-31"],
                    lambda b: receivables(b, AS_OF)),
    "aging": (["aging", "--as-of", "2025-03-31", "--client", "Globex"],
              lambda b: aging(b, AS_OF, client="Globex")),
    "statement": (["statement", "--client", "Globex", "--period", "2025-Q1"],
                  lambda b: client_statement(b, "Globex", Period.of("2025-01-01",
                                                                    "2025-04-01"))),
    "leakage": (["leakage", "--as-of", "2025-03-31"], lambda b: leakage_audit(b, AS_OF)),
    "mrr": (["mrr", "--as-of", "2025-04-15"], lambda b: mrr(b, date(2025, 4, 15))),
    "mrr-movements": (["mrr-movements", "--from", "2025-01-01", "--to", "2025-04-30"],
                      lambda b: mrr_movements(b, date(2025, 1, 1), date(2025, 5, 1))),
    "mrr-movements-by-month": (
        ["mrr-movements", "--months", "4", "--as-of", "2025-04-30"],
        lambda b: monthly_movements(b, date(2025, 1, 1), 4)),
    "nrr": (["net-revenue-retention", "--from", "2025-01-01", "--to", "2025-06-30"],
            lambda b: net_revenue_retention(b, date(2025, 1, 1), date(2025, 7, 1))),
}


@pytest.fixture(scope="module")
def printed(firm: Shop) -> dict[str, tuple[int, str, str]]:
    """What ``report --json`` printed for each case."""
    out = {}
    for case, (argv, _) in CASES.items():
        r = firm("--json", "report", *argv)
        out[case] = (r.code, r.out, r.err)
    return out


@pytest.mark.parametrize("case", CASES)
def test_each_report_prints_the_librarys_table_as_json(
        firm: Shop, printed: dict[str, tuple[int, str, str]], case: str) -> None:
    code, out, err = printed[case]
    table = CASES[case][1](books(firm))
    assert (code, err) == (0, "")
    assert json.loads(out) == {"title": table.title, "rows": table.to_records()}


def test_the_seeded_books_give_every_report_rows(
        firm: Shop, printed: dict[str, tuple[int, str, str]]) -> None:
    # The comparison above says nothing if a report is empty on both sides.
    assert {case: len(json.loads(out)["rows"]) > 0 for case, (_, out, _) in printed.items()} \
        == dict.fromkeys(CASES, True)


def test_the_raise_shows_as_an_expansion_and_nrr_above_100_percent(
        printed: dict[str, tuple[int, str, str]]) -> None:
    rows = json.loads(printed["mrr-movements"][1])["rows"]
    assert [(r["agreement_id"], r["movement"], r["expansion"]["amount"]) for r in rows] == [
        ("ret-1", "expansion", "200.00")]
    (nrr,) = json.loads(printed["nrr"][1])["rows"]
    assert nrr["percent"] == "120.0"


# ------------------------------------------------------------------ text and CSV, in process


def in_process(db: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["--db", str(db), *argv], out=out, environ={})
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def sqlite_firm(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    shop = Shop(tmp_path_factory.mktemp("sqlite-firm"))
    seed(shop)
    return shop


@pytest.mark.parametrize("case", CASES)
def test_each_report_writes_the_librarys_csv(sqlite_firm: Shop, case: str) -> None:
    argv, make = CASES[case]
    assert in_process(sqlite_firm.db, "report", *argv, "--format", "csv") == (
        0, make(books(sqlite_firm)).to_csv(), "")


@pytest.mark.parametrize("case", CASES)
def test_each_report_prints_a_titled_line_per_row(sqlite_firm: Shop, case: str) -> None:
    argv, make = CASES[case]
    code, out, err = in_process(sqlite_firm.db, "report", *argv)
    table = make(books(sqlite_firm))
    lines = out.splitlines()
    assert (code, err, lines[0]) == (0, "", table.title)
    assert lines[1].split() == table.columns()
    assert len(lines) == 2 + len(table)


@pytest.mark.parametrize(("argv", "says"), [
    (["mrr", "--periods", "3"], "report mrr does not take --periods (it takes: none)"),
    (["aging", "--cadence", "week"], "report aging does not take --cadence (it takes: "
                                     "--client)"),
    (["statement", "--period", "2025-Q1"], "report statement needs --client NAME"),
    (["net-revenue-retention"], "this needs a period"),
    (["mrr-movements"], "report mrr-movements needs a period"),
    (["mrr-movements", "--months", "2", "--period", "2025"], "give --months N or a period"),
    (["cash-forecast", "--periods", "0"], "argument --periods: must be a whole number from 1"),
])
def test_report_options_a_report_does_not_take_are_usage_errors(
        sqlite_firm: Shop, argv: list[str], says: str) -> None:
    code, out, err = in_process(sqlite_firm.db, "report", *argv)
    assert (code, out, err.count("\n")) == (2, "", 1)
    assert says in err


def test_a_client_the_books_do_not_have_is_refused_with_status_1(sqlite_firm: Shop) -> None:
    code, _, err = in_process(sqlite_firm.db, "report", "statement", "--client", "Nobody",
                              "--period", "2025-Q1")
    assert code == 1
    assert "Nobody" in err

"""The ``milestonebill`` command end to end: the real entry point, in a subprocess,
against a real SQLite file and against PostgreSQL (``MILESTONEBILL_PG_DSN``).

A firm's store is seeded through the library -- two signed agreements whose
cards were saved through the in-memory gateway, whose state is written to the
gateway-state file the command reads -- and then operated only through the
command: ``init``, ``complete``, ``run --dry-run``, ``run`` twice,
``progress``, ``recognise``, ``report`` and ``export``.  Expected values come
from the seed and from the library reading the same store.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

import milestonebill
from milestonebill.agreement import (
    Agreement,
    AgreementId,
    ObligationTerms,
    PackageOption,
    PaymentMethodKind,
    PaymentMethodRef,
    Progress,
    Proposal,
    ProposalId,
    sign,
)
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller
from milestonebill.gateways.base import CustomerRequest, SetupRequest
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.ids import FirmId, ObligationId
from milestonebill.money import Currency, Money
from milestonebill.periods import Period
from milestonebill.reports import contract_positions
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, Trigger
from milestonebill.stores.base import BillingStore
from milestonebill.stores.sqlite import MIGRATIONS as SQLITE_MIGRATIONS

SRC = str(Path(milestonebill.__file__).resolve().parent.parent)
USD = Currency.of("USD")
KICKOFF, DESIGN = Money("1000.00", "USD"), Money("2500.00", "USD")
SIGNED_AT = datetime(2025, 1, 15, 9, tzinfo=UTC)
FIRM = "acme"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@attrs.frozen
class Result:
    """What one invocation of the command did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def error(self) -> dict[str, Any]:
        doc: dict[str, dict[str, Any]] = json.loads(self.err)
        return doc["error"]


def command_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the command: ours without milestonebill or Stripe settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MILESTONEBILL_", "STRIPE_"))}
    env["PYTHONPATH"] = SRC
    return {**env, **(extra or {})}


def milestonebill_cmd(*argv: str, env: dict[str, str] | None = None,
                      cwd: Path | None = None) -> Result:
    done = subprocess.run([sys.executable, "-m", "milestonebill", *argv], capture_output=True,
                          text=True, env=command_env(env), cwd=cwd, timeout=120, check=False)
    return Result(done.returncode, done.stdout, done.stderr)


def plan(obligations: tuple[ObligationTerms, ...] = ()) -> PackageOption:
    schedule = BillingSchedule(currency=USD, milestones=[
        Milestone(MilestoneId("kickoff"), "Kickoff", amount=KICKOFF, trigger=Trigger.ON_SIGNING),
        Milestone(MilestoneId("design"), "Design", amount=DESIGN)])
    return PackageOption("std", "Standard", schedule, obligations=obligations)


WORK = ObligationTerms(ObligationId("work"), "Work", Progress.HOURS,
                       items=("kickoff", "design"), estimate=100)


class Shop:
    """A firm's billing on one backend: the store, the gateway-state file, the command."""

    def __init__(self, tmp: Path, dsn: str | None = None, schema: str | None = None) -> None:
        self.tmp, self.dsn, self.schema = tmp, dsn, schema
        self.db = tmp / "billing.db"
        self.state = tmp / ("billing.db.gateway.json" if dsn is None else "gateway.json")

    @property
    def where(self) -> list[str]:
        """The global options that point the command at this shop."""
        if self.dsn is None:
            return ["--db", str(self.db)]
        return ["--dsn", self.dsn, "--schema", str(self.schema), "--gateway-state",
                str(self.state), "--connect-timeout", "5"]

    @property
    def where_env(self) -> dict[str, str]:
        """The same, as environment variables."""
        if self.dsn is None:
            return {"MILESTONEBILL_DB": str(self.db)}
        return {"MILESTONEBILL_DSN": self.dsn, "MILESTONEBILL_PG_SCHEMA": str(self.schema),
                "MILESTONEBILL_GATEWAY_STATE": str(self.state)}

    def unreachable(self) -> list[str]:
        """Global options naming a store that is not there."""
        if self.dsn is None:
            return ["--db", str(self.tmp / "missing" / "nothing.db")]
        return ["--dsn", "postgresql://ann:s3cr3t-pw@127.0.0.1:1/nothing",
                "--connect-timeout", "1"]

    def __call__(self, *argv: str, env: dict[str, str] | None = None) -> Result:
        return milestonebill_cmd(*self.where, *argv, env=env, cwd=self.tmp)

    def store(self) -> BillingStore:
        if self.dsn is None:
            from milestonebill.stores.sqlite import SQLiteStore

            return SQLiteStore(self.db)
        from milestonebill.stores.postgres import PostgresStore

        return PostgresStore(self.dsn, schema=str(self.schema))

    def gateway(self) -> InMemoryGateway:
        return InMemoryGateway.from_state(json.loads(self.state.read_text("utf-8")))

    def seed(self, *, detach: tuple[str, ...] = (), script: tuple[Scripted, ...] = ()) -> None:
        """Two agreements signed on 15 January 2025, cards saved through the gateway;
        ``detach`` detaches those agreements' cards afterwards, ``script`` queues
        outcomes for the next charges."""
        from milestonebill.gateways.base import PaymentMethodId, detach_idempotency_key

        gw, clock = InMemoryGateway(), FixedClock(SIGNED_AT)
        store = self.store()
        biller = Biller(store, gw, clock=clock, firm_id=FirmId(FIRM))
        offers = {"agr-1": plan(), "agr-2": plan((WORK,))}
        for aid, option in offers.items():
            customer = gw.create_customer(CustomerRequest(reference=aid)).customer_id
            saved = gw.save_payment_method(SetupRequest(customer, f"tok_{aid}")).payment_method
            assert saved is not None
            card = PaymentMethodRef("memory", customer, saved.payment_method_id,
                                    PaymentMethodKind.CARD)
            proposal = Proposal(ProposalId(f"p-{aid}"), f"Client {aid}", USD, (option,))
            biller.open(sign(proposal, option="std", signer="Ada", payment_method=card,
                             agreement_id=AgreementId(aid), signed_at=SIGNED_AT))
            if aid in detach:
                pm = PaymentMethodId(saved.payment_method_id)
                gw.detach_payment_method(pm, idempotency_key=detach_idempotency_key(pm))
        store.close()  # type: ignore[attr-defined]
        gw.script_next(*script)
        self.state.write_text(json.dumps(gw.to_state()), "utf-8")

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table of the store."""
        if self.dsn is None:
            with sqlite3.connect(self.db) as conn:
                names = [r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
                return {n: sorted(map(tuple, conn.execute(f"SELECT * FROM {n}")), key=repr)
                        for n in names}
        import psycopg

        with psycopg.connect(self.dsn) as conn:
            names = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "ORDER BY table_name", (self.schema,))]
            return {n: sorted(map(tuple, conn.execute(f"SELECT * FROM {self.schema}.{n}")),
                              key=repr) for n in names}

    def load(self, aid: str) -> Agreement:
        store = self.store()
        try:
            return Biller(store, InMemoryGateway(), clock=FixedClock(SIGNED_AT),
                          firm_id=FirmId(FIRM)).load(AgreementId(aid))
        finally:
            store.close()  # type: ignore[attr-defined]


def make_shop(request: pytest.FixtureRequest, backend: str, tmp: Path) -> Iterator[Shop]:
    if backend == "sqlite":
        yield Shop(tmp)
        return
    dsn: str = request.getfixturevalue("pg_dsn")
    import psycopg

    schema = f"cli_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield Shop(tmp, dsn, schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(scope="module", params=BACKENDS)
def shop(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Shop]:
    """A seeded shop shared by a module's worth of steps."""
    for s in make_shop(request, request.param, tmp_path_factory.mktemp("shop")):
        s.seed()
        yield s


@pytest.fixture(params=BACKENDS)
def fresh_shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shop]:
    """A shop of its own (not seeded), for a test that changes it."""
    yield from make_shop(request, request.param, tmp_path)


@attrs.frozen
class Story:
    """What each step of operating the shop returned, and what the store held."""

    shop: Shop
    steps: dict[str, Result]
    before_dry_run: dict[str, list[tuple[Any, ...]]]
    after_dry_run: dict[str, list[tuple[Any, ...]]]
    state_before_dry_run: bytes
    state_after_dry_run: bytes
    gateway_after_run: dict[str, Any]
    gateway_after_second_run: dict[str, Any]


@pytest.fixture(scope="module")
def story(shop: Shop) -> Story:
    steps = {"init": shop("init"), "agreements": shop("--json", "agreements"),
             "complete": shop("complete", "agr-1", "design", "--on", "2025-02-20", "--by",
                              "ann", "--evidence", "client sign-off")}
    before, state_before = shop.snapshot(), shop.state.read_bytes()
    steps["dry_run"] = shop("--firm", FIRM, "--json", "run", "--as-of", "2025-02-28", "--dry-run")
    after, state_after = shop.snapshot(), shop.state.read_bytes()
    steps["run"] = shop("--firm", FIRM, "--json", "run", "--as-of", "2025-02-28")
    gateway_after_run = shop.gateway().to_state()
    # The second run is configured from the environment alone.
    steps["run_again"] = milestonebill_cmd("--json", "run", "--as-of", "2025-02-28",
                                           env={**shop.where_env, "MILESTONEBILL_FIRM": FIRM})
    gateway_after_second = shop.gateway().to_state()
    steps["progress"] = shop("progress", "agr-2", "work", "40", "--on", "2025-01-31")
    steps["recognise"] = shop("--json", "recognise", "--as-of", "2025-02-28")
    steps["recognise_again"] = shop("--json", "recognise", "--as-of", "2025-02-28")
    for fmt in ("table", "json", "csv"):
        steps[f"report_{fmt}"] = shop("report", "contract-balances", "--as-of", "2025-02-28",
                                      "--format", fmt)
    for fmt in ("csv", "json"):
        steps[f"export_{fmt}"] = shop("export", fmt, "--period", "2025-Q1")
    return Story(shop, steps, before, after, state_before, state_after, gateway_after_run,
                 gateway_after_second)


# ------------------------------------------------------------------ operating the shop


def test_every_step_succeeds_with_nothing_on_standard_error(story: Story) -> None:
    assert {name: (r.code, r.err) for name, r in story.steps.items()} == dict.fromkeys(
        story.steps, (0, ""))


def test_init_on_a_store_the_library_created_has_nothing_to_do(story: Story) -> None:
    latest = SQLITE_MIGRATIONS[-1].version
    assert f"is up to date (schema migration {latest}); nothing to do" in story.steps["init"].out


def test_agreements_lists_what_was_signed(story: Story) -> None:
    rows = story.steps["agreements"].json()["agreements"]
    assert [(r["agreement_id"], r["state"], r["signed_on"]) for r in rows] == [
        ("agr-1", "active", "2025-01-15"), ("agr-2", "active", "2025-01-15")]


def test_complete_records_who_when_and_the_evidence(story: Story) -> None:
    a = story.shop.load("agr-1")
    (done,) = a.completion_records
    assert (done.milestone_id, done.completed_on, done.completed_by, done.evidence) == (
        "design", date(2025, 2, 20), "ann", "client sign-off")


def test_a_dry_run_writes_nothing_and_charges_nothing(story: Story) -> None:
    assert story.after_dry_run == story.before_dry_run
    assert story.state_after_dry_run == story.state_before_dry_run


def test_a_dry_run_shows_unnumbered_drafts_and_the_charges_it_would_make(story: Story) -> None:
    dry = story.steps["dry_run"].json()
    # Everything due on one agreement goes on one invoice: agr-1's kickoff and design.
    assert (dry["dry_run"], dry["agreements"]) == (True, ["agr-1", "agr-2"])
    assert [(i["agreement_id"], i["number"], sorted(ln["item_id"] for ln in i["lines"]),
             Money.from_json(i["total"])) for i in dry["invoices"]] == [
        ("agr-1", None, ["design", "kickoff"], KICKOFF + DESIGN),
        ("agr-2", None, ["kickoff"], KICKOFF)]
    assert [(c["agreement_id"], c["amount"]) for c in dry["charges"]] == [
        (i["agreement_id"], i["total"]) for i in dry["invoices"]]


def test_the_run_does_what_the_dry_run_said(story: Story) -> None:
    dry, run = story.steps["dry_run"].json(), story.steps["run"].json()
    assert sorted((i["agreement_id"], i["total"]["amount"]) for i in run["invoices"]) == sorted(
        (i["agreement_id"], i["total"]["amount"]) for i in dry["invoices"])


def test_the_run_numbers_invoices_without_gaps_in_the_firms_sequence(story: Story) -> None:
    run = story.steps["run"].json()
    numbers = [i["number"] for i in run["invoices"]]
    assert numbers == [f"INV-{n:06d}" for n in range(1, len(numbers) + 1)]
    store = story.shop.store()
    try:
        records = store.invoices(FirmId(FIRM))
    finally:
        store.close()  # type: ignore[attr-defined]
    assert [(r.number, r.invoice_id) for r in records] == [
        (n, i["id"]) for n, i in enumerate(run["invoices"], 1)]


def test_the_run_charged_each_invoice_once_through_the_saved_gateway(story: Story) -> None:
    run = story.steps["run"].json()
    charges = story.gateway_after_run["charges"]
    assert sorted((c["invoice_id"], c["amount"]["amount"]) for c in charges) == sorted(
        (i["id"], i["total"]["amount"]) for i in run["invoices"])
    assert [c["status"] for c in run["charges"]] == ["succeeded"] * len(run["invoices"])


def test_a_second_run_bills_and_charges_nothing(story: Story) -> None:
    again = story.steps["run_again"].json()
    assert (again["invoices"], again["charges"], again["problems"]) == ([], [], [])
    assert story.gateway_after_second_run == story.gateway_after_run


def test_progress_is_recorded_against_the_obligation(story: Story) -> None:
    a = story.shop.load("agr-2")
    assert (a.progress("work"), a.estimate("work")) == (Decimal(40), Decimal(100))


def test_recognise_posts_the_revenue_once(story: Story) -> None:
    first, again = story.steps["recognise"].json(), story.steps["recognise_again"].json()
    store = story.shop.store()
    try:
        posted = [e.to_json() for e in store.entries() if e.obligation_id is not None]
    finally:
        store.close()  # type: ignore[attr-defined]
    assert sorted(first["entries"], key=lambda e: e["id"]) == sorted(posted,
                                                                     key=lambda e: e["id"])
    assert {e["obligation_id"] for e in first["entries"]} == {"package", "work"}
    assert (again["entries"], again["problems"]) == ([], [])


def _positions(shop: Shop) -> Any:
    store = shop.store()
    try:
        return contract_positions(store.entries(), date(2025, 2, 28), "USD")
    finally:
        store.close()  # type: ignore[attr-defined]


def test_report_json_is_the_librarys_table(story: Story) -> None:
    doc = json.loads(story.steps["report_json"].out)
    table = _positions(story.shop)
    assert doc == {"title": table.title, "rows": table.to_records()}


def test_report_csv_is_the_librarys_table(story: Story) -> None:
    assert story.steps["report_csv"].out == _positions(story.shop).to_csv()


def test_report_table_has_a_line_per_contract(story: Story) -> None:
    lines = story.steps["report_table"].out.splitlines()
    table = _positions(story.shop)
    assert lines[0] == table.title
    assert [ln.split()[0] for ln in lines[2:]] == [r.agreement_id for r in table]


def _entries_of_q1(shop: Shop) -> list[Any]:
    q1 = Period(date(2025, 1, 1), date(2025, 4, 1))
    store = shop.store()
    try:
        return sorted((e for e in store.entries() if q1.start <= e.posted_on < q1.end),
                      key=lambda e: (e.posted_on, e.id))
    finally:
        store.close()  # type: ignore[attr-defined]


def test_export_json_holds_every_entry_of_the_period(story: Story) -> None:
    doc = json.loads(story.steps["export_json"].out)
    assert doc == {"period": {"start": "2025-01-01", "end": "2025-04-01"},
                   "entries": [e.to_json() for e in _entries_of_q1(story.shop)]}


def test_export_csv_has_a_balanced_row_per_journal_line(story: Story) -> None:
    rows = list(csv.DictReader(io.StringIO(story.steps["export_csv"].out)))
    entries = _entries_of_q1(story.shop)
    assert len(rows) == sum(len(e.lines) for e in entries) > 0
    for e in entries:
        mine = [r for r in rows if r["entry_id"] == e.id]
        debits = Money.total((Money(r["debit"], r["currency"]) for r in mine if r["debit"]),
                             currency="USD")
        credits = Money.total((Money(r["credit"], r["currency"]) for r in mine if r["credit"]),
                              currency="USD")
        assert debits == credits == e.total


# ------------------------------------------------------------------ exit statuses and errors


def one_line(text: str) -> str:
    assert text.count("\n") == 1, text
    assert text.endswith("\n")
    assert "Traceback" not in text
    assert "datetime." not in text
    return text.strip()


def test_a_bad_date_is_a_usage_error_on_one_line(shop: Shop) -> None:
    r = shop("--firm", FIRM, "run", "--as-of", "31/01/2025")
    assert (r.code, r.out) == (2, "")
    assert one_line(r.err) == ("milestonebill run: error: argument --as-of: must be an ISO date "
                               "such as 2025-01-31 (got '31/01/2025') (see 'milestonebill run "
                               "--help')")


def test_the_end_of_the_calendar_is_refused_not_a_traceback(shop: Shop) -> None:
    r = shop("recognise", "--as-of", "9999-12-31")
    assert r.code == 2
    assert "must be a date from 1900-01-01 to 2999-12-31 (got '9999-12-31')" in one_line(r.err)


def test_an_unknown_agreement_is_refused_with_status_1(shop: Shop) -> None:
    r = shop("show", "agr-nope")
    assert (r.code, one_line(r.err)) == (
        1, "milestonebill show: error: no agreement 'agr-nope' in the store")


def test_an_id_that_is_not_one_is_a_usage_error(shop: Shop) -> None:
    r = shop("show", " agr-1")
    assert r.code == 2
    assert "argument AGREEMENT: must be an id" in one_line(r.err)


def test_a_store_that_is_not_there_is_status_3_and_never_shows_a_password(shop: Shop) -> None:
    r = milestonebill_cmd(*shop.unreachable(), "agreements", cwd=shop.tmp)
    assert (r.code, r.out) == (3, "")
    line = one_line(r.err)
    assert line.startswith("milestonebill agreements: error: ")
    assert "s3cr3t-pw" not in line


def test_a_billing_run_needs_the_firm(shop: Shop) -> None:
    r = shop("run", "--as-of", "2025-02-28")
    assert r.code == 2
    assert "give --firm ID (or set MILESTONEBILL_FIRM)" in one_line(r.err)


def test_json_errors_name_the_field_and_the_value_as_typed(shop: Shop) -> None:
    r = shop("--json", "report", "rollforward", "--period", "2025-13")
    assert (r.code, r.out) == (2, "")
    one_line(r.err)
    err = r.error()
    assert (err["type"], err["exit_code"], err["field"], err["got"]) == (
        "UsageError", 2, "--period", "2025-13")
    assert err["expected"].startswith("a period such as 2025-03")


def test_json_errors_of_refusals_carry_their_type(shop: Shop) -> None:
    r = shop("--json", "progress", "agr-1", "work", "5", "--on", "2025-01-20")
    assert (r.code, r.out) == (1, "")
    err = r.error()
    assert (err["type"], err["field"], err["got"]) == ("ValidationError", "obligation_id", "work")


def test_version_is_the_packages() -> None:
    from importlib.metadata import version

    r = milestonebill_cmd("--version")
    assert (r.code, r.out) == (0, f"milestonebill {version('milestonebill')}\n")
    assert milestonebill_cmd("--json", "--version").out == (
        json.dumps({"version": version("milestonebill")}, indent=2) + "\n")


def test_a_run_that_cannot_finish_an_agreement_exits_1_and_says_which(
        fresh_shop: Shop) -> None:
    fresh_shop.seed(detach=("agr-2",))
    r = fresh_shop("--firm", FIRM, "--json", "run", "--as-of", "2025-01-31")
    assert r.code == 1
    run = r.json()
    assert [p["agreement_id"] for p in run["problems"]] == ["agr-2"]
    assert [i["agreement_id"] for i in run["invoices"]] == ["agr-1", "agr-2"]
    assert [(c["agreement_id"], c["status"]) for c in run["charges"]] == [
        ("agr-1", "succeeded"), ("agr-2", "failed_retryable")]


def test_reconcile_finishes_a_charge_the_gateway_left_unanswered(fresh_shop: Shop) -> None:
    # The Biller tries a retryable failure three times (same key) before leaving it.
    fresh_shop.seed(script=(Scripted.fail_retryably("gateway timeout"),) * 3)
    first = fresh_shop("--firm", FIRM, "--json", "run", "--as-of", "2025-01-20")
    assert first.code == 0
    assert [(c["agreement_id"], c["status"]) for c in first.json()["charges"]] == [
        ("agr-1", "failed_retryable"), ("agr-2", "succeeded")]
    done = fresh_shop("--firm", FIRM, "--json", "reconcile", "--grace", "0")
    assert done.code == 0
    assert [(c["agreement_id"], c["attempt"], c["status"]) for c in done.json()["reconciled"]] \
        == [("agr-1", 1, "succeeded")]
    charges = fresh_shop.gateway().charges
    assert sorted(c.agreement_id for c in charges) == ["agr-1", "agr-2"]
    again = fresh_shop("--firm", FIRM, "--json", "reconcile", "--grace", "0")
    assert (again.code, again.json()["reconciled"]) == (0, [])


def test_recognising_a_day_already_closed_is_refused_per_agreement(story: Story) -> None:
    r = story.shop("--json", "recognise", "--as-of", "2025-02-01")
    assert r.code == 1
    problems = r.json()["problems"]
    assert [p["agreement_id"] for p in problems] == ["agr-1", "agr-2"]
    assert problems[0]["message"] == ("'as_of' must be on or after the last recognition for "
                                      "'agr-1' (2025-02-28) (got 2025-02-01)")
    text = story.shop("recognise", "--as-of", "2025-02-01")
    assert (text.code, text.err) == (1, "")
    assert "(got 2025-02-01)" in text.out
    assert "datetime" not in text.out


def test_init_creates_a_store_once(fresh_shop: Shop) -> None:
    first, again = fresh_shop("--json", "init"), fresh_shop("--json", "init")
    assert (first.code, again.code) == (0, 0)
    assert (first.json()["applied"], again.json()["applied"]) == (
        [m.version for m in SQLITE_MIGRATIONS], [])
    assert fresh_shop("--json", "agreements").json() == {"agreements": []}


def test_a_command_before_init_says_to_run_it(fresh_shop: Shop) -> None:
    r = fresh_shop("agreements")
    assert r.code == 3
    assert "run 'milestonebill init' first" in one_line(r.err)


@pytest.mark.parametrize(("content", "says"), [
    (b'{"format": "\xff\xfe"}', "not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    (b'{"format": "milestonebill.memory-gateway/1", "calls": 1' + b"0" * 5000 + b"}",
     "not valid JSON"),
    (b'{"format": "milestonebill.memory-gateway/1", "calls": -1}',
     "'state.calls' must be a whole number >= 0 (got -1)"),
])
def test_a_damaged_gateway_state_file_is_status_3_on_one_line(
        fresh_shop: Shop, content: bytes, says: str) -> None:
    fresh_shop.seed()
    fresh_shop.state.write_bytes(content)
    r = fresh_shop("--firm", FIRM, "run", "--as-of", "2025-01-31")
    assert r.code == 3
    assert says in one_line(r.err)
    assert fresh_shop.state.read_bytes() == content

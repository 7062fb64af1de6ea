"""``milestonebill demo``: the offline end-to-end walk a newcomer runs first."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from milestonebill.cli import main
from milestonebill.cli.engagement import EXAMPLE_ENGAGEMENT, Engagement, load_engagement
from milestonebill.money import Money
from milestonebill.stores.base import FirmId
from milestonebill.stores.sqlite import SQLiteStore

FIRM = FirmId("demo-firm")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["demo", *argv], out=out)
    return code, out.getvalue()


def run_json(db: Path, *argv: str) -> dict[str, Any]:
    code, text = run("--db", str(db), "--json", *argv)
    assert code == 0
    data: dict[str, Any] = json.loads(text)
    return data


def example_json() -> dict[str, Any]:
    text = resources.files("milestonebill").joinpath(EXAMPLE_ENGAGEMENT).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def example() -> Engagement:
    return load_engagement(example_json())


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "demo.db"


@pytest.fixture(scope="module")
def first(db: Path) -> dict[str, Any]:
    return run_json(db)


@pytest.fixture(scope="module")
def second(db: Path, first: dict[str, Any]) -> dict[str, Any]:
    return run_json(db)


@pytest.fixture
def store(db: Path, second: dict[str, Any]) -> Iterator[SQLiteStore]:
    with SQLiteStore(db) as s:
        yield s


def money(doc: Any, report: dict[str, Any]) -> Money:
    """A money value of the report, which must be in the report's currency."""
    m = Money.from_json(doc)
    assert m.currency.code == report["currency"]
    return m


def dec(doc: Any) -> Decimal:
    """The amount of a money value of the report."""
    return Money.from_json(doc).amount


# ------------------------------------------------------------------ the first run


def test_first_run_issues_and_charges_on_a_new_file(first: dict[str, Any]) -> None:
    assert first["db_reused"] is False
    assert first["this_run"]["invoices_issued"] == len(first["invoices"]) > 0
    assert first["this_run"]["gateway_charges"] == len(first["invoices"])
    assert first["this_run"]["problems"] == []


def test_invoice_numbers_are_gap_free(first: dict[str, Any]) -> None:
    numbers = [i["number"] for i in first["invoices"]]
    assert numbers == [f"INV-{n:06d}" for n in range(1, len(numbers) + 1)]
    credit_numbers = [c["number"] for c in first["credit_notes"]]
    assert credit_numbers == [f"CN-{n:06d}" for n in range(1, len(credit_numbers) + 1)]


def test_store_numbers_match_the_report(first: dict[str, Any], store: SQLiteStore) -> None:
    records = store.invoices(FIRM)
    assert [r.number for r in records] == list(range(1, len(first["invoices"]) + 1))
    assert [r.invoice_id for r in records] == [i["id"] for i in first["invoices"]]


def test_milestone_invoices_match_the_schedule(first: dict[str, Any]) -> None:
    amounts = example().schedule.milestone_amounts()
    billed = {ln["item"][2:]: money(ln["amount"], first)
              for inv in first["invoices"] for ln in inv["lines"] if ln["item"].startswith("m:")}
    assert billed == dict(amounts)


def test_retainer_before_the_amendment_matches_the_schedule(first: dict[str, Any]) -> None:
    eng = example()
    assert eng.signed_on is not None
    cut = date.fromisoformat(first["amendment"]["as_of"])
    expected = {
        f"r:{c.item_id}:{c.period.start.isoformat()}": c.amount
        for c in eng.schedule.charges_between(eng.signed_on, cut, signed_on=eng.signed_on,
                                              completions=eng.completions)
        if c.period is not None
    }
    billed = {ln["item"]: money(ln["amount"], first)
              for inv in first["invoices"] for ln in inv["lines"]
              if ln["item"].startswith("r:") and date.fromisoformat(inv["issued_on"]) < cut}
    assert billed == expected
    assert len(expected) >= 3


def test_invoice_totals_add_up_to_the_billing_position(first: dict[str, Any]) -> None:
    totals = Money.total((money(i["total"], first) for i in first["invoices"]),
                         currency=first["currency"])
    credits = Money.total((money(c["total"], first) for c in first["credit_notes"]),
                          currency=first["currency"])
    pos = first["position"]
    assert (totals, credits) == (money(pos["invoiced"], first), money(pos["credited"], first))
    assert totals - credits + money(pos["scheduled"], first) == money(pos["contract_value"], first)
    assert pos["balanced"] is True


def test_one_soft_decline_is_retried_and_succeeds(first: dict[str, Any]) -> None:
    declined = [c for c in first["charges"] if c["status"] == "declined"]
    assert [(c["attempt"], c["decline_code"]) for c in declined] == [(1, "insufficient_funds")]
    (failed,) = declined
    retry = [c for c in first["charges"]
             if c["invoice"] == failed["invoice"] and c["attempt"] == 2]
    assert [(c["status"], c["date"]) for c in retry] == [("succeeded", failed["retry_on"])]
    assert failed["idempotency_key"] != retry[0]["idempotency_key"]


def test_amendment_preview_is_exact_and_billed_as_previewed(first: dict[str, Any]) -> None:
    am = first["amendment"]
    eng = example()
    (retainer,) = eng.schedule.recurring
    new_price = retainer.amount.amount * Decimal("1.2")
    # 2025-04-30 .. 2025-05-31 is 31 days; the new price runs from the 11th.
    unused = Decimal(20) / Decimal(31)
    used = Decimal(11) / Decimal(31)
    cent = Decimal("0.01")
    credit = (retainer.amount.amount * unused).quantize(cent, ROUND_HALF_UP)
    # The period's two pieces are rounded together: the charge is what the
    # day-weighted price of the whole period leaves after the first piece.
    kept = (retainer.amount.amount * used).quantize(cent, ROUND_HALF_UP)
    period = (retainer.amount.amount * used + new_price * unused).quantize(cent, ROUND_HALF_UP)
    charge = period - kept
    assert kept + credit == retainer.amount.amount
    assert am["as_of"] == "2025-05-11"
    assert [dec(c["amount"]) for c in am["charges"]] == [charge]
    assert [dec(c["amount"]) for c in am["credits"]] == [credit]
    assert am["credits"][0]["adjusts"] in [i["number"] for i in first["invoices"]]
    assert am["billed_as_previewed"] is True
    assert (len(am["invoices"]), len(am["credit_notes"])) == (1, 1)


def test_credit_on_the_paid_invoice_pays_the_next_invoice(first: dict[str, Any]) -> None:
    eng = example()
    (retainer,) = eng.schedule.recurring
    # As in the preview: 20 of the period's 31 days at the old price, credited.
    cent = Decimal("0.01")
    credit = (retainer.amount.amount * Decimal(20) / Decimal(31)).quantize(cent, ROUND_HALF_UP)
    (cn,) = first["credit_notes"]
    assert dec(cn["total"]) == credit
    by_number = {i["number"]: i for i in first["invoices"]}
    credited = by_number[cn["credits"]]
    paid_before = [c for c in first["charges"]
                   if c["invoice"] == cn["credits"] and c["status"] == "succeeded"]
    assert [dec(c["amount"]) for c in paid_before] == [dec(credited["total"])]
    # The credited invoice owes nothing back: its over-credit became customer credit.
    assert dec(credited["balance"]) == 0
    # The next invoice issued after the credit note takes all of it.
    numbers = [i["number"] for i in first["invoices"]]
    after = [i for i in first["invoices"] if i["issued_on"] >= cn["issued_on"]
             and numbers.index(i["number"]) > numbers.index(cn["credits"])]
    nxt = after[0]
    assert dec(nxt["credit_applied"]) == credit
    assert [i["number"] for i in first["invoices"] if dec(i["credit_applied"])] == \
        [nxt["number"]]
    charged = [dec(c["amount"]) for c in first["charges"]
               if c["invoice"] == nxt["number"] and c["status"] == "succeeded"]
    assert charged == [dec(nxt["total"]) - credit]
    cc = first["customer_credit"]
    assert (dec(cc["added"]), dec(cc["applied"]), dec(cc["outstanding"])) == \
        (credit, credit, Decimal(0))
    assert all(dec(i["balance"]) == 0 for i in first["invoices"])
    # Everything is paid: the money charged is what was invoiced less credited.
    succeeded = sum(dec(c["amount"]) for c in first["charges"] if c["status"] == "succeeded")
    invoiced = sum(dec(i["total"]) for i in first["invoices"])
    assert succeeded == invoiced - credit
    assert dec(first["ledger"]["balances"]["customer_credit"]) == 0
    assert dec(first["ledger"]["balances"]["receivable"]) == 0
    kinds = first["outbox"]["by_kind"]
    assert (kinds["credit.added"], kinds["credit.applied"]) == (1, 1)


def _period(text: str) -> tuple[date, date]:
    start, end = text.split("..")
    return date.fromisoformat(start), date.fromisoformat(end)


def test_month_end_recognition_leaves_exactly_the_unearned_service_as_liability(
        first: dict[str, Any]) -> None:
    until = date.fromisoformat(first["until"])
    cent = Decimal("0.01")

    def unearned(lines: list[dict[str, Any]]) -> Decimal:
        # Straight line by day: earned = amount x days rendered / days, rendered
        # through the end of ``until``.
        total = Decimal(0)
        for ln in lines:
            if ln["period"] is None:
                continue
            start, end = _period(ln["period"])
            days = (end - start).days
            done = min(max((until - start).days + 1, 0), days)
            amount = dec(ln["amount"])
            total += amount - (amount * done / days).quantize(cent, ROUND_HALF_UP)
        return total

    deferred = unearned([ln for i in first["invoices"] for ln in i["lines"]]) - \
        unearned([ln for c in first["credit_notes"] for ln in c["lines"]])
    assert deferred > 0  # the last retainer period runs past ``until``
    led = first["ledger"]
    assert dec(led["balances"]["deferred_revenue"]) == -deferred
    books = led["books"]
    assert dec(books["contract_liability"]) == deferred
    assert dec(books["contract_asset"]) == 0
    assert books["last"] == until.isoformat()
    # Revenue + contract liability = what was invoiced net of credits (no tax here).
    net = sum(dec(i["total"]) for i in first["invoices"]) - \
        sum(dec(c["total"]) for c in first["credit_notes"])
    assert dec(books["revenue"]) + deferred == net
    # The package's price is all earned by ``until`` (every deliverable is).
    assert dec(books["by_obligation"]["package"]) == Decimal("48000.00")
    # One revenue entry per obligation per month-end on which it earned something.
    assert books["revenue_entries"] == first["this_run"]["recognition_entries"]


def test_the_deposit_is_a_contract_liability_at_the_first_close(first: dict[str, Any]) -> None:
    close = first["ledger"]["books"]["first_close"]
    assert (close["on"], dec(close["billed"]), dec(close["revenue"]),
            dec(close["contract_liability"])) == (
        "2025-01-31", Decimal("12000.00"), Decimal(0), Decimal("12000.00"))


def test_ledger_balances_debits_equal_credits(first: dict[str, Any]) -> None:
    led = first["ledger"]
    assert led["debits"] == led["credits"]
    assert sum(dec(v) for v in led["balances"].values()) == 0
    assert led["balanced"] is True
    fees = sum(dec(c["fee"]) for c in first["charges"] if c["fee"])
    assert dec(led["balances"]["gateway_fees"]) == fees


def test_ledger_in_the_store_is_balanced(first: dict[str, Any], store: SQLiteStore) -> None:
    lines = [ln for e in store.entries(agreement_id=first["agreement_id"]) for ln in e.lines]
    assert sum(ln.signed_minor for ln in lines) == 0
    assert len(lines) > 0


def test_outbox_counts_every_notification(first: dict[str, Any]) -> None:
    ob = first["outbox"]
    assert ob["notifications"] == sum(ob["by_kind"].values())
    assert ob["by_kind"]["invoice.issued"] == len(first["invoices"])
    assert ob["by_kind"]["payment.failed"] == 1


# ------------------------------------------------------------------ the second run


def test_rerun_on_the_same_db_issues_nothing_new(first: dict[str, Any],
                                                 second: dict[str, Any]) -> None:
    assert second["db_reused"] is True
    assert second["this_run"] == {"invoices_issued": 0, "credit_notes_issued": 0,
                                  "charge_attempts": 0, "gateway_charges": 0,
                                  "recognition_entries": 0, "problems": []}


def test_rerun_reports_the_same_books(first: dict[str, Any], second: dict[str, Any]) -> None:
    for key in ("invoices", "credit_notes", "charges", "ledger", "outbox", "amendment",
                "timeline", "agreement_id", "customer_credit"):
        assert second[key] == first[key], key


def test_rerun_leaves_the_store_unchanged(first: dict[str, Any], store: SQLiteStore) -> None:
    assert len(store.invoices(FIRM)) == len(first["invoices"])
    assert store.unfinished_attempts() == []


# ------------------------------------------------------------------ output


def test_json_money_is_amount_and_currency(first: dict[str, Any]) -> None:
    # The library's one JSON form of money, as in events and `schedule --json`.
    inv = first["invoices"][0]
    assert inv["total"] == {"amount": "12000.00", "currency": "USD"}
    assert all(set(v) == {"amount", "currency"} and isinstance(v["amount"], str)
               for v in first["ledger"]["balances"].values())
    fees = [c["fee"] for c in first["charges"] if c["fee"] is not None]
    assert fees
    assert all(Money.from_json(f).currency.code == "USD" for f in fees)


def test_text_report_shows_the_same_invoices(tmp_path: Path) -> None:
    code, text = run("--db", str(tmp_path / "t.db"))
    data = run_json(tmp_path / "t.db")
    assert code == 0
    for inv in data["invoices"]:
        assert f"{inv['number']}  {inv['issued_on']}" in text
    assert f"debits {dec(data['ledger']['debits']):,} = credits" in text
    assert "balanced" in text
    assert str(tmp_path / "t.db") in text


def test_output_is_deterministic(tmp_path: Path) -> None:
    a = run_json(tmp_path / "a.db")
    b = run_json(tmp_path / "b.db")
    a.pop("db")
    b.pop("db")
    assert a == b


def test_default_db_is_a_fresh_temporary_directory(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = run_json_default()
    path = Path(data["db"])
    assert path.exists()
    assert path.parent.parent == tmp_path
    assert path.parent.name.startswith("milestonebill-demo-")


def run_json_default() -> dict[str, Any]:
    code, text = run("--json")
    assert code == 0
    data: dict[str, Any] = json.loads(text)
    return data


def test_file_without_recurring_charges_runs_without_amendment(tmp_path: Path) -> None:
    f = tmp_path / "small.json"
    f.write_text(json.dumps({
        "engagement": "Audit", "client": "Initech", "signed_on": "2024-02-29",
        "completions": {"report": "2024-03-31"},
        "schedule": {"currency": "KWD", "milestones": [
            {"id": "start", "name": "Start", "amount": {"amount": "1000.500", "currency": "KWD"}, "trigger": "on_signing"},
            {"id": "report", "name": "Report",
             "amount": {"amount": "2000.250", "currency": "KWD"}}]},
    }), encoding="utf-8")
    data = run_json(tmp_path / "s.db", "--file", str(f))
    assert data["amendment"] is None
    assert [i["total"] for i in data["invoices"]] == [
        {"amount": "1000.500", "currency": "KWD"}, {"amount": "2000.250", "currency": "KWD"}]
    assert data["ledger"]["balanced"] is True


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("content", "expected"), [
    (None, "cannot read"),
    ('{"schedule": {"currency": "USD"', "not valid JSON"),
    ('{"schedule": {"currency": "USD"}, "colour": "red"}', "'colour'"),
    ('{"signed_on": "2025-02-01", "completions": {"m": "2025-01-01"}, "schedule": '
     '{"currency": "USD", "milestones": [{"id": "m", "name": "M", '
     '"amount": {"amount": "1.00", "currency": "USD"}}]}}',
     "on or after signing"),
])
def test_bad_file_exits_1_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             content: str | None, expected: str) -> None:
    f = tmp_path / "engagement.json"
    if content is not None:
        f.write_text(content, encoding="utf-8")
    db = tmp_path / "demo.db"
    code, out = run("--file", str(f), "--db", str(db))
    err = capsys.readouterr().err
    assert (code, out) == (1, "")
    assert expected in err
    assert str(f) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == (["engagement.json"] if content else [])


def test_db_in_a_missing_directory_exits_1(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("--db", str(tmp_path / "nope" / "demo.db"))
    assert code == 1
    assert "'--db'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_schedule_command_still_works() -> None:
    out = io.StringIO()
    assert main(["schedule"], out=out) == 0
    assert out.getvalue().splitlines()[-1].endswith("USD")


def test_a_later_until_resumes_without_billing_twice(tmp_path: Path) -> None:
    db = tmp_path / "resume.db"
    early = run_json(db, "--until", "2025-03-31")
    full = run_json(db)
    fresh = run_json(tmp_path / "fresh.db")
    assert 0 < early["this_run"]["invoices_issued"] < len(full["invoices"])
    assert full["this_run"]["invoices_issued"] == len(full["invoices"]) - len(early["invoices"])
    for key in ("invoices", "credit_notes", "ledger", "amendment"):
        assert full[key] == fresh[key], key

    def attempts(report: dict[str, Any]) -> list[dict[str, Any]]:
        # The in-memory gateway numbers its payments per process.
        return [{k: v for k, v in c.items() if k != "gateway_ref"} for c in report["charges"]]

    assert attempts(full) == attempts(fresh)


def test_two_engagements_share_one_store_and_one_number_sequence(tmp_path: Path) -> None:
    f = tmp_path / "other.json"
    f.write_text(json.dumps({
        "engagement": "Tax filing", "client": "Globex", "signed_on": "2025-01-02",
        "schedule": {"currency": "USD", "milestones": [
            {"id": "fee", "name": "Fee", "amount": {"amount": "500.00", "currency": "USD"},
             "trigger": "on_signing"}]},
    }), encoding="utf-8")
    db = tmp_path / "shared.db"
    first = run_json(db)
    other = run_json(db, "--file", str(f))
    assert other["agreement_id"] != first["agreement_id"]
    assert [i["number"] for i in other["invoices"]] == [f"INV-{len(first['invoices']) + 1:06d}"]
    assert other["this_run"]["invoices_issued"] == 1
    # A fee on signing with nothing to deliver is an advance: a contract liability.
    assert other["ledger"]["balances"]["deferred_revenue"] == {"amount": "-500.00",
                                                               "currency": "USD"}
    assert "revenue" not in other["ledger"]["balances"]


def refused_example(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    change: Callable[[dict[str, Any]], object]) -> tuple[Path, str]:
    """Run the demo on the example changed by ``change``; it must exit 1 and write
    nothing.  The file and what was printed on stderr."""
    data = example_json()
    change(data)
    f = tmp_path / "changed.json"
    f.write_text(json.dumps(data), encoding="utf-8")
    code, out = run("--file", str(f), "--db", str(tmp_path / "demo.db"))
    assert (code, out) == (1, "")
    assert [p.name for p in tmp_path.iterdir()] == ["changed.json"]
    return f, capsys.readouterr().err


def test_file_without_signed_on_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f, err = refused_example(tmp_path, capsys, lambda d: d.pop("signed_on"))
    assert f"--file {f}: 'signed_on' is missing" in err


def test_file_errors_show_dates_as_iso_text(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    f, err = refused_example(tmp_path, capsys,
                             lambda d: d["schedule"]["milestones"][1].update(due_on="2025-03-01"))
    assert f"--file {f}: 'schedule.milestones[1].due_on' must be None" in err
    assert "(got 2025-03-01)" in err
    assert "datetime" not in err

"""``milestonebill export quickbooks|xero|quickbooks-csv|xero-csv`` end to end.

A firm's books are written to a real SQLite file through the library (the
accounting world: tax, fees, a refund, customer credit); the command, run in a
subprocess, must print exactly what the library exports for the same books
and map, link QuickBooks payments once the sync journal in the same file has
sent their invoices, and refuse a missing or incomplete map before writing
anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

import milestonebill
from milestonebill.engine import StoreBooks
from milestonebill.integrations.accounts import AccountMap
from milestonebill.integrations.csv import quickbooks_journal_csv, xero_journal_csv
from milestonebill.integrations.quickbooks import quickbooks_export
from milestonebill.integrations.sync import InMemorySink, sync
from milestonebill.integrations.xero import xero_export
from milestonebill.ledger import Account
from milestonebill.periods import Period
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.accounting import accounting_world, example_account_map

SRC = str(Path(milestonebill.__file__).resolve().parent.parent)
MARCH = Period.month(2026, 3)


@attrs.frozen
class Done:
    code: int
    out: str
    err: str


def command(*argv: str) -> Done:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILESTONEBILL_", "STRIPE_"))}
    env["PYTHONPATH"] = SRC
    ran = subprocess.run([sys.executable, "-m", "milestonebill", *argv], capture_output=True,
                         text=True, env=env, timeout=120, check=False)
    return Done(ran.returncode, ran.stdout, ran.stderr)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The SQLite file of the firm's books and its account map file."""
    tmp = tmp_path_factory.mktemp("books")
    db = tmp / "books.db"
    with SQLiteStore(db) as store:
        accounting_world("EUR", store=store)
    path = tmp / "accounts.json"
    path.write_text(json.dumps(example_account_map("EUR").to_json()), encoding="utf-8")
    return db, path


def export(shop: tuple[Path, Path], fmt: str, *extra: str) -> Done:
    db, accounts = shop
    return command("--db", str(db), "export", fmt, "--period", "2026-03", "--accounts",
                   str(accounts), *extra)


def test_each_accounting_format_prints_what_the_library_exports(shop: tuple[Path, Path]) -> None:
    amap = example_account_map("EUR")
    with SQLiteStore(shop[0]) as store:
        books = StoreBooks(store)
        expected = {"quickbooks": quickbooks_export(books, MARCH, amap).text(),
                    "xero": xero_export(books, MARCH, amap).text(),
                    "quickbooks-csv": quickbooks_journal_csv(books, MARCH, amap),
                    "xero-csv": xero_journal_csv(books, MARCH, amap)}
    got = {fmt: export(shop, fmt) for fmt in expected}
    assert {fmt: (d.code, d.out) for fmt, d in got.items()} == {
        fmt: (0, text) for fmt, text in expected.items()}
    kinds = {d["kind"] for d in json.loads(got["xero"].out)["documents"]}
    assert kinds == {"Invoice", "CreditNote", "Payment", "ManualJournal"}


def test_quickbooks_payments_are_linked_once_the_sync_journal_has_sent_their_invoices(
        shop: tuple[Path, Path], tmp_path: Path) -> None:
    db = tmp_path / "synced.db"
    db.write_bytes(shop[0].read_bytes())
    with SQLiteStore(db) as store:
        sync(quickbooks_export(StoreBooks(store), MARCH, example_account_map("EUR")),
             InMemorySink(prefix="qb"), store)
        sent = {r.source_id: r.target_id for r in store.syncs("quickbooks")}
    done = command("--db", str(db), "export", "quickbooks", "--period", "2026-03",
                   "--accounts", str(shop[1]))
    payments = [d["body"] for d in json.loads(done.out)["documents"] if d["kind"] == "Payment"]
    assert payments
    assert {p["Line"][0]["LinkedTxn"][0]["TxnId"] for p in payments} <= set(sent.values())


def test_an_accounting_format_without_a_map_is_a_usage_error(shop: tuple[Path, Path]) -> None:
    done = command("--db", str(shop[0]), "--json", "export", "xero", "--period", "2026-03")
    error: dict[str, Any] = json.loads(done.err)["error"]
    assert (done.code, done.out, error["field"]) == (2, "", "--accounts")


def test_a_map_that_lacks_an_account_the_period_posts_is_refused_naming_it(
        shop: tuple[Path, Path], tmp_path: Path) -> None:
    full = example_account_map("EUR").to_json()
    del full["accounts"][Account.GATEWAY_FEES.value]
    path = tmp_path / "partial.json"
    path.write_text(json.dumps(full), encoding="utf-8")
    out = tmp_path / "q.json"
    done = command("--db", str(shop[0]), "--json", "export", "quickbooks", "--period",
                   "2026-03", "--accounts", str(path), "-o", str(out))
    error = json.loads(done.err)["error"]
    assert (done.code, error["field"], out.exists()) == (1, "accounts.gateway_fees", False)
    assert AccountMap.from_json(full).accounts.get(Account.GATEWAY_FEES) is None


def test_a_map_file_that_cannot_be_read_is_named(shop: tuple[Path, Path],
                                                 tmp_path: Path) -> None:
    done = command("--db", str(shop[0]), "--json", "export", "xero-csv", "--period", "2026-03",
                   "--accounts", str(tmp_path / "nowhere.json"))
    error = json.loads(done.err)["error"]
    assert (done.code, error["field"], "nowhere.json" in error["message"]) == (
        1, "accounts", True)

"""The example service for real: uvicorn on 127.0.0.1 over a SQLite file, driven with httpx;
and its nightly job run by two processes at once against one database.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import queue
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import milestonebill
from milestonebill.agreement import (
    AgreementId,
    PaymentMethodKind,
    PaymentMethodRef,
    apply,
    complete_milestone,
)
from milestonebill.engine import Biller, FirmId, FixedClock
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.schedule import Milestone, MilestoneId
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import proposal, signed

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FIRM = FirmId("studio")


def _environ(db: Path) -> dict[str, str]:
    """The service's settings, and a path on which it imports this library and examples/."""
    library = Path(milestonebill.__file__).resolve().parents[1]
    given = [str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
             if p]
    path = os.pathsep.join([str(ROOT), str(library), *given])
    return {**os.environ, "PYTHONPATH": path, "MILESTONEBILL_DB": str(db),
            "MILESTONEBILL_FIRM": FIRM, "MILESTONEBILL_GATEWAY": "memory"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    db = tmp_path / "billing.db"
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "examples.service", "--port", str(port)],
                            env=_environ(db), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                output = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"the service exited: {output}")
            with contextlib.suppress(httpx.TransportError):
                if client.get("/reports").status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("the service did not answer within 60 s")
            time.sleep(0.1)
        yield client, db
    finally:
        client.close()
        proc.terminate()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()


def _usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


OFFER = {"id": "prop-web", "client": "Acme Ltd", "currency": "USD",
         "options": [{"id": "site", "name": "Website", "schedule": {
             "currency": "USD", "milestones": [
                 {"id": "deposit", "name": "Deposit", "amount": _usd("2000.00"),
                  "trigger": "on_signing"},
                 {"id": "launch", "name": "Launch", "amount": _usd("5000.00")}]}}]}


def test_a_client_is_signed_billed_and_reported_over_http_into_a_sqlite_file(
        server: tuple[httpx.Client, Path]) -> None:
    client, db = server
    today = datetime.now(UTC).date().isoformat()
    assert client.post("/proposals", json=OFFER).status_code == 201
    onboard = {"option": "site", "signer": "Ada", "customer_reference": "acme",
               "payment_method": {"token": "tok_visa"}}
    signed_ = client.post("/proposals/prop-web/onboard", json=onboard)
    assert (signed_.status_code, signed_.json()["state"]) == (200, "active")
    done = client.post("/agreements/prop-web/milestones/launch/complete",
                       json={"by": "Ada", "event_id": "req-1"}).json()
    (invoice,) = done["billed"]["invoices"]
    assert (invoice["number"], invoice["total"]) == ("INV-000001", _usd("7000.00"))
    assert client.post("/run", json={"as_of": today}).json()["invoices"] == []
    assert client.get("/reports/receivables").json()["rows"] == []
    balances = client.get("/reports/contract-balances").json()["rows"]
    assert [(r["agreement_id"], r["contract_liability"]) for r in balances] == [
        ("prop-web", _usd("7000.00"))]
    bad = client.post("/run", json={"as_of": "31/12/2026"})
    assert (bad.status_code, bad.headers["content-type"]) == (422, "application/problem+json")

    with SQLiteStore(db) as store:
        (record,) = store.invoices(FIRM)
        assert (record.number, record.agreement_id) == (1, "prop-web")
        assert store.balance(Account.CLEARING, currency="USD") == Money("7000.00", "USD")
        assert store.balance(Account.RECEIVABLE, currency="USD") == Money("0.00", "USD")
        assert store.balance(Account.CONTRACT_LIABILITY, currency="USD") == Money(
            "-7000.00", "USD")
        assert sum(m.minor for m in store.balances(currency="USD").values()) == 0
        assert store.unfinished_attempts() == []


def test_the_nightly_entry_point_runs_once_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "billing.db"
    _seed(db, 3)
    cmd = [sys.executable, "-m", "examples.service.nightly", "--as-of", "2026-03-31"]
    first = subprocess.run(cmd, env=_environ(db), cwd=tmp_path, capture_output=True,
                           text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (len(summary["run"]["invoices"]), len(summary["recognition"]["entries"])) == (3, 3)
    again = subprocess.run(cmd, env=_environ(db), cwd=tmp_path, capture_output=True,
                           text=True, timeout=120, check=False)
    assert json.loads(again.stdout)["run"]["invoices"] == []
    bad = subprocess.run(cmd, env={**_environ(db), "MILESTONEBILL_FIRM": ""}, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert (bad.returncode, bad.stdout) == (2, "")
    assert "MILESTONEBILL_FIRM" in bad.stderr


# ---------------------------------------------------------------- several nightly processes

AGREEMENTS = 300


def _seed(db: Path, n: int) -> None:
    """``n`` agreements signed on 2 March 2026, each with its one milestone (100.00)
    delivered that day: due for billing, and earned."""
    work = Milestone(MilestoneId("work"), "Work", amount=Money("100.00", "USD"))
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    clock = FixedClock(at)
    with SQLiteStore(db, clock=clock) as store:
        biller = Biller(store, InMemoryGateway(), clock=clock, firm_id=FIRM)
        with store.transaction():
            for i in range(n):
                card = PaymentMethodRef("memory", f"cus-{i}", f"pm-{i}", PaymentMethodKind.CARD)
                a = signed(proposal([work]), payment_method=card,
                           agreement_id=AgreementId(f"agr-{i:04d}"))
                biller.open(apply(a, complete_milestone(a, work.id, by="Ada", at=at)))


def _night(db: str, start: Any, out: Any) -> None:
    from examples.service.nightly import main

    start.wait()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["--as-of", "2026-03-31"], _environ(Path(db)))
    out.put((status, json.loads(printed.getvalue())))


def test_two_nightly_processes_bill_charge_and_recognise_each_agreement_once(
        tmp_path: Path) -> None:
    db = tmp_path / "billing.db"
    _seed(db, AGREEMENTS)
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_night, args=(str(db), start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    start.set()
    results = []
    for _ in procs:
        with contextlib.suppress(queue.Empty):
            results.append(out.get(timeout=240))
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert [status for status, _ in results] == [0, 0]
    runs = [summary["run"] for _, summary in results]
    charged = Counter(c["invoice_id"] for r in runs for c in r["charges"])
    revenue = [e["id"] for _, s in results for e in s["recognition"]["entries"]]
    with SQLiteStore(db) as store:
        records = store.invoices(FIRM)
        assert sum(len(r["invoices"]) for r in runs) == len(records) == AGREEMENTS
        assert sorted(r.number for r in records) == list(range(1, AGREEMENTS + 1))
        assert charged == Counter({r.invoice_id: 1 for r in records})
        posted = [e.id for e in store.entries() if e.obligation_id is not None]
        assert sorted(revenue) == sorted(posted)
        assert len(set(posted)) == AGREEMENTS
        assert store.balance(Account.REVENUE, currency="USD") == Money("-30000.00", "USD")
        assert sum(m.minor for m in store.balances(currency="USD").values()) == 0
    assert all(r["invoices"] for r in runs)  # both processes billed: the work was shared


def test_a_day_that_is_not_a_month_end_recognises_nothing(tmp_path: Path) -> None:
    db = tmp_path / "billing.db"
    _seed(db, 1)
    from examples.service.nightly import main

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["--as-of", date(2026, 3, 30).isoformat()], _environ(db)) == 0
    assert json.loads(printed.getvalue())["recognition"] is None

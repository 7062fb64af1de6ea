"""``milestonebill --gateway stripe`` in a subprocess against a running localstripe.

The key reaches the command only through ``STRIPE_API_KEY`` (and the server
through ``STRIPE_API_BASE``); it never appears in what the command prints,
whether the server answers or cannot be reached.

localstripe refuses the ``description`` the Biller puts on every
PaymentIntent ("Invoice INV-000001"; Stripe accepts it, see
``test_stripe_request_shapes.py``), so a run through it ends with that
refusal as the agreement's problem: which shows the request reached the
server with the key, and how a refusal is reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import milestonebill
from milestonebill.agreement import (
    AgreementId,
    PackageOption,
    PaymentMethodKind,
    PaymentMethodRef,
    Proposal,
    ProposalId,
    sign,
)
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller
from milestonebill.gateways.base import CustomerRequest, SetupRequest
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import FirmId
from milestonebill.money import Currency, Money
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId, Trigger
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.localstripe import LocalStripe, free_port, localstripe_available

pytestmark = [
    pytest.mark.localstripe,
    pytest.mark.skipif(not localstripe_available(), reason="the localstripe package is not installed"),
]

stripe = pytest.importorskip("stripe")
from milestonebill.gateways.stripe import StripeGateway  # noqa: E402

SRC = str(Path(milestonebill.__file__).resolve().parent.parent)
SIGNED_AT = datetime(2025, 1, 15, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalStripe]:
    try:
        ls = LocalStripe()
        ls.__enter__()
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"localstripe could not start: {exc}")
    try:
        yield ls
    finally:
        ls.__exit__(None, None, None)


def seeded(tmp_path: Path, ls: LocalStripe) -> Path:
    """A store with one agreement whose card was saved at localstripe."""
    gw = StripeGateway(ls.api_key, base_url=ls.base_url, environ={})
    client = stripe.StripeClient(ls.api_key, base_addresses={"api": ls.base_url})
    token = client.v1.payment_methods.create({
        "type": "card",
        "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
    }).id
    customer = gw.create_customer(CustomerRequest(reference=f"cli-{tmp_path.name}")).customer_id
    saved = gw.save_payment_method(SetupRequest(customer, str(token))).payment_method
    assert saved is not None
    schedule = BillingSchedule(currency=Currency.of("USD"), milestones=[
        Milestone(MilestoneId("kickoff"), "Kickoff", amount=Money("420.00", "USD"),
                  trigger=Trigger.ON_SIGNING)])
    proposal = Proposal(ProposalId("p-stripe"), "Initech", Currency.of("USD"),
                        (PackageOption("std", "Standard", schedule),))
    card = PaymentMethodRef("stripe", customer, saved.payment_method_id, PaymentMethodKind.CARD)
    db = tmp_path / "billing.db"
    with SQLiteStore(db) as store:
        Biller(store, InMemoryGateway(), clock=FixedClock(SIGNED_AT), firm_id=FirmId("acme")).open(
            sign(proposal, option="std", signer="Ada", payment_method=card,
                 agreement_id=AgreementId("agr-stripe"), signed_at=SIGNED_AT))
    return db


def milestonebill_cmd(db: Path, env: dict[str, str], *argv: str
                      ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MILESTONEBILL_", "STRIPE_"))}
    return subprocess.run(
        [sys.executable, "-m", "milestonebill", "--db", str(db), "--gateway", "stripe",
         "--firm", "acme", "--json", *argv],
        capture_output=True, text=True, env={**base, "PYTHONPATH": SRC, **env}, timeout=120,
        check=False)


def test_a_run_reaches_stripe_with_the_key_from_the_environment(
        tmp_path: Path, server: LocalStripe) -> None:
    db = seeded(tmp_path, server)
    done = milestonebill_cmd(db, {"STRIPE_API_KEY": server.api_key,
                                  "STRIPE_API_BASE": server.base_url},
                             "run", "--as-of", "2025-01-31")
    assert (done.returncode, done.stderr) == (1, "")
    run = json.loads(done.stdout)
    assert [(i["number"], i["total"]) for i in run["invoices"]] == [
        ("INV-000001", {"amount": "420.00", "currency": "USD"})]
    assert [(p["agreement_id"], p["error"], p["message"]) for p in run["problems"]] == [
        ("agr-stripe", "GatewayError",
         "Stripe refused the request while charging: Unexpected description")]
    assert server.api_key not in done.stdout
    assert not (tmp_path / "billing.db.gateway.json").exists()


def test_without_the_key_in_the_environment_nothing_is_tried(
        tmp_path: Path, server: LocalStripe) -> None:
    db = seeded(tmp_path, server)
    done = milestonebill_cmd(db, {"STRIPE_API_BASE": server.base_url},
                             "run", "--as-of", "2025-01-31")
    assert (done.returncode, done.stdout) == (2, "")
    assert json.loads(done.stderr)["error"]["field"] == "STRIPE_API_KEY"


def test_an_unreachable_stripe_leaves_the_charge_to_retry_and_never_shows_the_key(
        tmp_path: Path, server: LocalStripe) -> None:
    db = seeded(tmp_path, server)
    key = server.api_key
    done = milestonebill_cmd(db, {"STRIPE_API_KEY": key,
                                  "STRIPE_API_BASE": f"http://127.0.0.1:{free_port()}"},
                             "--debug", "run", "--as-of", "2025-01-31")
    run = json.loads(done.stdout)
    assert done.returncode == 0
    assert [c["status"] for c in run["charges"]] == ["failed_retryable"]
    assert "Stripe unavailable while charging" in done.stderr  # --debug shows the warnings
    assert key not in done.stdout + done.stderr
    quiet = milestonebill_cmd(db, {"STRIPE_API_KEY": key,
                                   "STRIPE_API_BASE": f"http://127.0.0.1:{free_port()}"},
                              "run", "--as-of", "2025-01-31")
    assert (quiet.returncode, quiet.stderr) == (0, "")

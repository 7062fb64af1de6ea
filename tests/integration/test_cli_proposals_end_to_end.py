"""From proposal to amended agreement through the ``milestonebill`` command alone.

The real entry point in a subprocess, against a real SQLite file and against
PostgreSQL (``MILESTONEBILL_PG_DSN``), with the in-memory gateway's state
file: ``propose`` (JSON and TOML files), the proposal's life (``proposal
send|view|withdraw``), ``proposals``, ``sign`` (twice: one customer, one
signing), ``amend --preview`` (nothing written), ``amend``, ``approve``,
``import`` (refused, dry run, imported, imported again) and ``schema``.
Expected values come from the files and from the library reading the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from test_cli_end_to_end import (
    BACKENDS,
    FIRM,
    Result,
    Shop,
    make_shop,
    milestonebill_cmd,
    one_line,
)

from milestonebill import formats
from milestonebill.agreement import Agreement, AmendmentStatus, contract_value
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller
from milestonebill.gateways.base import CustomerRequest
from milestonebill.gateways.memory import InMemoryGateway, Scripted
from milestonebill.ids import FirmId, ProposalId
from milestonebill.money import Money
from milestonebill.proposals import ProposalRecord

WEB: dict[str, Any] = {
    "id": "prop-web", "client": "Acme Ltd", "currency": "USD", "valid_until": "2025-03-31",
    "options": [{"id": "site", "name": "Website", "schedule": {
        "currency": "USD",
        "milestones": [
            {"id": "kickoff", "name": "Kickoff", "amount": {"amount": "2000.00",
                                                            "currency": "USD"},
             "trigger": "on_signing"},
            {"id": "design", "name": "Design", "amount": {"amount": "6000.00",
                                                          "currency": "USD"}}],
        "recurring": [{"id": "care", "name": "Care plan",
                       "amount": {"amount": "500.00", "currency": "USD"},
                       "interval": {"unit": "month", "count": 1}, "start": "2025-04-01",
                       "count": 12}]}}],
    "addons": [{"id": "seo", "name": "SEO audit", "schedule": {"currency": "USD", "milestones": [
        {"id": "audit", "name": "Audit", "amount": {"amount": "1500.00", "currency": "USD"}}]}}],
}
BETA_TOML = """\
id = "prop-beta"
client = "Beta GmbH"
currency = "EUR"
valid_until = 2025-04-30
collection = "send_invoice"

[[options]]
id = "audit"
name = "Audit"
schedule.currency = "EUR"

[[options.schedule.milestones]]
id = "report"
name = "Report"
amount = { amount = "9000.00", currency = "EUR" }
"""
AMENDMENT: dict[str, Any] = {
    "id": "am-1", "description": "Bigger design phase",
    "operations": [{"type": "ChangeMilestoneAmount", "effective": "2025-04-15",
                    "milestone_id": "design", "amount": {"amount": "7500.00",
                                                         "currency": "USD"}}]}
HEADER = ("Contract #,Client,Currency,Signed on,Kind,Item id,Name,Amount,Trigger,Due on,"
          "Interval,Start,Count\n")
GOOD_ROWS = ("agr-100,Initech,USD,2025-01-15,milestone,kickoff,Kickoff,2000.00,on_signing,,,,\n"
             "agr-100,Initech,USD,2025-01-15,recurring,care,Care plan,500.00,,,monthly,"
             "2025-03-01,12\n")
BAD_ROWS = ("agr-101,Globex,EUR,2025-02-01,milestone,audit,Audit,\"1,500.00\",,2025-04-30,,,\n"
            "agr-101,Globex,EUR,2025-02-01,recurring,support,Support,250.00,,,fortnightly,,\n")
MAP = ["--map", "Contract #=agreement_id"]
SIGN = ["sign", "prop-web", "--option", "site", "--signer", "Ada Lovelace", "--addon", "seo",
        "--payment-method", "tok_visa", "--at", "2025-03-03T08:30:00Z"]
BANK = ["sign", "prop-bank", "--option", "site", "--signer", "Dee", "--payment-method",
        "tok_bank", "--kind", "bank_debit", "--mandate-accepted-at", "2025-03-03T08:25:00Z",
        "--mandate-ip", "203.0.113.7", "--mandate-user-agent", "Mozilla/5.0"]


@attrs.frozen
class Desk:
    """What each step printed, and what the store and gateway held around some."""

    shop: Shop
    steps: dict[str, Result]
    around_preview: tuple[Any, Any]
    state_around_preview: tuple[bytes, bytes]
    state_after_signing: tuple[Any, Any]
    around_refused_import: tuple[Any, Any]
    around_reimport: tuple[Any, Any]


def files(tmp: Path) -> None:
    (tmp / "web.json").write_text(json.dumps(WEB), "utf-8")
    (tmp / "beta.toml").write_text(BETA_TOML, "utf-8")
    bad = {**WEB, "id": "prop-bad", "valid_until": "31/03/2025", "discount": "5%"}
    (tmp / "bad.json").write_text(json.dumps(bad), "utf-8")
    bank = {**WEB, "id": "prop-bank", "client": "Delta LLC", "valid_until": None}
    (tmp / "bank.json").write_text(json.dumps(bank), "utf-8")
    (tmp / "am.json").write_text(json.dumps(AMENDMENT), "utf-8")
    (tmp / "good.csv").write_text(HEADER + GOOD_ROWS, "utf-8")
    (tmp / "mixed.csv").write_text(HEADER + GOOD_ROWS + BAD_ROWS, "utf-8")


def _proposing(shop: Shop, steps: dict[str, Result]) -> tuple[Any, Any]:
    steps["init"] = shop("init")
    steps["propose"] = shop("--json", "propose", "web.json", "--at", "2025-03-01T09:00:00Z")
    steps["propose_again"] = shop("--json", "propose", "web.json")
    steps["propose_toml"] = shop("propose", "beta.toml", "--at", "2025-03-01T09:05:00Z")
    steps["send"] = shop("--json", "proposal", "send", "prop-web", "--to", "ada@acme.test",
                         "--at", "2025-03-01T10:00:00Z")
    steps["send_again"] = shop("--json", "proposal", "send", "prop-web")
    steps["view"] = shop("proposal", "view", "prop-web", "--at", "2025-03-02T08:00:00Z")
    steps["withdraw"] = shop("proposal", "withdraw", "prop-beta", "--reason", "re-scoped",
                             "--at", "2025-03-02T09:00:00Z")
    steps["sign"] = shop("--json", *SIGN)
    first = shop.gateway().to_state()
    steps["sign_again"] = shop("--json", *SIGN)
    again = shop.gateway().to_state()
    steps["propose_bank"] = shop("propose", "bank.json", "--at", "2025-03-01T09:10:00Z")
    steps["sign_bank"] = shop("--json", *BANK)
    steps["proposals"] = shop("--json", "proposals", "--as-of", "2025-03-03")
    steps["show"] = shop("--json", "proposal", "show", "prop-web", "--as-of", "2025-03-03")
    return first, again


@pytest.fixture(scope="module", params=BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Desk]:
    for shop in make_shop(request, request.param, tmp_path_factory.mktemp("desk")):
        files(shop.tmp)
        steps: dict[str, Result] = {}
        signing = _proposing(shop, steps)
        before, state_before = shop.snapshot(), shop.state.read_bytes()
        steps["preview"] = shop("--json", "amend", "prop-web", "am.json", "--preview",
                                "--as-of", "2025-04-15")
        preview = (before, shop.snapshot())
        state = (state_before, shop.state.read_bytes())
        steps["amend"] = shop("--json", "amend", "prop-web", "am.json", "--by", "ann")
        steps["amend_again"] = shop("--json", "amend", "prop-web", "am.json", "--by", "ann")
        steps["approve"] = shop("--json", "approve", "prop-web", "am-1", "--by", "Acme CFO")
        steps["approve_again"] = shop("--json", "approve", "prop-web", "am-1", "--by", "x")
        before = shop.snapshot()
        steps["import_refused"] = shop("--json", "import", "mixed.csv", *MAP)
        steps["import_dry_run"] = shop("--json", "import", "good.csv", *MAP, "--dry-run")
        refused = (before, shop.snapshot())
        steps["import"] = shop("--json", "import", "good.csv", *MAP)
        before = shop.snapshot()
        steps["import_again"] = shop("--json", "import", "mixed.csv", *MAP, "--skip-invalid")
        yield Desk(shop, steps, preview, state, signing, refused, (before, shop.snapshot()))


@pytest.fixture(params=BACKENDS)
def fresh_shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shop]:
    """A shop of its own (not initialised), for a test that changes it."""
    yield from make_shop(request, request.param, tmp_path)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def value_of_the_file() -> Money:
    """The contract value of the web proposal signed with its add-on, from the file."""
    schedule = WEB["options"][0]["schedule"]
    fees = [m["amount"]["amount"] for m in schedule["milestones"]]
    fees += [m["amount"]["amount"] for m in WEB["addons"][0]["schedule"]["milestones"]]
    care = schedule["recurring"][0]
    fees += [care["amount"]["amount"]] * care["count"]
    return Money.total(map(usd, fees), currency="USD")


def change_of_the_amendment() -> Money:
    (op,) = AMENDMENT["operations"]
    (design,) = [m for m in WEB["options"][0]["schedule"]["milestones"]
                 if m["id"] == op["milestone_id"]]
    return usd(op["amount"]["amount"]) - usd(design["amount"]["amount"])


def load(shop: Shop, aid: str) -> Agreement:
    return shop.load(aid)


def record(shop: Shop, pid: str) -> ProposalRecord:
    store = shop.store()
    try:
        return Biller(store, InMemoryGateway(), clock=FixedClock(datetime.now(UTC)),
                      firm_id=FirmId(FIRM)).load_proposal(ProposalId(pid))
    finally:
        store.close()  # type: ignore[attr-defined]


# ------------------------------------------------------------------ proposals


def test_the_steps_that_should_succeed_do_with_nothing_on_standard_error(desk: Desk) -> None:
    refused = {"import_refused", "import_again"}
    assert {k: (r.code, r.err) for k, r in desk.steps.items() if k not in refused} == {
        k: (0, "") for k in desk.steps if k not in refused}


def test_propose_stores_the_files_proposal_as_a_draft(desk: Desk) -> None:
    doc = desk.steps["propose"].json()
    assert (doc["stored"], doc["status"], doc["drafted_at"]) == (
        True, "draft", "2025-03-01T09:00:00+00:00")
    assert record(desk.shop, "prop-web").proposal == formats.read("proposal", WEB)


def test_proposing_the_same_file_again_stores_nothing(desk: Desk) -> None:
    again = desk.steps["propose_again"].json()
    assert again["stored"] is False
    assert again["version"] == record(desk.shop, "prop-web").events[0].version == 1


def test_a_toml_proposal_is_read_like_its_json(desk: Desk) -> None:
    stored = record(desk.shop, "prop-beta").proposal
    assert stored == formats.read_toml("proposal", BETA_TOML)
    assert desk.steps["propose_toml"].out.startswith("proposed prop-beta to Beta GmbH: ")


def test_the_proposals_life_is_recorded_once_per_step(desk: Desk) -> None:
    r = record(desk.shop, "prop-web")
    assert [type(e).__name__ for e in r.events] == [
        "ProposalDrafted", "ProposalSent", "ProposalViewed", "CustomerLinked",
        "PaymentMethodSaved", "ProposalAccepted"]
    assert desk.steps["send"].json()["recorded"] is True
    assert desk.steps["send_again"].json()["recorded"] is False
    assert r.events[1].recipient == "ada@acme.test"  # type: ignore[union-attr]


def test_proposals_lists_each_with_its_status(desk: Desk) -> None:
    docs = desk.steps["proposals"].json()["proposals"]
    assert [(d["proposal_id"], d["status"], d["agreement_id"]) for d in docs] == [
        ("prop-bank", "accepted", "prop-bank"), ("prop-beta", "withdrawn", None),
        ("prop-web", "accepted", "prop-web")]
    assert docs[1]["reason"] == "re-scoped"


def test_show_gives_the_proposal_in_its_file_format_and_its_events(desk: Desk) -> None:
    doc = desk.steps["show"].json()
    assert formats.read("proposal", doc["proposal"]) == formats.read("proposal", WEB)
    assert [e["type"] for e in doc["events"]][-1] == "ProposalAccepted"


# ------------------------------------------------------------------ signing


def test_sign_makes_the_customer_saves_the_card_and_signs(desk: Desk) -> None:
    doc = desk.steps["sign"].json()
    a = load(desk.shop, "prop-web")
    assert (doc["agreement_id"], doc["already_signed"], doc["signed_at"]) == (
        "prop-web", False, "2025-03-03T08:30:00+00:00")
    assert (a.option_id, a.addons, a.signer, a.proposal_id) == (
        "site", ("seo",), "Ada Lovelace", "prop-web")
    assert a.payment_method is not None
    assert doc["payment_method"]["payment_method_id"] == a.payment_method.payment_method_id
    first, _ = desk.state_after_signing
    assert [c["customer"]["reference"] for c in first["customers"]] == ["prop-web"]


def test_signing_again_signs_once_and_makes_no_second_customer(desk: Desk) -> None:
    again = desk.steps["sign_again"].json()
    first, second = desk.state_after_signing
    assert again["already_signed"] is True
    assert again["agreement_id"] == desk.steps["sign"].json()["agreement_id"]
    assert second == first
    events = [type(e).__name__ for e in load(desk.shop, "prop-web").events]
    assert events.count("Signed") == 1
    assert [type(e).__name__ for e in record(desk.shop, "prop-web").events].count(
        "ProposalAccepted") == 1


def test_a_bank_debit_is_saved_with_its_mandate(desk: Desk) -> None:
    doc = desk.steps["sign_bank"].json()
    assert doc["payment_method"]["kind"] == "bank_debit"
    (setup,) = [s for s in desk.shop.gateway().to_state()["setups"] if s["token"] == "tok_bank"]
    assert (setup["kind"], setup["result"]["status"]) == ("bank_debit", "succeeded")


def test_a_withdrawn_proposal_cannot_be_signed(desk: Desk) -> None:
    r = desk.shop("sign", "prop-beta", "--option", "audit", "--signer", "Bea")
    assert r.code == 1
    assert "withdrawn" in one_line(r.err)


# ------------------------------------------------------------------ amendments


def test_a_preview_writes_nothing_to_the_store_or_the_gateway_state(desk: Desk) -> None:
    assert desk.around_preview[0] == desk.around_preview[1]
    assert desk.state_around_preview[0] == desk.state_around_preview[1]


def test_the_preview_prices_the_amendment_to_the_cent(desk: Desk) -> None:
    doc = desk.steps["preview"].json()
    before, change = value_of_the_file(), change_of_the_amendment()
    assert Money.from_json(doc["preview"]["contract_value_before"]) == before
    assert Money.from_json(doc["value_change"]) == change
    assert Money.from_json(doc["preview"]["contract_value_after"]) == before + change
    assert [(c["key"], c["before"]["amount"], c["after"]["amount"])
            for c in doc["preview"]["changes"]] == [
        ("m:design", "6000.00", AMENDMENT["operations"][0]["amount"]["amount"])]


def test_amend_proposes_once_and_approve_applies_it_once(desk: Desk) -> None:
    assert (desk.steps["amend"].json()["proposed"],
            desk.steps["amend_again"].json()["proposed"]) == (True, False)
    assert (desk.steps["approve"].json()["recorded"],
            desk.steps["approve_again"].json()["recorded"]) == (True, False)
    a = load(desk.shop, "prop-web")
    (am,) = a.amendments
    assert (am.status, am.proposed_by, am.decided_by) == (
        AmendmentStatus.APPROVED, "ann", "Acme CFO")
    assert contract_value(a) == value_of_the_file() + change_of_the_amendment()


def test_the_same_amendment_id_with_other_operations_is_refused(desk: Desk) -> None:
    other = {**AMENDMENT, "operations": [{**AMENDMENT["operations"][0],
                                          "amount": {"amount": "1.00", "currency": "USD"}}]}
    (desk.shop.tmp / "other.json").write_text(json.dumps(other), "utf-8")
    r = desk.shop("amend", "prop-web", "other.json")
    assert r.code == 1
    assert "amendment id 'am-1' is already proposed to prop-web" in one_line(r.err)


# ------------------------------------------------------------------ import


def test_an_import_with_a_bad_row_reports_every_problem_and_writes_nothing(desk: Desk) -> None:
    r = desk.steps["import_refused"]
    assert r.code == 1
    doc = r.json()
    assert [(p["row"], p["column"]) for p in doc["problems"]] == [
        (4, "Amount"), (5, "Interval"), (5, "Start")]
    assert (doc["written"], doc["opened"]) == (False, [])
    assert desk.around_refused_import[0] == desk.around_refused_import[1]


def test_a_dry_run_says_what_it_would_open(desk: Desk) -> None:
    doc = desk.steps["import_dry_run"].json()
    assert (doc["dry_run"], doc["written"], doc["opened"]) == (True, False, ["agr-100"])


def test_import_opens_the_agreements_of_the_file(desk: Desk) -> None:
    assert desk.steps["import"].json()["opened"] == ["agr-100"]
    a = load(desk.shop, "agr-100")
    assert (a.proposal.client, a.signed_on.isoformat(), [t.milestone.id for t in a.milestones]) \
        == ("Initech", "2025-01-15", ["kickoff"])


def test_importing_again_changes_nothing_and_reports_what_it_skipped(desk: Desk) -> None:
    r = desk.steps["import_again"]
    doc = r.json()
    assert r.code == 1  # rows were refused
    assert (doc["opened"], doc["already_stored"], doc["skipped_rows"]) == (
        [], ["agr-100"], [4, 5])
    assert desk.around_reimport[0] == desk.around_reimport[1]


# ------------------------------------------------------------------ schema


def test_schema_prints_the_shipped_schema() -> None:
    r = milestonebill_cmd("schema", "amendment")
    assert (r.code, r.out) == (0, formats.schema_text("amendment"))


# ------------------------------------------------------------------ retries through the state


def _proposed(shop: Shop, proposal_id: str) -> None:
    files(shop.tmp)
    assert shop("init").code == 0
    web = {**WEB, "id": proposal_id, "valid_until": None}
    (shop.tmp / "p.json").write_text(json.dumps(web), "utf-8")
    assert shop("propose", "p.json").code == 0


def test_a_customer_the_gateway_made_before_a_crash_is_found_not_made_again(
        fresh_shop: Shop) -> None:
    _proposed(fresh_shop, "prop-x")
    # The gateway made the customer, the store never heard of it (the worker died).
    gateway = InMemoryGateway()
    made = gateway.create_customer(CustomerRequest("acme", name="Acme Ltd")).customer_id
    fresh_shop.state.write_text(json.dumps(gateway.to_state()), "utf-8")
    r = fresh_shop("--json", "sign", "prop-x", "--option", "site", "--signer", "Ada",
                   "--payment-method", "tok_visa", "--customer-reference", "acme")
    assert r.code == 0, r.err
    state = fresh_shop.gateway()
    assert [c.customer_id for c in state.customers] == [made]
    assert r.json()["payment_method"]["customer_id"] == made


def test_a_refused_card_keeps_the_customer_for_the_next_try(fresh_shop: Shop) -> None:
    _proposed(fresh_shop, "prop-y")
    gateway = InMemoryGateway()
    gateway.script_setup("tok_stolen", Scripted.decline("stolen_card"))
    fresh_shop.state.write_text(json.dumps(gateway.to_state()), "utf-8")
    sign = ["sign", "prop-y", "--option", "site", "--signer", "Ada"]
    refused = fresh_shop(*sign, "--payment-method", "tok_stolen")
    assert refused.code == 1
    assert "was not saved by the gateway: declined (stolen_card)" in one_line(refused.err)
    assert fresh_shop(*sign, "--payment-method", "tok_visa").code == 0
    assert len(fresh_shop.gateway().customers) == 1
    assert [type(e).__name__ for e in record(fresh_shop, "prop-y").events] == [
        "ProposalDrafted", "CustomerLinked", "PaymentMethodSaved", "ProposalAccepted"]



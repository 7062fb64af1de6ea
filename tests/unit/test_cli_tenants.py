"""``milestonebill --tenant ID``: every command that opens the store binds it to one tenant.

The option and its environment variable are checked in process, then end
to end: two tenants in one SQLite file, with the same agreement id and
different fees, billed through the command.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from milestonebill.agreement import AgreementId
from milestonebill.cli import main
from milestonebill.cli.common import UsageError
from milestonebill.cli.config import add_global_options, config_of
from milestonebill.schedule import Milestone, MilestoneId, Trigger
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import World, proposal, usd


def run(*argv: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(argv), out=out, environ={} if environ is None else environ)
    return code, out.getvalue(), err.getvalue()


def config(argv: list[str], environ: dict[str, str] | None = None) -> Any:
    p = argparse.ArgumentParser()
    add_global_options(p)
    return config_of(p.parse_args(argv), {"MILESTONEBILL_DB": "/srv/b.db", **(environ or {})})


# ------------------------------------------------------------------ the option


def test_without_tenant_the_command_works_in_the_default_tenant() -> None:
    c = config([])
    assert (c.tenant, c.gateway_state) == ("default", "/srv/b.db.gateway.json")


def test_the_option_names_the_tenant_and_wins_over_the_environment() -> None:
    assert config(["--tenant", "acme"], {"MILESTONEBILL_TENANT": "bolt"}).tenant == "acme"
    assert config([], {"MILESTONEBILL_TENANT": "bolt"}).tenant == "bolt"


def test_each_tenant_has_its_own_in_memory_gateway_state_beside_the_store() -> None:
    assert config(["--tenant", "acme"]).gateway_state == "/srv/b.db.acme.gateway.json"
    assert config(["--tenant", "a/b"]).gateway_state == "/srv/b.db.a%2Fb.gateway.json"


def test_an_explicit_gateway_state_file_is_kept_for_any_tenant() -> None:
    c = config(["--tenant", "acme", "--gateway-state", "/srv/acme.json"])
    assert c.gateway_state == "/srv/acme.json"


def test_a_tenant_that_is_not_an_id_is_a_usage_error() -> None:
    code, _, err = run("--json", "--tenant", " acme", "agreements")
    assert code == 2
    assert json.loads(err)["error"]["field"] == "--tenant"


def test_a_tenant_variable_that_is_not_an_id_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as e:
        config([], {"MILESTONEBILL_TENANT": "ac\x00me"})
    assert e.value.field == "MILESTONEBILL_TENANT"


# ------------------------------------------------------------------ two tenants, one file

DEPOSIT = Milestone(MilestoneId("deposit"), "Deposit", amount=usd("100.00"),
                    trigger=Trigger.ON_SIGNING)
RETAINER = Milestone(MilestoneId("deposit"), "Deposit", amount=usd("250.00"),
                     trigger=Trigger.ON_SIGNING)


@pytest.fixture
def shared(tmp_path: Path) -> str:
    """One SQLite file: tenants acme and bolt each have agreement agr-1, with other fees."""
    path = tmp_path / "platform.db"
    for tenant, milestone in (("acme", DEPOSIT), ("bolt", RETAINER)):
        store = SQLiteStore(path, tenant=tenant)
        with store:
            World(store).open(proposal([milestone]), agreement_id=AgreementId("agr-1"))
    return str(path)


def bill(db: str, tenant: str) -> dict[str, Any]:
    code, out, err = run("--json", "--db", db, "--tenant", tenant, "--firm", "f", "run",
                         "--as-of", "2026-03-31")
    assert (code, err) == (0, "")
    doc: dict[str, Any] = json.loads(out)
    return doc


def test_each_tenant_bills_only_its_own_agreement_and_numbers_from_one(shared: str) -> None:
    acme, bolt = bill(shared, "acme"), bill(shared, "bolt")
    assert [(i["number"], i["total"]["amount"]) for i in acme["invoices"]] == [
        ("INV-000001", "100.00")]
    assert [(i["number"], i["total"]["amount"]) for i in bolt["invoices"]] == [
        ("INV-000001", "250.00")]
    assert bill(shared, "acme")["invoices"] == []


def test_each_tenants_charges_go_to_its_own_gateway_state(shared: str) -> None:
    bill(shared, "acme")
    bill(shared, "bolt")
    charged = {t: [c["amount"]["amount"] for c in json.loads(
        Path(f"{shared}.{t}.gateway.json").read_text())["charges"]] for t in ("acme", "bolt")}
    assert charged == {"acme": ["100.00"], "bolt": ["250.00"]}
    assert not Path(f"{shared}.gateway.json").exists()


def test_the_default_tenant_sees_neither_tenants_agreements(shared: str) -> None:
    code, out, _ = run("--json", "--db", shared, "agreements")
    assert (code, json.loads(out)["agreements"]) == (0, [])
    code, out, _ = run("--json", "--db", shared, "--tenant", "bolt", "agreements")
    assert [a["agreement_id"] for a in json.loads(out)["agreements"]] == ["agr-1"]


def test_init_with_a_tenant_registers_it(tmp_path: Path) -> None:
    db = str(tmp_path / "new.db")
    code, out, _ = run("--json", "--db", db, "--tenant", "newco", "init")
    assert (code, json.loads(out)["tenant"]) == (0, "newco")
    store: Any = SQLiteStore(db)
    with store:
        assert "newco" in store.platform().tenants()


def test_tenants_lists_every_tenant_of_the_store_with_its_agreements(shared: str) -> None:
    code, out, err = run("--json", "--db", shared, "tenants")
    assert (code, err) == (0, "")
    rows = {r["tenant"]: r["agreements"] for r in json.loads(out)["tenants"]}
    assert {t: rows[t] for t in ("acme", "bolt")} == {"acme": 1, "bolt": 1}
    assert set(rows) <= {"acme", "bolt", "default"}
    code, out, _ = run("--db", shared, "--tenant", "acme", "tenants")  # the same listing
    assert code == 0
    assert [line.split()[:2] for line in out.splitlines() if line.startswith(("acme", "bolt"))] \
        == [["acme", "1"], ["bolt", "1"]]


def test_tenants_differing_only_in_case_get_gateway_files_that_do_not(tmp_path: Path) -> None:
    # On a case-insensitive disk Acme's and acme's gateways would otherwise be one file.
    p = argparse.ArgumentParser()
    add_global_options(p)
    db = str(tmp_path / "b.db")
    states = [config_of(p.parse_args(["--tenant", t]), {"MILESTONEBILL_DB": db}).gateway_state
              for t in ("Acme", "acme", "a/b")]
    assert [Path(s or "").name for s in states] == [
        "b.db.%41cme.gateway.json", "b.db.acme.gateway.json", "b.db.a%2Fb.gateway.json"]

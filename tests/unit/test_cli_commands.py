"""The proposal, signing, amendment, import and schema commands, in process: the
refusals and their one-line reports, option checks and argument types.
(The happy paths run as subprocesses in tests/integration.)"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from milestonebill import formats
from milestonebill.agreement import ApprovalRules, Collection, Proposal, ProposalId
from milestonebill.cli import main
from milestonebill.cli.common import UsageError, datetime_arg
from milestonebill.cli.files import read_format_file
from milestonebill.cli.importing import mapping_arg
from milestonebill.errors import ValidationError
from milestonebill.schedule import Interval, ItemId, RecurringCharge
from milestonebill.testing.scenarios import proposal, usd

#: When the test proposals were drafted (a signing is never stamped before it).
DRAFTED = "2026-03-01T09:00:00Z"


def run(db: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["--db", str(db), *argv], out=out, environ={})
    return code, out.getvalue(), err.getvalue()


def one_line(err: str) -> str:
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


def offer(pid: str, **changes: Any) -> Proposal:
    """A one-package proposal ``std``: a 1,000.00 design milestone, client approval needed."""
    base = proposal([("design", "1000.00")], collection=Collection.SEND_INVOICE,
                    approval=ApprovalRules(require_client_approval=True))
    return attrs.evolve(base, id=ProposalId(pid), **changes)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """An initialised store with proposal ``p-1`` stored (a draft)."""
    path = tmp_path / "b.db"
    assert run(path, "init")[0] == 0
    (tmp_path / "p-1.json").write_text(json.dumps(formats.write(offer("p-1"))), "utf-8")
    assert run(path, "propose", str(tmp_path / "p-1.json"), "--at", DRAFTED)[0] == 0
    return path


def signed(db: Path, pid: str = "p-1") -> None:
    code, _, err = run(db, "sign", pid, "--option", "std", "--signer", "Ada",
                       "--at", "2026-03-02T09:00:00Z")
    assert (code, err) == (0, "")


# ------------------------------------------------------------------ argument types


def test_a_time_needs_its_zone_and_is_kept_in_utc() -> None:
    assert datetime_arg("2026-03-02T10:30:00+01:00") == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert datetime_arg("2026-03-02T09:30:00Z") == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    for text in ["2026-03-02T09:30:00", "2026-03-02", "02/03/2026 09:30", "9999-01-01T00:00Z"]:
        with pytest.raises(argparse.ArgumentTypeError, match=r"\(got '"):
            datetime_arg(text)


@pytest.mark.parametrize("text", ["agreement_id", "=agreement_id", "Contract=agreement"])
def test_a_mapping_names_a_header_and_a_documented_column(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="must "):
        mapping_arg(text)


def test_a_mapping_keeps_an_equals_sign_in_the_header() -> None:
    assert mapping_arg("a=b=client") == ("a=b", "client")


# ------------------------------------------------------------------ format files


@pytest.mark.parametrize(("name", "content", "says"), [
    ("p.json", b'{"id": ', "FILE {path}: not valid JSON (Expecting value at line 1 column 8)"),
    ("p.json", b'{"id": "\xff"}', "FILE {path}: not UTF-8 text (byte 0xff at offset 8)"),
    ("p.toml", b"id = ", "FILE {path}: not valid TOML (Invalid value (at end of document))"),
])
def test_a_file_that_does_not_parse_is_refused_naming_it(
        tmp_path: Path, name: str, content: bytes, says: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationError) as caught:
        read_format_file("proposal", str(path))
    assert str(caught.value) == says.format(path=path)


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"FILE .*nope.json: cannot read it"):
        read_format_file("proposal", str(tmp_path / "nope.json"))


def test_the_extension_chooses_the_reader(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"must be a \.json or \.toml file"):
        read_format_file("proposal", str(tmp_path / "p.yaml"))


def test_every_problem_of_a_proposal_file_is_one_line_by_json_path(
        db: Path, tmp_path: Path) -> None:
    data = formats.write(offer("p-2"))
    data["options"][0]["schedule"]["milestones"][0]["amount"]["amount"] = 1000.0
    data["valid_until"] = "31/03/2026"
    (tmp_path / "bad.json").write_text(json.dumps(data), "utf-8")
    code, out, err = run(db, "--json", "propose", str(tmp_path / "bad.json"))
    assert (code, out) == (1, "")
    problems = json.loads(one_line(err))["error"]["problems"]
    assert [p["field"] for p in problems] == [
        "options[0].schedule.milestones[0].amount.amount", "valid_until"]
    code, _, err = run(db, "propose", str(tmp_path / "bad.json"))
    assert one_line(err).startswith("milestonebill propose: error: 2 problems: "
                                    "'options[0].schedule.milestones[0].amount.amount' must be")


def test_other_terms_under_a_stored_proposal_id_are_refused(db: Path, tmp_path: Path) -> None:
    (tmp_path / "p-1b.json").write_text(json.dumps(formats.write(offer("p-1", client="Other"))),
                                        "utf-8")
    code, _, err = run(db, "propose", str(tmp_path / "p-1b.json"))
    assert (code, one_line(err)) == (
        1, "milestonebill propose: error: proposal id 'p-1' is already used for different "
           "content")


# ------------------------------------------------------------------ the proposal's life


def test_a_step_the_status_does_not_allow_is_refused(db: Path) -> None:
    code, _, err = run(db, "proposal", "view", "p-1")
    assert code == 1
    assert "ProposalViewed is not allowed while proposal 'p-1' is draft" in one_line(err)


def test_a_declined_proposal_stays_declined(db: Path) -> None:
    assert run(db, "proposal", "decline", "p-1", "--reason", "too dear")[0] == 0
    code, out, _ = run(db, "proposal", "decline", "p-1")
    assert (code, out) == (0, "proposal p-1 is already declined; nothing recorded\n")
    assert run(db, "proposal", "withdraw", "p-1")[0] == 1


def test_proposals_are_listed_and_filtered_by_status(db: Path) -> None:
    code, out, _ = run(db, "--json", "proposals", "--status", "declined")
    assert (code, json.loads(out)["proposals"]) == (0, [])
    code, out, _ = run(db, "proposals", "--status", "draft")
    assert out.splitlines()[1].split()[:2] == ["p-1", "draft"]


def test_an_open_proposal_past_its_validity_is_listed_as_expired(
        db: Path, tmp_path: Path) -> None:
    (tmp_path / "p-3.json").write_text(json.dumps(formats.write(
        offer("p-3", valid_until=date(2026, 3, 31)))), "utf-8")
    assert run(db, "propose", str(tmp_path / "p-3.json"), "--at", "2026-03-02T09:00:00Z")[0] == 0
    statuses = {day: {d["proposal_id"]: d["status"] for d in json.loads(
        run(db, "--json", "proposals", "--as-of", day)[1])["proposals"]}["p-3"]
        for day in ("2026-03-31", "2026-04-01")}
    assert statuses == {"2026-03-31": "draft", "2026-04-01": "expired"}


# ------------------------------------------------------------------ sign


@pytest.mark.parametrize(("extra", "says"), [
    (["--kind", "card"], "--kind goes with --payment-method TOKEN"),
    (["--customer-reference", "acme"], "--customer-reference goes with --payment-method"),
    (["--payment-method", "tok_1", "--mandate-ip", "203.0.113.7"],
     "--mandate-ip is a fact of a bank debit's mandate: it goes with --kind bank_debit"),
    (["--payment-method", "tok_1", "--kind", "bank_debit"],
     "--kind bank_debit needs --mandate-accepted-at TIME"),
    (["--payment-method", "4242 4242 4242 4242"],
     "must be a gateway token, not a card number (got '[redacted]')"),
    (["--at", "2026-03-02T09:00:00"], "argument --at: must be an ISO date and time with its zone"),
])
def test_sign_options_that_do_not_go_together_are_usage_errors(
        db: Path, extra: list[str], says: str) -> None:
    code, out, err = run(db, "sign", "p-1", "--option", "std", "--signer", "Ada", *extra)
    assert (code, out) == (2, "")
    assert says in one_line(err)
    assert "4242 4242" not in err


def test_a_proposal_that_charges_automatically_needs_a_payment_method(
        db: Path, tmp_path: Path) -> None:
    (tmp_path / "p-4.json").write_text(json.dumps(formats.write(
        offer("p-4", collection=Collection.AUTO_CHARGE))), "utf-8")
    assert run(db, "propose", str(tmp_path / "p-4.json"))[0] == 0
    code, _, err = run(db, "sign", "p-4", "--option", "std", "--signer", "Ada")
    assert code == 1
    assert "'payment_method_token' must be a token for the client's payment method" in \
        one_line(err)


def test_an_unknown_option_is_refused_and_nothing_is_signed(db: Path) -> None:
    code, _, err = run(db, "sign", "p-1", "--option", "gold", "--signer", "Ada")
    assert code == 1
    assert "gold" in one_line(err)
    assert json.loads(run(db, "--json", "agreements")[1]) == {"agreements": []}


# ------------------------------------------------------------------ amend, approve, reject


def amendment_file(tmp_path: Path, amount: str = "1500.00") -> str:
    path = tmp_path / "am.json"
    path.write_text(json.dumps({"id": "am-1", "operations": [
        {"type": "ChangeMilestoneAmount", "effective": "2026-03-10", "milestone_id": "design",
         "amount": {"amount": amount, "currency": "USD"}}]}), "utf-8")
    return str(path)


def test_a_rejected_amendment_changes_nothing_and_cannot_be_approved(
        db: Path, tmp_path: Path) -> None:
    signed(db)
    code, out, _ = run(db, "amend", "p-1", amendment_file(tmp_path), "--by", "ann")
    assert (code, out) == (0, "proposed amendment am-1 to p-1 (by ann): pending the client's "
                              "approval ('milestonebill approve')\n")
    assert run(db, "reject", "p-1", "am-1", "--by", "Acme CFO", "--reason", "no")[0] == 0
    assert run(db, "reject", "p-1", "am-1", "--by", "Acme CFO")[1] == (
        "amendment am-1 of p-1 is already rejected; nothing recorded\n")
    code, _, err = run(db, "approve", "p-1", "am-1", "--by", "Acme CFO")
    assert (code, one_line(err)) == (
        1, "milestonebill approve: error: amendment 'am-1' is already rejected")
    shown = json.loads(run(db, "--json", "show", "p-1")[1])
    assert shown["pending_amendments"] == []


def test_approving_an_amendment_never_proposed_is_refused(db: Path) -> None:
    signed(db)
    code, _, err = run(db, "approve", "p-1", "am-9", "--by", "Acme CFO")
    assert (code, one_line(err)) == (
        1, "milestonebill approve: error: agreement 'p-1' has no amendment 'am-9'")


def test_a_preview_of_an_open_ended_agreement_needs_a_horizon(
        db: Path, tmp_path: Path) -> None:
    care = RecurringCharge(ItemId("care"), "Care", usd("100.00"), Interval.MONTHLY,
                           start=date(2026, 3, 1))
    (tmp_path / "p-5.json").write_text(json.dumps(formats.write(
        attrs.evolve(offer("p-5"), options=(attrs.evolve(
            offer("p-5").options[0], schedule=attrs.evolve(
                offer("p-5").options[0].schedule, recurring=(care,))),)))), "utf-8")
    assert run(db, "propose", str(tmp_path / "p-5.json"), "--at", DRAFTED)[0] == 0
    signed(db, "p-5")
    am = amendment_file(tmp_path)
    code, _, err = run(db, "amend", "p-5", am, "--preview", "--as-of", "2026-03-10")
    assert code == 1
    assert "'through' must be a horizon date" in one_line(err)
    code, out, _ = run(db, "amend", "p-5", am, "--preview", "--as-of", "2026-03-10",
                       "--through", "2026-12-31")
    assert code == 0
    assert "(+500.00 USD)" in out


@pytest.mark.parametrize(("extra", "says"), [
    (["--preview", "--by", "ann"], "--by goes with proposing (without --preview)"),
    (["--as-of", "2026-03-10"], "--as-of goes with --preview"),
    (["--through", "2026-12-31"], "--through goes with --preview"),
])
def test_options_of_the_other_mode_of_amend_are_usage_errors(
        db: Path, tmp_path: Path, extra: list[str], says: str) -> None:
    signed(db)
    code, out, err = run(db, "amend", "p-1", amendment_file(tmp_path), *extra)
    assert (code, out) == (2, "")
    assert says in one_line(err)
    assert json.loads(run(db, "--json", "show", "p-1")[1])["pending_amendments"] == []


def test_a_preview_names_the_invoice_a_line_adjusts(db: Path, tmp_path: Path) -> None:
    signed(db)
    assert run(db, "complete", "p-1", "design", "--on", "2026-03-05", "--by", "ann")[0] == 0
    assert run(db, "--firm", "acme", "run", "--as-of", "2026-03-05")[0] == 0
    code, out, _ = run(db, "amend", "p-1", amendment_file(tmp_path, "800.00"), "--preview",
                       "--as-of", "2026-03-10")
    assert code == 0
    assert "  credit  Design m:design  200.00 USD  on 2026-03-10  (adjusts INV-000001)" in \
        out.splitlines()


# ------------------------------------------------------------------ import


CSV_HEADER = "agreement_id,client,currency,signed_on,kind,item_id,name,amount\n"


def test_an_agreement_stored_with_other_terms_refuses_the_whole_import(
        db: Path, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(CSV_HEADER + "agr-1,Acme,USD,2026-01-15,milestone,design,Design,100.00\n",
                    "utf-8")
    assert run(db, "import", str(path))[0] == 0
    path.write_text(CSV_HEADER + "agr-1,Acme,USD,2026-01-15,milestone,design,Design,999.00\n"
                    "agr-2,Beta,USD,2026-01-15,milestone,audit,Audit,50.00\n", "utf-8")
    code, out, _ = run(db, "import", str(path))
    assert code == 1
    assert out.splitlines()[:2] == [f"{path}: 1 problem; nothing imported",
                                    "  agreement agr-1: already in the store with other terms"]
    listed = json.loads(run(db, "--json", "agreements")[1])["agreements"]
    assert [a["agreement_id"] for a in listed] == ["agr-1"]
    code, out, _ = run(db, "--json", "import", str(path), "--skip-invalid")
    assert (code, json.loads(out)["opened"]) == (1, ["agr-2"])


def test_an_unknown_header_is_reported_in_the_commands_terms(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(CSV_HEADER.replace("client", "Customer") +
                    "agr-1,Acme,USD,2026-01-15,milestone,design,Design,100.00\n", "utf-8")
    code, out, _ = run(db, "import", str(path))
    assert code == 1
    assert "  row 1, Customer: is not a known column (map it with --map 'HEADER=COLUMN', or " \
           "--map 'HEADER=' to ignore it)" in out.splitlines()
    assert run(db, "import", str(path), "--map", "Customer=client")[0] == 0


def test_an_import_file_that_cannot_be_read_is_refused_naming_it(
        db: Path, tmp_path: Path) -> None:
    code, _, err = run(db, "import", str(tmp_path / "none.csv"))
    assert code == 1
    assert one_line(err).startswith("milestonebill import: error: FILE ")
    assert err.endswith("none.csv: cannot read it (No such file or directory)\n")


def test_one_header_mapped_to_two_columns_is_a_usage_error(db: Path, tmp_path: Path) -> None:
    code, _, err = run(db, "import", str(tmp_path / "a.csv"), "--map", "X=client",
                       "--map", "X=name")
    assert code == 2
    assert "--map" in one_line(err)


# ------------------------------------------------------------------ schema


def test_schema_without_a_name_lists_the_formats(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path / "unused.db", "schema")
    assert (code, out.split()) == (0, list(formats.SCHEMAS))
    code, out, _ = run(tmp_path / "unused.db", "--json", "schema")
    assert json.loads(out) == {"schemas": list(formats.SCHEMAS)}


def test_an_unknown_schema_is_a_usage_error_listing_the_names(tmp_path: Path) -> None:
    code, out, err = run(tmp_path / "unused.db", "schema", "invoice")
    assert (code, out) == (2, "")
    assert "(choose from 'agreement', 'amendment', 'engagement', 'proposal')" in one_line(err)

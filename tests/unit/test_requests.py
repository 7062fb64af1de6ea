"""The request bodies of a service are formats too: read by schema, errors by JSON path."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from milestonebill import formats
from milestonebill.agreement import PaymentMethodKind
from milestonebill.errors import InvalidInputError, ValidationError
from milestonebill.ids import ObligationId
from milestonebill.requests import (
    AmendmentRequest,
    BillingRun,
    MilestoneCompletion,
    Onboarding,
    ProgressReport,
    WorkItemCompleted,
)


@pytest.mark.parametrize("name", formats.REQUESTS)
def test_every_request_has_a_valid_schema(name: str) -> None:
    schema = formats.schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["title"] == f"milestonebill {name}"


def test_request_names_are_not_shipped_file_formats() -> None:
    assert set(formats.REQUESTS).isdisjoint(formats.SCHEMAS)


def test_an_onboarding_request_gives_the_keyword_arguments_of_onboard() -> None:
    req = formats.read("onboarding", {
        "option": "site", "signer": "Dee", "customer_reference": "delta", "addons": ["seo"],
        "signed_at": "2026-03-03T08:30:00+01:00",
        "payment_method": {"token": "tok_bank", "kind": "bank_debit", "mandate": {
            "accepted_at": "2026-03-03T08:25:00Z", "ip_address": "203.0.113.7",
            "user_agent": "Mozilla/5.0"}}})
    assert req.arguments() == {
        "option": "site", "signer": "Dee", "customer_reference": "delta",
        "payment_method_token": "tok_bank", "kind": PaymentMethodKind.BANK_DEBIT,
        "mandate_accepted_at": datetime(2026, 3, 3, 8, 25, tzinfo=UTC),
        "mandate_ip_address": "203.0.113.7", "mandate_user_agent": "Mozilla/5.0",
        "addons": ("seo",), "agreement_id": None,
        "at": datetime(2026, 3, 3, 7, 30, tzinfo=UTC)}


def test_an_onboarding_without_a_payment_method_asks_for_none() -> None:
    args = Onboarding("site", "Ed").arguments()
    assert (args["payment_method_token"], args["kind"], args["mandate_accepted_at"]) == (
        None, PaymentMethodKind.CARD, None)


def test_every_problem_of_a_request_is_named_by_its_json_path() -> None:
    with pytest.raises(InvalidInputError) as info:
        formats.read("onboarding", {"option": "site", "signer": 7, "colour": "red",
                                    "payment_method": {"token": "tok", "kind": "cash"}})
    assert [p.field for p in info.value.problems] == [
        "colour", "payment_method.kind", "signer"]


def test_a_card_number_as_a_token_is_refused_and_never_echoed() -> None:
    with pytest.raises(ValidationError) as info:
        formats.read("onboarding", {"option": "site", "signer": "Ada",
                                    "payment_method": {"token": "4242 4242 4242 4242"}})
    assert info.value.field == "payment_method.token"
    assert "4242" not in str(info.value)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        formats.read("completion", {"by": "Ada", "at": "2026-03-02T10:00:00"})
    assert info.value.field == "at"


def test_malformed_json_text_is_a_validation_error_naming_the_request() -> None:
    with pytest.raises(ValidationError) as info:
        formats.read("billing_run", b"{as_of: 2026}")
    assert info.value.field == "billing_run"


def test_a_required_field_that_is_missing_is_an_error_not_a_default() -> None:
    with pytest.raises(ValidationError) as info:
        formats.read("billing_run", {"dry_run": True})
    assert (info.value.field, info.value.expected) == ("as_of", "present")


def test_a_progress_amount_is_a_decimal_string_never_a_number() -> None:
    ok = formats.read("progress", {"obligation_id": "work", "to_date": "12.5",
                                   "as_of": "2026-03-31"})
    assert ok == ProgressReport(ObligationId("work"), Decimal("12.5"), date(2026, 3, 31))
    with pytest.raises(ValidationError) as info:
        formats.read("progress", {"obligation_id": "work", "to_date": 12.5,
                                  "as_of": "2026-03-31"})
    assert info.value.field == "to_date"


def test_an_amendment_request_carries_the_amendment_format() -> None:
    req = formats.read("amendment_request", {"by": "Bo", "amendment": {
        "id": "am-1", "operations": [{"type": "CancelAgreement", "effective": "2026-12-31"}]}})
    assert isinstance(req, AmendmentRequest)
    assert req.amendment.effective == date(2026, 12, 31)


def test_a_work_item_links_both_agreement_and_milestone_or_neither() -> None:
    base: dict[str, Any] = {"delivery_id": "d-1", "work_item_id": "T-1", "completed_by": "Ada",
                            "completed_at": "2026-03-10T15:00:00+00:00"}
    assert formats.read("work_item_completed", base).agreement_id is None
    with pytest.raises(ValidationError) as info:
        formats.read("work_item_completed", {**base, "agreement_id": "agr-1"})
    assert info.value.field == "milestone_id"


requests = st.one_of(
    st.builds(BillingRun, st.dates(), st.booleans()),
    st.builds(MilestoneCompletion, st.text(min_size=1), st.none() | st.dates(), st.text(),
              st.none() | st.text(min_size=1)),
    st.builds(WorkItemCompleted, st.text(min_size=1), st.text(min_size=1),
              st.datetimes(timezones=st.just(UTC)), st.text(min_size=1)),
)


@given(requests)
def test_every_request_written_reads_back_as_itself(
        value: BillingRun | MilestoneCompletion | WorkItemCompleted) -> None:
    name = {BillingRun: "billing_run", MilestoneCompletion: "completion",
            WorkItemCompleted: "work_item_completed"}[type(value)]
    assert formats.read(name, formats.write(value)) == value

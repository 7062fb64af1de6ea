"""Library errors mapped to HTTP statuses and problem details."""

from __future__ import annotations

import inspect
import json
from datetime import date

import pytest

from milestonebill import errors
from milestonebill.problems import STATUS_BY_ERROR, http_status, problem_details

ERROR_CLASSES = [
    obj for name in errors.__all__
    if inspect.isclass(obj := getattr(errors, name)) and issubclass(obj, BaseException)
]


def _instance(cls: type[BaseException]) -> BaseException:
    """One instance of each error class, with whatever arguments it takes."""
    samples: dict[type[BaseException], BaseException] = {
        errors.ValidationError: errors.ValidationError("f", "x", 1),
        errors.InvalidAmountError: errors.InvalidAmountError("amount", "money", "1.001"),
        errors.CardNumberError: errors.CardNumberError("note", "[card number ending 4242]"),
        errors.WebhookPayloadError: errors.WebhookPayloadError("payload", "a JSON object", "[]"),
        errors.InvalidInputError: errors.InvalidInputError([errors.ValidationError("f", "x", 1)]),
        errors.CurrencyMismatchError: errors.CurrencyMismatchError("USD", "EUR"),
        errors.ConcurrencyError: errors.ConcurrencyError("agr-1", 1, 2),
        errors.IdempotencyError: errors.IdempotencyError("k"),
        errors.UnbalancedEntryError: errors.UnbalancedEntryError("je", "1", "2"),
        errors.DuplicateIdError: errors.DuplicateIdError("invoice", "INV-1"),
        errors.LeaseLostError: errors.LeaseLostError("agr-1", "w1"),
        errors.EventOrderError: errors.EventOrderError("agr-1", 1, 3),
        errors.ProposalExpiredError: errors.ProposalExpiredError("p", "2025-01-01", "2025-01-02"),
        errors.RefundLimitError: errors.RefundLimitError("INV-1", "2", "1"),
    }
    return samples.get(cls) or cls("something went wrong")


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_library_error_has_a_deliberate_status(cls: type[BaseException]) -> None:
    exc = _instance(cls)
    status = http_status(exc)
    if cls is errors.MilestonebillError:  # the bare root says nothing about who is at fault
        assert status == 500
        return
    assert status in {400, 404, 409, 422, 502, 503}
    body = problem_details(exc)
    assert body["status"] == status
    assert body["error"] == cls.__name__
    if status < 500:
        assert body["detail"] == str(exc)
    else:  # an infrastructure failure's text is for the server's log
        assert str(exc) not in body["detail"]
    json.dumps(body)  # JSON-ready


@pytest.mark.parametrize(("exc", "status"), [
    (errors.ValidationError("amount", "money", "x"), 422),
    (errors.RefundLimitError("INV-1", "700.00 USD", "600.00 USD"), 422),
    (errors.CurrencyMismatchError("USD", "EUR"), 422),
    (errors.NotFoundError("no agreement 'agr-9'"), 404),
    (errors.InvalidTransitionError("already completed"), 409),
    (errors.DuplicateIdError("invoice", "INV-1"), 409),
    (errors.ConcurrencyError("agr-1", 1, 2), 409),
    (errors.LeaseLostError("agr-1", "w1"), 409),
    (errors.IdempotencyError("k"), 422),
    (errors.WebhookSignatureError("bad signature"), 400),
    (errors.WebhookPayloadError("data.object.created", "a timestamp", 10**30), 400),
    (errors.GatewayUnavailableError("timed out"), 503),
    (errors.GatewayError("card network said no"), 502),
    (errors.StoreError("disk full"), 503),
])
def test_status_of_each_kind(exc: BaseException, status: int) -> None:
    assert http_status(exc) == status


def test_a_subclass_the_table_does_not_know_takes_its_parents_status() -> None:
    class TooLate(errors.InvalidTransitionError):
        pass

    assert TooLate.__mro__[1] in STATUS_BY_ERROR
    assert http_status(TooLate("x")) == 409


def test_foreign_errors_are_500_and_keep_their_text_out_of_the_body() -> None:
    body = problem_details(OSError("could not connect to postgresql://u:secret@db/x"))
    assert body["status"] == 500
    assert body["error"] == "InternalError"
    assert "secret" not in json.dumps(body)


def test_validation_details_show_dates_as_iso_and_list_each_problem() -> None:
    err = errors.InvalidInputError([
        errors.ValidationError("signed_on", "on or before 2025-01-31", date(2025, 2, 1)),
        errors.ValidationError("amount", "positive", -5),
    ])
    body = problem_details(err, instance="/proposals/p-1")
    assert body["instance"] == "/proposals/p-1"
    assert body["field"] == "signed_on"
    assert body["got"] == "2025-02-01"
    assert [(p["field"], p["got"]) for p in body["problems"]] == [
        ("signed_on", "2025-02-01"), ("amount", "-5")]


def test_a_store_failure_answers_503_without_its_text() -> None:
    exc = errors.StoreError("cannot open /srv/firm/billing.db: disk I/O error")
    body = problem_details(exc)
    assert (body["status"], body["error"]) == (503, "StoreError")
    assert "/srv/firm" not in json.dumps(body)

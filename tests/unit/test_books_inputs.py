"""Bad input to the books' reports: a typed error naming the field and the value.

``remaining_obligations``, ``revenue_schedule``, ``contract_positions`` and
``rollforward`` are called from notebooks and services with whatever the
caller parsed; a string, a datetime, a date before the agreement existed or a
negative horizon must be refused by name, not fail deep inside with an
``AttributeError`` or quietly report the whole price as remaining.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from milestonebill.errors import ValidationError
from milestonebill.periods import Period
from milestonebill.recognition import Granularity
from milestonebill.reports import (
    contract_positions,
    remaining_obligations,
    revenue_schedule,
    rollforward,
)
from milestonebill.testing.scenarios import proposal, signed

SIGNED = date(2026, 3, 2)
A = signed(proposal([("design", "4000.00")]), at=datetime(2026, 3, 2, 15, tzinfo=UTC))


@pytest.mark.parametrize("bad", ["2026-04-01", datetime(2026, 4, 1, tzinfo=UTC), None, 20260401])
def test_remaining_obligations_refuses_an_as_of_that_is_not_a_date(bad: Any) -> None:
    with pytest.raises(ValidationError) as err:
        remaining_obligations(A, bad)
    assert err.value.field == "as_of"
    assert repr(bad) in str(err.value)


def test_remaining_obligations_refuses_an_as_of_before_the_signing() -> None:
    with pytest.raises(ValidationError) as err:
        remaining_obligations(A, date(2026, 3, 1))
    assert err.value.field == "as_of"
    assert "2026-03-02" in str(err.value)
    assert "agr-1" in str(err.value)
    # the day of the signing is the first day it has obligations
    row, = remaining_obligations(A, SIGNED)
    assert row.remaining.minor == 400000


@pytest.mark.parametrize("bad", [-1, "12", 1.5, True, None])
def test_remaining_obligations_refuses_a_horizon_that_is_not_a_whole_number_of_months(
        bad: Any) -> None:
    with pytest.raises(ValidationError) as err:
        remaining_obligations(A, date(2026, 4, 1), horizon_months=bad)
    assert err.value.field == "horizon_months"


def test_a_zero_horizon_counts_no_service_period_ahead() -> None:
    assert len(remaining_obligations(A, date(2026, 4, 1), horizon_months=0)) == 1


@pytest.mark.parametrize("bad", ["2026", None, (date(2026, 1, 1), date(2026, 2, 1)),
                                 date(2026, 1, 1)])
def test_revenue_schedule_refuses_a_span_that_is_not_a_period(bad: Any) -> None:
    with pytest.raises(ValidationError) as err:
        revenue_schedule(A, bad)
    assert err.value.field == "span"


def test_revenue_schedule_refuses_a_granularity_it_does_not_know() -> None:
    with pytest.raises(ValidationError) as err:
        revenue_schedule(A, Period(date(2026, 1, 1), date(2027, 1, 1)),
                         granularity="fortnight")  # type: ignore[arg-type]
    assert err.value.field == "granularity"
    assert len(revenue_schedule(A, Period(date(2026, 1, 1), date(2027, 1, 1)),
                                granularity=Granularity.QUARTER)) >= 0


@pytest.mark.parametrize("bad", ["2026-04-01", datetime(2026, 4, 1, tzinfo=UTC), None])
def test_contract_positions_refuses_an_as_of_that_is_not_a_date(bad: Any) -> None:
    with pytest.raises(ValidationError) as err:
        contract_positions([], bad, "USD")
    assert err.value.field == "as_of"


@pytest.mark.parametrize("bad", ["2026-01", None, date(2026, 1, 1)])
def test_rollforward_refuses_periods_that_are_not_periods(bad: Any) -> None:
    with pytest.raises(ValidationError) as err:
        rollforward([], [Period.month(2026, 1), bad], currency="USD")
    assert err.value.field == "periods[1]"


def test_remaining_obligations_refuses_dates_and_horizons_past_the_calendar() -> None:
    with pytest.raises(ValidationError) as err:
        remaining_obligations(A, date(9999, 1, 1))
    assert err.value.field == "as_of"
    with pytest.raises(ValidationError) as err:  # its horizon would end after 9999-12-31
        remaining_obligations(A, date(9899, 12, 31), horizon_months=1200)
    assert err.value.field == "horizon_months"
    assert len(remaining_obligations(A, date(9899, 12, 31), horizon_months=1199)) == 1


def test_revenue_schedule_refuses_a_span_past_the_dates_billing_reads() -> None:
    with pytest.raises(ValidationError) as err:
        revenue_schedule(A, Period(date(2026, 1, 1), date(9999, 12, 31)))
    assert err.value.field == "span"

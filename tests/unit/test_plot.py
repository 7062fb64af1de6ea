"""Charts render to PNGs of the promised size, from real report rows, and refuse
what they cannot draw honestly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="charts need the plot extra (matplotlib)")

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from milestonebill import plot
from milestonebill.errors import ValidationError
from milestonebill.money import Money
from milestonebill.reports import MovementTotal

PNG = b"\x89PNG\r\n\x1a\n"
SIZE = (960, 540)


def movement(month: int, new: str, churn: str, closing: str,
             currency: str = "USD") -> MovementTotal:
    start = date(2026, month, 1)
    end = date(2026, month + 1, 1)
    zero = Money("0", currency)
    return MovementTotal(start, end, zero, Money(new, currency), zero, zero,
                         Money(churn, currency), Money(closing, currency))


def bar_heights(ax: Axes) -> list[float]:
    return [p.get_height() for p in ax.patches if isinstance(p, Rectangle)]


def last_y(line: Line2D) -> float:
    return float(np.asarray(line.get_ydata())[-1])


def png_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    assert data[:8] == PNG
    return data


def test_mrr_movements_chart_saves_a_png_of_the_promised_size(tmp_path: Path) -> None:
    rows = [movement(1, "500.00", "0", "500.00"), movement(2, "250.00", "100.00", "650.00")]
    out = tmp_path / "mrr.png"
    fig = plot.mrr_movements(rows, title="MRR", path=out)
    data = png_bytes(out)
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == SIZE
    assert plot.png_size(fig) == SIZE
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Jan 2026", "Feb 2026"]
    # churn is drawn below the axis, new above it
    heights = sorted(bar_heights(ax))
    assert heights[0] == pytest.approx(-100.0)
    assert heights[-1] == pytest.approx(500.0)


def test_a_chart_never_mixes_currencies_unless_one_is_chosen() -> None:
    rows = [movement(1, "500.00", "0", "500.00"), movement(1, "700", "0", "700", "JPY")]
    with pytest.raises(ValidationError) as err:
        plot.mrr_movements(rows)
    assert err.value.field == "currency"
    assert "JPY, USD" in str(err.value)
    fig = plot.mrr_movements(rows, currency="JPY")
    assert max(bar_heights(fig.axes[0])) == pytest.approx(700.0)


def test_three_decimal_currencies_are_drawn_in_whole_units() -> None:
    fig = plot.mrr_movements([movement(3, "1.234", "0", "1.234", "KWD")])
    assert max(bar_heights(fig.axes[0])) == pytest.approx(1.234)
    assert fig.axes[0].get_ylabel() == "KWD"


def test_rows_that_are_not_report_rows_and_empty_reports_are_refused() -> None:
    with pytest.raises(ValidationError, match="'rows' must be report rows"):
        plot.mrr_movements([{"new": 1}])  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="at least one row"):
        plot.mrr_movements([])


# ------------------------------------------------ charts of a generated firm's reports

from milestonebill.agreement import Agreement  # noqa: E402
from milestonebill.periods import add_months  # noqa: E402
from milestonebill.reports import (  # noqa: E402
    aging,
    billing_revenue_forecast,
    cash_forecast,
    monthly_movements,
)
from milestonebill.testing.firm import Firm, generated_firm  # noqa: E402


@pytest.fixture(scope="module")
def firm() -> tuple[Firm, list[Agreement]]:
    f = generated_firm(40, months=15, seed=3)
    return f, f.agreements()


def signed_by(agreements: list[Agreement], day: date) -> list[Agreement]:
    return [a for a in agreements if a.signed_on is not None and a.signed_on <= day]


def test_cash_forecast_chart_stacks_sources_and_draws_the_running_total(
        firm: tuple[Firm, list[Agreement]], tmp_path: Path) -> None:
    f, agreements = firm
    as_of = add_months(f.start, 9)
    rows = list(cash_forecast(signed_by(agreements, as_of), as_of, periods=6, history=3))
    fig = plot.cash_forecast(rows, title="Cash", path=tmp_path / "cash.png")
    assert plot.png_size(fig) == SIZE
    ax = fig.axes[0]
    assert len(bar_heights(ax)) == 3 * len(rows)  # collected, open invoices, billing to come
    line = ax.get_lines()[0]  # then the zero axis
    running = sum(r.total.minor for r in rows) / 100
    assert last_y(line) == pytest.approx(running)
    assert running > 0


def test_billing_vs_revenue_chart_has_one_pair_of_bars_per_period(
        firm: tuple[Firm, list[Agreement]]) -> None:
    f, agreements = firm
    as_of = add_months(f.start, 9)
    rows = list(billing_revenue_forecast(signed_by(agreements, as_of), as_of, periods=6,
                                         history=6))
    fig = plot.billing_vs_revenue(rows)
    heights = bar_heights(fig.axes[0])
    assert heights[:len(rows)] == pytest.approx([r.billed.minor / 100 for r in rows])
    assert heights[len(rows):] == pytest.approx([r.revenue.minor / 100 for r in rows])
    assert plot.png_size(fig) == SIZE


def test_aging_chart_shows_the_top_clients_and_sums_the_rest(
        firm: tuple[Firm, list[Agreement]]) -> None:
    f, agreements = firm
    as_of = f.through
    rows = [r for r in aging(signed_by(agreements, as_of), as_of) if r.client is not None]
    assert len(rows) > 4
    fig = plot.ar_aging(rows, top=4)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == f"{len(rows) - 4} other clients"  # drawn at the bottom
    assert len(labels) == 5
    widths = [p.get_width() for p in ax.patches if isinstance(p, Rectangle)]
    per_bar = [sum(widths[i::5]) for i in range(5)]
    assert sum(per_bar) == pytest.approx(sum(r.total.minor for r in rows) / 100)
    assert plot.png_size(fig) == SIZE
    with pytest.raises(ValidationError, match="'top'"):
        plot.ar_aging(rows, top=0)


def test_mrr_movement_chart_of_a_firm_ends_on_its_closing_mrr(
        firm: tuple[Firm, list[Agreement]]) -> None:
    f, agreements = firm
    totals = list(monthly_movements(agreements, f.start.replace(day=1), 12))
    fig = plot.mrr_movements(totals)
    closing_line = fig.axes[1].get_lines()[0]
    assert last_y(closing_line) == pytest.approx(totals[-1].closing.minor / 100)

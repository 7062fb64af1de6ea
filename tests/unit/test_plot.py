"""Charts render to PNGs of the promised size, from real report rows, and refuse
what they cannot draw honestly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="charts need the plot extra (matplotlib)")

from matplotlib.axes import Axes
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

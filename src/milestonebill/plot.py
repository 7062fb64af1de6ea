"""Charts of the firm's reports (extra ``plot``: ``pip install milestonebill[plot]``).

Each function takes the rows of one report from :mod:`milestonebill.reports`
and returns a :class:`matplotlib.figure.Figure`; give ``path=`` to also
save it as a PNG.  Figures are made without :mod:`matplotlib.pyplot`, on
the non-interactive Agg canvas, so charting works in services, CI and
notebooks alike and never opens a window or touches global state.

* :func:`cash_forecast` -- collections per period as bars (collected,
  expected from open invoices, expected from billing still to come) with
  the cumulative total as a line;
* :func:`billing_vs_revenue` -- billed and earned per period, side by side;
* :func:`ar_aging` -- open receivables per client, stacked by aging bucket,
  with payments in flight shown apart from overdue amounts;
* :func:`mrr_movements` -- new, expansion, contraction and churn per
  period, with the closing MRR as a line.

A chart shows one currency.  Rows in several currencies are refused unless
``currency=`` picks one: amounts in different currencies are never added or
drawn on one axis.  Amounts reach matplotlib as floats of whole currency
units, which is only for drawing: every sum behind a bar or a line is
made first in integer minor units.

>>> from datetime import date
>>> from milestonebill.money import Money
>>> from milestonebill.periods import Period
>>> from milestonebill.reports import BillingRevenueRow
>>> rows = [BillingRevenueRow(Period.month(2026, m), Money("5000.00", "USD"),
...                           Money(f"{1000 * m}.00", "USD"), "forecast") for m in (1, 2, 3)]
>>> fig = billing_vs_revenue(rows, title="Q1")
>>> png_size(fig)
(960, 540)
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import attrs

from milestonebill.errors import ValidationError
from milestonebill.money import Currency, Money
from milestonebill.periods import Period

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ar_aging",
    "billing_vs_revenue",
    "cash_forecast",
    "mrr_movements",
    "png_size",
    "save_png",
]

#: Width and height in inches, and dots per inch: 960 x 540 pixels.
FIGSIZE = (9.6, 5.4)
DPI = 100

# Colours from matplotlib's default cycle, named for what they show.
_BLUE, _ORANGE, _GREEN, _RED, _PURPLE, _GREY = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f")


class _CashRow(Protocol):
    @property
    def period(self) -> Period: ...
    @property
    def collected(self) -> Money: ...
    @property
    def from_invoices(self) -> Money: ...
    @property
    def from_billing(self) -> Money: ...
    @property
    def total(self) -> Money: ...


class _BillingRevenueRow(Protocol):
    @property
    def period(self) -> Period: ...
    @property
    def billed(self) -> Money: ...
    @property
    def revenue(self) -> Money: ...


class _AgingRow(Protocol):
    @property
    def client(self) -> str | None: ...
    @property
    def current(self) -> Money: ...
    @property
    def days_1_30(self) -> Money: ...
    @property
    def days_31_60(self) -> Money: ...
    @property
    def days_61_90(self) -> Money: ...
    @property
    def over_90(self) -> Money: ...
    @property
    def processing(self) -> Money: ...
    @property
    def action_required(self) -> Money: ...
    @property
    def total(self) -> Money: ...


class _MovementRow(Protocol):
    @property
    def start(self) -> date: ...
    @property
    def end(self) -> date: ...
    @property
    def new(self) -> Money: ...
    @property
    def expansion(self) -> Money: ...
    @property
    def contraction(self) -> Money: ...
    @property
    def churn(self) -> Money: ...
    @property
    def closing(self) -> Money: ...


R = TypeVar("R")


def _matplotlib() -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError(
            "charts need matplotlib: pip install 'milestonebill[plot]'") from exc
    return Figure, FigureCanvasAgg


def _new_figure() -> Figure:
    figure_cls, canvas_cls = _matplotlib()
    fig: Figure = figure_cls(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    canvas_cls(fig)
    return fig


def _money_fields(row: object) -> list[Money]:
    if not attrs.has(type(row)):
        raise ValidationError("rows", "report rows (attrs values)", row)
    values = (getattr(row, f.name) for f in attrs.fields(cast(Any, type(row))))
    return [v for v in values if isinstance(v, Money)]


def _one_currency(rows: Sequence[R], currency: str | Currency | None,
                  field: str) -> tuple[list[R], Currency]:
    """The rows in one currency, and that currency; mixed currencies refused."""
    seen: dict[Currency, list[R]] = {}
    for row in rows:
        codes = {m.currency for m in _money_fields(row)}
        if len(codes) != 1:
            raise ValidationError(field, "rows whose amounts are all in one currency", row)
        seen.setdefault(codes.pop(), []).append(row)
    if currency is not None:
        chosen = Currency.of(currency)
        return seen.get(chosen, []), chosen
    if not seen:
        raise ValidationError(field, "at least one row to draw", list(rows))
    if len(seen) > 1:
        codes_text = ", ".join(sorted(c.code for c in seen))
        raise ValidationError(
            "currency", f"one of {codes_text} (the rows mix currencies; a chart never adds "
            "amounts in different currencies)", None)
    ((only, picked),) = seen.items()
    return picked, only


def _units(minor: int, currency: Currency) -> float:
    """Whole currency units for drawing (sums are made before, in minor units)."""
    return float(minor) / float(10 ** currency.exponent)


def _period_label(start: date, end: date) -> str:
    if start.day == 1 and end.day == 1 and (end.year * 12 + end.month) - (
            start.year * 12 + start.month) == 1:
        return start.strftime("%b %Y")
    return start.isoformat()


def _amounts(axis: Any, currency: Currency) -> None:
    """Tick labels as whole amounts with thousands separators (no ``1e6``)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10],
                                       integer=currency.exponent == 0))
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"
                                           if abs(value) >= 100 or value == 0
                                           else f"{value:,.{currency.exponent}f}"))


def _legend(fig: Figure, *axes: Axes) -> None:
    """One legend for the figure, above the plot, never over the bars."""
    handles: list[Any] = []
    labels: list[str] = []
    for ax in axes:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels) if len(labels) <= 5 else -(-len(labels) // 2),
               frameon=False)


def _finish(fig: Figure, ax: Axes, currency: Currency, title: str | None,
            path: str | os.PathLike[str] | None) -> Figure:
    ax.set_ylabel(currency.code)
    _amounts(ax.yaxis, currency)
    ax.grid(axis="y", alpha=0.3)
    ax.axhline(0, color="black", linewidth=0.8)
    if title is not None:
        ax.set_title(title)
    if path is not None:
        save_png(fig, path)
    return fig


def _x_labels(ax: Axes, labels: Sequence[str]) -> None:
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45 if len(labels) > 6 else 0, ha="right"
                       if len(labels) > 6 else "center")


def cash_forecast(rows: Iterable[_CashRow], *, currency: str | Currency | None = None,
                  title: str | None = None,
                  path: str | os.PathLike[str] | None = None) -> Figure:
    """Collections per period, stacked by source, with the cumulative total as a line.

    ``rows`` are :class:`~milestonebill.reports.CashRow` values (from
    :func:`~milestonebill.reports.cash_forecast`), one currency at a time.
    """
    chosen, cur = _one_currency(list(rows), currency, "rows")
    chosen.sort(key=lambda r: r.period.start)
    fig = _new_figure()
    ax = fig.add_subplot()
    xs = range(len(chosen))
    bottom = [0.0] * len(chosen)
    for name, colour, label in (("collected", _GREEN, "collected"),
                                ("from_invoices", _BLUE, "expected: open invoices"),
                                ("from_billing", _ORANGE, "expected: billing to come")):
        heights = [_units(getattr(r, name).minor, cur) for r in chosen]
        ax.bar(xs, heights, bottom=bottom, color=colour, label=label)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    running, cumulative = 0, []
    for r in chosen:
        running += r.total.minor
        cumulative.append(_units(running, cur))
    ax.plot(list(xs), cumulative, color=_GREY, marker="o", label="cumulative")
    _x_labels(ax, [_period_label(r.period.start, r.period.end) for r in chosen])
    _legend(fig, ax)
    return _finish(fig, ax, cur, title, path)


def billing_vs_revenue(rows: Iterable[_BillingRevenueRow], *,
                       currency: str | Currency | None = None, title: str | None = None,
                       path: str | os.PathLike[str] | None = None) -> Figure:
    """Billed and earned per period as bars side by side.

    ``rows`` are :class:`~milestonebill.reports.BillingRevenueRow` values (from
    :func:`~milestonebill.reports.billing_revenue_forecast`).
    """
    chosen, cur = _one_currency(list(rows), currency, "rows")
    chosen.sort(key=lambda r: r.period.start)
    fig = _new_figure()
    ax = fig.add_subplot()
    width = 0.4
    ax.bar([i - width / 2 for i in range(len(chosen))],
           [_units(r.billed.minor, cur) for r in chosen], width, color=_BLUE, label="billed")
    ax.bar([i + width / 2 for i in range(len(chosen))],
           [_units(r.revenue.minor, cur) for r in chosen], width, color=_GREEN, label="revenue")
    _x_labels(ax, [_period_label(r.period.start, r.period.end) for r in chosen])
    _legend(fig, ax)
    return _finish(fig, ax, cur, title, path)


_AGING = (("current", _GREEN, "current"), ("days_1_30", "#bcbd22", "1-30 days"),
          ("days_31_60", _ORANGE, "31-60 days"), ("days_61_90", _RED, "61-90 days"),
          ("over_90", "#8c564b", "90+ days"), ("processing", _BLUE, "processing"),
          ("action_required", _PURPLE, "awaiting client action"))


def ar_aging(rows: Iterable[_AgingRow], *, currency: str | Currency | None = None,
             top: int = 10, title: str | None = None,
             path: str | os.PathLike[str] | None = None) -> Figure:
    """Open receivables per client as horizontal bars stacked by aging bucket.

    ``rows`` are :class:`~milestonebill.reports.AgingRow` values (from
    :func:`~milestonebill.reports.aging`); the all-clients row is left out.
    The ``top`` clients by total are drawn largest first and the rest summed
    into one "other clients" bar.  Payments processing or awaiting the
    client's action have their own colours: they are never drawn as overdue.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``top`` unless it
    is a whole number, 1 or more, or ``rows`` when they are in more than one
    currency and no ``currency`` is given.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValidationError("top", "a whole number of clients, at least 1", top)
    chosen, cur = _one_currency([r for r in rows if r.client is not None], currency, "rows")
    chosen.sort(key=lambda r: (-r.total.minor, r.client or ""))
    shown: list[tuple[str, dict[str, int]]] = [
        (r.client or "", {n: getattr(r, n).minor for n, _, _ in _AGING}) for r in chosen[:top]]
    if len(chosen) > top:
        rest = chosen[top:]
        shown.append((f"{len(rest)} other clients",
                      {n: sum(getattr(r, n).minor for r in rest) for n, _, _ in _AGING}))
    shown.reverse()  # barh draws bottom-up; the largest client goes on top
    fig = _new_figure()
    ax = fig.add_subplot()
    left = [0.0] * len(shown)
    ys = range(len(shown))
    for name, colour, label in _AGING:
        widths = [_units(sums[name], cur) for _, sums in shown]
        ax.barh(ys, widths, left=left, color=colour, label=label)
        left = [a + w for a, w in zip(left, widths, strict=True)]
    ax.set_yticks(list(ys))
    ax.set_yticklabels([client for client, _ in shown])
    ax.set_xlabel(cur.code)
    _amounts(ax.xaxis, cur)
    ax.grid(axis="x", alpha=0.3)
    _legend(fig, ax)
    if title is not None:
        ax.set_title(title)
    if path is not None:
        save_png(fig, path)
    return fig


def mrr_movements(rows: Iterable[_MovementRow], *, currency: str | Currency | None = None,
                  title: str | None = None,
                  path: str | os.PathLike[str] | None = None) -> Figure:
    """New and expansion MRR above the axis, contraction and churn below, per
    period, with the closing MRR as a line on its own axis.

    ``rows`` are :class:`~milestonebill.reports.MovementTotal` values, one per
    period (from :func:`~milestonebill.reports.monthly_movements`, or
    :func:`~milestonebill.reports.movement_totals` over several spans).
    """
    chosen, cur = _one_currency(list(rows), currency, "rows")
    chosen.sort(key=lambda r: r.start)
    fig = _new_figure()
    ax = fig.add_subplot()
    xs = list(range(len(chosen)))
    up = [0.0] * len(chosen)
    down = [0.0] * len(chosen)
    for name, colour, sign in (("new", _GREEN, 1), ("expansion", _BLUE, 1),
                               ("contraction", _ORANGE, -1), ("churn", _RED, -1)):
        heights = [sign * abs(_units(getattr(r, name).minor, cur)) for r in chosen]
        base = up if sign > 0 else down
        ax.bar(xs, heights, bottom=base, color=colour, label=name)
        for i, h in enumerate(heights):
            base[i] += h
    line_ax = ax.twinx()
    line_ax.plot(xs, [_units(r.closing.minor, cur) for r in chosen], color=_GREY,
                 marker="o", label="closing MRR")
    line_ax.set_ylabel(f"closing MRR ({cur.code})")
    line_ax.set_ylim(bottom=0)
    _amounts(line_ax.yaxis, cur)
    _x_labels(ax, [_period_label(r.start, r.end) for r in chosen])
    _legend(fig, ax, line_ax)
    return _finish(fig, ax, cur, title, path)


def save_png(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` to ``path`` as a PNG of 960 x 540 pixels (``FIGSIZE`` inches at ``DPI``)."""
    fig.savefig(path, format="png", dpi=DPI)


def png_size(fig: Figure) -> tuple[int, int]:
    """The width and height in pixels of ``fig`` rendered as a PNG (read back
    from the PNG's own header)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    data = buf.getvalue()
    if data[:8] != b"\x89PNG\r\n\x1a\n":  # pragma: no cover - matplotlib's promise
        raise ValueError("matplotlib did not write a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")

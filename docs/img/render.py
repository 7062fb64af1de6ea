"""Render the charts shown in the docs from a generated firm.

Run from the repository root with the ``plot`` extra installed::

    python docs/img/render.py

It writes ``docs/img/*.png`` from ``generated_firm(200, months=24, seed=1)``
(the same firm the report tie-out tests use), as of the end of its 18th
month, so forecasts have a past and a future.
"""

from __future__ import annotations

from pathlib import Path


def main() -> None:
    from milestonebill import plot
    from milestonebill.periods import add_months
    from milestonebill.reports import (
        aging,
        billing_revenue_forecast,
        cash_forecast,
        monthly_movements,
    )
    from milestonebill.testing.firm import generated_firm

    out = Path(__file__).parent
    firm = generated_firm(200, months=24, seed=1)
    as_of = add_months(firm.start.replace(day=1), 18)
    agreements = [a for a in firm.agreements() if a.signed_on and a.signed_on <= as_of]
    cash = cash_forecast(agreements, as_of, periods=6, history=6)
    plot.cash_forecast(cash, title=f"Cash: six months to {as_of}, six ahead",
                       path=out / "cash_forecast.png")
    billing = billing_revenue_forecast(agreements, as_of, periods=6, history=6)
    plot.billing_vs_revenue(billing, title="Billed and earned per month",
                            path=out / "billing_vs_revenue.png")
    plot.ar_aging([r for r in aging(agreements, as_of) if r.client is not None],
                  title=f"Receivables on {as_of}", path=out / "ar_aging.png")
    plot.mrr_movements(monthly_movements(agreements, add_months(as_of, -12), 12),
                       title="MRR movements, last twelve months",
                       path=out / "mrr_movements.png")


if __name__ == "__main__":
    main()

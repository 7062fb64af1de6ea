"""Render the invoice shown in ``docs/documents.md`` and take a browser screenshot of it.

Run from the repository root with Jinja2 installed and Chromium on the PATH::

    python docs/img/invoice.py            # writes docs/img/invoice.png
    python docs/img/invoice.py --pdf      # also docs/img/invoice.pdf (needs WeasyPrint)

The invoice is a real one: a studio signs a proposal on Monday 2 March
2026 (a deposit on signing, a design milestone, a monthly support
retainer), the Biller issues the first invoice with sales tax, the client
pays part of it by bank transfer on 10 March, and the invoice is rendered
as of 12 March: partially paid, with the amount still due.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

OUT = Path(__file__).parent
#: A small vector logo: a rounded square and the studio's initial.
LOGO = b"""<svg xmlns="http://www.w3.org/2000/svg" width="240" height="64" viewBox="0 0 240 64">
<rect x="0" y="0" width="64" height="64" rx="14" fill="#0f4c5c"/>
<path d="M18 46 V18 L46 46 V18" stroke="#ffffff" stroke-width="6" fill="none"
 stroke-linejoin="round" stroke-linecap="round"/>
<text x="78" y="30" font-family="Liberation Sans, Arial, sans-serif" font-size="20"
 font-weight="700" fill="#0f4c5c">NORTHWIND</text>
<text x="78" y="52" font-family="Liberation Sans, Arial, sans-serif" font-size="14"
 letter-spacing="3" fill="#e36414">DESIGN STUDIO</text>
</svg>"""


def invoice_html() -> str:
    """The sample invoice as HTML."""
    from milestonebill.agreement import Collection, PackageOption, Proposal, ProposalId
    from milestonebill.documents import FlatTax, TaxPolicy, TaxRate
    from milestonebill.money import Money
    from milestonebill.rendering import Branding, render_invoice
    from milestonebill.schedule import (
        BillingSchedule,
        Interval,
        ItemId,
        Milestone,
        MilestoneId,
        PaymentTerms,
        RecurringCharge,
        Trigger,
    )
    from milestonebill.testing.scenarios import World

    terms = PaymentTerms.net(14)
    deposit = Milestone(MilestoneId("deposit"), "Deposit: discovery workshop",
                        amount=Money("4000.00", "USD"), trigger=Trigger.ON_SIGNING, terms=terms)
    design = Milestone(MilestoneId("design"), "Brand identity and design system",
                       amount=Money("6000.00", "USD"), terms=terms)
    support = RecurringCharge(ItemId("support"), "Design support retainer",
                              Money("1200.00", "USD"), Interval.MONTHLY,
                              start=date(2026, 3, 2), count=6, terms=terms)
    tax = TaxPolicy(FlatTax(TaxRate("Sales tax", Decimal("0.08875"))))
    world = World(tax=tax)
    plan = BillingSchedule(currency="USD", milestones=[deposit, design], recurring=[support])
    offer = Proposal(ProposalId("p-2026-014"), "Fabrikam, Inc.", "USD",
                     (PackageOption("std", "Brand refresh", plan),),
                     collection=Collection.SEND_INVOICE)
    world.open(offer, payment_method=None)
    world.biller.run(date(2026, 3, 2))
    first = world.load().invoices[0]
    world.on(date(2026, 3, 10))
    world.biller.record_payment(first.id, Money("2500.00", "USD"), reference="wire 0310")
    branding = Branding(
        "Northwind Design Studio", address=("88 Harbor Street, Suite 4", "Portland, ME 04101"),
        logo=LOGO, primary_colour="#0f4c5c", accent_colour="#e36414", tax_id="12-3456789",
        footer="Northwind Design Studio LLC · hello@northwind.example · +1 207 555 0147\n"
               "Thank you for your business.",
        payment_instructions="Bank transfer to Northwind Design Studio LLC\n"
                             "Account 0012 3456 789 · Routing 011 000 015\n"
                             "Please quote the invoice number.")
    return render_invoice(world.load(), first.id, as_of=date(2026, 3, 12), branding=branding,
                          locale="en_US", client_address=("Attn. Accounts Payable", "1 Main Street",
                                                          "Redmond, WA 98052"))


def screenshot(html: str, png: Path, *, width: int = 900, height: int = 1110) -> None:
    """A headless Chromium screenshot of ``html`` (a fresh profile, no network use)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium is not on the PATH")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "invoice.html"
        page.write_text(html, encoding="utf-8")
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", f"--user-data-dir={Path(tmp) / 'profile'}",
             f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()],
            check=True, capture_output=True, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pdf", action="store_true", help="also write docs/img/invoice.pdf")
    args = parser.parse_args()
    html = invoice_html()
    screenshot(html, OUT / "invoice.png")
    if args.pdf:
        from milestonebill.rendering import to_pdf

        (OUT / "invoice.pdf").write_bytes(to_pdf(html))


if __name__ == "__main__":
    main()

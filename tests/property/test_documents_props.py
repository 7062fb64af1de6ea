"""Properties of rendered client documents.

* Whatever text a client or firm writes, the page has the same elements as
  with plain text (line breaks aside), and shows the text as written:
  nothing becomes HTML.
* Every amount a page shows is the document's amount, exact to its
  currency's minor unit, in every locale: read back with the locale's
  symbols it gives the same number with exactly the currency's decimals;
  the lines shown add up to the subtotal shown, and subtotal plus tax to
  the total.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("jinja2", reason="HTML documents need Jinja2 (the 'documents' extra)")

from milestonebill.agreement import Agreement, PackageOption, Proposal, ProposalId
from milestonebill.documents import (
    FlatTax,
    Invoice,
    InvoiceLine,
    LineKind,
    TaxMethod,
    TaxPolicy,
    TaxRate,
)
from milestonebill.ids import InvoiceId
from milestonebill.money import Currency, Money
from milestonebill.rendering import render_invoice, render_proposal
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId
from milestonebill.testing.documents import Element, parse_html, sample_branding
from milestonebill.testing.scenarios import World, proposal
from milestonebill.testing.strategies import currencies

MONDAY = date(2026, 3, 2)
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "ja_JP")

#: Free text as people type it, markup characters made likely; no digits (a long
#: digit run may be refused as a card number, which is not what is tested here).
free_text = st.text(
    alphabet=st.one_of(st.sampled_from("<>&\"'/=;{}%# \n\t"),
                       st.characters(blacklist_categories=("Cs", "Cc", "Nd"))),
    min_size=1, max_size=40).filter(lambda text: text.strip())


def shape(page: Element) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """The elements and attributes, but for the line breaks and paragraphs a
    text's own line breaks make, and the logo's alt text (the firm's name)."""
    return [(e.tag, tuple(sorted((k, v) for k, v in e.attributes.items() if k != "alt")))
            for e in page.iter() if e.tag not in ("br", "p")]


def offer(text: str) -> Proposal:
    plan = BillingSchedule(currency="EUR", milestones=[
        Milestone(MilestoneId("m"), text, amount=Money("1.00", "EUR"))])
    return Proposal(ProposalId("p"), text, "EUR", (PackageOption("o", text, plan, scope=text),))


@settings(max_examples=60, deadline=None)
@given(free_text)
def test_no_text_changes_the_elements_of_a_proposal(text: str) -> None:
    branding = sample_branding(firm_name=text, footer=text)
    page = parse_html(render_proposal(offer(text), branding=branding, conditions=text))
    plain = parse_html(render_proposal(offer("x"), branding=sample_branding(firm_name="x",
                                                                         footer="x"),
                                       conditions="x"))
    assert shape(page) == shape(plain)
    shown = re.sub(r"[ \t\n\r\f]+", " ", text).strip()  # as a browser shows it
    assert page.find("div", "client-name").text == shown
    assert page.find("div", "firm-name").text == shown
    assert page.find("img", "logo").attributes["alt"] == text


@cache
def agreement(currency: str) -> Agreement:
    w = World()
    w.open(proposal([("design", Money.from_minor(1, currency))], currency=currency))
    return w.load()


def shown_number(text: str, locale: str) -> tuple[Decimal, int]:
    """A displayed amount as a number, and how many decimals it was written with."""
    from babel.numbers import get_decimal_symbol, get_group_symbol, get_minus_sign_symbol

    dec, group = get_decimal_symbol(locale), get_group_symbol(locale)
    minus = get_minus_sign_symbol(locale)
    kept = "".join(c for c in text if c.isdigit() or c in (dec, group, minus, "-"))
    kept = re.sub(r"^[^0-9-]+|[^0-9]+$", "", kept.replace(group, ""))
    negative = kept.startswith(("-", minus))
    whole, _, frac = kept.lstrip("-" + minus).partition(dec)
    value = Decimal(f"{whole}.{frac}" if frac else whole)
    return (-value if negative else value), len(frac)


@settings(max_examples=80, deadline=None)
@given(currency=currencies(), locale=st.sampled_from(LOCALES), data=st.data(),
       rate=st.decimals(min_value=0, max_value=Decimal("0.3"), places=4),
       method=st.sampled_from(TaxMethod))
def test_every_amount_shown_is_the_documents_amount_at_its_currencys_decimals(
        currency: Currency, locale: str, data: st.DataObject, rate: Decimal,
        method: TaxMethod) -> None:
    minors = data.draw(st.lists(st.integers(1, 10**12), min_size=1, max_size=6))
    a = agreement(currency.code)
    lines = [InvoiceLine(f"l{i}", None, LineKind.ADJUSTMENT, f"Item {i}",
                         Money.from_minor(m, currency)) for i, m in enumerate(minors)]
    tax = TaxPolicy(FlatTax(TaxRate("Tax", rate)), method=method)
    inv = Invoice.build(id=InvoiceId("draft"), agreement_id=a.id, currency=currency,
                        issued_on=MONDAY, due_on=MONDAY, lines=lines, tax=tax)
    page = parse_html(render_invoice(a, inv, as_of=MONDAY, branding=sample_branding(),
                                     locale=locale))
    amounts = [tr.find("td", "num").text
               for tr in page.find("table", "lines").find("tbody").find_all("tr")]
    totals = [tr.find("td", "num").text for tr in page.find("table", "totals").find_all("tr")]
    read = [shown_number(t, locale) for t in amounts + totals]
    assert {places for _, places in read} == {currency.exponent}
    values = [v for v, _ in read]
    assert values[:len(lines)] == [ln.amount.amount for ln in lines]
    subtotal, tax_shown, total, due = values[len(lines):]
    assert (subtotal, tax_shown, total, due) == (
        inv.subtotal.amount, inv.tax_total.amount, inv.total.amount, inv.total.amount)
    assert sum(values[:len(lines)]) == subtotal
    assert subtotal + tax_shown == total

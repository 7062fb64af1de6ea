"""Invoices, credit notes and proposals rendered to HTML: content, structure, escaping.

Every page is read back with the strict reader of ``milestonebill.testing.documents``
(each element closed in order), and what a client reads is checked against
the documents' own values: each line, the tax, the totals, the amount due,
the client and the firm's branding.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pytest

pytest.importorskip("jinja2", reason="HTML documents need Jinja2 (the 'documents' extra)")

from milestonebill.agreement import (
    Agreement,
    ApprovalRules,
    Collection,
    PackageOption,
    Proposal,
    ProposalId,
)
from milestonebill.documents import (
    FlatTax,
    Invoice,
    InvoiceLine,
    LineKind,
    TaxPolicy,
    TaxRate,
)
from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import InvoiceId
from milestonebill.money import Currency, Money, format_money
from milestonebill.rendering import Branding, render_credit_note, render_invoice
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
from milestonebill.testing.documents import SAMPLE_LOGO, Element, parse_html, sample_branding
from milestonebill.testing.scenarios import World, proposal

VAT = TaxPolicy(FlatTax(TaxRate("VAT", Decimal("0.2"))))
SIGNED = date(2026, 3, 2)  # the scenarios' Monday
NET_14 = PaymentTerms.net(14)


def studio(*, currency: str = "USD", client: str = "Fabrikam, Inc.",
           amounts: tuple[str, str, str] = ("4000.00", "6000.00", "1200.00"),
           names: tuple[str, str, str] = ("Deposit", "Design", "Support"),
           tax: TaxPolicy = VAT) -> World[InMemoryGateway]:
    """A client signed on 2 March: a deposit on signing, a design milestone on
    completion, a monthly support retainer; invoices sent, net 14, with VAT.
    The first invoice (deposit and March's support) is issued on signing."""
    cur = Currency.of(currency)
    deposit = Milestone(MilestoneId("deposit"), names[0], amount=Money(amounts[0], cur),
                        trigger=Trigger.ON_SIGNING, terms=NET_14)
    design = Milestone(MilestoneId("design"), names[1], amount=Money(amounts[1], cur),
                       terms=NET_14)
    support = RecurringCharge(ItemId("support"), names[2], Money(amounts[2], cur),
                              Interval.MONTHLY, start=SIGNED, count=6, terms=NET_14)
    plan = BillingSchedule(currency=cur, milestones=[deposit, design], recurring=[support])
    offer = Proposal(ProposalId("p-1"), client, cur, (PackageOption("std", "Standard", plan),),
                     collection=Collection.SEND_INVOICE,
                     approval=ApprovalRules(require_client_approval=False))
    w = World(tax=tax)
    w.open(offer, payment_method=None)
    w.biller.run(SIGNED)
    return w


def first_invoice(w: World[InMemoryGateway]) -> Invoice:
    return w.load().invoices[0]


def page_of(agreement: Agreement, invoice: Invoice | str, *, as_of: date = SIGNED,
            locale: str = "en_US", branding: Branding | None = None,
            client_address: Sequence[str] = ()) -> Element:
    return parse_html(render_invoice(
        agreement, invoice, as_of=as_of, locale=locale,
        branding=branding if branding is not None else sample_branding(),
        client_address=client_address))


def rows(page: Element, table: str = "lines") -> list[list[str]]:
    body = page.find("table", table).find("tbody")
    return [[c.text for c in tr.children if isinstance(c, Element)] for tr in body.find_all("tr")]


def totals(page: Element) -> dict[str, str]:
    out = {}
    for tr in page.find("table", "totals").find_all("tr"):
        label = "".join(c for c in tr.find("th").children if isinstance(c, str)).strip()
        out[label] = tr.find("td").text
    return out


def usd(amount: str) -> str:
    return format_money(Money(amount, "USD"), "en_US")


# ---------------------------------------------------------------- what an invoice says


def test_an_invoice_shows_every_line_with_where_it_comes_from_and_its_amount() -> None:
    w = studio()
    page = page_of(w.load(), first_invoice(w))
    assert rows(page) == [
        ["Deposit", "Milestone due on signing, March 2, 2026", "$4,000.00"],
        ["Support", "Service period Mar 2\u2009\u2013\u2009Apr 1, 2026", "$1,200.00"],
    ]


def test_a_completed_milestone_names_the_day_it_was_completed() -> None:
    w = studio()
    w.on(date(2026, 3, 20))
    (design,) = w.complete("design").invoices
    page = page_of(w.load(), design.id, as_of=date(2026, 3, 20))
    assert rows(page) == [["Design", "Milestone completed on March 20, 2026", "$6,000.00"]]


def test_the_totals_show_subtotal_tax_on_its_base_total_and_amount_due() -> None:
    w = studio()
    inv = first_invoice(w)
    shown = totals(page_of(w.load(), inv))
    assert shown == {"Subtotal": usd("5200.00"), "VAT 20%": usd("1040.00"),
                     "Total": usd("6240.00"), "Amount due": usd("6240.00")}
    assert (inv.subtotal, inv.tax_total, inv.total) == (
        Money("5200.00", "USD"), Money("1040.00", "USD"), Money("6240.00", "USD"))
    tax_note = page_of(w.load(), inv).find("table", "totals").find("span", "note").text
    assert tax_note == f"on {usd('5200.00')}"


def test_a_partially_paid_invoice_shows_what_was_paid_and_what_is_still_due() -> None:
    w = studio()
    inv = first_invoice(w)
    w.on(date(2026, 3, 10))
    w.biller.record_payment(inv.id, Money("2500.00", "USD"), reference="wire 0310")
    page = page_of(w.load(), inv, as_of=date(2026, 3, 10))
    assert page.find("div", "status").text == "Partially paid"
    assert totals(page)["Paid"] == usd("-2500.00")
    assert totals(page)["Amount due"] == usd("3740.00")
    assert page.find("section", "how-to-pay").text == (
        "How to pay Account 0012 3456 789 Routing 011 000 015")


def test_after_its_due_date_an_unpaid_invoice_is_overdue_and_says_since_when() -> None:
    w = studio()
    page = page_of(w.load(), first_invoice(w), as_of=date(2026, 3, 17))
    assert page.find("div", "status").text == "Overdue"
    assert page.find("p", "status-note").text == "Payment was due on March 16, 2026."


def test_a_paid_invoice_is_marked_paid_with_nothing_due_and_no_payment_details() -> None:
    w = studio()
    inv = first_invoice(w)
    w.biller.record_payment(inv.id, inv.total, reference="wire")
    page = page_of(w.load(), inv)
    assert page.find("div", "status").text == "Paid"
    assert totals(page)["Amount due"] == usd("0.00")
    assert page.find_all("section", "how-to-pay") == []


def test_an_adjustment_line_names_the_invoice_it_adjusts() -> None:
    w = studio()
    w.on(date(2026, 3, 20))
    first = w.complete("design").invoices[0]
    w.on(date(2026, 3, 23))
    (extra,) = w.reprice("design", "6500.00").invoices
    page = page_of(w.load(), extra.id, as_of=date(2026, 3, 23))
    assert rows(page) == [["Design", f"Milestone completed on March 20, 2026 "
                                     f"Adjusts invoice {first.number}", "$500.00"]]


def test_the_invoice_names_the_client_with_its_address_and_the_document_facts() -> None:
    w = studio(client="Bäckerei Koch GmbH")
    inv = first_invoice(w)
    page = page_of(w.load(), inv, client_address=["Hauptstr. 1", "10115 Berlin"])
    client = page.find("div", "client")
    assert [d.text for d in client.find_all("div")] == [
        "Bäckerei Koch GmbH", "Hauptstr. 1", "10115 Berlin"]
    facts = {f.find("dt").text: f.find("dd").text for f in page.find_all("div", "fact")}
    assert facts == {"Number": inv.number, "Date of issue": "March 2, 2026",
                     "Due date": "March 16, 2026", "Agreement": "agr-1"}


def test_the_firm_branding_name_address_logo_colours_and_footer_are_on_the_page() -> None:
    w = studio()
    branding = sample_branding(primary_colour="#123456", accent_colour="#FEDCBA")
    page = page_of(w.load(), first_invoice(w), branding=branding)
    assert page.find("div", "firm-name").text == "Northwind Studio"
    assert [d.text for d in page.find_all("div", "firm-line")] == [
        "88 Harbor Street", "Portland, ME 04101", "Tax ID 12-3456789"]
    src = page.find("img", "logo").attributes["src"]
    assert src.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(src.split(",", 1)[1]) == SAMPLE_LOGO
    css = page.find("style").text
    assert "#123456" in css
    assert "#fedcba" in css
    assert "#1f3a5f" not in css
    assert page.find("footer", "page-footer").text == (
        "Northwind Studio LLC Thank you for your business.")


def test_one_template_set_serves_every_firm() -> None:
    w = studio()
    inv = first_invoice(w)
    one = page_of(w.load(), inv, branding=sample_branding())
    other = page_of(w.load(), inv, branding=sample_branding(
        firm_name="Koch & Partner", logo=None, primary_colour="#2d3a8c"))
    assert other.find("div", "firm-name").text == "Koch & Partner"
    assert other.find_all("img") == []
    assert rows(one) == rows(other)
    assert totals(one) == totals(other)


def test_the_page_is_self_contained() -> None:
    w = studio()
    html = render_invoice(w.load(), first_invoice(w), as_of=SIGNED, branding=sample_branding())
    page = parse_html(html)
    assert page.find_all("script") == []
    assert page.find_all("link") == []
    assert all(e.attributes.get("src", "data:").startswith("data:") for e in page.iter())
    assert "url(" not in page.find("style").text


def test_a_draft_invoice_is_shown_as_a_draft_with_all_of_it_due() -> None:
    w = studio()
    a = w.load()
    draft = Invoice.build(id=InvoiceId("draft-1"), agreement_id=a.id, currency=a.currency,
                          issued_on=SIGNED, due_on=SIGNED, lines=[InvoiceLine(
                              "l1", None, LineKind.ADJUSTMENT, "Workshop travel",
                              Money("300.00", "USD"))])
    page = page_of(a, draft)
    assert page.find("div", "status").text == "Draft"
    assert page.find_all("div", "fact")[0].find("dd").text == "Draft"
    assert rows(page) == [["Workshop travel", "", "$300.00"]]
    assert totals(page)["Amount due"] == usd("300.00")


# ---------------------------------------------------------------- credit notes


def test_a_credit_note_names_the_invoice_it_adjusts_why_and_what_it_credits() -> None:
    w = studio()
    w.on(date(2026, 3, 20))
    first = w.complete("design").invoices[0]
    w.on(date(2026, 3, 23))
    (note,) = w.reprice("design", "5000.00").credit_notes
    a = w.load()
    page = parse_html(render_credit_note(a, note.id, branding=sample_branding()))
    assert page.find("h1").text == "Credit note"
    assert page.find("div", "status").text == f"Credits invoice {first.number}"
    facts = {f.find("dt").text: f.find("dd").text for f in page.find_all("div", "fact")}
    assert facts == {"Number": note.number, "Date of issue": "March 23, 2026",
                     "Invoice": first.number, "Reason": "Change to the agreement",
                     "Agreement": "agr-1"}
    assert rows(page) == [["Design", "Milestone completed on March 20, 2026", "$1,000.00"]]
    assert totals(page) == {"Subtotal": usd("1000.00"), "VAT 20%": usd("200.00"),
                            "Total credited": usd("1200.00")}


def test_the_invoice_a_credit_note_adjusts_shows_the_credit_and_the_lower_amount_due() -> None:
    w = studio()
    w.on(date(2026, 3, 20))
    first = w.complete("design").invoices[0]
    w.on(date(2026, 3, 23))
    w.reprice("design", "5000.00")
    shown = totals(page_of(w.load(), first.id, as_of=date(2026, 3, 23)))
    assert shown["Credit notes"] == usd("-1200.00")
    assert shown["Amount due"] == usd("6000.00")


def test_a_refund_credit_note_shows_its_memo_above_a_refund_line() -> None:
    w = World()
    w.open(proposal([("design", "1000.00")]))
    (inv,) = w.complete("design").invoices
    a = w.biller.refund(inv.id, Money("250.00", "USD"), reason="Late delivery, sorry")
    page = parse_html(render_credit_note(a, a.credit_notes[0], branding=sample_branding()))
    assert page.find("section", "memo").text == "Late delivery, sorry"
    assert rows(page) == [["Refund", "", "$250.00"]]
    facts = {f.find("dt").text: f.find("dd").text for f in page.find_all("div", "fact")}
    assert facts["Reason"] == "Refund"


# ---------------------------------------------------------------- currencies and locales


def test_yen_are_shown_without_decimals() -> None:
    w = studio(currency="JPY", amounts=("400000", "600000", "120000"), tax=TaxPolicy())
    page = page_of(w.load(), first_invoice(w), locale="ja_JP")
    assert [r[2] for r in rows(page)] == ["￥400,000", "￥120,000"]
    assert totals(page)["ご請求残高"] == "￥520,000"


def test_kuwaiti_dinars_are_shown_with_three_decimals() -> None:
    w = studio(currency="KWD", amounts=("1250.125", "900.000", "75.500"))
    page = page_of(w.load(), first_invoice(w), locale="en_GB")
    assert [r[2] for r in rows(page)] == ["KWD1,250.125", "KWD75.500"]
    assert totals(page)["VAT 20%"] == "KWD265.125"
    assert totals(page)["Amount due"] == "KWD1,590.750"


LOCALES = {
    # locale: (lang, title, issued, deposit amount, amount-due label)
    "en_US": ("en-US", "Invoice", "March 2, 2026", "$4,000.00", "Amount due"),
    "en_GB": ("en-GB", "Invoice", "2 March 2026", "US$4,000.00", "Amount due"),
    "de_DE": ("de-DE", "Rechnung", "2. März 2026", "4.000,00\xa0$", "Offener Betrag"),
    "fr_FR": ("fr-FR", "Facture", "2 mars 2026", "4\u202f000,00\xa0$US", "Montant dû"),
    "ja_JP": ("ja-JP", "請求書", "2026年3月2日", "$4,000.00", "ご請求残高"),
}


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_each_locale_writes_its_own_words_dates_and_money(locale: str) -> None:
    lang, title, issued, deposit, due_label = LOCALES[locale]
    w = studio()
    page = page_of(w.load(), first_invoice(w), locale=locale)
    assert page.attributes["lang"] == lang
    assert page.find("h1").text == title
    assert page.find_all("dd")[1].text == issued
    assert rows(page)[0][2] == deposit
    assert due_label in totals(page)


def test_a_locale_of_a_supported_language_uses_that_language_and_its_own_formats() -> None:
    w = studio()
    page = page_of(w.load(), first_invoice(w), locale="de-AT")
    assert page.find("h1").text == "Rechnung"
    assert page.find_all("dd")[1].text == "2. März 2026"
    assert page.attributes["lang"] == "de-AT"


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("locale", ["xx_YY", "es_ES", "", "en US"])
def test_a_locale_without_words_is_refused(locale: str) -> None:
    w = studio()
    with pytest.raises(ValidationError) as e:
        render_invoice(w.load(), first_invoice(w), as_of=SIGNED, branding=sample_branding(),
                       locale=locale)
    assert e.value.field == "locale"


def test_an_invoice_of_another_agreement_is_refused() -> None:
    w = studio()
    other = Invoice.build(id=InvoiceId("x"), agreement_id="agr-9", currency=Currency.of("USD"),
                          issued_on=SIGNED, due_on=SIGNED, lines=[InvoiceLine(
                              "l1", None, LineKind.ADJUSTMENT, "x", Money("1.00", "USD"))])
    with pytest.raises(ValidationError) as e:
        render_invoice(w.load(), other, as_of=SIGNED, branding=sample_branding())
    assert e.value.field == "invoice.agreement_id"
    with pytest.raises(NotFoundError):
        render_invoice(w.load(), "inv-nope", as_of=SIGNED, branding=sample_branding())


def test_a_date_before_the_invoice_was_issued_is_refused() -> None:
    w = studio()
    w.on(date(2026, 3, 20))
    (design,) = w.complete("design").invoices
    with pytest.raises(ValidationError) as e:
        render_invoice(w.load(), design, as_of=date(2026, 3, 19), branding=sample_branding())
    assert e.value.field == "as_of"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"branding": "Northwind"}, "branding"),
    ({"client_address": "1 Main St"}, "client_address"),
    ({"client_address": ["ok", 7]}, "client_address[1]"),
])
def test_bad_arguments_name_the_field(kwargs: dict[str, object], field: str) -> None:
    w = studio()
    args: dict[str, object] = {"as_of": SIGNED, "branding": sample_branding(), **kwargs}
    with pytest.raises(ValidationError) as e:
        render_invoice(w.load(), first_invoice(w), **args)  # type: ignore[arg-type]
    assert e.value.field == field

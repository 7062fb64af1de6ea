"""Proposals rendered to HTML: options and add-ons with prices, payment schedules, terms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

pytest.importorskip("jinja2", reason="HTML documents need Jinja2 (the 'documents' extra)")

from milestonebill.agreement import (
    AddOn,
    ApprovalRules,
    Collection,
    PackageOption,
    Proposal,
    ProposalId,
)
from milestonebill.errors import ValidationError
from milestonebill.money import Money
from milestonebill.rendering import render_proposal
from milestonebill.schedule import (
    BillingSchedule,
    Interval,
    IntervalUnit,
    ItemId,
    Milestone,
    MilestoneId,
    PaymentTerms,
    RecurringCharge,
    Timing,
    Trigger,
)
from milestonebill.testing.documents import Element, parse_html, sample_branding


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


BASIC = BillingSchedule(currency="EUR", milestones=[
    Milestone(MilestoneId("kickoff"), "Kick-off workshop", amount=eur("2500.00"),
              trigger=Trigger.ON_SIGNING),
    Milestone(MilestoneId("launch"), "Launch", amount=eur("7500.00"), terms=PaymentTerms.net(30)),
])
PLUS = BillingSchedule(currency="EUR", fee=eur("100.00"), milestones=[
    Milestone(MilestoneId("p1"), "Design", percent=Decimal("33.33"), trigger=Trigger.ON_DATE,
              due_on=date(2026, 5, 15), terms=PaymentTerms.net(1)),
    Milestone(MilestoneId("p2"), "Build", percent=Decimal("33.33")),
    Milestone(MilestoneId("p3"), "Launch", percent=Decimal("33.34")),
])
CARE = BillingSchedule(currency="EUR", recurring=[
    RecurringCharge(ItemId("care"), "Care plan", eur("450.00"), Interval.MONTHLY,
                    start=date(2026, 6, 1), count=12)])
SEO = BillingSchedule(currency="EUR", recurring=[
    RecurringCharge(ItemId("seo"), "SEO report", eur("900.00"),
                    Interval.every(2, IntervalUnit.WEEK), start=date(2026, 6, 1),
                    end=date(2027, 1, 1), timing=Timing.IN_ARREARS,
                    terms=PaymentTerms.net(30))])
OFFER = Proposal(
    ProposalId("P-2026-031"), "Bäckerei Koch GmbH", "EUR",
    (PackageOption("basic", "Website Basic", BASIC, scope="Five pages.\nResponsive."),
     PackageOption("plus", "Website Plus", PLUS)),
    addons=(AddOn("care", "Care plan", CARE, scope="Updates and backups."),
            AddOn("seo", "SEO reporting", SEO)),
    valid_until=date(2026, 4, 30), approval=ApprovalRules(True, 10),
    collection=Collection.SEND_INVOICE)


def page(locale: str = "en_US", offer: Proposal = OFFER, **kwargs: str) -> Element:
    return parse_html(render_proposal(offer, branding=sample_branding(), locale=locale,
                                      issued_on=date(2026, 3, 2), **kwargs))


def schedule(option: Element) -> list[list[str]]:
    return [[c.text for c in tr.children if isinstance(c, Element)]
            for tr in option.find("tbody").find_all("tr")]


def test_every_package_option_shows_its_price_scope_and_payment_schedule() -> None:
    basic, plus = page().find("section", "options").find_all("article", "option")
    assert basic.find("h3").text == "Website Basic"
    assert basic.find("div", "price").text == "Price €10,000.00"
    assert basic.find("div", "scope").text == "Scope Five pages. Responsive."
    assert schedule(basic) == [
        ["Kick-off workshop", "On signing", "Due on receipt", "€2,500.00"],
        ["Launch", "On completion", "Net 30 days", "€7,500.00"],
    ]
    assert plus.find("h3").text == "Website Plus"
    assert plus.find_all("div", "scope") == []


def test_percentage_milestones_show_the_amounts_they_resolve_to_adding_up_to_the_fee() -> None:
    plus = page().find("section", "options").find_all("article", "option")[1]
    assert schedule(plus) == [
        ["Design", "On May 15, 2026", "Net 1 day", "€33.33"],
        ["Build", "On completion", "Due on receipt", "€33.33"],
        ["Launch", "On completion", "Due on receipt", "€33.34"],
    ]
    assert plus.find("div", "price").text == "Price €100.00"


def test_add_ons_are_marked_optional_with_their_recurring_charges() -> None:
    addons = page().find("section", "addons")
    care, seo = addons.find_all("article", "optional")
    assert care.find("h3").text == "Care plan Optional"
    assert care.find("div", "price").text == "Price €450.00 per month"
    assert schedule(care) == [
        ["Recurring charges"],
        ["Care plan", "from June 1, 2026, 12 payments, billed at the start of each period",
         "Due on receipt", "€450.00 per month"],
    ]
    assert schedule(seo)[1] == [
        "SEO report", "from June 1, 2026, until December 31, 2026, billed at the end of each "
        "period", "Net 30 days", "€900.00 every 2 weeks"]


def test_the_terms_say_how_invoices_are_paid_how_changes_are_approved_and_until_when() -> None:
    terms = page().find("section", "terms")
    assert [li.text for li in terms.find_all("li")] == [
        "Invoices are sent to you for payment by their due date.",
        "Changes to fees or scope need your approval.",
        "A change you have not answered within 10 days counts as approved.",
        "This proposal is valid until April 30, 2026.",
    ]


def test_the_firms_conditions_follow_as_paragraphs() -> None:
    shown = page(conditions="Prices exclude VAT.\nOur terms apply.\n\nSigned copies bind.")
    assert [p.text for p in shown.find("section", "conditions").find_all("p")] == [
        "Prices exclude VAT. Our terms apply.", "Signed copies bind."]


def test_the_header_names_the_proposal_the_client_and_the_dates() -> None:
    shown = page()
    assert shown.find("h1").text == "Proposal"
    assert shown.find("div", "client-name").text == "Bäckerei Koch GmbH"
    facts = {f.find("dt").text: f.find("dd").text for f in shown.find_all("div", "fact")}
    assert facts == {"Number": "P-2026-031", "Date": "March 2, 2026",
                     "Valid until": "April 30, 2026"}


@pytest.mark.parametrize(("locale", "title", "net", "every", "valid"), [
    ("en_GB", "Proposal", "Net 30 days", "€900.00 every 2 weeks", "30 April 2026"),
    ("de_DE", "Angebot", "30 Tage netto", "900,00\xa0€ alle 2 Wochen", "30. April 2026"),
    ("fr_FR", "Proposition", "30 jours net", "900,00\xa0€ toutes les 2 semaines",
     "30 avril 2026"),
    ("ja_JP", "提案書", "30日以内", "€900.00 2週間ごと", "2026年4月30日"),
])
def test_each_locale_writes_the_proposal_in_its_words(locale: str, title: str, net: str,
                                                      every: str, valid: str) -> None:
    shown = page(locale)
    assert shown.find("h1").text == title
    seo = shown.find("section", "addons").find_all("article", "optional")[1]
    assert schedule(seo)[1][2:] == [net, every]
    facts = [f.find("dd").text for f in shown.find_all("div", "fact")]
    assert facts[-1] == valid


def test_a_proposal_without_add_ons_or_approval_has_no_add_on_section() -> None:
    offer = Proposal(ProposalId("p"), "Acme", "EUR", (PackageOption("basic", "Basic", BASIC),),
                     approval=ApprovalRules(require_client_approval=False))
    shown = page(offer=offer)
    assert shown.find_all("section", "addons") == []
    assert [li.text for li in shown.find("section", "terms").find_all("li")] == [
        "Invoices are charged to the payment method you save when you sign.",
        "Changes are made without separate approval.",
    ]


def test_a_proposal_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValidationError) as e:
        render_proposal("offer", branding=sample_branding())  # type: ignore[arg-type]
    assert e.value.field == "proposal"

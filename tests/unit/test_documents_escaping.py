"""Text from clients and firms is shown as text: it never becomes HTML.

Each test puts markup where a client or a firm writes free text -- the
client's name, a milestone's name, a memo, a scope, an address, the
firm's footer -- and checks that the page has exactly the elements it has
with plain text there, and that the text is shown as written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

pytest.importorskip("jinja2", reason="HTML documents need Jinja2 (the 'documents' extra)")

from milestonebill.agreement import AddOn, PackageOption, Proposal, ProposalId
from milestonebill.money import Money
from milestonebill.rendering import (
    Branding,
    render_credit_note,
    render_invoice,
    render_proposal,
)
from milestonebill.schedule import BillingSchedule, Milestone, MilestoneId
from milestonebill.testing.documents import Element, parse_html, sample_branding
from milestonebill.testing.scenarios import World, proposal

ATTACKS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "</td></tr></table><h1>Paid</h1>",
    "</style><style>body{display:none}</style>",
    "\"' onmouseover=alert(1) x='",
    "{{ 7*7 }} {% if 1 %}x{% endif %}",
    "&lt;b&gt; &amp; &#60;i&#62;",
]


def shape(page: Element) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """The page's elements and attributes, without text: what markup could change."""
    return [(e.tag, tuple(sorted(e.attributes.items()))) for e in page.iter()]


def invoice_page(client: str, name: str, *, branding: Branding | None = None,
                 address: tuple[str, ...] = ("1 Main St",)) -> str:
    w = World()
    offer = proposal([Milestone(MilestoneId("design"), name, amount=Money("100.00", "USD"))])
    w.open(Proposal(ProposalId("p-1"), client, offer.currency, offer.options,
                    approval=offer.approval))
    (inv,) = w.complete("design").invoices
    return render_invoice(w.load(), inv, as_of=date(2026, 3, 2),
                          branding=branding or sample_branding(), client_address=address)


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_client_name_and_a_milestone_name_are_shown_as_text(attack: str) -> None:
    plain = parse_html(invoice_page("Acme", "Design"))
    page = parse_html(invoice_page(attack, attack))
    assert shape(page) == shape(plain)
    assert page.find("div", "client-name").text == " ".join(attack.split())
    assert page.find("td", "description").text == " ".join(attack.split())


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_firms_own_text_is_shown_as_text(attack: str) -> None:
    def firm(text: str) -> Branding:
        return sample_branding(firm_name=text, address=(text,), footer=text, tax_id=text,
                               payment_instructions=text)

    plain = parse_html(invoice_page("Acme", "Design", branding=firm("Northwind")))
    page = parse_html(invoice_page("Acme", "Design", branding=firm(attack)))
    # The firm's name is also the logo's alt text: an attribute value, still escaped.
    assert [(t, dict(a).get("alt") is None) for t, a in shape(page)] == [
        (t, dict(a).get("alt") is None) for t, a in shape(plain)]
    assert page.find("img", "logo").attributes["alt"] == attack
    assert page.find("div", "firm-name").text == " ".join(attack.split())
    assert page.find("footer", "page-footer").text == " ".join(attack.split())
    assert "display:none" not in page.find("style").text


def test_a_clients_address_lines_are_shown_as_text() -> None:
    page = parse_html(invoice_page("Acme", "Design", address=tuple(ATTACKS)))
    assert [d.text for d in page.find_all("div", "client-line")] == [
        " ".join(a.split()) for a in ATTACKS]
    assert page.find_all("script") == []
    assert len(page.find_all("img")) == 1


def test_a_credit_note_memo_is_shown_as_text() -> None:
    w = World()
    w.open(proposal([("design", "1000.00")]))
    (inv,) = w.complete("design").invoices
    memo = "\n".join(ATTACKS)
    a = w.biller.refund(inv.id, Money("10.00", "USD"), reason=memo)
    page = parse_html(render_credit_note(a, a.credit_notes[0], branding=sample_branding()))
    assert [p.text for p in page.find("section", "memo").find_all("p")] == [
        " ".join(memo.split())]
    assert page.find_all("script") == []
    assert page.find_all("h1")[0].text == "Credit note"
    assert len(page.find_all("h1")) == 1


@pytest.mark.parametrize("render", [
    lambda text: render_proposal(Proposal(
        ProposalId("p"), text, "EUR",
        (PackageOption("basic", text, BillingSchedule(currency="EUR", milestones=[
            Milestone(MilestoneId("m"), text, amount=Money("1.00", "EUR"))]), scope=text),),
        addons=(AddOn("a", text, BillingSchedule(currency="EUR"), scope=text),)),
        branding=sample_branding(), conditions=text),
], ids=["proposal"])
def test_proposal_texts_are_shown_as_text(render: Callable[[str], str]) -> None:
    for attack in ATTACKS:
        assert shape(parse_html(render(attack))) == shape(parse_html(render("plain"))), attack

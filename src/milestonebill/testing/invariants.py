"""The books a Biller keeps, checked against the design's invariants.

After any step of any history -- a run, a crash half-way through one, a
webhook delivered twice -- what the store and the gateway hold must add up.
:func:`book_problems` lists every invariant that does not hold (an empty
list when the books are right); :func:`settled_problems` adds what holds
only once nothing is in flight (every attempt finished, every webhook
delivered); :func:`check_books` raises :class:`AssertionError` listing them.

The checks, in integer minor units:

* **exactly once** -- the gateway moved money at most once per idempotency
  key, for one (agreement, invoice, attempt) each; an agreement records a
  gateway payment at most once, and only one the gateway made;
* **numbers** -- invoice numbers and credit-note numbers are each 1..N
  without a gap, one per document the agreements hold;
* **ledger** -- every entry balances, every currency's accounts sum to
  zero, and per agreement: receivable = what its invoices still owe;
  customer credit = its outstanding credit; clearing + cash + gateway and
  platform fees = paid - refunded; contract liability - contract asset = billed - revenue
  (net of credit notes and late fees, before tax), and never both at once;
* **money** -- credit added = credit applied + forfeited + outstanding;
  (paid - refunded) + what invoices owe + written off (not recovered) -
  outstanding credit - forfeited credit = invoiced - credited (what was
  invoiced splits exactly into paid, credit applied, written off and still
  owed); per invoice, refunds never exceed payments, and the client never
  has more back than it paid;
* **conservation** -- invoiced - credited + still scheduled = the
  agreement's current value (:func:`~milestonebill.invoicing.billing_position`);
* **reminders and late fees** -- each reminder step is sent at most once
  per invoice; late fees fall only under a late-fee term, never on a
  late-fee invoice, never before the day they fall, at most as many per
  invoice as the term allows, a fixed fee is the term's amount and a
  percentage that does not compound is at most the percentage of the
  invoice's total;
* **time and materials** -- per entry, approved + held + written down =
  its value, and billed is between zero and approved; what time invoices
  billed is within the cap in force, of the agreement and of each phase;
* **revenue** (:func:`revenue_problems`, right after a recognition) -- what
  each agreement's obligations have earned by the day (time and materials
  included), never below zero nor above the transaction price (plus the
  time approved, variable consideration outside it).

>>> from milestonebill.testing.scenarios import FIRM, World, proposal
>>> w = World()
>>> _ = w.open(proposal(milestones=[("design", "1000.00")]))
>>> _ = w.complete("design")
>>> book_problems(w.store, w.gateway, {a: w.load(a) for a in w.store.agreement_ids()},
...               firm_id=FIRM, horizon=w.clock.today())
[]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from milestonebill.agreement import Agreement, time_caps
from milestonebill.documents import LineKind
from milestonebill.gateways.base import GatewayEventKind
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import AgreementId, FirmId
from milestonebill.invoicing import billing_position
from milestonebill.ledger import Account
from milestonebill.money import Money
from milestonebill.reminders import is_late_fee_invoice
from milestonebill.revenue import earned, revenue_model
from milestonebill.stores.base import BillingStore
from milestonebill.timebilling import time_earned, time_position, time_totals

__all__ = ["book_problems", "check_books", "gateway_payments", "revenue_problems",
           "settled_problems"]

#: How far past ``horizon`` conservation looks, so every billed period is inside it.
_BEYOND = timedelta(days=800)


def _total(values: Iterable[Money]) -> int:
    return sum(m.minor for m in values)


def gateway_payments(gateway: InMemoryGateway) -> dict[str, GatewayEventKind]:
    """Each payment the gateway knows of (its reference) and how it stands, as its
    webhooks tell: succeeded, failed (declined, or waiting for the customer) or
    processing."""
    out: dict[str, GatewayEventKind] = {}
    charge_kinds = (GatewayEventKind.PAYMENT_SUCCEEDED, GatewayEventKind.PAYMENT_FAILED,
                    GatewayEventKind.PAYMENT_PROCESSING)
    for e in gateway.events:
        if e.kind in charge_kinds and e.payment_ref is not None:
            out[e.payment_ref] = e.kind
    return out


def _exactly_once(gateway: InMemoryGateway, agreements: Mapping[AgreementId, Agreement]
                  ) -> list[str]:
    problems = []
    keys = Counter(c.idempotency_key for c in gateway.charges)
    problems += [f"gateway charged key {k} {n} times" for k, n in keys.items() if n > 1]
    attempts = Counter((c.agreement_id, c.invoice_id, c.attempt) for c in gateway.charges)
    problems += [f"gateway charged {x} {n} times" for x, n in attempts.items() if n > 1]
    made = {c.gateway_ref: c for c in gateway.charges}
    for a in agreements.values():
        refs = Counter(p.gateway_reference for p in a.payments if ":manual:" not in p.event_id)
        for ref, n in refs.items():
            if n > 1:
                problems.append(f"{a.id}: payment {ref} recorded {n} times")
            charge = made.get(ref)
            if charge is None or charge.agreement_id != a.id:
                problems.append(f"{a.id}: payment {ref} recorded that the gateway never made")
        keyed = Counter(e.idempotency_key for e in a.attempts)
        problems += [f"{a.id}: attempt key {k} used {n} times" for k, n in keyed.items() if n > 1]
    return problems


def _numbers(store: BillingStore, agreements: Mapping[AgreementId, Agreement],
             firm_id: FirmId) -> list[str]:
    problems = []
    for firm, docs in ((firm_id, [i.id for a in agreements.values() for i in a.invoices]),
                       (FirmId(f"{firm_id}/credit-notes"),
                        [c.id for a in agreements.values() for c in a.credit_notes])):
        records = store.invoices(firm)
        numbers = sorted(r.number for r in records)
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"{firm}: numbers {numbers} are not 1..{len(numbers)}")
        if sorted(r.invoice_id for r in records) != sorted(docs):
            problems.append(f"{firm}: numbered {sorted(r.invoice_id for r in records)}, "
                            f"the agreements hold {sorted(docs)}")
    return problems


def _ledger(store: BillingStore) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Entries that do not balance, currencies whose accounts do not sum to zero,
    and each agreement's balance per account."""
    problems = []
    per_currency: Counter[str] = Counter()
    per_agreement: dict[str, dict[str, int]] = defaultdict(Counter)
    for e in store.entries():
        net = sum(line.signed_minor for line in e.lines)
        if net:
            problems.append(f"entry {e.id} does not balance ({net})")
        per_currency[e.currency.code] += net
        for line in e.lines:
            per_agreement[e.agreement_id or ""][str(line.account)] += line.signed_minor
    problems += [f"{cur}: the ledger is off by {n}" for cur, n in per_currency.items() if n]
    for cur in {e.currency.code for e in store.entries()}:
        if _total(store.balances(currency=cur).values()):
            problems.append(f"{cur}: the balances do not sum to zero")
    return problems, per_agreement


def _money(a: Agreement, books: Mapping[str, int], horizon: date) -> list[str]:
    paid, refunded = _total(p.amount for p in a.payments), _total(r.amount for r in a.refunds)
    outstanding = a.credit_balance.minor
    forfeited = _total(f.amount for f in a.forfeits)
    owed = sum(a.balance_of(i.id).minor for i in a.invoices)
    written_off = sum(a.written_off(i.id).minor for i in a.invoices)
    # Late fees are other income, never part of the contract's balance.
    fees = sum(ln.amount.minor for i in a.invoices for ln in i.lines
               if ln.kind is LineKind.LATE_FEE)
    billed = (_total(i.subtotal for i in a.invoices) - fees
              - _total(c.subtotal for c in a.credit_notes))
    liability = -books.get(Account.CONTRACT_LIABILITY, 0)
    asset = books.get(Account.CONTRACT_ASSET, 0)
    revenue = -books.get(Account.REVENUE, 0)
    checks = {
        "receivable == what the invoices owe": books.get(Account.RECEIVABLE, 0) == owed,
        "customer credit == -outstanding": books.get(Account.CUSTOMER_CREDIT, 0) == -outstanding,
        "clearing + cash + fees == paid - refunded":
            books.get(Account.CLEARING, 0) + books.get(Account.CASH, 0)
            + books.get(Account.GATEWAY_FEES, 0) + books.get(Account.PLATFORM_FEES, 0)
            == paid - refunded,
        "liability - asset == billed - revenue": liability - asset == billed - revenue,
        "contract asset and liability never both": min(liability, asset) == 0
            and liability >= 0 and asset >= 0,
        "credit added == applied + forfeited + outstanding":
            _total(c.amount for c in a.credits_added)
            == _total(c.amount for c in a.credits_applied) + forfeited + outstanding,
        "(paid - refunded) + owed + written off - outstanding - forfeited"
        " == invoiced - credited":
            (paid - refunded) + owed + written_off - outstanding - forfeited
            == _total(i.total for i in a.invoices) - _total(c.total for c in a.credit_notes),
        "refunds + outstanding + forfeited credit <= paid":
            refunded + outstanding + forfeited <= paid,
        "refunds per invoice <= payments per invoice": all(
            _total(r.amount for r in a.refunds if r.invoice_id == i.id)
            <= _total(p.amount for p in a.payments if p.invoice_id == i.id)
            for i in a.invoices),
        "invoiced - credited + scheduled == contract value":
            billing_position(a, through=horizon + _BEYOND).balanced,
    }
    return [f"{a.id}: not {what}" for what, holds in checks.items() if not holds]


def _reminders_and_fees(a: Agreement) -> list[str]:
    """Each reminder step once; late fees only as the agreement's term allows."""
    problems = [f"{a.id}: reminder {step} of {inv} sent {n} times"
                for (inv, step), n in Counter((r.invoice_id, r.step) for r in a.reminders).items()
                if n > 1]
    term = a.proposal.late_fee
    fees: dict[str, list[tuple[int, date, int]]] = defaultdict(list)
    for inv in a.invoices:
        for ln in inv.lines:
            if ln.kind is LineKind.LATE_FEE and ln.adjusts is not None:
                n = int(ln.line_id.rsplit(":", 1)[1])
                fees[ln.adjusts].append((n, inv.issued_on, ln.amount.minor))
    for invoice_id, charged in fees.items():
        if term is None:
            problems.append(f"{a.id}: late fees on {invoice_id} without a late-fee term")
            continue
        late = a.invoice(invoice_id)
        if is_late_fee_invoice(late):
            problems.append(f"{a.id}: a late fee on the late-fee invoice {invoice_id}")
        if term.limit is not None and len(charged) > term.limit:
            problems.append(f"{a.id}: {len(charged)} late fees on {invoice_id}, "
                            f"the term allows {term.limit}")
        if len({n for n, _on, _m in charged}) != len(charged):
            problems.append(f"{a.id}: a late fee on {invoice_id} charged twice")
        for n, on, minor in charged:
            if on < term.assessment_day(late.due_on, n):
                problems.append(f"{a.id}: late fee {n} on {invoice_id} charged on {on}, "
                                f"before it fell")
            if term.fixed is not None and minor != term.fixed.minor:
                problems.append(f"{a.id}: late fee {minor} on {invoice_id}, the term says "
                                f"{term.fixed}")
            if not term.compound and term.percent is not None \
                    and minor > term.fee_on(late.total).minor:
                problems.append(f"{a.id}: late fee {minor} on {invoice_id} is more than "
                                f"{term.percent} % of its total {late.total}")
    return problems


def _time(a: Agreement) -> list[str]:
    """Each entry's value adds up; nothing billed past a cap in force."""
    term = a.proposal.time_materials
    if term is None:
        return []
    problems = []
    phase_of: dict[str, str] = {}
    for w in time_position(a):
        phase_of[w.entry.entry_id] = w.entry.phase
        if w.approved + w.held + w.written_down != w.value:
            problems.append(f"{a.id}: entry {w.entry.entry_id}: approved {w.approved} + held "
                            f"{w.held} + written down {w.written_down} != {w.value}")
        if not 0 <= w.billed <= w.approved or min(w.held, w.written_down) < 0:
            problems.append(f"{a.id}: entry {w.entry.entry_id}: billed {w.billed} outside "
                            f"0..{w.approved}, or a negative part")
    billed: Counter[str] = Counter()
    for inv in a.invoices:
        for ln in inv.lines:
            if ln.kind in (LineKind.TIME, LineKind.EXPENSE):
                billed[""] += ln.amount.minor
                phase = phase_of.get(ln.item_id, "")
                if phase:
                    billed[phase] += ln.amount.minor
    for scope, cap in time_caps(term, a.events, a.id).items():
        if cap is not None and billed[scope] > cap.minor:
            problems.append(f"{a.id}: time billed {billed[scope]} past the cap "
                            f"{scope or 'of the agreement'} {cap}")
    return problems


def book_problems(store: BillingStore, gateway: InMemoryGateway,
                  agreements: Mapping[AgreementId, Agreement], *, firm_id: FirmId,
                  horizon: date) -> list[str]:
    """Every invariant of the books that does not hold (see the module's docs).

    ``agreements`` are all the store holds, as loaded; ``horizon`` is today:
    revenue is compared with the transaction price of the periods started
    by then.
    """
    problems = _exactly_once(gateway, agreements) + _numbers(store, agreements, firm_id)
    ledger, books = _ledger(store)
    problems += ledger
    for aid, a in agreements.items():
        problems += _money(a, books.get(aid, {}), horizon) + _reminders_and_fees(a) + _time(a)
    return problems


def revenue_problems(store: BillingStore, agreements: Mapping[AgreementId, Agreement],
                     as_of: date) -> list[str]:
    """What must hold right after :meth:`~milestonebill.engine.Biller.recognise`
    for ``as_of``: each agreement's revenue in the ledger is what its
    obligations have earned by the end of the day
    (:func:`~milestonebill.revenue.earned`), at least zero and at most its
    transaction price."""
    problems = []
    for aid, a in agreements.items():
        revenue = -sum(line.signed_minor for e in store.entries(agreement_id=aid)
                       for line in e.lines if line.account == Account.REVENUE)
        # Time and materials is variable consideration, earned as approved
        # (docs/terms.md): on top of the fixed transaction price.
        earned_minor = _total(earned(a, as_of).values()) + _total(time_earned(a, as_of).values())
        price = (revenue_model(a, through=as_of + timedelta(days=1)).transaction_price.minor
                 + time_totals(a).approved.minor)
        if revenue != earned_minor:
            problems.append(f"{aid}: revenue {revenue} posted, {earned_minor} earned by {as_of}")
        if not 0 <= revenue <= max(price, 0):
            problems.append(f"{aid}: revenue {revenue} outside 0..{price} (transaction price)")
    return problems


def settled_problems(store: BillingStore, gateway: InMemoryGateway,
                     agreements: Mapping[AgreementId, Agreement], *,
                     parked: Iterable[AgreementId] = ()) -> list[str]:
    """What must also hold once nothing is in flight: no unfinished attempt and
    every payment the gateway completed recorded by its agreement (parked
    agreements excepted: nobody works on them)."""
    skip = set(parked)
    problems = [f"{r.agreement_id}: attempt {r.key} unfinished"
                for r in store.unfinished_attempts() if r.agreement_id not in skip]
    status = gateway_payments(gateway)
    recorded = {p.gateway_reference for a in agreements.values() for p in a.payments}
    for c in gateway.charges:
        if c.agreement_id in skip:
            continue
        if status.get(c.gateway_ref) is GatewayEventKind.PAYMENT_SUCCEEDED \
                and c.gateway_ref not in recorded:
            problems.append(f"{c.agreement_id}: payment {c.gateway_ref} on {c.invoice_id} "
                            "succeeded at the gateway but is not recorded")
    return problems


def check_books(store: BillingStore, gateway: InMemoryGateway,
                agreements: Mapping[AgreementId, Agreement], *, firm_id: FirmId,
                horizon: date, settled: bool = False,
                parked: Iterable[AgreementId] = ()) -> None:
    """Raise :class:`AssertionError` listing every problem :func:`book_problems`
    (and, if ``settled``, :func:`settled_problems`) finds."""
    problems = book_problems(store, gateway, agreements, firm_id=firm_id, horizon=horizon)
    if settled:
        problems += settled_problems(store, gateway, agreements, parked=parked)
    if problems:
        raise AssertionError("the books do not add up:\n  " + "\n  ".join(problems))

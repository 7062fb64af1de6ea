"""The report of ``milestonebill demo``: what the store holds after a walk.

:func:`build_report` reads a played :class:`~milestonebill.cli.demo_scenario.DemoWalk`
back from its store into JSON-ready data (money in the library's JSON form,
``{"amount": "12.30", "currency": "USD"}``, as everywhere else); the
``--json`` output is that data.  :func:`render_text` lays the same data out
for people.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from milestonebill.agreement import (
    Agreement,
    AmendmentApproved,
    AmendmentProposed,
    CreditApplied,
    CreditIssued,
    CustomerCreditAdded,
    Event,
    InvoiceIssued,
    MilestoneCompleted,
    PaymentFailed,
    PaymentSucceeded,
    Signed,
    preview,
)
from milestonebill.cli.demo_scenario import CARD_TOKEN, FIRM, DemoPlan, DemoWalk
from milestonebill.engine import RetryPolicy
from milestonebill.invoicing import billing_position, invoice_balance
from milestonebill.ledger import Account, JournalEntry
from milestonebill.money import Money
from milestonebill.periods import add_months
from milestonebill.stores.sqlite import SQLiteStore

__all__ = ["build_report", "render_text"]


def _shown(money: Any) -> str:
    """A money value of the report (its JSON form) as the text report shows it."""
    return f"{Money.from_json(money).amount:,}"


# ------------------------------------------------------------------ the JSON report


def _retry_on(a: Agreement, f: PaymentFailed, policy: RetryPolicy) -> date | None:
    if not f.retryable:
        return None
    earlier = [x for x in a.failures if x.invoice_id == f.invoice_id and x.attempt <= f.attempt]
    return policy.retry_on(f.effective_at.date(), failures=len(earlier))


def _describe(a: Agreement, e: Event, numbers: dict[str, str],
              policy: RetryPolicy) -> str | None:
    cur = a.currency.code
    if isinstance(e, Signed):
        pm = e.payment_method
        card = "" if pm is None else f", card {pm.payment_method_id} at {pm.customer_id}"
        return f"signed by {e.signer} (option {e.option_id}{card})"
    if isinstance(e, MilestoneCompleted):
        return f"milestone {e.milestone_id} completed"
    if isinstance(e, AmendmentProposed):
        return f"amendment {e.amendment.id} proposed: {e.amendment.description}"
    if isinstance(e, AmendmentApproved):
        return f"amendment {e.amendment_id} approved by {e.approved_by}"
    if isinstance(e, InvoiceIssued):
        inv = e.invoice
        return f"{inv.number} issued: {inv.total.amount:,} {cur}, due {inv.due_on}"
    if isinstance(e, CreditIssued):
        cn = e.credit_note
        return (f"{cn.number} credit note on {numbers.get(cn.credits, cn.credits)}: "
                f"{cn.total.amount:,} {cur} ({cn.reason.value})")
    if isinstance(e, CustomerCreditAdded):
        return (f"{e.amount.amount:,} {cur} owed back on "
                f"{numbers.get(e.invoice_id, e.invoice_id)} held as customer credit")
    if isinstance(e, CreditApplied):
        return (f"customer credit {e.amount.amount:,} {cur} applied to "
                f"{numbers.get(e.invoice_id, e.invoice_id)}")
    if isinstance(e, PaymentSucceeded):
        fee = "" if e.fee is None else f" (gateway fee {e.fee.amount:,})"
        return (f"charge {numbers.get(e.invoice_id, e.invoice_id)} attempt {e.attempt}: "
                f"succeeded, {e.amount.amount:,} {cur}{fee}")
    if isinstance(e, PaymentFailed):
        retry = _retry_on(a, e, policy)
        then = f", retry on {retry}" if retry is not None else ", no retry"
        kind = "soft" if e.retryable else "final"
        return (f"charge {numbers.get(e.invoice_id, e.invoice_id)} attempt {e.attempt}: "
                f"declined ({e.decline_code}, {kind}){then}")
    return None


def _timeline(a: Agreement, numbers: dict[str, str],
              policy: RetryPolicy) -> list[dict[str, Any]]:
    days: dict[str, dict[str, Any]] = {}
    handled: set[str] = set()
    for e in a.events:
        text = _describe(a, e, numbers, policy)
        if text is None:
            continue
        day = e.effective_at.date().isoformat()
        if isinstance(e, MilestoneCompleted | AmendmentApproved):
            handled.add(day)
        if isinstance(e, Signed):
            via = "open"
        elif isinstance(e, MilestoneCompleted | AmendmentApproved):
            via = "handle"
        elif isinstance(e, AmendmentProposed):
            via = "record"
        else:
            via = "handle" if day in handled else "run"
        entry = days.setdefault(day, {"date": day, "events": []})
        entry["events"].append({"type": type(e).__name__, "via": via, "text": text})
    return list(days.values())


def _lines(lines: Sequence[Any]) -> list[dict[str, Any]]:
    return [{
        "description": ln.description,
        "item": ln.item_key,
        "period": None if ln.period is None
        else f"{ln.period.start.isoformat()}..{ln.period.end.isoformat()}",
        "amount": ln.amount.to_json(),
    } for ln in lines]


def _attempts(a: Agreement, numbers: dict[str, str],
              policy: RetryPolicy) -> list[dict[str, Any]]:
    out = []
    for x in a.attempts:
        ok = next((p for p in a.payments
                   if p.invoice_id == x.invoice_id and p.attempt == x.attempt), None)
        bad = next((f for f in a.failures
                    if f.invoice_id == x.invoice_id and f.attempt == x.attempt), None)
        status = "succeeded" if ok else "declined" if bad else "in flight"
        retry = None if bad is None else _retry_on(a, bad, policy)
        out.append({
            "invoice": numbers.get(x.invoice_id, x.invoice_id),
            "attempt": x.attempt,
            "date": x.effective_at.date().isoformat(),
            "amount": x.amount.to_json(),
            "status": status,
            "decline_code": None if bad is None else bad.decline_code,
            "retry_on": None if retry is None else retry.isoformat(),
            "gateway_ref": None if ok is None else ok.gateway_reference,
            "fee": None if ok is None or ok.fee is None else ok.fee.to_json(),
            "idempotency_key": x.idempotency_key,
        })
    return out


def _amendment(plan: DemoPlan, a: Agreement, numbers: dict[str, str]) -> dict[str, Any] | None:
    if plan.amendment is None:
        return None
    day, am = plan.amendment
    pid = f"{a.id}:propose:{am.id}"
    idx = next((i for i, e in enumerate(a.events) if e.event_id == pid), len(a.events))
    # Priced against the agreement as it stood just before the proposal, so
    # a re-run shows the same preview the first run showed.
    before = Agreement.from_events(a.events[:idx])
    pv = preview(before, am, as_of=day, through=plan.horizon)

    def pline(p: Any) -> dict[str, Any]:
        return {"item": p.key, "description": p.description, "amount": p.amount.to_json(),
                "due_on": p.due_on.isoformat(),
                "adjusts": None if p.adjusts is None else numbers.get(p.adjusts, p.adjusts)}

    # The documents that billed the preview's lines, found by plan key.
    charge_keys = {p.key for p in pv.charges}
    credit_keys = {p.key for p in pv.credits}
    invoices = [i for i in a.invoices if any(ln.item_key in charge_keys for ln in i.lines)]
    credits = [c for c in a.credit_notes if any(ln.item_key in credit_keys for ln in c.lines)]
    cur = a.currency
    billed = Money.total((ln.amount for i in invoices for ln in i.lines
                          if ln.item_key in charge_keys), currency=cur)
    credited = Money.total((ln.amount for c in credits for ln in c.lines
                            if ln.item_key in credit_keys), currency=cur)
    approved = next((e for e in a.events if isinstance(e, AmendmentApproved)
                     and e.amendment_id == am.id), None)
    return {
        "id": am.id,
        "description": am.description,
        "as_of": day.isoformat(),
        "charges": [pline(p) for p in pv.charges],
        "credits": [pline(p) for p in pv.credits],
        "charges_total": pv.charges_total.to_json(),
        "credits_total": pv.credits_total.to_json(),
        "contract_value_before": pv.contract_value_before.to_json(),
        "contract_value_after": pv.contract_value_after.to_json(),
        "value_change": pv.value_change.to_json(),
        "schedule_changes": len(pv.changes),
        "approved_on": None if approved is None else approved.effective_at.date().isoformat(),
        "invoices": [i.number for i in invoices],
        "credit_notes": [c.number for c in credits],
        "billed_as_previewed": billed == pv.charges_total and credited == pv.credits_total,
    }


def _balances(entries: list[JournalEntry], upto: date | None = None) -> dict[str, int]:
    by: dict[str, int] = {}
    for entry in entries:
        if upto is None or entry.posted_on <= upto:
            for line in entry.lines:
                by[line.account.value] = by.get(line.account.value, 0) + line.signed_minor
    return by


def _books(a: Agreement, entries: list[JournalEntry]) -> dict[str, Any]:
    """Revenue by obligation, the contract balance, and the first month-end close:
    what was billed by then sits in the contract liability until it is earned."""
    cur = a.currency
    revenue = [e for e in entries if e.obligation_id is not None]
    by_obligation: dict[str, int] = {}
    for e in revenue:
        for ln in e.lines:
            if ln.account is Account.REVENUE and e.obligation_id is not None:
                by_obligation[e.obligation_id] = by_obligation.get(e.obligation_id, 0) \
                    - ln.signed_minor
    first_close = add_months(a.signed_on.replace(day=1), 1) - timedelta(days=1)
    then = _balances(entries, first_close)
    now = _balances(entries)

    def money(minor: int) -> dict[str, str]:
        return Money.from_minor(minor, cur).to_json()

    return {
        "revenue_entries": len(revenue),
        "last": max((e.posted_on.isoformat() for e in revenue), default=None),
        "revenue": money(-now.get("revenue", 0)),
        "contract_liability": money(-now.get("deferred_revenue", 0)),
        "contract_asset": money(now.get("contract_asset", 0)),
        "by_obligation": {k: money(v) for k, v in by_obligation.items()},
        "first_close": {
            "on": first_close.isoformat(),
            "billed": money(sum(i.subtotal.minor for i in a.invoices
                                if i.issued_on <= first_close)),
            "revenue": money(-then.get("revenue", 0)),
            "contract_liability": money(-then.get("deferred_revenue", 0)),
        },
    }


def _ledger(store: SQLiteStore, a: Agreement) -> dict[str, Any]:
    entries = store.entries(agreement_id=a.id)
    by = _balances(entries)
    debits = sum(ln.signed_minor for e in entries for ln in e.lines if ln.signed_minor > 0)
    credits = -sum(ln.signed_minor for e in entries for ln in e.lines if ln.signed_minor < 0)
    cur = a.currency
    order = [acct.value for acct in Account if acct.value in by]
    return {
        "entries": len(entries),
        "balances": {k: Money.from_minor(by[k], cur).to_json() for k in order},
        "debits": Money.from_minor(debits, cur).to_json(),
        "credits": Money.from_minor(credits, cur).to_json(),
        "balanced": debits == credits and sum(by.values()) == 0,
        "books": _books(a, entries),
    }


def _documents(a: Agreement, numbers: dict[str, str]) -> dict[str, Any]:
    """The invoices and credit notes, each with its lines and what is left to pay."""
    cur = a.currency
    return {
        "invoices": [{
            "number": i.number, "id": i.id, "issued_on": i.issued_on.isoformat(),
            "due_on": i.due_on.isoformat(), "lines": _lines(i.lines),
            "subtotal": i.subtotal.to_json(), "tax": i.tax_total.to_json(),
            "total": i.total.to_json(), "balance": invoice_balance(a, i.id).to_json(),
            "credit_applied": Money.total((c.amount for c in a.credits_applied
                                           if c.invoice_id == i.id), currency=cur).to_json(),
        } for i in a.invoices],
        "credit_notes": [{
            "number": c.number, "id": c.id, "issued_on": c.issued_on.isoformat(),
            "credits": numbers.get(c.credits, c.credits), "reason": c.reason.value,
            "lines": _lines(c.lines), "total": c.total.to_json(),
        } for c in a.credit_notes],
    }


def _position(plan: DemoPlan, a: Agreement) -> dict[str, Any]:
    pos = billing_position(a, through=plan.horizon)
    cur = a.currency
    return {
        "customer_credit": {
            "added": Money.total((c.amount for c in a.credits_added), currency=cur).to_json(),
            "applied": Money.total((c.amount for c in a.credits_applied),
                                   currency=cur).to_json(),
            "outstanding": a.credit_balance.to_json(),
        },
        "position": {"invoiced": pos.invoiced.to_json(), "credited": pos.credited.to_json(),
                     "scheduled": pos.scheduled.to_json(),
                     "contract_value": pos.contract_value.to_json(),
                     "balanced": pos.balanced},
    }


def _this_run(walk: DemoWalk, a: Agreement) -> dict[str, Any]:
    # A store may hold other agreements (another --file); count only this one.
    return {
        "invoices_issued": sum(1 for s in walk.summaries for i in s.invoices
                               if i.agreement_id == a.id),
        "credit_notes_issued": sum(1 for s in walk.summaries for c in s.credit_notes
                                   if c.agreement_id == a.id),
        "charge_attempts": sum(1 for s in walk.summaries for c in (*s.charges, *s.reconciled)
                               if c.agreement_id == a.id),
        "gateway_charges": sum(1 for c in walk.gateway.charges if c.agreement_id == a.id),
        "recognition_entries": sum(len(r.entries) for r in walk.recognitions),
        "problems": [{"agreement": p.agreement_id, "error": p.error, "message": p.message}
                     for s in walk.summaries for p in s.problems],
    }


def build_report(walk: DemoWalk, db_path: str, *, reused: bool) -> dict[str, Any]:
    """What the store holds for the walk's agreement, as JSON-ready data.

    ``reused`` says whether ``db_path`` existed before the walk; ``this_run``
    counts only what this walk did.
    """
    plan, store = walk.plan, walk.store
    a = walk.biller.load(plan.agreement_id)
    policy = walk.biller.retry_policy
    numbers: dict[str, str] = {i.id: i.number or i.id for i in a.invoices}
    numbers.update({c.id: c.number or c.id for c in a.credit_notes})
    pm = a.payment_method
    assert pm is not None
    notes = [n for n in store.pending_notifications(limit=1_000_000)
             if n.agreement_id == a.id]
    return {
        "engagement": plan.engagement.name,
        "client": plan.proposal.client,
        "currency": a.currency.code,
        "db": db_path,
        "db_reused": reused,
        "agreement_id": a.id,
        "firm_id": FIRM,
        "signed_on": plan.signed_on.isoformat(),
        "until": plan.until.isoformat(),
        "payment_method": {"gateway": pm.gateway, "customer_id": pm.customer_id,
                           "payment_method_id": pm.payment_method_id, "kind": pm.kind.value,
                           "token": CARD_TOKEN},
        "timeline": _timeline(a, numbers, policy),
        "amendment": _amendment(plan, a, numbers),
        **_documents(a, numbers),
        "charges": _attempts(a, numbers, policy),
        **_position(plan, a),
        "ledger": _ledger(store, a),
        "outbox": {"notifications": len(notes),
                   "by_kind": dict(sorted(Counter(n.kind for n in notes).items()))},
        "this_run": _this_run(walk, a),
    }


# ------------------------------------------------------------------ the text report


def _head(r: dict[str, Any]) -> list[str]:
    title = r["engagement"] or r["agreement_id"]
    state = "existing file, re-run" if r["db_reused"] else "new file"
    pm = r["payment_method"]
    out = [
        f"milestonebill demo: {title} ({r['client']})",
        f"store    SQLite {r['db']} ({state})",
        f"gateway  in-memory; customer {pm['customer_id']}, card {pm['payment_method_id']} "
        f"saved from token {pm['token']}",
        f"walk     agreement {r['agreement_id']}, {r['signed_on']} to {r['until']}, "
        f"amounts in {r['currency']}",
        "",
        "Timeline (what the store holds, by day)",
    ]
    for day in r["timeline"]:
        for k, ev in enumerate(day["events"]):
            out.append(f"  {day['date'] if k == 0 else '':<10}  {ev['via']:<6}  {ev['text']}")
    return out


def _amendment_text(am: dict[str, Any] | None) -> list[str]:
    if am is None:
        return []
    out = ["", f"Amendment {am['id']} -- preview as of {am['as_of']}, before approval",
           f"  {am['description']}"]
    for kind, rows in (("charge", am["charges"]), ("credit", am["credits"])):
        for p in rows:
            against = f" against {p['adjusts']}" if p["adjusts"] else ""
            out.append(f"  {kind:<6}  {p['item']:<24} {_shown(p['amount']):>12}  "
                       f"due {p['due_on']}{against}")
    billed = ", ".join([*am["invoices"], *am["credit_notes"]]) or "nothing yet"
    same = "exactly as previewed" if am["billed_as_previewed"] else "NOT as previewed"
    out += [
        f"  contract value {_shown(am['contract_value_before'])} -> "
        f"{_shown(am['contract_value_after'])} ({_shown(am['value_change'])}; "
        f"{am['schedule_changes']} schedule items change)",
        f"  due now: charges {_shown(am['charges_total'])} - credits "
        f"{_shown(am['credits_total'])}",
        f"  approved {am['approved_on']}; billed {billed}, {same}",
    ]
    return out


def _documents_text(r: dict[str, Any]) -> list[str]:
    cur = r["currency"]
    out = ["", "Invoices"]
    for inv in r["invoices"]:
        paid_by_credit = ("" if Money.from_json(inv["credit_applied"]).is_zero()
                          else f", credit applied {_shown(inv['credit_applied'])}")
        out.append(f"  {inv['number']}  {inv['issued_on']}  due {inv['due_on']}  "
                   f"total {_shown(inv['total'])} {cur}  (balance {_shown(inv['balance'])}"
                   f"{paid_by_credit})")
        out += [f"      {ln['description']:<50} {_shown(ln['amount']):>12}" for ln in inv["lines"]]
    for cn in r["credit_notes"]:
        out.append(f"  {cn['number']}  {cn['issued_on']}  credits {cn['credits']} "
                   f"({cn['reason']})  total {_shown(cn['total'])} {cur}")
        out += [f"      {ln['description']:<50} {_shown(ln['amount']):>12}" for ln in cn["lines"]]
    out += ["", "Charge attempts"]
    for c in r["charges"]:
        detail = f"fee {_shown(c['fee'])}" if c["fee"] else (c["decline_code"] or "")
        if c["retry_on"]:
            detail += f", retry on {c['retry_on']}"
        out.append(f"  {c['date']}  {c['invoice']} #{c['attempt']}  {_shown(c['amount']):>12}  "
                   f"{c['status']:<9}  {detail}".rstrip())
    return out


def _books_text(r: dict[str, Any]) -> list[str]:
    cur = r["currency"]
    cc, p, led = r["customer_credit"], r["position"], r["ledger"]
    out = [
        "",
        f"Customer credit  added {_shown(cc['added'])}, applied {_shown(cc['applied'])}, "
        f"outstanding {_shown(cc['outstanding'])} {cur}",
        "",
        f"Billing position  invoiced {_shown(p['invoiced'])} - credited {_shown(p['credited'])} "
        f"+ scheduled {_shown(p['scheduled'])} = contract value {_shown(p['contract_value'])}"
        f" ({'balanced' if p['balanced'] else 'NOT balanced'})",
        "",
        f"Ledger ({led['entries']} entries, debit minus credit, {cur})",
    ]
    out += [f"  {acct:<18} {_shown(amount):>12}" for acct, amount in led["balances"].items()]
    verdict = "balanced" if led["balanced"] else "NOT BALANCED"
    books = led["books"]
    first = books["first_close"]
    out += [
        f"  debits {_shown(led['debits'])} = credits {_shown(led['credits'])}: {verdict}",
        "",
        "Books (ASC 606 / IFRS 15: revenue follows performance, not invoices)",
        f"  at the first close, {first['on']}: billed {_shown(first['billed'])}, revenue "
        f"{_shown(first['revenue'])}, contract liability {_shown(first['contract_liability'])}",
        f"  to {books['last']}: revenue {_shown(books['revenue'])} in "
        f"{books['revenue_entries']} entries; contract liability "
        f"{_shown(books['contract_liability'])}, contract asset "
        f"{_shown(books['contract_asset'])}",
    ]
    out += [f"    {oid:<16} {_shown(amount):>12}" for oid, amount in books["by_obligation"].items()]
    return out


def _tail(r: dict[str, Any]) -> list[str]:
    ob, t = r["outbox"], r["this_run"]
    kinds = ", ".join(f"{k} {n}" for k, n in ob["by_kind"].items())
    out = [
        "",
        f"Outbox   {ob['notifications']} notifications ({kinds})",
        f"This run {t['invoices_issued']} invoice(s) and {t['credit_notes_issued']} credit "
        f"note(s) issued, {t['charge_attempts']} charge attempt(s), {t['gateway_charges']} "
        f"charge(s) reached the gateway, {t['recognition_entries']} revenue entries posted",
    ]
    out += [f"PROBLEM  {prob['agreement']}: {prob['error']}: {prob['message']}"
            for prob in t["problems"]]
    if r["db_reused"] and not t["invoices_issued"] and not t["gateway_charges"]:
        out.append("         (everything was already in the store: nothing billed or charged "
                   "twice)")
    else:
        out.append(f"         run again with --db {r['db']} to see that nothing is billed twice")
    return out


def render_text(r: dict[str, Any]) -> str:
    """The report of :func:`build_report` for people (the ``--json`` data, laid out)."""
    lines = [*_head(r), *_amendment_text(r["amendment"]), *_documents_text(r),
             *_books_text(r), *_tail(r)]
    return "\n".join(lines) + "\n"

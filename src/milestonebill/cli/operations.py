"""``init``, ``complete``, ``progress``, ``agreements`` and ``show``.

* ``milestonebill init`` -- create the store, or migrate its schema; says
  what it did; running it again does nothing.
* ``milestonebill complete AGREEMENT MILESTONE [--on DATE] [--evidence TEXT]
  [--by NAME] [--bill]`` -- record a milestone's completion; the next ``run``
  bills it (``--bill`` bills the agreement right away).
* ``milestonebill progress AGREEMENT OBLIGATION [TO_DATE] [--estimate TOTAL]
  [--on DATE]`` -- report hours, costs or units to date for an obligation
  measured by input, and/or revise its estimated total (see ``docs/books.md``).
* ``milestonebill agreements`` -- every agreement, its state and next due date.
* ``milestonebill show AGREEMENT`` -- one agreement: milestones, obligations,
  invoices and their balances.
* ``milestonebill tenants`` -- a platform-level listing: every tenant of the
  store with its number of agreements (``docs/tenancy.md``).
"""

from __future__ import annotations

import argparse
import getpass
from contextlib import closing
from datetime import UTC, date, datetime
from typing import Any, TextIO

from milestonebill.agreement import (
    Agreement,
    Event,
    apply,
    complete_milestone,
    report_progress,
    revise_estimate,
)
from milestonebill.cli.billing import run_text
from milestonebill.cli.common import UsageError, date_arg, decimal_arg, id_arg
from milestonebill.cli.failures import EXIT_OK
from milestonebill.cli.output import emit_json, money_text, text_table
from milestonebill.cli.session import bind_tenant, config_for, open_session, open_store
from milestonebill.errors import StoreError, ValidationError
from milestonebill.ids import AgreementId
from milestonebill.schedule import MilestoneId
from milestonebill.stores.tenancy import TenantBound

__all__ = [
    "register_agreements",
    "register_complete",
    "register_init",
    "register_progress",
    "register_show",
    "register_tenants",
]


# ------------------------------------------------------------------ init


def _init(args: argparse.Namespace, out: TextIO) -> int:
    config = config_for(args)
    opened = open_store(config, create=True)
    with closing(opened.store):
        applied = opened.store.migrate()
        bind_tenant(opened.store, config)  # registers the tenant once its table exists
    kind = "SQLite" if config.db is not None else "PostgreSQL"
    doc = {"store": kind.lower(), "location": config.store_label, "created": opened.created,
           "applied": applied, "schema_version": max(opened.known), "tenant": config.tenant,
           "gateway": config.gateway, "gateway_state": config.gateway_state}
    if args.json:
        emit_json(out, doc)
        return EXIT_OK
    steps = ", ".join(str(v) for v in applied)
    if opened.created:
        out.write(f"created the {kind} store {config.store_label}: applied schema migrations "
                  f"{steps}\n")
    elif applied:
        before = max(opened.applied, default=0)
        out.write(f"migrated the {kind} store {config.store_label} from schema migration "
                  f"{before}: applied {steps}\n")
    else:
        out.write(f"the {kind} store {config.store_label} is up to date (schema migration "
                  f"{max(opened.known)}); nothing to do\n")
    if config.gateway_state is not None:
        out.write(f"the in-memory gateway keeps its state in {config.gateway_state}\n")
    return EXIT_OK


def register_init(sub: Any) -> None:
    """Add ``init`` to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "init", help="create the store or bring its schema up to date",
        description="Create the store (the SQLite file, or the tables in the PostgreSQL "
        "schema) or apply the schema migrations it lacks. Says what it did; running it "
        "again does nothing. Every other command needs an initialised store.")
    p.set_defaults(handler=_init)


# ------------------------------------------------------------------ host events


def _now(a: Agreement) -> datetime:
    """The time to stamp a new event with: now, never before the agreement's last event."""
    return max(datetime.now(UTC), a.events[-1].effective_at)


def _check_day(field: str, day: date, a: Agreement, at: datetime) -> date:
    if day > at.date():
        raise ValidationError(field, f"a day on or before today ({at.date()})", day)
    if day < a.signed_on:
        raise ValidationError(field, f"a day on or after the signing of {a.id} ({a.signed_on})",
                              day)
    return day


def _complete(args: argparse.Namespace, out: TextIO) -> int:
    with open_session(args, gateway=args.bill, firm=args.bill) as s:
        a = s.biller.load(AgreementId(args.agreement))
        at = _now(a)
        on = _check_day("--on", args.on or at.date(), a, at)
        e = complete_milestone(a, MilestoneId(args.milestone), by=args.by or getpass.getuser(),
                               at=at, evidence=args.evidence, completed_on=on)
        s.biller.record(a.id, [e])
        billed = s.biller.bill(a.id) if args.bill else None
    if args.json:
        emit_json(out, {"agreement_id": a.id, "event": e, "billed": billed})
        return EXIT_OK
    out.write(f"recorded: milestone {e.milestone_id} of {a.id} completed on {on} "
              f"by {e.completed_by}\n")
    if billed is None:
        out.write("the next 'milestonebill run' bills what it made due\n")
    else:
        out.write(run_text(billed))
    return EXIT_OK


def register_complete(sub: Any) -> None:
    """Add ``complete`` to ``sub``."""
    p = sub.add_parser(
        "complete", help="record that a milestone was completed",
        description="Record the completion of a milestone of an agreement. The next run bills "
        "what it made due; with --bill the agreement is billed right away (needs --firm).")
    p.add_argument("agreement", type=id_arg, metavar="AGREEMENT", help="agreement id")
    p.add_argument("milestone", type=id_arg, metavar="MILESTONE", help="milestone id")
    p.add_argument("--on", type=date_arg, metavar="DATE",
                   help="the day it was completed (default today; not after today, not "
                   "before signing)")
    p.add_argument("--evidence", default="", metavar="TEXT",
                   help="what shows it was delivered (a sign-off, a ticket)")
    p.add_argument("--by", metavar="NAME", help="who completed it (default: your login name)")
    p.add_argument("--bill", action="store_true", help="bill the agreement now")
    p.set_defaults(handler=_complete)


def _progress(args: argparse.Namespace, out: TextIO) -> int:
    if args.to_date is None and args.estimate is None:
        raise UsageError("TO_DATE", "given, or --estimate TOTAL", None,
                         "give the progress to date (TO_DATE), a new estimate "
                         "(--estimate TOTAL), or both")
    with open_session(args) as s:
        a = s.biller.load(AgreementId(args.agreement))
        at = _now(a)
        on = _check_day("--on", args.on or at.date(), a, at)
        events: list[Event] = []
        new = a
        if args.estimate is not None:
            events.append(revise_estimate(new, args.obligation, args.estimate, as_of=on, at=at))
            new = apply(new, events[-1])
        if args.to_date is not None:
            events.append(report_progress(new, args.obligation, args.to_date, as_of=on, at=at))
            new = apply(new, events[-1])
        s.biller.record(a.id, events)
    estimate, done = new.estimate(args.obligation, on), new.progress(args.obligation, on)
    if args.json:
        emit_json(out, {"agreement_id": a.id, "obligation_id": args.obligation,
                        "as_of": on.isoformat(), "estimate": estimate, "to_date": done,
                        "events": events})
        return EXIT_OK
    share = done * 100 / estimate
    out.write(f"recorded for {a.id} / {args.obligation} as of {on}: {done} of an estimated "
              f"{estimate} ({share:.2f} %)\n")
    return EXIT_OK


def register_progress(sub: Any) -> None:
    """Add ``progress`` to ``sub``."""
    p = sub.add_parser(
        "progress", help="report progress on an obligation, or revise its estimate",
        description="For an obligation measured by hours, costs or units: record the "
        "cumulative progress to date (TO_DATE) and/or a revised estimated total "
        "(--estimate). Revenue follows on the next recognise.")
    p.add_argument("agreement", type=id_arg, metavar="AGREEMENT", help="agreement id")
    p.add_argument("obligation", type=id_arg, metavar="OBLIGATION", help="obligation id")
    p.add_argument("to_date", type=decimal_arg, nargs="?", metavar="TO_DATE",
                   help="hours, costs or units to date, cumulative (e.g. 140 or 12.5)")
    p.add_argument("--estimate", type=decimal_arg, metavar="TOTAL",
                   help="the revised estimated total, in force from --on")
    p.add_argument("--on", type=date_arg, metavar="DATE",
                   help="the day the figures are as of (default today)")
    p.set_defaults(handler=_progress)


# ------------------------------------------------------------------ reading


def _listing(a: Agreement, next_due: date | None) -> dict[str, Any]:
    return {"agreement_id": a.id, "state": a.state.value, "client": a.proposal.client,
            "currency": a.currency.code, "signed_on": a.signed_on.isoformat(),
            "invoices": len(a.invoices),
            "next_due": None if next_due is None else next_due.isoformat()}


def _agreements(args: argparse.Namespace, out: TextIO) -> int:
    with open_session(args) as s:
        rows = [_listing(s.biller.load(aid), s.store.next_due(aid))
                for aid in s.store.agreement_ids()]
    if args.json:
        emit_json(out, {"agreements": rows})
        return EXIT_OK
    columns = ["agreement_id", "state", "client", "currency", "signed_on", "invoices",
               "next_due"]
    out.write(text_table(columns, [[r[c] for c in columns] for r in rows]) + "\n")
    return EXIT_OK


def register_agreements(sub: Any) -> None:
    """Add ``agreements`` to ``sub``."""
    p = sub.add_parser("agreements", help="list the agreements in the store",
                       description="Every agreement: its state, client, currency, signing "
                       "date, invoices issued and the next day it has work.")
    p.set_defaults(handler=_agreements)


def _details(a: Agreement) -> dict[str, Any]:
    done = a.completions
    return {
        **_listing(a, None), "signer": a.signer, "option": a.option_id,
        "milestones": [{"id": t.milestone.id, "name": t.milestone.name,
                        "trigger": t.milestone.trigger.value,
                        "completed_on": None if t.milestone.id not in done
                        else done[t.milestone.id].isoformat()} for t in a.milestones],
        "recurring": [{"id": t.charge.id, "name": t.charge.name, "amount": t.charge.amount}
                      for t in a.recurring],
        "obligations": [{"id": o.id, "name": o.name, "progress": o.progress.value,
                         "estimate": a.estimate(o.id) if o.progress.is_input else None,
                         "to_date": a.progress(o.id) if o.progress.is_input else None}
                        for o in a.obligation_terms],
        "invoices": [{"id": i.id, "number": i.number, "issued_on": i.issued_on.isoformat(),
                      "due_on": i.due_on.isoformat(), "total": i.total,
                      "balance": a.balance_of(i.id)} for i in a.invoices],
        "credit_balance": a.credit_balance,
        "pending_amendments": [r.amendment.id for r in a.pending_amendments],
    }


def _show(args: argparse.Namespace, out: TextIO) -> int:
    with open_session(args) as s:
        a = s.biller.load(AgreementId(args.agreement))
        doc = {**_details(a), "next_due": s.store.next_due(a.id)}
    if args.json:
        emit_json(out, doc)
        return EXIT_OK
    out.write(f"{a.id}  {a.state.value}  {a.proposal.client}  signed {a.signed_on} by "
              f"{a.signer} (option {a.option_id})\n")
    for m in doc["milestones"]:
        out.write(f"  milestone {m['id']}  {m['name']}  {m['trigger']}"
                  + (f"  completed {m['completed_on']}" if m["completed_on"] else "") + "\n")
    for r in doc["recurring"]:
        out.write(f"  recurring {r['id']}  {r['name']}  {money_text(r['amount'])}\n")
    for o in doc["obligations"]:
        measure = "" if o["estimate"] is None else f"  {o['to_date']} of {o['estimate']}"
        out.write(f"  obligation {o['id']}  {o['name']}  {o['progress']}{measure}\n")
    for i in doc["invoices"]:
        out.write(f"  invoice {i['number']}  issued {i['issued_on']}  due {i['due_on']}  "
                  f"{money_text(i['total'])}  balance {money_text(i['balance'])}\n")
    out.write(f"  customer credit {money_text(a.credit_balance)}; next due "
              f"{doc['next_due'] or 'nothing scheduled'}\n")
    return EXIT_OK


def register_show(sub: Any) -> None:
    """Add ``show`` to ``sub``."""
    p = sub.add_parser("show", help="one agreement in detail",
                       description="One agreement: milestones and their completion, "
                       "recurring charges, obligations and progress, invoices and balances.")
    p.add_argument("agreement", type=id_arg, metavar="AGREEMENT", help="agreement id")
    p.set_defaults(handler=_show)


# ------------------------------------------------------------------ tenants


def _tenants(args: argparse.Namespace, out: TextIO) -> int:
    config = config_for(args)
    with closing(open_store(config).store) as store:
        bound = bind_tenant(store, config)  # the usual answer for a schema behind the code
        if not isinstance(bound, TenantBound):
            raise StoreError(f"{config.store_label} does not keep tenants")
        rows = [{"tenant": t, "agreements": len(bound.for_tenant(t).agreement_ids())}
                for t in bound.platform().tenants()]
    if args.json:
        emit_json(out, {"tenants": rows})
        return EXIT_OK
    out.write(text_table(["tenant", "agreements"], [[r["tenant"], r["agreements"]]
                                                    for r in rows]) + "\n")
    return EXIT_OK


def register_tenants(sub: Any) -> None:
    """Add ``tenants`` to ``sub``."""
    p = sub.add_parser("tenants", help="list the store's tenants (a platform-level listing)",
                       description="Every tenant (firm) of a store shared by several, with "
                       "its number of agreements. It is the one command that looks past "
                       "--tenant; see docs/tenancy.md.")
    p.set_defaults(handler=_tenants)


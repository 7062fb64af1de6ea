"""``run``, ``recognise`` and ``reconcile``: the date-driven work of the Biller.

* ``milestonebill run --as-of DATE [--dry-run]`` -- everything due by
  ``DATE`` for every agreement: unfinished charges re-driven, automatic
  approvals, credit notes and invoices issued, charges and retries
  (:meth:`~milestonebill.engine.Biller.run`; needs ``--firm``).  With
  ``--dry-run`` it says what a run would do and writes nothing, charges
  nothing (:meth:`~milestonebill.engine.Biller.dry_run`).  Exit status 1 when
  the run finished with problems (agreements it could not finish).
* ``milestonebill recognise --as-of DATE`` -- post the revenue each agreement
  earned through ``DATE`` (:meth:`~milestonebill.engine.Biller.recognise`).
* ``milestonebill reconcile [--grace SECONDS]`` -- finish charge attempts a
  crash or an outage left unfinished, each with its original idempotency
  key (:meth:`~milestonebill.engine.Biller.reconcile`).
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from milestonebill.cli.common import date_arg, id_arg, plain_text
from milestonebill.cli.failures import EXIT_OK, EXIT_REFUSED
from milestonebill.cli.output import emit_json, money_text, progress_bar, to_json
from milestonebill.cli.session import open_session
from milestonebill.engine import ChargeOutcome, DryRun, RecognitionSummary, RunSummary
from milestonebill.engine.results import BillingProblem, RunCounts
from milestonebill.ids import AgreementId

__all__ = [
    "dry_run_text",
    "recognition_text",
    "register_recognise",
    "register_reconcile",
    "register_run",
    "run_text",
]


def _plural(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _charge_line(c: ChargeOutcome, numbers: dict[str, str]) -> str:
    what = numbers.get(c.invoice_id, c.invoice_id)
    line = f"  charge {what} attempt {c.attempt}: {c.status.value} {money_text(c.amount)}"
    if c.decline_code:
        line += f" ({c.decline_code})"
    return line


def _problem_lines(problems: tuple[BillingProblem, ...]) -> list[str]:
    return [f"  problem {p.agreement_id}: {p.error}: {plain_text(p.message)}" for p in problems]


def run_text(s: RunSummary) -> str:
    """A run summary for people."""
    numbers: dict[str, str] = {i.id: i.number or i.id for i in s.invoices}
    c = s.counts or RunCounts(len(s.agreements), len(s.approvals), len(s.invoices),
                              len(s.credit_notes), len(s.charges), len(s.reconciled),
                              len(s.problems), len(s.parked))
    lines = [f"run as of {s.as_of}: {_plural(c.agreements, 'agreement')} handled"]
    lines += [f"  approved amendment {a.amendment_id} (notice period over)" for a in s.approvals]
    lines += [f"  issued {cn.number}  {cn.agreement_id}  credit {money_text(cn.total)} "
              f"on {numbers.get(cn.credits, cn.credits)}" for cn in s.credit_notes]
    lines += [f"  issued {i.number}  {i.agreement_id}  {money_text(i.total)}  due {i.due_on}"
              for i in s.invoices]
    lines += [_charge_line(c, numbers) for c in (*s.reconciled, *s.charges)]
    lines += _problem_lines(s.problems)
    failed = len(s.failures)
    listed = "" if s.complete else " of those listed"
    if not s.complete:
        lines.append("  (the first of each kind listed; the counts below are whole)")
    lines.append(f"{_plural(c.invoices, 'invoice')}, "
                 f"{_plural(c.credit_notes, 'credit note')}, "
                 f"{_plural(c.charges + c.reconciled, 'charge')} ({failed}{listed} not "
                 f"succeeded), {_plural(c.problems, 'problem')}")
    return "\n".join(lines) + "\n"


def dry_run_text(d: DryRun) -> str:
    """What a run would do, for people."""
    lines = [f"dry run as of {d.as_of}: nothing was written and nothing charged",
             f"  {_plural(len(d.agreements), 'agreement')} due"]
    lines += [f"  would approve amendment {a.amendment_id}" for a in d.approvals]
    lines += [f"  would issue a credit note  {cn.agreement_id}  {money_text(cn.total)}"
              for cn in d.credit_notes]
    lines += [f"  would issue an invoice  {i.agreement_id}  {money_text(i.total)}  "
              f"due {i.due_on}" for i in d.invoices]
    lines += [f"  would charge  {c.agreement_id}  attempt {c.attempt}  "
              f"{money_text(c.amount)}  ({c.reason})" for c in d.charges]
    return "\n".join(lines) + "\n"


def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.dry_run:
        with open_session(args) as s:
            dry = s.biller.dry_run(args.as_of)
        if args.json:
            emit_json(out, {"dry_run": True, **_as_dict(dry)})
        else:
            out.write(dry_run_text(dry))
        return EXIT_OK
    with open_session(args, gateway=True, firm=True) as s:
        due = len(s.store.list_due(args.as_of))
        with progress_bar(not (args.json or args.quiet), due, "billing") as moved:
            summary = s.biller.run(args.as_of, progress=moved)
    if args.json:
        emit_json(out, {"dry_run": False, **_as_dict(summary)})
    else:
        out.write(run_text(summary))
    return EXIT_REFUSED if summary.problems else EXIT_OK


def _as_dict(value: Any) -> dict[str, Any]:
    """A summary as JSON, its problems' messages in the user's terms (ISO dates)."""
    data: dict[str, Any] = to_json(value)
    for p in data.get("problems", []):
        p["message"] = plain_text(p["message"])
    return data


def register_run(sub: Any) -> None:
    """Add ``run`` to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "run", help="bill everything due by a date (or --dry-run)",
        description="Do everything date-driven that is due by --as-of, for every agreement: "
        "finish interrupted charges, apply approvals whose notice ran out, issue credit notes "
        "and invoices, charge them and retry failed payments whose day has come. Needs --firm. "
        "Exits 1 when an agreement could not be finished (it is tried again next time).")
    p.add_argument("--as-of", dest="as_of", type=date_arg, metavar="DATE", required=True,
                   help="bill what is due by the end of this day (ISO date)")
    p.add_argument("--dry-run", dest="dry_run", action="store_true",
                   help="say what a run would do; write nothing, charge nothing")
    p.set_defaults(handler=_run)


def recognition_text(r: RecognitionSummary) -> str:
    """A recognition summary for people."""
    lines = [f"recognised as of {r.as_of}: {_plural(len(r.agreements), 'agreement')}, "
             f"{_plural(len(r.entries), 'journal entry', 'journal entries')}"]
    lines += [f"  revenue {money_text(m)}" for _code, m in sorted(r.released.items())]
    lines += [f"  {e.id}  {e.posted_on}  {money_text(e.total)}" for e in r.entries]
    lines += _problem_lines(r.problems)
    return "\n".join(lines) + "\n"


def _recognise(args: argparse.Namespace, out: TextIO) -> int:
    with open_session(args) as s:
        ids = [AgreementId(a) for a in args.agreement] or s.store.agreement_ids()
        with progress_bar(not (args.json or args.quiet), len(ids), "recognising") as moved:
            summary = s.biller.recognise(args.as_of, agreement_ids=ids, progress=moved)
    if args.json:
        emit_json(out, {**_as_dict(summary), "released": {
            k: v.to_json() for k, v in sorted(summary.released.items())}})
    else:
        out.write(recognition_text(summary))
    return EXIT_REFUSED if summary.problems else EXIT_OK


def register_recognise(sub: Any) -> None:
    """Add ``recognise`` to ``sub``."""
    p = sub.add_parser(
        "recognise", help="post the revenue earned through a date",
        description="Post, per agreement and performance obligation, the revenue earned "
        "through the end of --as-of since the last recognition (ASC 606 / IFRS 15: revenue "
        "follows performance, not invoices). Idempotent for a day; a day before an "
        "agreement's last recognition is refused for that agreement (exit 1).")
    p.add_argument("--as-of", dest="as_of", type=date_arg, metavar="DATE", required=True,
                   help="recognise through the end of this day (ISO date)")
    p.add_argument("--agreement", action="append", default=[], type=id_arg, metavar="ID",
                   help="only this agreement (repeatable; default: all)")
    p.set_defaults(handler=_recognise)


def _reconcile(args: argparse.Namespace, out: TextIO) -> int:
    with open_session(args, gateway=True, firm=True) as s:
        outcomes = s.biller.reconcile(grace_seconds=args.grace)
    if args.json:
        emit_json(out, {"reconciled": outcomes})
    else:
        out.write(f"reconciled {_plural(len(outcomes), 'unfinished charge attempt')}\n")
        out.writelines(_charge_line(c, {}) + "\n" for c in outcomes)
    return EXIT_OK


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 10 * 365 * 86400:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more (got {text!r})")
    return value


def register_reconcile(sub: Any) -> None:
    """Add ``reconcile`` to ``sub``."""
    p = sub.add_parser(
        "reconcile", help="finish charge attempts a crash left unfinished",
        description="Finish unfinished charge and refund attempts store-wide, each with its "
        "original idempotency key, so nothing is charged twice. Attempts younger than "
        "--grace are left alone: a live worker is most likely still waiting for the gateway.")
    p.add_argument("--grace", type=_seconds, metavar="SECONDS", default=None,
                   help="leave attempts younger than this alone (default 300; 0: none)")
    p.set_defaults(handler=_reconcile)

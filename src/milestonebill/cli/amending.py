"""``amend``, ``approve`` and ``reject``: changing an agreement through amendments.

* ``milestonebill amend AGREEMENT FILE --preview [--as-of DATE] [--through
  DATE]`` -- price the amendment of an ``amendment`` format file (JSON or
  TOML) against the agreement as stored, and write nothing: the charges and
  credits it makes billable by the time it takes effect, the contract value
  before and after, and every schedule change, to the cent
  (:func:`~milestonebill.agreement.preview`).
* ``milestonebill amend AGREEMENT FILE [--by NAME]`` -- propose it
  (:func:`~milestonebill.agreement.propose`).  When the agreement's approval
  rules need the client's approval it waits for ``approve`` (or its
  automatic approval, applied by ``run``); otherwise it applies at once.
  Proposing the same file again is a no-op.
* ``milestonebill approve AGREEMENT AMENDMENT --by NAME`` and ``reject
  AGREEMENT AMENDMENT --by NAME [--reason TEXT]`` -- the client's answer.
  The next ``run`` bills and credits what an approval made due.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, date, datetime
from typing import Any, TextIO

from milestonebill.agreement import (
    Agreement,
    Amendment,
    AmendmentPreview,
    AmendmentRecord,
    AmendmentStatus,
    PreviewLine,
    approve,
    preview,
    propose,
    reject,
)
from milestonebill.cli.common import UsageError, date_arg, id_arg
from milestonebill.cli.failures import EXIT_OK
from milestonebill.cli.files import read_format_file
from milestonebill.cli.output import emit_json, money_text
from milestonebill.cli.session import open_session
from milestonebill.errors import DuplicateIdError
from milestonebill.ids import AgreementId, AmendmentId

__all__ = ["preview_document", "preview_text", "register_amend", "register_approve",
           "register_reject"]


def _now(a: Agreement) -> datetime:
    """The time to stamp a new event with: now, never before the agreement's last event."""
    return max(datetime.now(UTC), a.events[-1].effective_at)


def _signed_change(m: Any) -> str:
    return ("+" if m.minor >= 0 else "-") + money_text(abs(m))


def preview_document(a: Agreement, pv: AmendmentPreview, as_of: date) -> dict[str, Any]:
    """What ``amend --preview --json`` prints: the preview and its totals."""
    return {"agreement_id": a.id, "as_of": as_of.isoformat(), "written": False,
            "preview": pv.to_json(), "charges_total": pv.charges_total.to_json(),
            "credits_total": pv.credits_total.to_json(),
            "value_change": pv.value_change.to_json()}


def preview_text(a: Agreement, pv: AmendmentPreview, as_of: date) -> str:
    """A priced preview for people."""
    numbers = {i.id: i.number or i.id for i in a.invoices}

    def line(kind: str, ln: PreviewLine) -> str:
        text = f"  {kind}  {ln.description}  {money_text(ln.amount)}  on {ln.due_on}"
        if ln.adjusts is not None:
            text += f"  (adjusts {numbers.get(ln.adjusts, ln.adjusts)})"
        return text

    lines = [f"preview of amendment {pv.amendment_id} to {a.id} as of {as_of}: nothing "
             "was written"]
    lines += [line("charge", c) for c in pv.charges]
    lines += [line("credit", c) for c in pv.credits]
    lines.append(f"  charges {money_text(pv.charges_total)}, credits "
                 f"{money_text(pv.credits_total)}")
    lines.append(f"  contract value {money_text(pv.contract_value_before)} -> "
                 f"{money_text(pv.contract_value_after)} ({_signed_change(pv.value_change)})")
    for c in pv.changes:
        before = "-" if c.before is None else money_text(c.before)
        after = "-" if c.after is None else money_text(c.after)
        lines.append(f"  change {c.key}  {c.name}  {before} -> {after}")
    return "\n".join(lines) + "\n"


def _status_text(r: AmendmentRecord) -> str:
    if r.status is AmendmentStatus.PENDING:
        auto = "" if r.auto_approve_at is None else \
            f"; approved automatically on {r.auto_approve_at.date()} unless rejected"
        return f"pending the client's approval ('milestonebill approve'){auto}"
    by = f" by {r.decided_by}" if r.decided_by else ""
    return f"{r.status.value}{by}"


def _check_options(args: argparse.Namespace) -> None:
    """Options of one mode given in the other are refused, not ignored."""
    wrong = [("--by", args.by)] if args.preview else [("--as-of", args.as_of),
                                                      ("--through", args.through)]
    for name, value in wrong:
        if value is not None:
            mode = "proposing (without --preview)" if name == "--by" else "--preview"
            raise UsageError(name, f"given only with {mode}", str(value),
                             f"{name} goes with {mode}")


def _amend(args: argparse.Namespace, out: TextIO) -> int:
    _check_options(args)
    amendment = read_format_file("amendment", args.file)
    assert isinstance(amendment, Amendment)
    if args.preview:
        with open_session(args) as s:
            a = s.biller.load(AgreementId(args.agreement))
        as_of = args.as_of or datetime.now(UTC).date()
        pv = preview(a, amendment, as_of=as_of, through=args.through)
        if args.json:
            emit_json(out, preview_document(a, pv, as_of))
        else:
            out.write(preview_text(a, pv, as_of))
        return EXIT_OK
    with open_session(args) as s:
        a = s.biller.load(AgreementId(args.agreement))
        known = next((r for r in a.amendments if r.amendment.id == amendment.id), None)
        if known is not None and known.amendment != amendment:
            raise DuplicateIdError("amendment", amendment.id, f"is already proposed to {a.id} "
                                   "with other operations")
        if known is None:
            e = propose(a, amendment, by=args.by or getpass.getuser(), at=_now(a))
            a = s.biller.record(a.id, [e])
        record = next(r for r in a.amendments if r.amendment.id == amendment.id)
    if args.json:
        emit_json(out, {"agreement_id": a.id, "proposed": known is None,
                        "amendment": record})
        return EXIT_OK
    if known is not None:
        out.write(f"amendment {amendment.id} is already proposed to {a.id}; nothing to do "
                  f"({_status_text(record)})\n")
        return EXIT_OK
    out.write(f"proposed amendment {amendment.id} to {a.id} (by {record.proposed_by}): "
              f"{_status_text(record)}\n")
    if record.status is AmendmentStatus.APPROVED:
        out.write("the next 'milestonebill run' bills and credits what it made due\n")
    return EXIT_OK


def register_amend(sub: Any) -> None:
    """Add ``amend`` to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "amend", help="price (--preview) or propose an amendment to an agreement",
        description="With --preview: price the amendment of an amendment-format file (JSON "
        "or TOML) against the agreement and write nothing. Without: propose it; it waits "
        "for 'milestonebill approve' when the agreement needs the client's approval, and "
        "applies at once otherwise. Proposing the same file again does nothing.")
    p.add_argument("agreement", type=id_arg, metavar="AGREEMENT", help="agreement id")
    p.add_argument("file", metavar="FILE", help="the amendment: a .json or .toml file "
                   "('-': JSON on standard input)")
    p.add_argument("--preview", action="store_true",
                   help="price it and write nothing")
    p.add_argument("--as-of", dest="as_of", type=date_arg, metavar="DATE",
                   help="--preview: the day it is priced on (default today)")
    p.add_argument("--through", type=date_arg, metavar="DATE",
                   help="--preview: the contract-value horizon (needed when a recurring "
                   "charge has no end)")
    p.add_argument("--by", metavar="NAME", help="who proposes it (default: your login name)")
    p.set_defaults(handler=_amend)


def _decide(args: argparse.Namespace, out: TextIO) -> int:
    wanted = AmendmentStatus.APPROVED if args.command == "approve" else AmendmentStatus.REJECTED
    with open_session(args) as s:
        a = s.biller.load(AgreementId(args.agreement))
        mid = AmendmentId(args.amendment)
        before = next((r for r in a.amendments if r.amendment.id == mid), None)
        if before is None or before.status is not wanted:  # the library refuses what it must
            if wanted is AmendmentStatus.APPROVED:
                e: Any = approve(a, mid, by=args.by, at=_now(a))
            else:
                e = reject(a, mid, by=args.by, at=_now(a), reason=args.reason)
            a = s.biller.record(a.id, [e])
        record = next(r for r in a.amendments if r.amendment.id == mid)
    done = before is None or before.status is not wanted
    if args.json:
        emit_json(out, {"agreement_id": a.id, "recorded": done, "amendment": record})
        return EXIT_OK
    if not done:
        out.write(f"amendment {mid} of {a.id} is already {wanted.value}; nothing recorded\n")
        return EXIT_OK
    out.write(f"amendment {mid} of {a.id}: {wanted.value} by {args.by}\n")
    if wanted is AmendmentStatus.APPROVED:
        out.write("the next 'milestonebill run' bills and credits what it made due\n")
    return EXIT_OK


def _decision_parser(sub: Any, name: str, what: str) -> Any:
    p = sub.add_parser(name, help=f"record that the client {what} a pending amendment",
                       description=f"Record that the client {what} a pending amendment of an "
                       f"agreement. An amendment already {what} is left as it is.")
    p.add_argument("agreement", type=id_arg, metavar="AGREEMENT", help="agreement id")
    p.add_argument("amendment", type=id_arg, metavar="AMENDMENT", help="amendment id")
    p.add_argument("--by", required=True, type=id_arg, metavar="NAME",
                   help=f"who {what} it for the client")
    p.set_defaults(handler=_decide)
    return p


def register_approve(sub: Any) -> None:
    """Add ``approve`` to ``sub``."""
    _decision_parser(sub, "approve", "approved")


def register_reject(sub: Any) -> None:
    """Add ``reject`` to ``sub``."""
    p = _decision_parser(sub, "reject", "rejected")
    p.add_argument("--reason", default="", metavar="TEXT", help="why")

"""``propose``, ``proposal STEP`` and ``proposals``: proposals stored with their life.

* ``milestonebill propose FILE [--at TIME]`` -- store a proposal from a
  ``proposal`` format file (JSON or TOML by extension; see
  ``docs/formats.md``) as a draft (:meth:`~milestonebill.engine.Biller.propose`).
  Proposing the same file again is a no-op; other terms under a stored id
  are refused.
* ``milestonebill proposal send|view|decline|withdraw PROPOSAL [--at TIME]``
  -- record a step of its life (``send --to RECIPIENT``; ``decline`` and
  ``withdraw`` take ``--reason TEXT``); a step already recorded is not
  recorded again (viewing records each view).  ``proposal show PROPOSAL``
  prints it with its events.
* ``milestonebill proposals [--status S] [--as-of DATE]`` -- every proposal
  with its status on a day (an open proposal past its validity shows as
  expired).

Signing is ``sign`` (:mod:`milestonebill.cli.signing`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Final, TextIO

from milestonebill import formats
from milestonebill.agreement import Proposal
from milestonebill.cli.common import date_arg, datetime_arg, id_arg
from milestonebill.cli.failures import EXIT_OK
from milestonebill.cli.files import read_format_file
from milestonebill.cli.output import emit_json, text_table
from milestonebill.cli.session import open_session
from milestonebill.engine import Biller
from milestonebill.ids import ProposalId
from milestonebill.proposals import (
    ProposalRecord,
    ProposalStatus,
    proposal_event_to_json,
    status_on,
)

__all__ = [
    "STEPS",
    "proposal_document",
    "register_proposal",
    "register_proposals",
    "register_propose",
]


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def proposal_document(record: ProposalRecord, on: date) -> dict[str, Any]:
    """A stored proposal as JSON-ready data: its life and, on ``on``, its status."""
    p = record.proposal
    return {
        "proposal_id": p.id, "client": p.client, "currency": p.currency.code,
        "status": status_on(record, on).value, "recorded_status": record.status.value,
        "valid_until": None if p.valid_until is None else p.valid_until.isoformat(),
        "collection": p.collection.name.lower(),
        "options": [o.id for o in p.options], "addons": [a.id for a in p.addons],
        "drafted_at": _iso(record.drafted_at), "sent_at": _iso(record.sent_at),
        "viewed_at": _iso(record.viewed_at), "decided_at": _iso(record.decided_at),
        "reason": record.reason, "agreement_id": record.agreement_id,
        "version": record.version,
    }


def _today() -> date:
    return datetime.now(UTC).date()


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# ------------------------------------------------------------------ propose


def _propose(args: argparse.Namespace, out: TextIO) -> int:
    proposal = read_format_file("proposal", args.file)
    assert isinstance(proposal, Proposal)
    with open_session(args) as s:
        stored = bool(s.store.proposal_version(proposal.id))
        record = s.biller.propose(proposal, at=args.at)
    on = record.drafted_at.date() if args.at else _today()
    if args.json:
        emit_json(out, {"stored": not stored, **proposal_document(record, on)})
        return EXIT_OK
    if stored:
        out.write(f"proposal {proposal.id} is already stored with these terms; nothing to "
                  f"do (status {status_on(record, on).value})\n")
        return EXIT_OK
    options = ", ".join(o.id for o in proposal.options)
    line = (f"proposed {proposal.id} to {proposal.client}: "
            f"{_plural(len(proposal.options), 'option')} ({options})")
    if proposal.addons:
        line += f", {_plural(len(proposal.addons), 'add-on')} " \
                f"({', '.join(a.id for a in proposal.addons)})"
    if proposal.valid_until is not None:
        line += f"; valid until {proposal.valid_until}"
    out.write(line + "\nstatus draft: 'milestonebill proposal send' records that it was "
              "sent, 'milestonebill sign' signs it\n")
    return EXIT_OK


def _at_option(p: Any, what: str) -> None:
    p.add_argument("--at", type=datetime_arg, metavar="TIME",
                   help=f"when it {what}, with its zone (default now), e.g. "
                   "2026-03-02T09:30:00Z")


def register_propose(sub: Any) -> None:
    """Add ``propose`` to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "propose", help="store a proposal from a file, as a draft",
        description="Store the proposal of a proposal-format file (JSON or TOML, by its "
        "extension; see 'milestonebill schema proposal') as a draft. Every problem of the "
        "file is reported at once, by JSON path. Proposing the same file again does nothing.")
    p.add_argument("file", metavar="FILE", help="the proposal: a .json or .toml file "
                   "('-': JSON on standard input)")
    _at_option(p, "was drafted")
    p.set_defaults(handler=_propose)


# ------------------------------------------------------------------ proposal STEP

_Step = Callable[[Biller, argparse.Namespace], ProposalRecord]

#: The steps of ``proposal``: what each records, and its past tense.
STEPS: Final[dict[str, tuple[str, str]]] = {
    "send": ("record that the proposal was sent to the client", "sent"),
    "view": ("record that the client opened it", "viewed"),
    "decline": ("record that the client declined it", "declined"),
    "withdraw": ("take it back: the firm withdraws it", "withdrawn"),
}

_ACTIONS: Final[dict[str, _Step]] = {
    "send": lambda b, a: b.send(ProposalId(a.proposal), recipient=a.recipient, at=a.at),
    "view": lambda b, a: b.mark_viewed(ProposalId(a.proposal), at=a.at),
    "decline": lambda b, a: b.decline(ProposalId(a.proposal), reason=a.reason, at=a.at),
    "withdraw": lambda b, a: b.withdraw(ProposalId(a.proposal), reason=a.reason, at=a.at),
}


def _step(args: argparse.Namespace, out: TextIO) -> int:
    with open_session(args) as s:
        before = s.biller.load_proposal(ProposalId(args.proposal))
        record = _ACTIONS[args.step](s.biller, args)
    changed = record.version != before.version
    on = record.events[-1].effective_at.date() if args.at else _today()
    if args.json:
        emit_json(out, {"recorded": changed, **proposal_document(record, on)})
        return EXIT_OK
    done = STEPS[args.step][1]
    if not changed:
        out.write(f"proposal {record.id} is already {record.status.value}; nothing recorded\n")
        return EXIT_OK
    when = record.events[-1].effective_at.isoformat()
    to = f" to {args.recipient}" if args.step == "send" and args.recipient else ""
    why = f" ({record.reason})" if record.reason and args.step in ("decline", "withdraw") \
        else ""
    out.write(f"proposal {record.id}: {done}{to} at {when}{why}; status "
              f"{record.status.value}\n")
    return EXIT_OK


def _show(args: argparse.Namespace, out: TextIO) -> int:
    with open_session(args) as s:
        record = s.biller.load_proposal(ProposalId(args.proposal))
    doc = proposal_document(record, args.as_of or _today())
    if args.json:
        emit_json(out, {**doc, "proposal": formats.write(record.proposal),
                        "events": [proposal_event_to_json(e) for e in record.events]})
        return EXIT_OK
    p = record.proposal
    out.write(f"{p.id}  {doc['status']}  {p.client}  {p.currency.code}  valid until "
              f"{p.valid_until or 'no end'}  collection {doc['collection']}\n")
    for o in p.options:
        out.write(f"  option {o.id}  {o.name}\n")
    for a in p.addons:
        out.write(f"  add-on {a.id}  {a.name}\n")
    for e in record.events:
        out.write(f"  {e.effective_at.isoformat()}  {type(e).__name__}\n")
    if record.agreement_id is not None:
        out.write(f"  signed as agreement {record.agreement_id}\n")
    return EXIT_OK


def register_proposal(sub: Any) -> None:
    """Add ``proposal`` and its steps (``send``, ``view``, ``decline``, ``withdraw``,
    ``show``) to ``sub``."""
    p = sub.add_parser(
        "proposal", help="record a step of a proposal's life, or show it",
        description="Record that a stored proposal was sent, viewed, declined or "
        "withdrawn, or show it. A step already recorded is not recorded again; a step its "
        "status does not allow (declining a signed proposal) is refused (exit 1).")
    steps = p.add_subparsers(dest="step", metavar="STEP", required=True)
    for name, (what, _done) in STEPS.items():
        q = steps.add_parser(name, help=what, description=what[0].upper() + what[1:] + ".")
        q.add_argument("proposal", type=id_arg, metavar="PROPOSAL", help="proposal id")
        _at_option(q, "happened")
        if name == "send":
            q.add_argument("--to", dest="recipient", default="", metavar="RECIPIENT",
                           help="who it was sent to (an e-mail address, a name)")
        if name in ("decline", "withdraw"):
            q.add_argument("--reason", default="", metavar="TEXT", help="why")
        q.set_defaults(handler=_step)
    q = steps.add_parser("show", help="a proposal, its status and its events",
                         description="A stored proposal: its options, add-ons, status on "
                         "--as-of and every event of its life.")
    q.add_argument("proposal", type=id_arg, metavar="PROPOSAL", help="proposal id")
    q.add_argument("--as-of", dest="as_of", type=date_arg, metavar="DATE",
                   help="the day the status is as of (default today)")
    q.set_defaults(handler=_show)


# ------------------------------------------------------------------ proposals

_COLUMNS: Final = ("proposal_id", "status", "client", "currency", "options", "valid_until",
                   "agreement_id")


def _proposals(args: argparse.Namespace, out: TextIO) -> int:
    on = args.as_of or _today()
    with open_session(args) as s:
        docs = [proposal_document(s.biller.load_proposal(pid), on)
                for pid in s.store.proposal_ids()]
    if args.status:
        docs = [d for d in docs if d["status"] in args.status]
    if args.json:
        emit_json(out, {"as_of": on.isoformat(), "proposals": docs})
        return EXIT_OK
    if not docs:
        out.write("no proposals\n")
        return EXIT_OK
    rows = [[d["proposal_id"], d["status"], d["client"], d["currency"],
             ",".join(d["options"]), d["valid_until"] or "", d["agreement_id"] or ""]
            for d in docs]
    out.write(text_table(_COLUMNS, rows) + "\n")
    return EXIT_OK


def register_proposals(sub: Any) -> None:
    """Add ``proposals`` to ``sub``."""
    p = sub.add_parser(
        "proposals", help="list the proposals in the store with their status",
        description="Every stored proposal: its status on --as-of (an open proposal past "
        "its validity is expired), client, options, validity and the agreement signed "
        "from it.")
    p.add_argument("--status", action="append", default=[], metavar="STATUS",
                   choices=[s.value for s in ProposalStatus],
                   help="only proposals with this status (repeatable): "
                   + ", ".join(s.value for s in ProposalStatus))
    p.add_argument("--as-of", dest="as_of", type=date_arg, metavar="DATE",
                   help="the day the status is as of (default today)")
    p.set_defaults(handler=_proposals)

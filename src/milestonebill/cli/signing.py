"""``sign``: a client signs a stored proposal, in one step and exactly once.

``milestonebill sign PROPOSAL --option OPTION --signer NAME
[--payment-method TOKEN [--kind card|bank_debit] [--customer-reference REF]
[--mandate-accepted-at TIME --mandate-ip ADDRESS --mandate-user-agent TEXT]]
[--addon ID ...] [--agreement-id ID] [--at TIME]`` is
:meth:`~milestonebill.engine.Biller.onboard`: it creates (or finds) the
gateway customer, saves the payment method the gateway's browser library
returned as ``TOKEN`` (a bank debit with the facts of the client's mandate
acceptance) and signs the option, each step recorded in the proposal's
stream before the next.  Running it again -- after a crash, a timeout, or
by mistake -- neither makes a second customer nor signs twice: it says the
proposal is signed and changes nothing.

The customer reference (the host's id for the client; the gateway's
idempotency key for the customer comes from it) defaults to the agreement's
id.  A proposal that sends invoices needs no payment method, and without
``--payment-method`` the gateway is not called at all.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from milestonebill.agreement import Agreement
from milestonebill.cli.common import UsageError, datetime_arg, id_arg
from milestonebill.cli.failures import EXIT_OK
from milestonebill.cli.output import emit_json
from milestonebill.cli.session import open_session
from milestonebill.ids import AgreementId, ProposalId
from milestonebill.payment_methods import PaymentMethodKind, contains_card_number

__all__ = ["register_sign", "signing_document"]


def _token(text: str) -> str:
    if contains_card_number(text):
        raise argparse.ArgumentTypeError(
            "must be a gateway token, not a card number (got '[redacted]')")
    return id_arg(text)


def _check(args: argparse.Namespace) -> None:
    """The options that only make sense together, named as the user typed them."""
    mandate = {"--mandate-accepted-at": args.mandate_accepted_at,
               "--mandate-ip": args.mandate_ip, "--mandate-user-agent": args.mandate_user_agent}
    given = [name for name, value in mandate.items() if value is not None]
    if args.payment_method is None:
        for name, value in [("--kind", args.kind), ("--customer-reference",
                                                    args.customer_reference), *mandate.items()]:
            if value is not None:
                raise UsageError(name, "given with --payment-method TOKEN", value,
                                 f"{name} goes with --payment-method TOKEN (the payment "
                                 "method to save)")
        return
    bank = args.kind == PaymentMethodKind.BANK_DEBIT.value
    if given and not bank:
        raise UsageError(given[0], "given with --kind bank_debit", mandate[given[0]],
                         f"{given[0]} is a fact of a bank debit's mandate: it goes with "
                         "--kind bank_debit")
    if bank and args.mandate_accepted_at is None:
        raise UsageError("--mandate-accepted-at", "when the client accepted the debit "
                         "mandate", None, "--kind bank_debit needs --mandate-accepted-at "
                         "TIME: when the client accepted the debit mandate")


def signing_document(a: Agreement, *, already: bool, next_due: object) -> dict[str, Any]:
    """What ``sign --json`` prints about the agreement."""
    pm = a.payment_method
    return {
        "agreement_id": a.id, "proposal_id": a.proposal_id, "already_signed": already,
        "client": a.proposal.client, "option": a.option_id, "addons": list(a.addons),
        "signer": a.signer, "signed_at": a.signed_at.isoformat(),
        "payment_method": pm, "next_due": next_due,
    }


def _sign(args: argparse.Namespace, out: TextIO) -> int:
    _check(args)
    kind = PaymentMethodKind(args.kind or PaymentMethodKind.CARD.value)
    with open_session(args, gateway=args.payment_method is not None) as s:
        pid = ProposalId(args.proposal)
        record = s.biller.load_proposal(pid)
        already = record.acceptance is not None
        aid = AgreementId(args.agreement_id or pid)
        reference = args.customer_reference
        if args.payment_method is not None and reference is None:
            linked = record.customer
            reference = aid if linked is None else linked.customer_reference
        a = s.biller.onboard(
            pid, option=args.option, signer=args.signer, customer_reference=reference,
            payment_method_token=args.payment_method, kind=kind,
            mandate_accepted_at=args.mandate_accepted_at, mandate_ip_address=args.mandate_ip,
            mandate_user_agent=args.mandate_user_agent, addons=args.addon,
            agreement_id=AgreementId(args.agreement_id) if args.agreement_id else None,
            at=args.at)
        due = s.store.next_due(a.id)
    if args.json:
        emit_json(out, signing_document(a, already=already,
                                        next_due=None if due is None else due.isoformat()))
        return EXIT_OK
    if already:
        out.write(f"proposal {pid} is already signed as agreement {a.id} (by {a.signer} on "
                  f"{a.signed_on}); nothing to do\n")
        return EXIT_OK
    addons = f" with {', '.join(a.addons)}" if a.addons else ""
    out.write(f"signed proposal {pid} as agreement {a.id}: option {a.option_id}{addons} for "
              f"{a.proposal.client}, by {a.signer} on {a.signed_on}\n")
    pm = a.payment_method
    if pm is not None:
        out.write(f"  {pm.kind.value} {pm.payment_method_id} of customer {pm.customer_id} "
                  f"saved at the {pm.gateway} gateway\n")
    out.write("the next 'milestonebill run' bills what is due"
              + (f" (from {due})" if due is not None else "") + "\n")
    return EXIT_OK


def register_sign(sub: Any) -> None:
    """Add ``sign`` to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "sign", help="sign a stored proposal: customer, payment method and agreement, once",
        description="Sign a stored proposal for a client in one step: create (or find) the "
        "gateway customer, save the payment method, sign the chosen option. Each step is "
        "recorded before the next, so running it again never makes a second customer or "
        "signs twice.")
    p.add_argument("proposal", type=id_arg, metavar="PROPOSAL", help="proposal id")
    p.add_argument("--option", required=True, type=id_arg, metavar="OPTION",
                   help="the package option the client chose")
    p.add_argument("--signer", required=True, type=id_arg, metavar="NAME",
                   help="who signed for the client")
    p.add_argument("--addon", action="append", default=[], type=id_arg, metavar="ID",
                   help="an add-on the client chose (repeatable)")
    p.add_argument("--agreement-id", dest="agreement_id", type=id_arg, metavar="ID",
                   help="the new agreement's id (default: the proposal's)")
    p.add_argument("--at", type=datetime_arg, metavar="TIME",
                   help="when the client signed, with its zone (default now); give it when "
                   "retrying, so the retry signs at the same time")
    g = p.add_argument_group("payment method (for a proposal that charges automatically)")
    g.add_argument("--payment-method", dest="payment_method", type=_token, metavar="TOKEN",
                   help="the token the gateway's browser library returned (never a card "
                   "number)")
    g.add_argument("--kind", choices=[k.value for k in PaymentMethodKind],
                   help="card (default) or bank_debit")
    g.add_argument("--customer-reference", dest="customer_reference", type=id_arg,
                   metavar="REF", help="your id for the client at the gateway (default: the "
                   "agreement id)")
    g.add_argument("--mandate-accepted-at", dest="mandate_accepted_at", type=datetime_arg,
                   metavar="TIME", help="bank debit: when the client accepted the mandate")
    g.add_argument("--mandate-ip", dest="mandate_ip", type=id_arg, metavar="ADDRESS",
                   help="bank debit, accepted online: the client's IP address")
    g.add_argument("--mandate-user-agent", dest="mandate_user_agent", type=id_arg,
                   metavar="TEXT", help="bank debit, accepted online: the client's browser")
    p.set_defaults(handler=_sign)

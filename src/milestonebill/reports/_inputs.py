"""The checks the receivables reports share on their inputs, and the replay to a date.

Private to :mod:`milestonebill.reports`.  Every check raises
:class:`~milestonebill.errors.ValidationError` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from milestonebill._validate import check_date
from milestonebill.agreement import Agreement, history
from milestonebill.errors import ValidationError
from milestonebill.money import Currency

__all__ = ["checked_agreements", "client_of", "for_client", "replayed", "single_currency"]


def checked_agreements(agreements: Iterable[Agreement]) -> list[Agreement]:
    """The agreements as a list: each an :class:`Agreement`, each given once."""
    if isinstance(agreements, Agreement):
        raise ValidationError("agreements", "a collection of agreements (not one agreement)",
                              agreements.id)
    out: list[Agreement] = []
    seen: set[str] = set()
    for i, a in enumerate(agreements):
        if not isinstance(a, Agreement):
            raise ValidationError(f"agreements[{i}]", "an Agreement", a)
        if a.id in seen:
            raise ValidationError(f"agreements[{i}]", "each agreement once (a report would "
                                  "count it twice)", a.id)
        seen.add(a.id)
        out.append(a)
    return out


def client_of(agreement: Agreement) -> str:
    """Whose agreement it is: the client named on its proposal."""
    return agreement.proposal.client


def for_client(agreements: list[Agreement], client: str) -> list[Agreement]:
    """The agreements of ``client``; a client none of them has is refused."""
    mine = [a for a in agreements if client_of(a) == client]
    if not mine:
        known = sorted({client_of(a) for a in agreements})
        shown = ", ".join(repr(c) for c in known[:5]) + (", ..." if len(known) > 5 else "")
        raise ValidationError("client", f"the client of one of the agreements given ({shown})"
                              if known else "the client of one of the agreements given (none "
                              "were given)", client)
    return mine


def single_currency(agreements: list[Agreement], currency: Currency | str | None,
                    what: str) -> Currency:
    """The one currency ``what`` is in: ``currency``, or the agreements' only one.

    Amounts in different currencies are never added: agreements in several
    currencies need ``currency`` to say which.
    """
    have = sorted({a.currency.code for a in agreements})
    if currency is None:
        if len(have) != 1:
            raise ValidationError("currency", f"one of {', '.join(have)}: the agreements are in "
                                  f"several currencies and {what} has one total", None)
        return Currency.of(have[0])
    cur = Currency.of(currency)
    if cur.code not in have:
        raise ValidationError("currency", f"one of {', '.join(have)} (the currencies of the "
                              "agreements)", cur.code)
    return cur


def replayed(agreement: Agreement, as_of: date) -> Agreement:
    """The agreement as it stood at the end of ``as_of`` (UTC), its stream replayed.

    A date before its signing is refused, naming the agreement.
    """
    check_date("as_of", as_of)
    if as_of < agreement.signed_on:
        raise ValidationError("as_of", f"on or after the signing of agreement {agreement.id!r} "
                              f"({agreement.signed_on.isoformat()})", as_of)
    end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    if agreement.events[-1].effective_at < end:
        return agreement  # nothing happened after the date: the replay is the agreement
    return history.as_of(agreement, as_of)

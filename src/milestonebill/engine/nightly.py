"""The nightly job: everything date-driven a firm's billing needs, in one call.

:func:`nightly` runs, for a day ``as_of``:

1. :meth:`~milestonebill.engine.Biller.run` -- invoices and credit notes due,
   charges, retries of failed payments whose day has come, automatic
   approvals of amendments whose notice ran out;
2. :meth:`~milestonebill.engine.Biller.reconcile` -- charge attempts an
   earlier process left unfinished;
3. :meth:`~milestonebill.engine.Biller.expire_proposals` -- proposals past
   their validity;
4. at a month end (``as_of`` is the last day of its month) or when asked,
   :meth:`~milestonebill.engine.Biller.recognise` -- the revenue earned.

It needs no lock of its own: run it from cron in as many processes as you
like.  ``run`` and ``reconcile`` claim an agreement before they touch it
(workers never share one), expiring a proposal is a no-op the second time,
and revenue entries are numbered per agreement and obligation, so a second
process posting the same revenue is refused and recomputes.  A month end
that was missed is made up by the next one: ``recognise`` posts everything
earned since an agreement's last entry.

>>> from datetime import date
>>> from milestonebill.testing.scenarios import World, signed_deposit_agreement
>>> w = World()  # Monday 2 March 2026
>>> _ = w.biller.open(signed_deposit_agreement(signed_on=date(2026, 3, 2), amount="500.00"))
>>> summary = nightly(w.biller, date(2026, 3, 31))
>>> [str(i.total) for i in summary.run.invoices], summary.recognition is not None
(['500.00 USD'], True)
>>> again = nightly(w.biller, date(2026, 3, 31))
>>> again.run.invoices, again.recognition.entries
((), ())
>>> nightly(w.biller, date(2026, 4, 1)).recognition is None
True
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import attrs

from milestonebill._json import decode, encode
from milestonebill._validate import check_date
from milestonebill.engine.biller import Biller
from milestonebill.engine.results import ChargeOutcome, RecognitionSummary, RunSummary
from milestonebill.errors import ValidationError
from milestonebill.ids import ProposalId

__all__ = ["NightlySummary", "is_month_end", "nightly"]


@attrs.frozen
class NightlySummary:
    """What :func:`nightly` did: the run, the attempts reconciled, the proposals that
    expired and, at a month end, the recognition (``None`` on other days)."""

    as_of: date
    run: RunSummary
    reconciled: tuple[ChargeOutcome, ...]
    expired: tuple[ProposalId, ...]
    recognition: RecognitionSummary | None

    def to_json(self) -> dict[str, Any]:
        """The JSON form: the run and the recognition in theirs."""
        return encode(self)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: object) -> NightlySummary:
        """Read the form :meth:`to_json` writes."""
        return decode(data, cls)  # type: ignore[no-any-return]


def is_month_end(day: date) -> bool:
    """True on the last day of a month.

    >>> is_month_end(date(2028, 2, 29)), is_month_end(date(2028, 2, 28))
    (True, False)
    """
    return (check_date("day", day) + timedelta(days=1)).day == 1


def nightly(biller: Biller, as_of: date, *, recognise: bool | None = None) -> NightlySummary:
    """Run the nightly job for ``as_of`` (see the module docs); safe to run again, and
    from several processes at once.  ``recognise`` forces recognition on (or off);
    by default it runs at month ends.  Anything but ``True``, ``False`` or ``None``
    raises :class:`~milestonebill.errors.ValidationError` naming ``recognise``."""
    check_date("as_of", as_of)
    if recognise is not None and not isinstance(recognise, bool):
        raise ValidationError("recognise", "true, false or None (at month ends)", recognise)
    run = biller.run(as_of)
    reconciled = biller.reconcile()
    expired = tuple(r.id for r in biller.expire_proposals(as_of))
    due = is_month_end(as_of) if recognise is None else recognise
    recognition = biller.recognise(as_of) if due else None
    return NightlySummary(as_of, run, reconciled, expired, recognition)

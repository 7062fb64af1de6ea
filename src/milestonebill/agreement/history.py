"""An agreement at earlier times, without folding its stream again.

:meth:`Agreement.as_of <milestonebill.agreement.Agreement.as_of>` replays
the events up to a time.  Reports ask for the same agreement at a date over
and over (receivables, leakage and forecasts replay to ``as_of``, retainer
metrics to every month boundary), so this module answers the same question
faster, with the same result:

* :func:`as_of` -- the agreement as it stood at a time.  Events are in time
  order (``apply`` refuses one that runs backwards), so that is the fold of a
  prefix of the stream.  When every later event only appended one value to
  one of the agreement's lists (a document, a payment, a completion, progress
  -- :data:`APPENDS`), the prefix's fold is the agreement with those lists
  cut back: no replay.  Otherwise it is folded.  Each agreement keeps the
  few earlier states asked for, so reports at one date share them, and an
  earlier state with the same completions takes its billing plan from the
  agreement (the plan reads only the terms and the completions, which are
  the same objects).
* :func:`cut_from` -- the later state an earlier one was cut back from, for
  what reads none of the records that were cut;
* :func:`changes` -- when the agreement changed other than by such records;
  between two changes its terms and state stay the same.

Outside :func:`~milestonebill._reference.reference_path` these are the fast
paths; inside it :func:`as_of` is :meth:`Agreement.as_of` itself, and
``tests/property/test_report_fastpaths.py`` checks they agree field by field.
"""

from __future__ import annotations

import bisect
import operator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

import attrs

from milestonebill._kept import kept
from milestonebill._reference import reference
from milestonebill._validate import utc_datetime
from milestonebill.agreement._lookups import APPENDS as _APPENDED
from milestonebill.agreement.events import Event
from milestonebill.agreement.fold import Agreement
from milestonebill.errors import InvalidTransitionError, ValidationError

__all__ = ["APPENDS", "as_of", "changes", "cut_from"]

#: The events whose handler in the fold does nothing but append one value to
#: one tuple field of the agreement, and that field (the fold hands the
#: billing plan on along them, completions apart).
#: ``tests/unit/test_agreement_history.py`` checks it against the handlers.
APPENDS: Final[dict[type, str]] = _APPENDED

def _effective_at(e: Event) -> datetime:
    return e.effective_at


def _kept(agreement: Agreement, when: datetime | date) -> int:
    """How many of the agreement's events happened by ``when`` (a date: its end, UTC)."""
    if isinstance(when, datetime):
        cutoff = utc_datetime(when, "when")
        return bisect.bisect_right(agreement.events, cutoff, key=_effective_at)
    if isinstance(when, date):
        limit = datetime.combine(when + timedelta(days=1), time(), tzinfo=UTC)
        return bisect.bisect_left(agreement.events, limit, key=_effective_at)
    raise ValidationError("when", "a datetime or a date", when)


def as_of(agreement: Agreement, when: datetime | date) -> Agreement:
    """The agreement as it stood at ``when``: exactly :meth:`Agreement.as_of`.

    ``when`` is included (a date means the end of that UTC day).  Raises
    :class:`~milestonebill.errors.InvalidTransitionError` when the agreement was not signed yet at
    ``when``.

    >>> from datetime import UTC, datetime
    >>> from milestonebill.agreement import AgreementId, apply, complete_milestone, sign
    >>> from milestonebill.ids import MilestoneId
    >>> from milestonebill.testing.scenarios import CARD, proposal
    >>> a = sign(proposal([("design", "4000.00")]), option="std", signer="Ada",
    ...          payment_method=CARD, agreement_id=AgreementId("a-1"),
    ...          signed_at=datetime(2026, 3, 2, tzinfo=UTC))
    >>> b = apply(a, complete_milestone(a, MilestoneId("design"), by="Ada",
    ...                                 at=datetime(2026, 4, 1, tzinfo=UTC)))
    >>> as_of(b, date(2026, 3, 31)).completions, as_of(b, date(2026, 3, 31)) == a
    ({}, True)
    """
    if reference():
        return agreement.as_of(when)
    keep = _kept(agreement, when)
    if not keep:
        raise InvalidTransitionError(f"agreement {agreement.id!r} was not signed yet at {when}")
    if keep == len(agreement.events):
        return agreement
    # kept by how many of its events the earlier state keeps
    return kept(agreement, ("kept:rewound", keep), lambda: _rewound(agreement, keep))


#: The fields ``Agreement`` takes, in order, read at once, and the position of each.
_INIT = tuple(f.name for f in attrs.fields(Agreement) if f.init)
_READ = operator.attrgetter(*_INIT)
_AT = {name: i for i, name in enumerate(_INIT)}


def _rewound(a: Agreement, keep: int) -> Agreement:
    """The agreement after its first ``keep`` events, cut back when it can be."""
    cut: dict[str, int] = {}
    for e in a.events[keep:]:
        name = APPENDS.get(type(e))
        if name is None:
            return Agreement.from_events(a.events[:keep])
        cut[name] = cut.get(name, 0) + 1
    # The fields read in one call, the cut ones shortened: what attrs.evolve does,
    # without looking each field up by name.
    values: list[Any] = list(_READ(a))
    values[_AT["events"]] = a.events[:keep]
    for name, n in cut.items():
        got = values[_AT[name]]
        values[_AT[name]] = got[:len(got) - n]
    rewound = Agreement(*values)
    rewound._memo["cut_from"] = a  # see cut_from
    # The names cut come in few combinations: one set of each, shared.
    names = frozenset(cut)
    rewound._memo["cut_names"] = _NAMES.setdefault(names, names)
    if "completion_records" not in cut:
        # Same terms, same completions: the same billing plan, worked out once for both.
        rewound._memo["plan_source"] = a
    return rewound


#: Each set of field names a rewind cut, kept once (at most one per subset of APPENDS).
_NAMES: dict[frozenset[str], frozenset[str]] = {}


def cut_from(agreement: Agreement, reads: frozenset[str]) -> Agreement | None:
    """The later state :func:`as_of` cut ``agreement`` back from, when none of the fields
    in ``reads`` was cut; ``None`` otherwise, for an agreement no cut made, and inside
    :func:`~milestonebill._reference.reference_path`.

    The two have the same terms, amendments and state (only records in
    :data:`APPENDS` follow), so what reads nothing else of them is the same for
    both: the revenue model works out one, not two.
    """
    if reference():
        return None
    got: Agreement | None = agreement._memo.get("cut_from")
    if got is None or not agreement._memo["cut_names"].isdisjoint(reads):
        return None
    return got


def changes(agreement: Agreement) -> tuple[datetime, ...]:
    """When the agreement changed other than by recording what happened under it.

    The times of its events other than those in :data:`APPENDS` (the first is
    its signing).  Between two of these times, and after the last,
    :func:`as_of` gives the same terms, amendments and state -- after the
    last, the agreement's own -- so a report that reads only those needs one
    replay per change, not one per date.
    """
    if reference():
        return _changes(agreement)
    return agreement.derived(_changes)


def _changes(agreement: Agreement) -> tuple[datetime, ...]:
    return tuple(e.effective_at for e in agreement.events if type(e) not in APPENDS)

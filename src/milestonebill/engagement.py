"""An engagement: a billing schedule with the facts that date its milestones.

An :class:`Engagement` is what ``milestonebill schedule`` and ``demo`` read
and what an analyst sketches before any proposal exists: a
:class:`~milestonebill.schedule.BillingSchedule`, the day it was (or will
be) signed and the days its milestones were completed.  Its JSON form is
the ``engagement`` format of :mod:`milestonebill.formats`::

    {"engagement": "name", "client": "who",            (optional, for display)
     "signed_on": "2025-01-15",                        (needed to date milestones on signing)
     "completions": {"milestone-id": "2025-02-28"},    (optional)
     "schedule": { ...BillingSchedule.to_json()... }}

A milestone triggered on signing cannot be dated without ``signed_on``, so
an engagement that has one refuses to be built without it, rather than
leaving the milestone out of every window:

>>> from milestonebill.money import Money
>>> from milestonebill.schedule import Milestone
>>> Engagement(BillingSchedule(currency="EUR", milestones=[
...     Milestone(MilestoneId("all"), "All", amount=Money("900.00", "EUR"),
...               trigger=Trigger.ON_SIGNING)]))
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'signed_on' is missing: it is needed to date the milestones triggered on signing (all)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import attrs

from milestonebill.errors import ValidationError
from milestonebill.periods import add_months
from milestonebill.schedule import BillingSchedule, MilestoneId, Trigger

__all__ = ["Engagement"]


@attrs.frozen
class Engagement:
    """A billing schedule with the facts needed to date its milestones.

    ``name`` is written as ``"engagement"`` in the JSON form.  Raises
    :class:`~milestonebill.errors.ValidationError` when a completion names a
    milestone the schedule does not have or one not triggered on
    completion, and when a milestone is triggered on signing but
    ``signed_on`` is missing.
    """

    schedule: BillingSchedule
    name: str = attrs.field(default="", metadata={"json": "engagement"})
    client: str = ""
    signed_on: date | None = None
    completions: Mapping[MilestoneId, date] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        triggers = {m.id: m.trigger for m in self.schedule.milestones}
        for mid in self.completions:
            if mid not in triggers:
                raise ValidationError("completions", "ids of the schedule's milestones", mid)
            if triggers[mid] is not Trigger.ON_COMPLETION:
                raise ValidationError(f"completions.{mid}",
                                      "only milestones triggered on completion",
                                      triggers[mid].value)
        on_signing = [m for m, t in triggers.items() if t is Trigger.ON_SIGNING]
        if on_signing and self.signed_on is None:
            raise ValidationError(
                "signed_on", "a date, needed to date the milestones triggered on signing", None,
                "'signed_on' is missing: it is needed to date the milestones triggered on "
                f"signing ({', '.join(on_signing)})")

    def first_date(self) -> date | None:
        """The earliest date the engagement names: signing, a completion, a milestone's
        due date or a recurring charge's start; ``None`` when it names none."""
        s = self.schedule
        candidates = [r.start for r in s.recurring]
        candidates += [m.due_on for m in s.milestones if m.due_on is not None]
        candidates += list(self.completions.values())
        if self.signed_on is not None:
            candidates.append(self.signed_on)
        return min(candidates, default=None)

    def default_window(self) -> tuple[date, date]:
        """``[first date, day after the last charge)``, or 12 months when unbounded.

        Raises :class:`~milestonebill.errors.ValidationError` naming
        ``signed_on`` when :meth:`first_date` finds nothing to start from
        (say, milestones that all wait for completion and no ``signed_on``).

        >>> Engagement(BillingSchedule(currency="EUR"), signed_on=date(2025, 1, 15)
        ...            ).default_window()
        (datetime.date(2025, 1, 15), datetime.date(2025, 1, 16))
        """
        s = self.schedule
        start = self.first_date()
        if start is None:
            why = ("it is needed to date the milestones (nothing else in the engagement "
                   "gives a date)" if s.milestones
                   else "nothing in the engagement gives a date to start from")
            raise ValidationError("signed_on", "a date, needed to date the milestones", None,
                                  f"'signed_on' is missing: {why}")
        if all(r.is_finite for r in s.recurring):
            last = max(
                [c.on for c in s.charges_between(start, date.max, signed_on=self.signed_on,
                                                 completions=self.completions)] or [start]
            )
            return start, date.fromordinal(last.toordinal() + 1)
        return start, add_months(start, 12)

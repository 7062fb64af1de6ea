"""The engagement file that ``milestonebill schedule`` and ``demo`` read.

An engagement file is a JSON object::

    {"engagement": "name", "client": "who",            (optional, for display)
     "signed_on": "2025-01-15",                        (optional)
     "completions": {"milestone-id": "2025-02-28"},    (optional)
     "schedule": { ...BillingSchedule.to_json()... }}

A bare schedule object (the ``BillingSchedule.to_json()`` form) is accepted too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import date
from importlib import resources

import attrs

from milestonebill.errors import ValidationError
from milestonebill.periods import add_months
from milestonebill.schedule import BillingSchedule, MilestoneId, Trigger

__all__ = ["EXAMPLE_ENGAGEMENT", "Engagement", "load_engagement", "read_engagement_json"]

#: Resource name of the example engagement inside the package.
EXAMPLE_ENGAGEMENT = "examples/engagement.json"


@attrs.frozen
class Engagement:
    """A billing schedule with the facts needed to date its milestones."""

    schedule: BillingSchedule
    name: str = ""
    client: str = ""
    signed_on: date | None = None
    completions: Mapping[MilestoneId, date] = attrs.field(factory=dict)

    def default_window(self) -> tuple[date, date]:
        """``[first date, day after the last charge)``, or 12 months when unbounded."""
        s = self.schedule
        candidates = [r.start for r in s.recurring]
        candidates += [m.due_on for m in s.milestones if m.due_on is not None]
        candidates += list(self.completions.values())
        if self.signed_on is not None:
            candidates.append(self.signed_on)
        if not candidates:
            return date(2000, 1, 1), date(2000, 1, 1)
        start = min(candidates)
        if all(r.is_finite for r in s.recurring):
            last = max(
                [c.on for c in s.charges_between(start, date.max, signed_on=self.signed_on,
                                                 completions=self.completions)] or [start]
            )
            return start, date.fromordinal(last.toordinal() + 1)
        return start, add_months(start, 12)


def _parse_date(v: object, field: str) -> date:
    if not isinstance(v, str):
        raise ValidationError(field, "an ISO date string such as '2025-01-31'", v)
    try:
        return date.fromisoformat(v)
    except ValueError:
        raise ValidationError(field, "an ISO date string such as '2025-01-31'", v) from None


def load_engagement(data: object) -> Engagement:
    """Build an :class:`Engagement` from parsed JSON (see the module docstring).

    >>> e = load_engagement({"signed_on": "2025-01-15",
    ...     "schedule": {"currency": "EUR", "milestones": [
    ...         {"id": "all", "name": "All", "amount": {"amount": "900.00", "currency": "EUR"},
    ...          "trigger": "on_signing"}]}})
    >>> [(str(c.on), str(c.amount)) for c in e.schedule.charges_between(
    ...     *e.default_window(), signed_on=e.signed_on)]
    [('2025-01-15', '900.00 EUR')]
    """
    if not isinstance(data, dict):
        raise ValidationError("engagement", "a JSON object", data)
    if "schedule" not in data:
        return Engagement(BillingSchedule.from_json(data))
    known = {"engagement", "client", "signed_on", "completions", "schedule"}
    extra = sorted(set(data) - known)
    if extra:
        raise ValidationError(extra[0], "a known key (" + ", ".join(sorted(known)) + ")", extra[0])
    schedule = BillingSchedule.from_json(data["schedule"])
    name, client = data.get("engagement", ""), data.get("client", "")
    if not isinstance(name, str):
        raise ValidationError("engagement", "a string", name)
    if not isinstance(client, str):
        raise ValidationError("client", "a string", client)
    signed = data.get("signed_on")
    signed_on = None if signed is None else _parse_date(signed, "signed_on")
    raw = data.get("completions") or {}
    if not isinstance(raw, dict):
        raise ValidationError("completions", "an object of milestone id to date", raw)
    known_ids = {m.id for m in schedule.milestones}
    completions: dict[MilestoneId, date] = {}
    for k, v in raw.items():
        if k not in known_ids:
            raise ValidationError("completions", "ids of the schedule's milestones", k)
        completions[MilestoneId(k)] = _parse_date(v, f"completions.{k}")
    for m in schedule.milestones:
        if m.trigger is Trigger.ON_COMPLETION or m.id not in completions:
            continue
        raise ValidationError(f"completions.{m.id}", "only milestones triggered on completion",
                              m.trigger.value)
    return Engagement(schedule, name, client, signed_on, completions)


def read_engagement_json(path: str | None) -> tuple[object, str]:
    """The parsed JSON of ``path`` (``'-'``: standard input; ``None``: the shipped
    example) and a name for it to show."""
    if path is None:
        text = resources.files("milestonebill").joinpath(EXAMPLE_ENGAGEMENT).read_text("utf-8")
        return json.loads(text), "example engagement"
    if path == "-":
        return json.load(sys.stdin), "<stdin>"
    with open(path, encoding="utf-8") as f:
        return json.load(f), path

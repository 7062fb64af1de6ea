"""The engagement file that ``milestonebill schedule`` and ``demo`` read.

An engagement file is a JSON object::

    {"engagement": "name", "client": "who",            (optional, for display)
     "signed_on": "2025-01-15",                        (required)
     "completions": {"milestone-id": "2025-02-28"},    (optional)
     "schedule": { ...BillingSchedule.to_json()... }}

A bare schedule object (the ``BillingSchedule.to_json()`` form) is accepted
too.  The schedule and the dates are read by the library's one JSON
mechanism (:mod:`milestonebill._json`), so a wrong value is refused with
the path to it (``'schedule.milestones[0].amount.amount'``).

``signed_on`` is required in an engagement object: a missing date is an
error, never a default (a window silently starting in 2000 misstates every
charge):

>>> load_engagement({"schedule": {"currency": "EUR", "milestones": [
...     {"id": "all", "name": "All", "amount": {"amount": "900.00", "currency": "EUR"},
...      "trigger": "on_signing"}]}})
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'signed_on' is missing: an engagement needs the date it was signed, an ISO date such as '2025-01-15'; it dates the milestones triggered on signing (all)

A bare schedule has no signing date; one with a milestone triggered on
signing is refused, since that milestone could not be dated.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import date
from importlib import resources

import attrs

from milestonebill._json import decode
from milestonebill.errors import ValidationError
from milestonebill.periods import add_months
from milestonebill.schedule import BillingSchedule, MilestoneId, Trigger

__all__ = ["EXAMPLE_ENGAGEMENT", "Engagement", "load_engagement", "read_engagement_json"]

#: Resource name of the example engagement inside the package.
EXAMPLE_ENGAGEMENT = "examples/engagement.json"

_KEYS = ("client", "completions", "engagement", "schedule", "signed_on")


@attrs.frozen
class Engagement:
    """A billing schedule with the facts needed to date its milestones.

    Raises :class:`~milestonebill.errors.ValidationError` when a completion
    names a milestone the schedule does not have or one not triggered on
    completion, and when a milestone is triggered on signing but
    ``signed_on`` is missing.
    """

    schedule: BillingSchedule
    name: str = ""
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


def _completions(raw: object) -> dict[MilestoneId, date]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationError("completions", "an object of milestone id to date", raw)
    return {MilestoneId(k): decode(v, date, f"completions.{k}") for k, v in raw.items()}


def load_engagement(data: object) -> Engagement:
    """Build an :class:`Engagement` from parsed JSON (see the module docstring).

    >>> e = load_engagement({"signed_on": "2025-01-15",
    ...     "schedule": {"currency": "EUR", "milestones": [
    ...         {"id": "all", "name": "All", "amount": {"amount": "900.00", "currency": "EUR"},
    ...          "trigger": "on_signing"}]}})
    >>> [(str(c.on), str(c.amount)) for c in e.schedule.charges_between(
    ...     *e.default_window(), signed_on=e.signed_on)]
    [('2025-01-15', '900.00 EUR')]
    >>> load_engagement({"signed_on": "15/01/2025", "schedule": {"currency": "EUR"}})
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'signed_on' must be an ISO date string such as '2025-01-31' (got '15/01/2025')
    """
    if not isinstance(data, dict):
        raise ValidationError("engagement", "a JSON object", data)
    if "schedule" not in data:
        return Engagement(decode(data, BillingSchedule))
    extra = sorted(set(data) - set(_KEYS))
    if extra:
        raise ValidationError(extra[0], f"a known key ({', '.join(_KEYS)})", extra[0])
    schedule = decode(data["schedule"], BillingSchedule, "schedule")
    if data.get("signed_on") is None:
        on_signing = [m.id for m in schedule.milestones if m.trigger is Trigger.ON_SIGNING]
        why = (f"; it dates the milestones triggered on signing ({', '.join(on_signing)})"
               if on_signing else "")
        raise ValidationError("signed_on", "the date the engagement was signed", None,
                              "'signed_on' is missing: an engagement needs the date it was "
                              f"signed, an ISO date such as '2025-01-15'{why}")
    return Engagement(
        schedule=schedule,
        name=decode(data.get("engagement", ""), str, "engagement"),
        client=decode(data.get("client", ""), str, "client"),
        signed_on=decode(data.get("signed_on"), date | None, "signed_on"),
        completions=_completions(data.get("completions")),
    )


def _parse(text: str) -> object:
    return json.loads(text)


def read_engagement_json(path: str | None, *, field: str = "FILE") -> tuple[object, str]:
    """The parsed JSON of ``path`` (``'-'``: standard input; ``None``: the shipped
    example) and a name for it to show.

    A file that cannot be read, is not UTF-8 or is not JSON (or nests too
    deeply, or holds a number too long to read) raises
    :class:`~milestonebill.errors.ValidationError` naming ``field`` and the
    file, on one line.
    """
    if path is None:
        text = resources.files("milestonebill").joinpath(EXAMPLE_ENGAGEMENT).read_text("utf-8")
        return _parse(text), "example engagement"
    where = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        else:
            with open(path, "rb") as f:
                raw = f.read()
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return _parse(text), where
    except OSError as exc:
        why = f"cannot read it ({exc.strerror or exc})"
    except UnicodeDecodeError as exc:
        why = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
    except json.JSONDecodeError as exc:
        why = f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    except RecursionError:
        why = "not valid JSON here (nested too deeply)"
    except ValueError as exc:  # a number of thousands of digits
        why = f"not valid JSON here ({' '.join(str(exc).split()[:6])}...)"
    raise ValidationError(field, "a readable UTF-8 JSON engagement file", where,
                          f"{field} {where}: {why}")

"""The engagement file that ``milestonebill schedule`` and ``demo`` read.

An engagement file is the JSON form of a
:class:`~milestonebill.engagement.Engagement` (the ``engagement`` format of
:mod:`milestonebill.formats`)::

    {"engagement": "name", "client": "who",            (optional, for display)
     "signed_on": "2025-01-15",                        (required)
     "completions": {"milestone-id": "2025-02-28"},    (optional)
     "schedule": { ...BillingSchedule.to_json()... }}

A bare schedule object (the ``BillingSchedule.to_json()`` form) is accepted
too.  The file is read by the library's one JSON mechanism
(:mod:`milestonebill._json`), so a wrong value is refused with the path to
it (``'schedule.milestones[0].amount.amount'``).

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
from importlib import resources

from milestonebill._json import decode
from milestonebill.engagement import Engagement
from milestonebill.errors import ValidationError
from milestonebill.schedule import BillingSchedule, Trigger

__all__ = ["EXAMPLE_ENGAGEMENT", "Engagement", "load_engagement", "read_engagement_json"]

#: The keys of an engagement object (the JSON names of Engagement's fields).
_KEYS = frozenset({"engagement", "client", "signed_on", "completions", "schedule"})

#: Resource name of the example engagement inside the package.
EXAMPLE_ENGAGEMENT = "examples/engagement.json"


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
    if data.get("signed_on") is None and set(data) <= _KEYS:  # unknown keys: the codec says
        schedule = decode(data["schedule"], BillingSchedule, "schedule")
        on_signing = [m.id for m in schedule.milestones if m.trigger is Trigger.ON_SIGNING]
        why = (f"; it dates the milestones triggered on signing ({', '.join(on_signing)})"
               if on_signing else "")
        raise ValidationError("signed_on", "the date the engagement was signed", None,
                              "'signed_on' is missing: an engagement needs the date it was "
                              f"signed, an ISO date such as '2025-01-15'{why}")
    return decode(data, Engagement)  # type: ignore[no-any-return]


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

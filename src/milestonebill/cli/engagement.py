"""The engagement file that ``milestonebill schedule`` and ``demo`` read.

An engagement file is the JSON form of a
:class:`~milestonebill.engagement.Engagement` (the ``engagement`` format of
:mod:`milestonebill.formats`)::

    {"engagement": "name", "client": "who",            (optional, for display)
     "signed_on": "2025-01-15",                        (needed to date milestones on signing)
     "completions": {"milestone-id": "2025-02-28"},    (optional)
     "schedule": { ...BillingSchedule.to_json()... }}

A bare schedule object (the ``BillingSchedule.to_json()`` form) is accepted
too.  The file is read by the library's one JSON mechanism
(:mod:`milestonebill._json`), so a wrong value is refused with the path to
it (``'schedule.milestones[0].amount.amount'``).

A milestone triggered on signing cannot be dated without ``signed_on``, so
an engagement that has one refuses to be built without it, rather than
leaving the milestone out of every window:

>>> load_engagement({"schedule": {"currency": "EUR", "milestones": [
...     {"id": "all", "name": "All", "amount": {"amount": "900.00", "currency": "EUR"},
...      "trigger": "on_signing"}]}})
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'signed_on' is missing: it is needed to date the milestones triggered on signing (all)
"""

from __future__ import annotations

import json
import sys
from importlib import resources

from milestonebill._json import decode
from milestonebill.engagement import Engagement
from milestonebill.errors import ValidationError
from milestonebill.schedule import BillingSchedule

__all__ = ["EXAMPLE_ENGAGEMENT", "Engagement", "load_engagement", "read_engagement_json"]

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
    return decode(data, Engagement)  # type: ignore[no-any-return]


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

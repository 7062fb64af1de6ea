"""Time logged in a practice-management tool, billed by time and materials.

:func:`record_billable_time` takes the same :class:`TimeLogged` entries as
:func:`~milestonebill.integrations.practice.record_activity` (from a
receiver or :func:`~milestonebill.integrations.practice.timesheets.read_time_entries`)
and records the billable ones as
:class:`~milestonebill.agreement.TimeEntry` values on the agreement each
is linked to through the store's work links
(:meth:`~milestonebill.engine.Biller.find_work_link`), with
:meth:`~milestonebill.engine.Biller.record_work`:

* the entry id is the tool's, scoped by the tool (``"<source>:<entry_id>"``),
  so an export imported again records nothing new, and an entry the tool
  changed under the same id is refused (``DuplicateIdError``);
* the role comes from ``roles`` (person -> role on the rate card); a person
  without one is refused with a ``ValidationError`` naming them, before
  anything is written;
* entries marked not billable, and entries whose keys are not linked, are
  returned as skipped; the rate a tool exports is not used -- the
  agreement's rate card prices the work.

Each agreement's entries are recorded all or none (one unit of work per
agreement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from milestonebill.agreement import Agreement, TimeEntry
from milestonebill.engine import Biller
from milestonebill.errors import ValidationError
from milestonebill.ids import AgreementId
from milestonebill.integrations.practice.activity import TimeLogged

__all__ = ["BillableTime", "billable_entry", "record_billable_time"]


def billable_entry(logged: TimeLogged, *, role: str, phase: str = "") -> TimeEntry:
    """A tool's time entry as a :class:`~milestonebill.agreement.TimeEntry`."""
    return TimeEntry(entry_id=f"{logged.source}:{logged.entry_id}", on=logged.on,
                     person=logged.person, role=role, hours=logged.hours,
                     description=logged.description, phase=phase)


@attrs.frozen
class BillableTime:
    """What :func:`record_billable_time` did: the agreements as they are now, and
    the entries it skipped (not billable, or not linked)."""

    agreements: tuple[Agreement, ...]
    skipped: tuple[TimeLogged, ...]


def record_billable_time(biller: Biller, logged: Iterable[TimeLogged], *,
                         roles: Mapping[str, str]) -> BillableTime:
    """Record the billable entries of ``logged`` on the agreements they are linked to.

    Raises :class:`~milestonebill.errors.ValidationError` naming ``logged[i]`` for
    an entry that is not a time entry, or ``roles`` for a billable entry's person
    who has no role in it; nothing is recorded then.
    """
    groups: dict[AgreementId, list[TimeEntry]] = {}
    skipped: list[TimeLogged] = []
    for i, t in enumerate(logged):
        if not isinstance(t, TimeLogged):
            raise ValidationError(f"logged[{i}]", "a TimeLogged", t)
        link = biller.find_work_link(t.source, t.keys) if t.billable and t.hours > 0 else None
        if link is None:
            skipped.append(t)
            continue
        if t.person not in roles:
            raise ValidationError("roles", f"a role on the rate card for {t.person!r}",
                                  sorted(roles))
        groups.setdefault(link.agreement_id, []).append(billable_entry(t, role=roles[t.person]))
    done = tuple(biller.record_work(aid, entries) for aid, entries in groups.items())
    return BillableTime(done, tuple(skipped))

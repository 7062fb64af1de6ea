"""Practice-management tools: work completed and time logged, as agreement events.

A firm runs its work in a practice-management tool and bills by milestones
here.  This package connects the two:

* a **link registry** kept in the store: which agreement, milestone or
  obligation an external work item or project delivers, by source
  (``karbon``, ``keeper``, ``bigtime``...) and the tool's id --
  :meth:`~milestonebill.engine.Biller.link_work`,
  :meth:`~milestonebill.engine.Biller.unlink_work`,
  :meth:`~milestonebill.engine.Biller.work_links`;
* **receivers** that verify a delivery's signature and read the vendor's
  shape into :class:`~milestonebill.integrations.practice.activity.WorkCompleted`
  and :class:`~milestonebill.integrations.practice.activity.TimeLogged`:
  :mod:`~milestonebill.integrations.practice.karbon` (Karbon's signed
  webhooks, work items and timesheets),
  :mod:`~milestonebill.integrations.practice.keeper` (Keeper's tasks and
  timers relayed by Zapier in a documented shape);
* :func:`~milestonebill.integrations.practice.activity.record_activity`,
  which maps them through the links and records the agreement events they
  mean -- milestones completed, hours to date reported -- once however often
  they come;
* :mod:`~milestonebill.integrations.practice.billable`: billable time logged in a
  tool, recorded on time-and-materials agreements (``record_billable_time``);
* :mod:`~milestonebill.integrations.practice.timesheets`: a PSA's time export
  (BigTime-style CSV) imported as progress, every row checked first;
* the generic signed "work item completed" webhook
  (:func:`parse_work_item`, :func:`record_work_item`), linked by the
  delivery, by a links file (:class:`WorkItemLinks`) or by the registry
  under the source ``generic``.

See ``docs/integrations.md``.
"""

from milestonebill.integrations.practice import billable, karbon, keeper, timesheets
from milestonebill.integrations.practice._generic import (
    DEFAULT_TOLERANCE,
    GENERIC_SOURCE,
    SIGNATURE_HEADER,
    WorkItemLink,
    WorkItemLinks,
    WorkItemOutcome,
    WorkItemResult,
    completion_event_id,
    parse_work_item,
    record_work_item,
    sign_work_item,
)
from milestonebill.integrations.practice.activity import (
    Activity,
    ActivityResult,
    Outcome,
    Receipt,
    TimeLogged,
    WorkCompleted,
    plan_activity,
    record_activity,
)
from milestonebill.integrations.practice.billable import BillableTime, record_billable_time
from milestonebill.integrations.practice.timesheets import TimeImport, import_time

__all__ = [
    "DEFAULT_TOLERANCE",
    "GENERIC_SOURCE",
    "SIGNATURE_HEADER",
    "Activity",
    "ActivityResult",
    "BillableTime",
    "Outcome",
    "Receipt",
    "TimeImport",
    "TimeLogged",
    "WorkCompleted",
    "WorkItemLink",
    "WorkItemLinks",
    "WorkItemOutcome",
    "WorkItemResult",
    "billable",
    "completion_event_id",
    "import_time",
    "karbon",
    "keeper",
    "parse_work_item",
    "plan_activity",
    "record_activity",
    "record_billable_time",
    "record_work_item",
    "sign_work_item",
    "timesheets",
]

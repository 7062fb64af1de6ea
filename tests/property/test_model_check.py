"""The stateful model check: random lives of agreements, the books checked after every step.

:class:`~milestonebill.testing.model.BillingModel` drives the public API --
signing (card, bank debit and sent invoices; installment plans, discounts,
late fees, time and materials), completions, amendments of every kind,
approvals, pauses, cancellations, runs on advancing days (reminders and
late fees), every gateway outcome, webhooks late, reordered and repeated,
refunds and credit refunds, write-offs, payments by hand and recoveries,
forfeited credit, recorded work, cap raises and write-downs,
reconciliation, recognition at month ends, poisoned agreements and
crashes at every step boundary -- on an in-memory store and on a SQLite
file reopened after each crash.  See ``docs/reliability.md``
("The model check").

In CI the examples are fixed (``derandomize``) and few enough to take
well under a minute.  The long mode draws new ones until at least
``MILESTONEBILL_MODEL_STEPS`` steps (default 100,000) have run::

    MILESTONEBILL_LONG=1 python -m pytest -s -p no:cacheprovider \\
        tests/property/test_model_check.py -k long
"""

from __future__ import annotations

import json
import os
import time

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from milestonebill.testing.model import BillingModel, SQLiteBillingModel

LONG = os.environ.get("MILESTONEBILL_LONG", "") == "1"
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def _settings(examples: int, steps: int, *, fixed: bool) -> settings:
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                    derandomize=fixed, database=None, suppress_health_check=_QUIET)


# What the fixed examples must reach (not a result: a guard against a model
# that stopped exercising them) -- and the terms of docs/terms.md.
_REACHED = ("crashes", "runs", "webhooks delivered", "write-offs", "late fees charged",
            "entries recorded", "caps raised")


@pytest.mark.parametrize(("machine", "examples"), [(BillingModel, 100), (SQLiteBillingModel, 100)],
                         ids=["memory", "sqlite"])
def test_the_books_add_up_after_every_step_of_any_history(
        machine: type[RuleBasedStateMachine], examples: int) -> None:
    BillingModel.stats.clear()
    run_state_machine_as_test(machine, settings=_settings(examples, 40, fixed=True))
    # The fixed examples are the same from run to run of one environment, but
    # what Hypothesis draws for them may shift with the modules a session
    # imported first.  A part they happen not to reach is looked for in up to
    # three more batches of fresh examples -- which check the books just the
    # same -- before the guard fails: a model that truly stopped exercising a
    # part still fails it.
    for _ in range(3):
        if all(BillingModel.stats[k] > 0 for k in _REACHED):
            break
        run_state_machine_as_test(machine, settings=_settings(examples, 40, fixed=False))
    missing = [k for k in _REACHED if BillingModel.stats[k] == 0]
    assert not missing, f"the model check never reached: {missing}"


@pytest.mark.slow
@pytest.mark.skipif(not LONG, reason="long mode: set MILESTONEBILL_LONG=1")
def test_the_model_check_in_long_mode() -> None:
    target = int(os.environ.get("MILESTONEBILL_MODEL_STEPS", "100000"))
    report = os.environ.get("MILESTONEBILL_MODEL_REPORT", "")
    BillingModel.stats.clear()
    started = time.monotonic()
    batches = 0

    def figures(outcome: str) -> dict[str, object]:
        seen = {"outcome": outcome, "seconds": round(time.monotonic() - started),
                "batches": batches, **dict(sorted(BillingModel.stats.items()))}
        if report:  # after every batch, so a run stopped early still leaves its figures
            with open(report, "w", encoding="utf-8") as f:
                json.dump(seen, f, indent=1)
        return seen

    outcome = "failed"
    try:
        while BillingModel.stats["steps"] < target:
            for machine in (BillingModel, SQLiteBillingModel):
                run_state_machine_as_test(machine, settings=_settings(50, 100, fixed=False))
                batches += 1
                figures("running")
        outcome = "passed"
    finally:
        print(json.dumps(figures(outcome), indent=1))

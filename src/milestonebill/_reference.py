"""The switch between the fast paths and the straightforward reference path.

Several calculations have a fast path that reuses work (an agreement's
billing plan computed once for every horizon, revenue earned at many dates
from one revenue model, an agreement rewound to a date instead of folded
again) and keep the plain definition beside it.  Inside
:func:`reference_path` every such place takes the plain definition, so a
test (``tests/property/test_report_fastpaths.py``) and the report benchmark
(``bench/reports.py --check``) can compute the same thing both ways and
compare every number.  Outside it -- always, in normal use -- the fast
paths run.  The switch is a context variable: it follows the thread or task
that set it and nothing else.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["reference", "reference_path"]

_REFERENCE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "milestonebill_reference_path", default=False)


def reference() -> bool:
    """True inside :func:`reference_path`: take the straightforward definitions."""
    return _REFERENCE.get()


@contextmanager
def reference_path() -> Iterator[None]:
    """Compute with the straightforward reference definitions inside the block.

    >>> reference()
    False
    >>> with reference_path():
    ...     reference()
    True
    """
    token = _REFERENCE.set(True)
    try:
        yield
    finally:
        _REFERENCE.reset(token)

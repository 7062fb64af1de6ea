"""Fuzzing the readers of outside input: junk that looks almost right, under a time limit.

A reader of outside input -- a file, a webhook, a spreadsheet, a command
line -- must answer anything with a value or a typed
:class:`~milestonebill.errors.MilestonebillError`, and quickly: never
another exception, never a hang.  These helpers build that test:

* :data:`json_values` -- any JSON value, with the awkward ones often:
  integers of hundreds of digits, lone surrogates, dates at the ends of
  the calendar, exponents;
* :func:`near` -- values like a valid one: each field kept, replaced by
  junk, or dropped, all the way down, so most of a document stays right
  and the reader gets past its first check;
* :func:`mutated` -- bytes like valid ones: cut, spliced, with bytes
  flipped or inserted (invalid UTF-8 included) or nested deep;
* :func:`time_limit` -- a hard limit on one call (a signal, so a reader
  stuck in a loop is stopped too), beyond Hypothesis' ``deadline``, which
  only measures calls that return;
* :func:`answer` -- the reader's value, ``None`` for a typed refusal, and
  an :class:`AssertionError` naming anything else.

>>> from hypothesis import given
>>> from milestonebill.money import Money
>>> @given(near({"amount": "12.30", "currency": "USD"}))
... def test(data):
...     with time_limit(5):
...         answer(lambda: Money.from_json(data))
>>> test()
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar

from hypothesis import strategies as st

from milestonebill.errors import MilestonebillError

__all__ = ["AWKWARD_TEXT", "TimeLimitExceeded", "answer", "json_values", "mutated", "near",
           "time_limit"]

_T = TypeVar("_T")

#: Text that has broken readers before: empty, spaces, ends of the calendar,
#: huge and tiny numbers, other digits, separators, a lone surrogate, a NUL.
AWKWARD_TEXT: Final = (
    "", " ", "  1.00", "1_000.00", "1e2", "1E+999999999", "-0", "NaN", "Infinity",
    "9" * 400, "0." + "0" * 60 + "1", "\u0661\u0662", "\uff11\uff12", "2025-02-30",
    "0001-01-01", "9999-12-31", "99999-01-01", "2025-01-31T25:00:00", "4242 4242 4242 4242",
    "\ud800", "a\x00b", "../../etc/passwd", "€", "null", "[]", "{}",
)
_scalars = (st.none() | st.booleans() | st.integers(-(10**30), 10**30)
            | st.integers(-(10**400), 10**400) | st.floats(allow_nan=False)
            | st.text(max_size=12) | st.sampled_from(AWKWARD_TEXT))
#: Any JSON value (as Python data), nested a little.
json_values: Final = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=12,
)


def near(valid: Any) -> st.SearchStrategy[Any]:
    """Values like ``valid`` (JSON data): each field of an object kept, replaced by
    junk or dropped, each item of a list kept, replaced or dropped, recursively;
    now and then the whole value replaced."""
    if isinstance(valid, dict):
        fields = {k: near(v) for k, v in valid.items()}
        return (st.fixed_dictionaries(fields) | st.fixed_dictionaries({}, optional=fields)
                | json_values)
    if isinstance(valid, list) and valid:
        items = st.one_of([near(v) for v in valid])
        return st.lists(items, max_size=len(valid) + 1) | json_values
    return st.one_of(st.just(valid), st.just(valid), st.just(valid), json_values)


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """Bytes like ``valid``: unchanged, cut short, with a few bytes replaced or
    inserted (invalid UTF-8 included), spliced with junk, or wrapped in deep
    nesting."""
    data = bytearray(valid)
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return bytes(data)
    if choice == 1:
        return bytes(data[: draw(st.integers(0, len(data)))])
    if choice == 2:
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data)))
            data[at:at + draw(st.integers(0, 2))] = draw(st.binary(min_size=1, max_size=3))
        return bytes(data)
    if choice == 3:
        at = draw(st.integers(0, len(data)))
        junk = draw(st.sampled_from(AWKWARD_TEXT)).encode("utf-8", "surrogatepass")
        return bytes(data[:at]) + junk + bytes(data[at:])
    if choice == 4:
        depth = draw(st.integers(1, 5000))
        return b"[" * depth + bytes(data) + b"]" * draw(st.integers(0, depth))
    return draw(st.binary(max_size=64))


class TimeLimitExceeded(BaseException):
    """A call took longer than :func:`time_limit` allows.

    A ``BaseException`` so that no reader's ``except Exception`` swallows it.
    """


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Stop the block with :class:`TimeLimitExceeded` after ``seconds`` (wall clock).

    Uses ``SIGALRM``, so it limits only the main thread of a POSIX process;
    elsewhere the block runs unlimited (Hypothesis' ``deadline`` still
    reports a slow example afterwards).
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def stop(_signum: int, _frame: object) -> None:
        raise TimeLimitExceeded(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def answer(read: Callable[[], _T]) -> _T | None:
    """``read()``'s value, or ``None`` when it refused with a library error.

    Any other exception is re-raised as an :class:`AssertionError` naming it,
    the original chained, so a fuzzer's failure says what leaked.
    """
    try:
        return read()
    except MilestonebillError:
        return None
    except Exception as exc:
        raise AssertionError(f"not a typed error: {type(exc).__name__}: {exc}"[:2000]) from exc

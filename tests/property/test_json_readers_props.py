"""The codec's compiled readers and writers do exactly what its reflective paths do.

``Codec.decode`` first tries a reader compiled once per type and, when the
reader refuses, reads the data again the reflective way (which names the
field).  So the readers can only be wrong by *accepting*: these tests check
that whatever a reader accepts, the reflective path accepts too and gives
an equal value -- on every event a generated firm wrote, on data near those
events (fields dropped, replaced by junk, retyped), and on every spelling
of every enum member.  Writers (``Codec.encode``) have no refusals of their
own: what they write must equal what the reflective path writes.
"""

from __future__ import annotations

import enum
import json
import sys
from functools import cache
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill._json import CODEC, decode, encode
from milestonebill.agreement import events as agreement_events
from milestonebill.agreement.events import event_from_json
from milestonebill.documents import Invoice
from milestonebill.errors import ValidationError
from milestonebill.money import Money
from milestonebill.testing.firm import generated_firm
from milestonebill.testing.fuzzing import near

_NOT_READ = object()


@cache
def _firm_events() -> tuple[tuple[type, dict[str, Any]], ...]:
    """Every event of a small generated firm, as (class, JSON data without its tag)."""
    firm = generated_firm(agreements=30, months=24, seed=5, write_off_after_days=45)
    out = []
    for aid in firm.agreement_ids:
        for stored in firm.store.load(aid):
            data = json.loads(stored.payload)
            kind = type(event_from_json(data))
            out.append((kind, {k: v for k, v in data.items() if k != "type"}))
    return tuple(out)


def _compiled(data: Any, tp: Any) -> Any:
    try:
        return CODEC._compiled(False, tp)(data)
    except Exception:  # a refusal: the reflective path then decides
        return _NOT_READ


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b and encode(a) == encode(b)


def test_every_event_of_a_generated_firm_reads_the_same_both_ways() -> None:
    events = _firm_events()
    kinds = {kind for kind, _ in events}
    assert len(events) > 300
    assert len(kinds) >= 10, sorted(k.__name__ for k in kinds)
    for kind, data in events:
        fast = _compiled(data, kind)
        assert fast is not _NOT_READ, f"the compiled reader refused a {kind.__name__} it wrote"
        assert _same(fast, CODEC._decode(data, kind, "event"))
        assert CODEC.encode(fast, kind) == CODEC._encode(fast, kind) == data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_what_a_reader_accepts_the_reflective_path_accepts_equally(data: st.DataObject) -> None:
    kind, valid = data.draw(st.sampled_from(_firm_events()))
    candidate = data.draw(near(valid))
    fast = _compiled(candidate, kind)
    try:
        slow: Any = CODEC._decode(candidate, kind, "event")
    except ValidationError:
        slow = _NOT_READ
    if fast is not _NOT_READ:
        assert slow is not _NOT_READ, f"the compiled reader accepted what the codec refuses: {candidate!r}"
        assert _same(fast, slow)
        assert CODEC.encode(fast, kind) == CODEC._encode(slow, kind)


def _with_unknown_key(data: Any, at: int) -> Any:
    """``data`` with an unknown field added to its ``at``-th object (depth first)."""
    objects: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            objects.append(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    copy = json.loads(json.dumps(data))
    walk(copy)
    objects[at % len(objects)]["zz_unknown"] = 1
    return copy


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_an_unknown_field_anywhere_is_refused_both_ways(data: st.DataObject) -> None:
    kind, valid = data.draw(st.sampled_from(_firm_events()))
    candidate = _with_unknown_key(valid, data.draw(st.integers(0, 50)))
    assert _compiled(candidate, kind) is _NOT_READ
    with pytest.raises(ValidationError, match="zz_unknown"):
        decode(candidate, kind, "event")


def _enums() -> list[type[enum.Enum]]:
    """Every enum a value class of the events holds, however deep."""
    found: list[type[enum.Enum]] = []
    seen: set[Any] = set()
    todo: list[Any] = [t for t in vars(agreement_events).values() if isinstance(t, type)]
    while todo:
        tp = todo.pop()
        if tp in seen:
            continue
        seen.add(tp)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            found.append(tp)
        elif isinstance(tp, type) and attrs.has(tp):
            todo.extend(CODEC._fields(tp).values())
        todo.extend(getattr(tp, "__args__", ()))
    return sorted(found, key=lambda e: e.__name__)


@pytest.mark.parametrize("kind", _enums(), ids=lambda e: e.__name__)
def test_every_spelling_of_every_enum_member_reads_as_the_codec_reads_it(
        kind: type[enum.Enum]) -> None:
    spellings = {"", "nope", " x"}
    for member in kind:
        for text in (member.name, str(member.value)):
            spellings |= {text, text.lower(), text.upper(), text.title(), text.swapcase()}
    for text in sorted(spellings):
        fast = _compiled(text, kind)
        try:
            slow: Any = CODEC._decode(text, kind, "x")
        except ValidationError:
            slow = _NOT_READ
        assert fast is slow or fast is _NOT_READ, (kind, text)


def test_money_read_twice_is_equal_and_a_bad_shape_after_a_good_one_is_still_refused() -> None:
    good = {"amount": "12.30", "currency": "USD"}
    assert decode(dict(good), Money) == decode(dict(good), Money) == Money("12.30", "USD")
    with pytest.raises(ValidationError, match="'fee'"):
        decode({"amount": "12.30", "currency": "USD", "x": 1}, Money, "fee")
    with pytest.raises(ValidationError, match=r"'fee\.amount'"):
        decode({"amount": "12.301", "currency": "USD"}, Money, "fee")
    assert decode({"amount": "5", "currency": "JPY"}, Money) == Money("5", "JPY")


def test_a_refused_document_still_names_the_field_deep_inside_it() -> None:
    kind, data = next((k, d) for k, d in _firm_events() if k.__name__ == "InvoiceIssued")
    broken = json.loads(json.dumps(data))
    broken["invoice"]["lines"][0]["amount"]["amount"] = 12.5
    with pytest.raises(ValidationError) as caught:
        decode(broken, kind, "event")
    assert caught.value.field == "event.invoice.lines[0].amount.amount"
    assert decode(data, kind, "event") == CODEC._decode(data, kind, "event")
    assert isinstance(decode(data["invoice"], Invoice, "invoice"), Invoice)


def test_threads_compiling_the_same_types_at_once_all_read_and_write_them_whole() -> None:
    """Readers and writers are published only once whole: threads that meet a type
    for the first time together never write a value with fields missing."""
    events = _firm_events()[:120]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, inside a compile too
    try:
        _compile_together(events)
    finally:
        sys.setswitchinterval(interval)


def _compile_together(events: tuple[tuple[type, dict[str, Any]], ...]) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from milestonebill._json import Codec

    for _ in range(5):
        codec = Codec()  # nothing compiled yet
        start = Barrier(6)

        def work(codec: Codec = codec, start: Barrier = start) -> list[tuple[Any, Any]]:
            start.wait()
            out = []
            for kind, data in events:
                value = codec.decode(data, kind, "event")
                out.append((value, codec.encode(value, kind)))
            return out

        with ThreadPoolExecutor(6) as pool:
            results = [f.result() for f in [pool.submit(work) for _ in range(6)]]
        for got in results:
            assert [w for _, w in got] == [d for _, d in events]
            assert [v for v, _ in got] == [CODEC._decode(d, k, "event") for k, d in events]

"""Time and materials: entries, rate cards, caps, held work, billing and books.

Every number is computed by hand in the comment beside it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import attrs
import pytest

from milestonebill.agreement import (
    Agreement,
    Collection,
    ExpenseEntry,
    TimeEntry,
    TimeRecorded,
    apply,
    event_from_json,
    event_to_json,
)
from milestonebill.documents import LineKind
from milestonebill.errors import (
    CardNumberError,
    DuplicateIdError,
    InvalidTransitionError,
    ValidationError,
)
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.integrations.practice import TimeLogged, record_billable_time
from milestonebill.ledger import Account
from milestonebill.money import Currency, Money, Rounding
from milestonebill.schedule import (
    PhaseCap,
    Rate,
    RoundingScope,
    TimeAndMaterials,
    TimeCadence,
)
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.scenarios import World, proposal, usd
from milestonebill.timebilling import (
    TIME_OBLIGATION,
    held_work,
    next_time_billing,
    time_earned,
    time_invoices_due,
    time_totals,
)

APR_1 = date(2026, 4, 1)
# Senior: 150.00 an hour until 15 March, 165.00 from Monday 16 March 2026.
CARD = (Rate("senior", usd("150.00"), date(2026, 1, 1)),
        Rate("senior", usd("165.00"), date(2026, 3, 16)),
        Rate("junior", usd("90.00"), date(2026, 1, 1)))


def _term(**kw: object) -> TimeAndMaterials:
    fields: dict[str, object] = {"rates": CARD, "cadence": TimeCadence.MONTHLY}
    fields.update(kw)
    return TimeAndMaterials(**fields)  # type: ignore[arg-type]


def _world(term: TimeAndMaterials, store: SQLiteStore | None = None,
           currency: str = "USD") -> tuple[World[InMemoryGateway], Agreement]:
    w = World(store)
    offer = attrs.evolve(proposal(collection=Collection.SEND_INVOICE, currency=currency),
                         time_materials=term)
    return w, w.open(offer, payment_method=None)


def _time(entry_id: str, on: date, hours: str, role: str = "senior", **kw: str) -> TimeEntry:
    return TimeEntry(entry_id=entry_id, on=on, person="ada", role=role, hours=Decimal(hours),
                     **kw)


def _bill(w: World[InMemoryGateway], day: date) -> list[tuple[str, list[str]]]:
    w.on(day)
    return [(str(i.total), [str(ln.amount) for ln in i.lines])
            for i in w.biller.run(day).invoices]


# ---------------------------------------------------------------- the term


def test_an_entry_is_priced_at_the_rate_in_force_on_the_day_it_was_worked() -> None:
    w, a = _world(_term())
    w.biller.record_work(a.id, [_time("t1", date(2026, 3, 13), "4"),      # 4 x 150 = 600.00
                                _time("t2", date(2026, 3, 16), "2.5")])   # 2.5 x 165 = 412.50
    assert _bill(w, APR_1) == [("1012.50 USD", ["600.00 USD", "412.50 USD"])]


def test_a_line_shows_where_it_comes_from() -> None:
    w, a = _world(_term())
    w.biller.record_work(a.id, [_time("t1", date(2026, 3, 16), "1.25", description="Workshop")])
    line = w.biller.run(APR_1).invoices[0].lines[0]
    assert (line.kind, line.item_id, line.description, line.provenance) == (
        LineKind.TIME, "t1", "Workshop",
        ("entry t1 on 2026-03-16", "ada (senior) 1.25 h x 165.00 USD"))


def test_a_role_without_a_rate_in_force_is_refused_and_nothing_is_recorded() -> None:
    w, a = _world(_term())
    with pytest.raises(ValidationError, match="'role'"):
        w.biller.record_work(a.id, [_time("t1", date(2026, 3, 2), "1"),
                                    _time("t2", date(2026, 3, 2), "1", role="partner")])
    assert w.load().version == a.version


def test_a_term_in_another_currency_than_the_proposal_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"time_materials\.rates"):
        attrs.evolve(proposal(currency="EUR"), time_materials=_term())


def test_hours_finer_than_a_minute_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match=r"'hours' must be .* to the minute.*0\.01"):
        _time("t1", date(2026, 3, 2), "0.01")  # 36 seconds


def test_a_card_number_in_a_description_is_refused() -> None:
    with pytest.raises(CardNumberError):
        _time("t1", date(2026, 3, 2), "1", description="paid with 4242 4242 4242 4242")


# ---------------------------------------------------------------- entries are recorded once


def test_an_entry_sent_again_is_a_no_op() -> None:
    w, a = _world(_term())
    first = w.biller.record_work(a.id, [_time("t1", date(2026, 3, 2), "1")])
    again = w.biller.record_work(a.id, [_time("t1", date(2026, 3, 2), "1")])
    assert again.version == first.version == a.version + 1


def test_a_changed_entry_with_the_same_id_is_refused() -> None:
    w, a = _world(_term())
    w.biller.record_work(a.id, [_time("t1", date(2026, 3, 2), "1")])
    with pytest.raises(DuplicateIdError, match="t1"):
        w.biller.record_work(a.id, [_time("t1", date(2026, 3, 2), "1.5")])
    assert w.load().version == a.version + 1


def test_an_earlier_state_of_the_agreement_has_not_seen_entries_recorded_after_it() -> None:
    # The fold keeps recorded entry ids by key; an agreement earlier in the
    # chain must not inherit the ids its successors recorded.
    _, a = _world(_term())
    at = a.events[-1].effective_at

    def entry(event_id: str, version: int, entry_id: str, hours: str) -> TimeRecorded:
        return TimeRecorded(event_id, version, at, _time(entry_id, date(2026, 3, 2), hours))

    one = apply(a, entry("e1", a.version + 1, "t1", "1"))
    two = apply(one, entry("e2", one.version + 1, "t2", "1"))
    with pytest.raises(DuplicateIdError, match="t2"):
        apply(two, entry("e3", two.version + 1, "t2", "2"))
    fork = apply(one, entry("e3", one.version + 1, "t2", "2"))
    assert [x.entry.hours for x in fork.events if isinstance(x, TimeRecorded)] == [
        Decimal("1"), Decimal("2")]
    with pytest.raises(DuplicateIdError, match="t1"):
        apply(fork, entry("e4", fork.version + 1, "t1", "3"))


def test_time_events_read_back_from_json() -> None:
    w, a = _world(_term())
    a = w.biller.record_work(a.id, [_time("t1", date(2026, 3, 2), "0.05", phase="design")])
    e = a.events[-1]
    assert isinstance(e, TimeRecorded)
    assert event_from_json(event_to_json(e)) == e


# ---------------------------------------------------------------- caps and held work


def _capped(w: World[InMemoryGateway], a: Agreement) -> None:
    # 600.00 then 412.50 against a cap of 1,000.00: the second entry crosses it,
    # 400.00 of it is billed and 12.50 held.
    w.biller.record_work(a.id, [_time("t1", date(2026, 3, 13), "4"),
                                _time("t2", date(2026, 3, 16), "2.5")])


def test_a_cap_crossed_inside_one_entry_splits_it() -> None:
    w, a = _world(_term(cap=usd("1000.00")))
    _capped(w, a)
    assert _bill(w, APR_1) == [("1000.00 USD", ["600.00 USD", "400.00 USD"])]
    held = held_work(w.load())
    assert [(h.entry.entry_id, h.held) for h in held] == [("t2", Fraction(1250))]
    assert time_totals(w.load()).held == usd("12.50")


def test_work_past_the_cap_is_held_not_billed_by_later_runs() -> None:
    w, a = _world(_term(cap=usd("1000.00")))
    _capped(w, a)
    _bill(w, APR_1)
    w.biller.record_work(a.id, [ExpenseEntry(entry_id="x1", on=date(2026, 4, 2), person="ada",
                                             amount=usd("80.00"))])
    assert _bill(w, date(2026, 5, 1)) == []
    assert [h.entry.entry_id for h in held_work(w.load())] == ["t2", "x1"]
    assert w.store.next_due(a.id) is None


def test_raising_the_cap_releases_held_work_first_recorded_first() -> None:
    w, a = _world(_term(cap=usd("1000.00")))
    _capped(w, a)
    _bill(w, APR_1)
    w.biller.record_work(a.id, [ExpenseEntry(entry_id="x1", on=date(2026, 4, 2), person="ada",
                                             amount=usd("80.00"))])
    # 1,050.00: the 12.50 of t2, then 37.50 of the 80.00 expense; 42.50 stays held.
    w.biller.raise_cap(a.id, usd("1050.00"), reason="client approved change request 4")
    assert _bill(w, APR_1) == [("12.50 USD", ["12.50 USD"])]
    assert _bill(w, date(2026, 5, 1)) == [("37.50 USD", ["37.50 USD"])]
    assert time_totals(w.load()) == attrs.evolve(
        time_totals(w.load()), value=usd("1092.50"), approved=usd("1050.00"),
        held=usd("42.50"), billed=usd("1050.00"))


def test_a_cap_can_only_be_raised() -> None:
    w, a = _world(_term(cap=usd("1000.00")))
    with pytest.raises(ValidationError, match="'cap'"):
        w.biller.raise_cap(a.id, usd("900.00"), reason="lower")


def test_held_work_written_down_is_never_billed_or_recognised() -> None:
    w, a = _world(_term(cap=usd("1000.00")))
    _capped(w, a)
    _bill(w, APR_1)
    w.biller.write_down(a.id, "t2", reason="over the estimate, absorbed")
    w.biller.raise_cap(a.id, usd("2000.00"), reason="phase 2")
    assert _bill(w, date(2026, 4, 2)) == []
    totals = time_totals(w.load())
    assert (totals.billed, totals.held, totals.written_down) == (
        usd("1000.00"), usd("0.00"), usd("12.50"))
    assert time_earned(w.load(), APR_1) == {TIME_OBLIGATION: usd("1000.00")}


def test_writing_down_an_entry_with_nothing_held_is_refused() -> None:
    w, a = _world(_term(cap=usd("1000.00")))
    _capped(w, a)
    with pytest.raises(InvalidTransitionError, match="t1"):
        w.biller.write_down(a.id, "t1", reason="mistake")


def test_a_phase_cap_holds_work_of_that_phase_only() -> None:
    w, a = _world(_term(phase_caps=(PhaseCap("design", usd("300.00")),)))
    # design: 3 h x 150 = 450.00 against 300.00 (150.00 held); build is not capped.
    w.biller.record_work(a.id, [_time("d1", date(2026, 3, 10), "3", phase="design"),
                                _time("b1", date(2026, 3, 11), "1", phase="build")])
    assert _bill(w, APR_1) == [("450.00 USD", ["300.00 USD", "150.00 USD"])]
    w.biller.raise_cap(a.id, usd("450.00"), phase="design", reason="design extended")
    assert _bill(w, APR_1) == [("150.00 USD", ["150.00 USD"])]


# ---------------------------------------------------------------- rounding


def _sixths(scope: RoundingScope) -> list[tuple[str, list[str]]]:
    # Three entries of 0.15 h (9 minutes) at 33.33 an hour: 4.9995 each.
    card = (Rate("senior", usd("33.33"), date(2026, 1, 1)),)
    w, a = _world(_term(rates=card, rounding_scope=scope))
    w.biller.record_work(a.id, [_time(f"t{i}", date(2026, 3, 2 + i), "0.15") for i in range(3)])
    return _bill(w, APR_1)


def test_per_line_rounding_rounds_each_entry() -> None:
    # 0.15 h x 33.33 = 4.9995 -> 5.00 each, 15.00 in all.
    assert _sixths(RoundingScope.PER_LINE) == [
        ("15.00 USD", ["5.00 USD", "5.00 USD", "5.00 USD"])]


def test_per_invoice_rounding_rounds_the_total_once() -> None:
    # 3 x 4.9995 = 14.9985 -> 15.00 (half up); the lines share it by their exact values.
    assert _sixths(RoundingScope.PER_INVOICE) == [
        ("15.00 USD", ["5.00 USD", "5.00 USD", "5.00 USD"])]


def test_per_line_and_per_invoice_rounding_differ_on_halves() -> None:
    # 0.5 h x 0.03 = 0.015 per entry: per line 0.02 each (0.04); per invoice 0.03.
    card = (Rate("senior", usd("0.03"), date(2026, 1, 1)),)
    got = {}
    for scope in RoundingScope:
        w, a = _world(_term(rates=card, rounding_scope=scope))
        w.biller.record_work(a.id, [_time("t1", date(2026, 3, 2), "0.5"),
                                    _time("t2", date(2026, 3, 3), "0.5")])
        got[scope] = _bill(w, APR_1)
    assert got == {RoundingScope.PER_LINE: [("0.04 USD", ["0.02 USD", "0.02 USD"])],
                   RoundingScope.PER_INVOICE: [("0.03 USD", ["0.02 USD", "0.01 USD"])]}


def test_jpy_is_rounded_to_the_yen_half_up_or_half_even() -> None:
    # 1,001 JPY an hour x 0.5 h = 500.5 JPY: 501 half up, 500 half even.
    card = (Rate("senior", Money("1001", "JPY"), date(2026, 1, 1)),)
    got = {}
    for rounding in (Rounding.HALF_UP, Rounding.HALF_EVEN):
        w, a = _world(_term(rates=card, rounding=rounding), currency="JPY")
        w.biller.record_work(a.id, [_time("t1", date(2026, 3, 2), "0.5")])
        got[rounding] = _bill(w, APR_1)
    assert got == {Rounding.HALF_UP: [("501 JPY", ["501 JPY"])],
                   Rounding.HALF_EVEN: [("500 JPY", ["500 JPY"])]}


# ---------------------------------------------------------------- cadence


def test_weekly_billing_falls_on_the_monday_after_the_work() -> None:
    w, a = _world(_term(cadence=TimeCadence.WEEKLY))
    a = w.biller.record_work(a.id, [_time("t1", date(2026, 3, 4), "1")])  # a Wednesday
    assert next_time_billing(a) == w.store.next_due(a.id) == date(2026, 3, 9)
    assert time_invoices_due(a, date(2026, 3, 8)) == ()
    assert _bill(w, date(2026, 3, 9)) == [("150.00 USD", ["150.00 USD"])]


def test_on_demand_bills_only_when_asked() -> None:
    w, a = _world(_term(cadence=TimeCadence.ON_DEMAND))
    a = w.biller.record_work(a.id, [_time("t1", date(2026, 3, 2), "1"),
                                    _time("t2", date(2026, 3, 9), "1")])
    assert next_time_billing(a) is None
    assert _bill(w, APR_1) == []
    w.on(date(2026, 3, 10))
    a = w.biller.bill_time(a.id, through=date(2026, 3, 5))
    assert [str(i.total) for i in a.invoices] == ["150.00 USD"]


# ---------------------------------------------------------------- books


def test_revenue_follows_the_work_and_the_ledger_balances() -> None:
    w, a = _world(_term(cap=usd("1000.00")))
    _capped(w, a)
    # Worked by 13 March: 600.00; by 31 March: 1,000.00 (12.50 held is not revenue).
    assert time_earned(w.load(), date(2026, 3, 13)) == {TIME_OBLIGATION: usd("600.00")}
    w.on(date(2026, 3, 31))
    w.biller.recognise(date(2026, 3, 31))
    assert (w.balance(Account.REVENUE), w.balance(Account.CONTRACT_ASSET)) == (
        usd("-1000.00"), usd("1000.00"))
    _bill(w, APR_1)
    balances = w.store.balances(currency="USD")
    assert {k.value: str(v) for k, v in balances.items() if v.minor} == {
        "receivable": "1000.00 USD", "revenue": "-1000.00 USD"}
    assert sum(v.minor for v in balances.values()) == 0


# ---------------------------------------------------------------- a real SQLite file


def test_a_run_on_a_sqlite_file_bills_each_entry_once(tmp_path: Path) -> None:
    path = tmp_path / "books.db"
    w, a = _world(_term(cap=usd("1000.00")), store=SQLiteStore(path))
    _capped(w, a)
    w.biller.record_work(a.id, [_time("t1", date(2026, 3, 13), "4")])  # re-sent: no-op
    assert _bill(w, APR_1) == [("1000.00 USD", ["600.00 USD", "400.00 USD"])]
    assert _bill(w, APR_1) == []
    again = World(SQLiteStore(path))
    again.on(APR_1)
    assert again.biller.run(APR_1).invoices == ()
    lines = [ln.item_id for i in again.load().invoices for ln in i.lines]
    assert lines == ["t1", "t2"]
    assert [h.held for h in held_work(again.load())] == [1250]
    assert Currency.of("USD") == again.load().currency


# ---------------------------------------------------------------- time from a practice tool


def test_a_minute_count_a_time_tool_exports_to_six_places_is_taken() -> None:
    # 25 minutes is 0.416667 h in a PSA export; at 150.00 an hour it is 62.50.
    w, a = _world(_term())
    w.biller.record_work(a.id, [_time("t1", date(2026, 3, 2), "0.416667")])
    assert _bill(w, APR_1) == [("62.50 USD", ["62.50 USD"])]


def test_billable_time_from_a_practice_tool_is_recorded_on_the_linked_agreement() -> None:
    w, a = _world(_term())
    w.biller.link_work("bigtime", "Acme audit", a.id)
    logs = [TimeLogged("bigtime", "e-1", ("Acme audit",), date(2026, 3, 13), "Ada",
                       Decimal("4")),
            TimeLogged("bigtime", "e-2", ("Acme audit",), date(2026, 3, 13), "Ada",
                       Decimal("1"), billable=False),
            TimeLogged("bigtime", "e-3", ("Other",), date(2026, 3, 13), "Ada", Decimal("1"))]
    done = record_billable_time(w.biller, logs, roles={"Ada": "senior"})
    again = record_billable_time(w.biller, logs, roles={"Ada": "senior"})
    assert [x.entry_id for x in done.skipped] == ["e-2", "e-3"]
    assert again.agreements[0].version == done.agreements[0].version
    assert _bill(w, APR_1) == [("600.00 USD", ["600.00 USD"])]


def test_a_person_without_a_role_is_refused_before_anything_is_recorded() -> None:
    w, a = _world(_term())
    w.biller.link_work("bigtime", "Acme audit", a.id)
    logs = [TimeLogged("bigtime", "e-1", ("Acme audit",), date(2026, 3, 13), "Bo",
                       Decimal("4"))]
    with pytest.raises(ValidationError, match=r"'roles'.*'Bo'"):
        record_billable_time(w.biller, logs, roles={"Ada": "senior"})
    assert w.load().version == a.version

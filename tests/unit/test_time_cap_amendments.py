"""A time-and-materials cap raised by an amendment the client approves (RaiseTimeCap).

Every number is computed by hand in the comment beside it.  The term: a
senior at 150.00 an hour, a not-to-exceed cap of 1,000.00, billed monthly.
t1 is 4 h on 9 March (600.00), t2 3 h on 10 March (450.00: 400.00 within
the cap, 50.00 held) and t3 1 h on 11 March (150.00, held whole), so
200.00 is held after the April run has billed 1,000.00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import attrs
import pytest

from milestonebill import formats
from milestonebill.agreement import (
    Agreement,
    Amendment,
    AmendmentPreview,
    ApprovalRules,
    Collection,
    RaiseTimeCap,
    TimeCapChange,
    TimeEntry,
    approve,
    preview,
    propose,
    reject,
    time_caps,
)
from milestonebill.errors import AmendmentError, ValidationError
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import AmendmentId
from milestonebill.money import Money
from milestonebill.schedule import PhaseCap, Rate, RoundingScope, TimeAndMaterials, TimeCadence
from milestonebill.testing.scenarios import World, proposal, usd
from milestonebill.timebilling import held_work, time_totals

APR_1 = date(2026, 4, 1)
NOON = datetime(2026, 4, 1, 12, tzinfo=UTC)
CAP = usd("1000.00")
TERM = TimeAndMaterials(rates=(Rate("senior", usd("150.00"), date(2026, 1, 1)),),
                        cadence=TimeCadence.MONTHLY, cap=CAP)
NEEDS_CLIENT = ApprovalRules(require_client_approval=True)


def _time(entry_id: str, day: int, hours: str, phase: str = "") -> TimeEntry:
    return TimeEntry(entry_id=entry_id, on=date(2026, 3, day), person="ada", role="senior",
                     hours=Decimal(hours), phase=phase)


def _world(term: TimeAndMaterials = TERM, approval: ApprovalRules = NEEDS_CLIENT
           ) -> tuple[World[InMemoryGateway], Agreement]:
    w = World()
    offer = attrs.evolve(proposal(collection=Collection.SEND_INVOICE, approval=approval),
                         time_materials=term)
    return w, w.open(offer, payment_method=None)


def _held_after_april(term: TimeAndMaterials = TERM, approval: ApprovalRules = NEEDS_CLIENT
                      ) -> tuple[World[InMemoryGateway], Agreement]:
    w, a = _world(term, approval)
    w.biller.record_work(a.id, [_time("t1", 9, "4"), _time("t2", 10, "3"), _time("t3", 11, "1")])
    w.on(APR_1)
    assert [str(i.total) for i in w.biller.run(APR_1).invoices] == ["1000.00 USD"]
    return w, w.load()


def _raise(cap: str, phase: str | None = None, amendment_id: str = "am-cap") -> Amendment:
    return Amendment(AmendmentId(amendment_id), (RaiseTimeCap(APR_1, usd(cap), phase),),
                     "change request 4")


def _propose(w: World[InMemoryGateway], amendment: Amendment) -> Agreement:
    return w.biller.propose_amendment(w.load().id, amendment, by="account manager", at=NOON)


def _run(w: World[InMemoryGateway], day: date = APR_1) -> list[tuple[str, list[str]]]:
    w.on(day)
    return [(str(i.total), [f"{ln.item_id} {ln.amount}" for ln in i.lines])
            for i in w.biller.run(day).invoices]


# ---------------------------------------------------------------- preview, approve, reject


def test_the_preview_prices_the_held_work_a_raise_would_release() -> None:
    _w, a = _held_after_april()
    pv = preview(a, _raise("1100.00"), as_of=APR_1)
    # 100.00 more room: the 50.00 held of t2, then 50.00 of t3's 150.00.
    assert pv.time_released == usd("100.00")
    assert pv.time_caps == (TimeCapChange("", CAP, usd("1100.00")),)
    assert (pv.charges, pv.credits, pv.value_change) == ((), (), usd("0.00"))


def test_a_proposed_raise_releases_nothing_until_the_client_approves() -> None:
    w, a = _held_after_april()
    a = _propose(w, _raise("1100.00"))
    assert [r.status.value for r in a.amendments] == ["pending"]
    assert _run(w) == []
    assert time_totals(w.load()).held == usd("200.00")


def test_an_approved_raise_is_billed_by_the_next_run_exactly_once() -> None:
    w, a = _held_after_april()
    _propose(w, _raise("1100.00"))
    w.biller.approve_amendment(a.id, AmendmentId("am-cap"), by="Acme CFO", at=NOON)
    assert _run(w) == [("100.00 USD", ["t2 50.00 USD", "t3 50.00 USD"])]
    assert _run(w) == []
    assert _run(w, date(2026, 5, 1)) == []
    totals = time_totals(w.load())
    # 1,200.00 worked: 1,100.00 billed, 100.00 of t3 still held.
    assert (totals.billed, totals.held, totals.value) == (usd("1100.00"), usd("100.00"),
                                                          usd("1200.00"))
    assert [(h.entry.entry_id, h.held) for h in held_work(w.load())] == [("t3", Fraction(10000))]


def test_a_raise_that_ends_inside_an_entry_releases_only_part_of_it() -> None:
    w, a = _held_after_april()
    assert preview(a, _raise("1020.00"), as_of=APR_1).time_released == usd("20.00")
    _propose(w, _raise("1020.00"))
    w.biller.approve_amendment(a.id, AmendmentId("am-cap"), by="Acme CFO", at=NOON)
    w.on(APR_1)
    invoice = w.biller.run(APR_1).invoices[0]
    # 20.00 of t2's 50.00 held: 30.00 of it and all of t3 stay held.
    assert [(ln.item_id, str(ln.amount), ln.provenance[-1]) for ln in invoice.lines] == [
        ("t2", "20.00 USD", "within the cap; 30.00 USD of it held")]
    assert time_totals(w.load()).held == usd("180.00")


def test_a_rejected_raise_bills_nothing_and_the_work_stays_held() -> None:
    w, a = _held_after_april()
    a = _propose(w, _raise("1100.00"))
    w.biller.record(a.id, [reject(a, AmendmentId("am-cap"), by="Acme CFO", at=NOON,
                                  reason="not in the budget")])
    assert _run(w) == []
    assert _run(w, date(2026, 5, 1)) == []
    assert [h.entry.entry_id for h in held_work(w.load())] == ["t2", "t3"]
    assert time_totals(w.load()).held == usd("200.00")


def test_a_raise_is_approved_automatically_once_the_notice_period_has_run() -> None:
    w, _a = _held_after_april(approval=ApprovalRules(auto_approve_after_days=10))
    _propose(w, _raise("1100.00"))
    assert _run(w, date(2026, 4, 10)) == []
    assert _run(w, date(2026, 4, 12)) == [("100.00 USD", ["t2 50.00 USD", "t3 50.00 USD"])]


def test_without_client_approval_the_raise_applies_when_proposed() -> None:
    w, _a = _held_after_april(approval=ApprovalRules(require_client_approval=False))
    _propose(w, _raise("1050.00"))
    assert _run(w) == [("50.00 USD", ["t2 50.00 USD"])]


def test_the_cap_in_force_follows_approved_raises_only() -> None:
    w, a = _held_after_april()
    _propose(w, _raise("1100.00"))
    assert time_caps(TERM, w.load().events, a.id) == {"": CAP}
    w.biller.approve_amendment(a.id, AmendmentId("am-cap"), by="Acme CFO", at=NOON)
    assert time_caps(TERM, w.load().events, a.id) == {"": usd("1100.00")}


def test_a_firm_side_raise_after_an_approved_one_must_be_above_it() -> None:
    w, a = _held_after_april()
    _propose(w, _raise("1100.00"))
    w.biller.approve_amendment(a.id, AmendmentId("am-cap"), by="Acme CFO", at=NOON)
    with pytest.raises(ValidationError, match=r"'cap'.*1100\.00"):
        w.biller.raise_cap(a.id, usd("1050.00"), reason="lower than the amendment")
    w.biller.raise_cap(a.id, usd("1200.00"), reason="the rest, agreed by phone")
    assert _run(w) == [("200.00 USD", ["t2 50.00 USD", "t3 150.00 USD"])]


def test_a_phase_raise_releases_that_phase_within_the_agreement_cap() -> None:
    term = attrs.evolve(TERM, cap=usd("2000.00"),
                        phase_caps=(PhaseCap("fieldwork", usd("500.00")),))
    w, a = _world(term)
    # Fieldwork: 4 h (600.00) against 500.00, so 100.00 held; t9 has no phase.
    w.biller.record_work(a.id, [_time("t1", 9, "4", "fieldwork"), _time("t9", 10, "2")])
    assert _run(w) == [("800.00 USD", ["t1 500.00 USD", "t9 300.00 USD"])]
    with pytest.raises(AmendmentError, match="'phase'"):
        preview(w.load(), _raise("900.00", phase="report"), as_of=APR_1)
    pv = preview(w.load(), _raise("550.00", phase="fieldwork"), as_of=APR_1)
    assert (pv.time_released, pv.time_caps) == (
        usd("50.00"), (TimeCapChange("fieldwork", usd("500.00"), usd("550.00")),))
    _propose(w, _raise("550.00", phase="fieldwork"))
    w.biller.approve_amendment(a.id, AmendmentId("am-cap"), by="Acme CFO", at=NOON)
    assert _run(w) == [("50.00 USD", ["t1 50.00 USD"])]


def test_per_invoice_rounding_previews_what_the_invoices_will_bill() -> None:
    # 0.5 h at 0.03 an hour is 0.015 per entry; the cap of 0.02 holds 0.005 of
    # the second.  Raised to 0.03, both are approved: 0.03 exact, 0.03 billed
    # in all, of which 0.02 (0.015 rounded half up) was billed already.
    term = TimeAndMaterials(rates=(Rate("senior", usd("0.03"), date(2026, 1, 1)),),
                            cap=usd("0.02"), rounding_scope=RoundingScope.PER_INVOICE)
    w, a = _world(term)
    w.biller.record_work(a.id, [_time("t1", 9, "0.5"), _time("t2", 10, "0.5")])
    assert [t for t, _ in _run(w)] == ["0.02 USD"]
    assert preview(w.load(), _raise("0.03"), as_of=APR_1).time_released == usd("0.01")
    _propose(w, _raise("0.03"))
    w.biller.approve_amendment(a.id, AmendmentId("am-cap"), by="Acme CFO", at=NOON)
    assert [t for t, _ in _run(w)] == ["0.01 USD"]


def test_per_invoice_a_release_is_the_difference_of_the_rounded_totals() -> None:
    # t9 (no phase) is 0.015 and t1 (fieldwork) 0.015, of which the phase cap
    # of 0.01 takes 0.01: 0.025 approved, billed as 0.03 (half up).  Raising
    # the phase cap to 0.02 approves 0.03 in all, still 0.03 billed: nothing
    # to bill yet (rounding the 0.005 released on its own would say 0.01).
    term = TimeAndMaterials(rates=(Rate("senior", usd("0.03"), date(2026, 1, 1)),),
                            phase_caps=(PhaseCap("fieldwork", usd("0.01")),),
                            rounding_scope=RoundingScope.PER_INVOICE)
    w, a = _world(term)
    w.biller.record_work(a.id, [_time("t9", 9, "0.5"), _time("t1", 10, "0.5", "fieldwork")])
    assert [t for t, _ in _run(w)] == ["0.03 USD"]
    raise_ = _raise("0.02", phase="fieldwork")
    assert preview(w.load(), raise_, as_of=APR_1).time_released == usd("0.00")
    _propose(w, raise_)
    w.biller.approve_amendment(a.id, AmendmentId("am-cap"), by="Acme CFO", at=NOON)
    assert _run(w) == []
    assert time_totals(w.load()).held == usd("0.00")


# ---------------------------------------------------------------- what is refused


def test_a_cap_not_above_the_one_in_force_is_refused_and_nothing_is_stored() -> None:
    w, a = _held_after_april()
    for lower in ("999.99", "1000.00"):
        with pytest.raises(AmendmentError,
                           match=r"'new_cap' must be above the cap in force \(1000\.00 USD\)"):
            _propose(w, _raise(lower))
    assert w.load() == a


def test_a_cap_is_only_raised_even_while_nothing_is_approved_above_it() -> None:
    w, a = _world()
    w.biller.record_work(a.id, [_time("t1", 9, "4")])
    with pytest.raises(AmendmentError, match="'new_cap' must be above the cap in force"):
        _propose(w, _raise("800.00"))
    assert w.load().amendments == ()


def test_a_cap_in_another_currency_is_refused() -> None:
    w, a = _held_after_april()
    bad = Amendment(AmendmentId("am-eur"), (RaiseTimeCap(APR_1, Money("1100.00", "EUR")),))
    with pytest.raises(AmendmentError, match="'new_cap' must be an amount in USD"):
        _propose(w, bad)
    assert w.load() == a


def test_an_unknown_phase_is_refused() -> None:
    w, _a = _held_after_april()
    with pytest.raises(AmendmentError, match=r"'phase'.*'design'"):
        _propose(w, _raise("1100.00", phase="design"))


def test_an_agreement_without_a_cap_has_none_to_raise() -> None:
    w, _a = _world(attrs.evolve(TERM, cap=None))
    with pytest.raises(AmendmentError, match="'phase'"):
        _propose(w, _raise("1100.00"))


def test_an_agreement_without_time_and_materials_is_refused() -> None:
    w = World()
    a = w.open(proposal(collection=Collection.SEND_INVOICE, approval=NEEDS_CLIENT),
               payment_method=None)
    with pytest.raises(AmendmentError, match="'time_materials'"):
        w.biller.propose_amendment(a.id, _raise("1100.00"), by="account manager")
    assert w.load() == a


def test_a_cap_that_is_not_positive_money_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="'new_cap' must be a positive Money"):
        RaiseTimeCap(APR_1, usd("0.00"))
    with pytest.raises(ValidationError, match="'phase'"):
        RaiseTimeCap(APR_1, usd("1.00"), "")


def test_a_pending_raise_that_no_longer_applies_cannot_be_approved() -> None:
    w, a = _held_after_april()
    a = _propose(w, _raise("1100.00"))
    # The firm raises the cap to 1,200.00 itself: all 1,200.00 worked is approved.
    w.biller.raise_cap(a.id, usd("1200.00"), reason="agreed by phone")
    a = w.load()
    with pytest.raises(AmendmentError, match="'new_cap'"):
        approve(a, AmendmentId("am-cap"), by="Acme CFO", at=NOON)


def test_two_raises_in_one_amendment_apply_in_order() -> None:
    _w, a = _held_after_april()
    both = Amendment(AmendmentId("am-2"), (RaiseTimeCap(APR_1, usd("1050.00")),
                                           RaiseTimeCap(APR_1, usd("1150.00"))))
    pv = preview(a, both, as_of=APR_1)
    assert (pv.time_released, pv.time_caps) == (
        usd("150.00"), (TimeCapChange("", CAP, usd("1150.00")),))


# ---------------------------------------------------------------- formats


def test_a_raise_reads_back_from_the_amendment_json_format() -> None:
    am = _raise("1100.00", phase="fieldwork")
    data = formats.write(am)
    assert data["operations"] == [{"type": "RaiseTimeCap", "effective": "2026-04-01",
                                   "new_cap": {"amount": "1100.00", "currency": "USD"},
                                   "phase": "fieldwork"}]
    assert formats.read("amendment", data) == am


def test_the_preview_with_a_release_reads_back_from_json() -> None:
    _w, a = _held_after_april()
    pv = preview(a, _raise("1100.00"), as_of=APR_1)
    assert AmendmentPreview.from_json(pv.to_json()) == pv
    assert pv.to_json()["time_released"] == {"amount": "100.00", "currency": "USD"}


def test_a_proposal_needing_approval_for_a_raise_leaves_it_pending() -> None:
    _w, a = _held_after_april()
    e = propose(a, _raise("1100.00"), by="account manager", at=NOON)
    assert e.requires_approval

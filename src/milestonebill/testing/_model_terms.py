"""The rules of :class:`~milestonebill.testing.model.BillingModel` for the terms of
docs/terms.md: write-offs and recoveries, forfeited credit, time and
materials (recorded work, cap raises, write-downs).

Reminders, late fees, installment plans, discounts and ``RaiseTimeCap``
amendments need no rule of their own: the model signs offers that carry
them and its runs, amendments and approvals do the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import ClassVar, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from milestonebill.agreement import (
    Agreement,
    ExpenseEntry,
    TimeEntry,
    time_caps,
)
from milestonebill.clock import FixedClock
from milestonebill.engine import Biller
from milestonebill.errors import DuplicateIdError, InvalidTransitionError, ValidationError
from milestonebill.ids import AgreementId, InvoiceId
from milestonebill.money import Money
from milestonebill.timebilling import held_work, time_position

__all__ = ["TermRules"]

_T = TypeVar("_T")
_Entry = TimeEntry | ExpenseEntry


class TermRules(RuleBasedStateMachine):
    """Rules over the public API for write-offs, forfeited credit and time and
    materials; mixed into :class:`~milestonebill.testing.model.BillingModel`,
    which supplies the state and helpers declared here."""

    stats: ClassVar[Counter[str]]
    clock: FixedClock
    biller: Biller
    agreements: list[AgreementId]
    counter: int
    #: Entries recorded (or offered) per agreement, to send some again.
    sent: dict[AgreementId, list[_Entry]]
    #: Caps raised by :meth:`raise_cap`: (agreement, phase, cap in minor units).
    caps_asked: set[tuple[AgreementId, str, int]]

    def _load(self, aid: AgreementId) -> Agreement:
        raise NotImplementedError

    def _pick(self, data: st.DataObject, *, working: bool = False) -> AgreementId | None:
        raise NotImplementedError

    def _snapshot(self) -> tuple[object, ...]:
        raise NotImplementedError

    def _act(self, work: Callable[[], _T]) -> _T | None:
        raise NotImplementedError

    def _attempt(self, work: Callable[[], object], *errors: type[Exception]
                 ) -> tuple[bool, Exception | None]:
        """Do ``work``: whether it was done (not refused, no crash) and the
        refusal, one of ``errors`` -- after which nothing was written."""
        before = self._snapshot()
        try:
            done = self._act(work) is not None
        except errors as exc:
            refused: Exception | None = exc
        else:
            return done, None
        assert self._snapshot() == before, refused
        self.stats[f"refused {type(refused).__name__}"] += 1
        return False, refused

    # -- write-offs and recoveries

    @rule(data=st.data(), whole=st.booleans(), percent=st.integers(1, 100),
          retried=st.booleans())
    def write_off(self, data: st.DataObject, whole: bool, percent: int, retried: bool) -> None:
        """Write off all or part of an invoice that still owes something.  A charge
        in flight refuses it and nothing changes; the request sent again with
        its id changes nothing."""
        aid = self._pick(data, working=True)
        if aid is None:
            return
        a = self._load(aid)
        owing = [i.id for i in a.invoices if a.balance_of(i.id).minor > 0]
        if not owing:
            return
        inv = InvoiceId(data.draw(st.sampled_from(owing), label="invoice"))
        balance = a.balance_of(inv)
        amount = None if whole else Money.from_minor(max(1, balance.minor * percent // 100),
                                                     a.currency)
        self.counter += 1
        key = f"req-wo-{self.counter}"

        def work() -> object:
            return self.biller.write_off(inv, amount, reason="uncollectible", event_id=key)

        if not self._attempt(work, InvalidTransitionError)[0]:
            return
        after = self._load(aid)
        gone = balance.minor if amount is None else amount.minor
        assert after.balance_of(inv).minor == balance.minor - gone, (balance, amount)
        self.stats["write-offs"] += 1
        if retried:
            before = self._snapshot()
            self._act(work)
            assert self._snapshot() == before
            self.stats["write-offs retried"] += 1

    @rule(data=st.data(), percent=st.integers(1, 200))
    def pay_by_hand(self, data: st.DataObject, percent: int) -> None:
        """A client pays an invoice by wire: part of it, all or more.  It settles
        what is owed first, then recovers a write-off, and the rest is an
        overpayment (only invoices the client pays itself, or written off)."""
        aid = self._pick(data, working=True)
        if aid is None:
            return
        a = self._load(aid)
        by_hand = a.payment_method is None
        payable = [i.id for i in a.invoices if a.written_off(i.id).minor > 0
                   or (by_hand and a.balance_of(i.id).minor > 0)]
        if not payable:
            return
        inv = InvoiceId(data.draw(st.sampled_from(payable), label="invoice"))
        owed, written = a.balance_of(inv).minor, a.written_off(inv).minor
        amount = Money.from_minor(max(1, (max(owed, 0) + written) * percent // 100), a.currency)
        self.counter += 1
        ref = f"wire-{self.counter}"
        if not self._attempt(lambda: self.biller.record_payment(
                inv, amount, reference=ref), ValidationError, InvalidTransitionError)[0]:
            return
        recovered = written - self._load(aid).written_off(inv).minor
        assert recovered == min(written, max(0, amount.minor - max(owed, 0))), (
            amount, owed, written, recovered)
        self.stats["payments by hand"] += 1
        self.stats["recoveries"] += recovered > 0

    @rule(data=st.data(), percent=st.integers(0, 110))
    def forfeit(self, data: st.DataObject, percent: int) -> None:
        """The client lets customer credit lapse: all, a share, or more than it
        holds (refused, and nothing changes)."""
        holding = [aid for aid in self.agreements if self._load(aid).credit_balance.minor > 0]
        aid = (data.draw(st.sampled_from(holding), label="agreement with credit") if holding
               else self._pick(data, working=True))
        if aid is None:
            return
        a = self._load(aid)
        minor = a.credit_balance.minor * percent // 100
        amount = None if not percent or not minor else Money.from_minor(minor, a.currency)
        held = a.credit_balance.minor
        done, _ = self._attempt(lambda: self.biller.forfeit_credit(
            aid, amount, reason="lapsed under the terms"), ValidationError)
        if done:
            lost = held if amount is None else amount.minor
            assert self._load(aid).credit_balance.minor == held - lost
            self.stats["credit forfeited"] += 1

    # -- time and materials

    def _hourly(self, data: st.DataObject) -> AgreementId | None:
        ids = [aid for aid in self.agreements
               if self._load(aid).proposal.time_materials is not None]
        return data.draw(st.sampled_from(ids), label="hourly agreement") if ids else None

    @rule(data=st.data())
    def record_work(self, data: st.DataObject) -> None:
        """Record one to three new time or expense entries, sometimes with one sent
        before (a no-op); an old id with other values refuses the whole batch."""
        aid = self._hourly(data)
        if aid is None:
            return
        a = self._load(aid)
        sent = self.sent.setdefault(aid, [])
        fresh = [self._entry(data, a) for _ in range(data.draw(st.integers(0, 3)))]
        again = data.draw(st.lists(st.sampled_from(sent), max_size=1)) if sent else []
        clash = bool(sent) and data.draw(st.integers(0, 5), label="clash") == 0
        if clash:
            old = data.draw(st.sampled_from(sent), label="clashing entry")
            changed: _Entry = (ExpenseEntry(entry_id=old.entry_id, on=old.on, person="bo",
                                            amount=Money.from_minor(7, a.currency))
                               if isinstance(old, TimeEntry) else
                               TimeEntry(entry_id=old.entry_id, on=old.on, person="bo",
                                         role="junior", hours=Decimal(1)))
            again.append(changed)
        batch = fresh + again
        if not batch:
            return
        if clash:
            _, refused = self._attempt(lambda: self.biller.record_work(aid, batch),
                                       DuplicateIdError)
            assert refused is not None
            return
        before = self._snapshot()
        if self._act(lambda: self.biller.record_work(aid, batch)) is None:
            return
        if not fresh:
            assert self._snapshot() == before  # sent again: nothing new
        sent.extend(fresh)
        known = {w.entry.entry_id for w in time_position(self._load(aid))}
        assert {e.entry_id for e in batch} <= known
        self.stats["entries recorded"] += len(fresh)
        self.stats["entries sent again"] += len(again)

    def _entry(self, data: st.DataObject, a: Agreement) -> _Entry:
        self.counter += 1
        on = max(a.signed_on, self.clock.today() - timedelta(
            days=data.draw(st.integers(0, 20), label="days ago")))
        phase = data.draw(st.sampled_from(["", "design"]), label="phase")
        if data.draw(st.integers(0, 3), label="expense") == 0:
            return ExpenseEntry(entry_id=f"X-{self.counter}", on=on, person="ada",
                                amount=Money.from_minor(data.draw(st.integers(1, 200_000)),
                                                        a.currency), phase=phase)
        return TimeEntry(entry_id=f"T-{self.counter}", on=on, person="ada",
                         role=data.draw(st.sampled_from(["senior", "junior"])),
                         hours=Decimal(data.draw(st.integers(1, 40), label="quarters")) / 4,
                         description="fieldwork", phase=phase)

    @rule(data=st.data(), more=st.integers(-200, 300_000), phase=st.sampled_from(["", "design"]))
    def raise_cap(self, data: st.DataObject, more: int, phase: str) -> None:
        """The firm raises a cap at once: above the cap in force it applies, else
        (or without a cap to raise) it is refused and nothing changes."""
        aid = self._hourly(data)
        if aid is None:
            return
        a = self._load(aid)
        current = time_caps(a.proposal.time_materials, a.events, a.id).get(phase)
        cap = Money.from_minor(max(1, (0 if current is None else current.minor) + more),
                               a.currency)
        asked = (aid, phase, cap.minor)
        if asked in self.caps_asked:
            # The same request again (its id comes from the cap): a retry, so a
            # no-op even when the cap in force is now higher.
            before = self._snapshot()
            self._act(lambda: self.biller.raise_cap(aid, cap, reason="change order signed",
                                                    phase=phase))
            assert self._snapshot() == before
            self.stats["cap raises repeated"] += 1
            return
        done, refused = self._attempt(lambda: self.biller.raise_cap(
            aid, cap, reason="change order signed", phase=phase),
            ValidationError, InvalidTransitionError)
        if done:
            self.caps_asked.add(asked)
        if done or refused is not None:
            assert done == (current is not None and cap.minor > current.minor), refused
            self.stats["caps raised" if done else "cap raises refused"] += 1

    @rule(data=st.data())
    def write_down(self, data: st.DataObject) -> None:
        """The firm gives up what is held of an entry: it is never billed."""
        aid = self._hourly(data)
        if aid is None:
            return
        held = held_work(self._load(aid))
        if not held:
            return
        w = data.draw(st.sampled_from(held), label="held entry")
        if self._act(lambda: self.biller.write_down(aid, w.entry.entry_id,
                                                    reason="absorbed")) is None:
            return
        after = {x.entry.entry_id: x for x in time_position(self._load(aid))}[w.entry.entry_id]
        assert after.held == 0, after
        assert after.written_down == w.written_down + w.held, after
        self.stats["write-downs"] += 1

"""Scenario builders for the practice-management integrations, for tests and host apps.

:func:`hours_proposal` is a fixed-fee engagement whose revenue follows
hours worked; :func:`two_obligations_proposal` has an obligation measured
by hours and one measured by units, so a time entry has a choice to make.
:func:`practice_world` signs both (``agr-1`` and ``agr-2``) in a
:class:`~milestonebill.testing.scenarios.World` on any store.

>>> w = practice_world()
>>> w.biller.link_work("karbon", "WI-7", AGREEMENT, milestone_id=MilestoneId("design")).target
<LinkTarget.MILESTONE: 'milestone'>
>>> [str(o.estimate) for o in w.load().obligation_terms]
['100']
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from milestonebill.agreement import (
    Collection,
    ObligationTerms,
    PackageOption,
    Progress,
    Proposal,
    ProposalId,
)
from milestonebill.clock import FixedClock
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import AgreementId, MilestoneId, ObligationId
from milestonebill.money import Currency, Money
from milestonebill.schedule import BillingSchedule, Milestone
from milestonebill.stores.base import BillingStore
from milestonebill.testing.scenarios import AGREEMENT, World

__all__ = ["AGREEMENT", "OTHER_AGREEMENT", "hours_proposal", "practice_world",
           "two_obligations_proposal"]

#: The agreement :func:`practice_world` signs on :func:`two_obligations_proposal`.
OTHER_AGREEMENT: Final = AgreementId("agr-2")


def _pct(mid: str, percent: int) -> Milestone:
    return Milestone(MilestoneId(mid), mid.title(), percent=Decimal(percent))


def hours_proposal(pid: str = "p-hours", *, estimate: int = 100, fee: str = "10000.00"
                   ) -> Proposal:
    """Design (40 %) and build (60 %) of a ``fee`` USD engagement, billed on completion
    by invoice; one obligation ``work`` measured by hours against ``estimate``."""
    usd = Currency.of("USD")
    schedule = BillingSchedule(currency=usd, fee=Money(fee, "USD"),
                               milestones=[_pct("design", 40), _pct("build", 60)])
    work = ObligationTerms(ObligationId("work"), "The engagement", Progress.HOURS,
                           items=("design", "build"), estimate=Decimal(estimate))
    return Proposal(ProposalId(pid), "Acme Ltd", usd,
                    (PackageOption("std", "Standard", schedule, obligations=(work,)),),
                    collection=Collection.SEND_INVOICE)


def two_obligations_proposal(pid: str = "p-two") -> Proposal:
    """Advice (3,000.00 USD, an obligation ``advice`` measured by hours, 30 estimated)
    and filings (2,000.00, ``filings`` measured by units, 4 estimated)."""
    usd = Currency.of("USD")
    schedule = BillingSchedule(currency=usd, milestones=[
        Milestone(MilestoneId("advice"), "Advice", amount=Money("3000.00", "USD")),
        Milestone(MilestoneId("filings"), "Filings", amount=Money("2000.00", "USD"))])
    advice = ObligationTerms(ObligationId("advice"), "Advice", Progress.HOURS,
                             items=("advice",), estimate=Decimal(30))
    filings = ObligationTerms(ObligationId("filings"), "Filings", Progress.UNITS,
                              items=("filings",), estimate=Decimal(4))
    return Proposal(ProposalId(pid), "Initech", usd,
                    (PackageOption("std", "Standard", schedule, obligations=(advice, filings)),),
                    collection=Collection.SEND_INVOICE)


def practice_world(store: BillingStore | None = None, *, clock: FixedClock | None = None
                   ) -> World[InMemoryGateway]:
    """A world with :func:`hours_proposal` signed as :data:`AGREEMENT` and
    :func:`two_obligations_proposal` as :data:`OTHER_AGREEMENT`, paid by invoice."""
    w = World(store, clock=clock)
    w.open(hours_proposal(), payment_method=None)
    w.open(two_obligations_proposal(), payment_method=None, agreement_id=OTHER_AGREEMENT)
    return w

"""Properties of Stripe Connect's money: the application fee and its posting."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from milestonebill.agreement import PaymentSucceeded
from milestonebill.gateways.connect import MAX_BASIS_POINTS, ApplicationFee
from milestonebill.gateways.stripe import to_stripe_amount
from milestonebill.ids import InvoiceId
from milestonebill.ledger import Account
from milestonebill.limits import MAX_AMOUNT_MINOR
from milestonebill.money import Currency, Money
from milestonebill.postings import payment_entry
from milestonebill.testing.strategies import currencies

fees = st.builds(ApplicationFee, st.integers(0, MAX_BASIS_POINTS),
                 st.one_of(st.just(0), st.integers(0, 10**6), st.integers(0, MAX_AMOUNT_MINOR)))
minors = st.integers(0, MAX_AMOUNT_MINOR)


def step_of(currency: Currency) -> int:
    """The smallest amount Stripe takes, found through the adapter's own converter."""
    return next(s for s in (1, 10, 100, 1000)
                if _representable(Money.from_minor(s, currency)))


def _representable(m: Money) -> bool:
    try:
        to_stripe_amount(m)
    except ValueError:
        return False
    return True


@given(fees, minors, currencies(every=True))
def test_the_fee_is_never_negative_nor_above_the_amount(
    fee: ApplicationFee, minor: int, currency: Currency,
) -> None:
    amount = Money.from_minor(minor, currency)
    got = fee.for_amount(amount)
    assert got.currency == currency
    assert 0 <= got.minor <= minor


@given(fees, minors, minors, currencies(every=True))
def test_the_fee_never_falls_as_the_amount_grows(
    fee: ApplicationFee, a: int, b: int, currency: Currency,
) -> None:
    low, high = sorted((a, b))
    assert fee.for_amount(Money.from_minor(low, currency)) <= \
        fee.for_amount(Money.from_minor(high, currency))


@given(fees, minors, currencies(every=True))
def test_the_fee_is_an_amount_stripe_can_charge_when_the_amount_is(
    fee: ApplicationFee, minor: int, currency: Currency,
) -> None:
    step = step_of(currency)
    amount = Money.from_minor(minor - minor % step, currency)
    assert _representable(fee.for_amount(amount))


@given(fees, minors, currencies(every=True))
def test_the_fee_is_the_exact_share_rounded_half_up_once(
    fee: ApplicationFee, minor: int, currency: Currency,
) -> None:
    # The rule restated with fractions: basis points of the amount plus the
    # fixed part, to the nearest Stripe step (halves up), at most the amount.
    step = step_of(currency)
    exact = Fraction(minor * fee.basis_points, MAX_BASIS_POINTS) + fee.fixed_minor
    steps = int(exact / step + Fraction(1, 2))
    expected = min(steps * step, minor - minor % step)
    assert fee.for_amount(Money.from_minor(minor, currency)).minor == expected


@given(st.integers(1, 10**12), st.integers(0, 10**12), st.integers(0, 10**12),
       st.sampled_from(["USD", "JPY", "KWD"]))
def test_a_payment_clears_the_whole_receivable_and_books_both_fees_apart(
    amount: int, fee: int, cut: int, code: str,
) -> None:
    cur = Currency.of(code)
    paid = PaymentSucceeded("agr-1:paid:inv-1:1", 2, datetime(2026, 5, 4, tzinfo=UTC),
                            InvoiceId("inv-1"), Money.from_minor(amount, cur), "pi_1", 1,
                            Money.from_minor(fee, cur), Money.from_minor(cut, cur))
    entry = payment_entry("agr-1", paid, "inv-1:payment:1", Account.CLEARING)
    by = {ln.account: ln.signed_minor for ln in entry.lines}
    assert sum(by.values()) == 0
    assert by[Account.RECEIVABLE] == -amount
    assert by[Account.CLEARING] > 0
    assert by[Account.CLEARING] + by.get(Account.GATEWAY_FEES, 0) \
        + by.get(Account.PLATFORM_FEES, 0) == amount
    if 0 < fee < amount:
        assert by[Account.GATEWAY_FEES] == fee
    if cut > 0 and (fee if 0 < fee < amount else 0) + cut < amount:
        assert by[Account.PLATFORM_FEES] == cut

"""Properties of the input boundary: every allowed amount survives every way out
and back unchanged, the bound holds, the grammar admits nothing else, and a card
number is found however it is written."""

from __future__ import annotations

import decimal
import itertools
import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from milestonebill._json import canonical_json, decode, encode, parse_json_object
from milestonebill._validate import NUMBER_GRAMMAR, card_number_spans, check_text
from milestonebill.errors import CardNumberError, InvalidAmountError
from milestonebill.ids import AgreementId, AttemptKey, EntryId, InvoiceId
from milestonebill.ledger import Account, JournalEntry, JournalLine
from milestonebill.limits import MAX_AMOUNT_MINOR, MAX_SHOWN_LENGTH
from milestonebill.money import Currency, Money
from milestonebill.stores.base import BillingStore
from milestonebill.stores.sqlite import SQLiteStore
from milestonebill.testing.strategies import currencies

allowed_minor = st.integers(-MAX_AMOUNT_MINOR, MAX_AMOUNT_MINOR)
#: Allowed amounts, the extremes and the currencies of every exponent drawn often.
allowed = st.builds(Money.from_minor,
                    st.one_of(allowed_minor, st.sampled_from([MAX_AMOUNT_MINOR,
                                                              -MAX_AMOUNT_MINOR, 0, 1, -1])),
                    currencies(every=True))
beyond = st.integers(MAX_AMOUNT_MINOR + 1, 10**40).flatmap(
    lambda n: st.sampled_from([n, -n]))
_keys = itertools.count()
_WIDE = decimal.Context(prec=100)


@given(allowed)
def test_every_allowed_amount_survives_text_and_json(m: Money) -> None:
    assert Money(str(m.amount), m.currency) == m
    assert Money(m.amount, m.currency) == m
    assert decode(encode(m), Money) == m
    text = canonical_json({"fee": encode(m)})
    assert decode(parse_json_object(text)["fee"], Money) == m


@given(beyond, currencies(every=True))
def test_every_amount_beyond_the_bound_is_refused_however_it_comes(
        minor: int, cur: Currency) -> None:
    text = str(Decimal(minor).scaleb(-cur.exponent, _WIDE))
    for make in (lambda: Money.from_minor(minor, cur), lambda: Money(text, cur),
                 lambda: Money(Decimal(text), cur),
                 lambda: decode({"amount": text, "currency": cur.code}, Money)):
        with pytest.raises(InvalidAmountError):
            make()


@given(st.one_of(st.text(max_size=30), st.from_regex(NUMBER_GRAMMAR, fullmatch=True)))
def test_text_is_an_amount_only_when_it_follows_the_grammar(text: str) -> None:
    matches = NUMBER_GRAMMAR.fullmatch(text) is not None
    try:
        m = Money(text, "KWD")
    except InvalidAmountError:
        if matches:  # then only a bound refuses it: too fine, too large or too long
            exact = Fraction(Decimal(text)) * 1000
            assert exact.denominator != 1 or abs(exact) > MAX_AMOUNT_MINOR or len(text) > 80
        return
    assert matches
    assert m.amount == Decimal(text)


# ---------------------------------------------------------------- both SQL stores


def journal_minor(store: BillingStore, entry_id: str) -> list[int]:
    """The minor units the store's own column holds for an entry, read with SQL."""
    if isinstance(store, SQLiteStore):
        with sqlite3.connect(store.path) as conn:
            rows = conn.execute("SELECT signed_minor FROM journal_lines WHERE entry_id = ? "
                                "ORDER BY line_no", (entry_id,)).fetchall()
    else:
        import psycopg

        with psycopg.connect(os.environ["MILESTONEBILL_PG_DSN"]) as conn:
            rows = conn.execute(f"SELECT signed_minor FROM {store.schema}.journal_lines "  # type: ignore[attr-defined]
                                "WHERE entry_id = %s ORDER BY line_no", (entry_id,)).fetchall()
    return [int(r[0]) for r in rows]


def round_trip(store: BillingStore, m: Money) -> None:
    n = next(_keys)
    key = AttemptKey(f"key-{n}")
    store.record_attempt(key, AgreementId("agr-1"), InvoiceId(f"inv-{n}"), 1, m)
    got = store.get_attempt(key)
    assert got is not None
    assert got.amount == m
    if m.minor == 0:
        return
    entry = JournalEntry(EntryId(f"je-{n}"), date(2026, 1, 31),
                         [JournalLine.dr(Account.CASH, abs(m)),
                          JournalLine.cr(Account.RECEIVABLE, abs(m))])
    store.post(entry)
    assert store.get_entry(entry.id) == entry
    assert journal_minor(store, entry.id) == [abs(m.minor), -abs(m.minor)]


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> SQLiteStore:
    return SQLiteStore(Path(tmp_path_factory.mktemp("amounts")) / "books.db")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(allowed)
def test_every_allowed_amount_survives_a_sqlite_file(sqlite_store: SQLiteStore,
                                                      m: Money) -> None:
    round_trip(sqlite_store, m)


@pytest.fixture(scope="module")
def pg_store(pg_dsn: str) -> Iterator[BillingStore]:
    import psycopg

    from milestonebill.stores.postgres import PostgresStore

    schema = f"t_amounts_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    store = PostgresStore(pg_dsn, schema=schema)
    yield store
    store.close()
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.mark.postgres
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60,
          deadline=None)
@given(allowed)
def test_every_allowed_amount_survives_postgresql(pg_store: BillingStore, m: Money) -> None:
    round_trip(pg_store, m)


# ---------------------------------------------------------------- card numbers

#: Separators people type (or paste) between the groups of a card number.
SEPARATORS = [" ", "-", ".", "_", "/", "\u00a0", "\u202f", "\u2009", "\u3000", "\u2013",
              "\u2212", "\u200b", "\t", " - ", ""]


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """13 to 19 digits, not starting with 0, with a Luhn check digit."""
    length = draw(st.integers(13, 19))
    middle = draw(st.lists(st.integers(0, 9), min_size=length - 2, max_size=length - 2))
    body = [draw(st.integers(1, 9)), *middle]
    total = 0
    for i, d in enumerate(reversed(body)):  # the check digit will sit to the right
        n = d * 2 if i % 2 == 0 else d
        total += n - 9 if n > 9 else n
    return "".join(map(str, [*body, (10 - total % 10) % 10]))


@st.composite
def written(draw: st.DrawFn, digits: str) -> str:
    """``digits`` cut into groups at random places, joined by random separators."""
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=6)))
    groups = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    out = groups[0]
    for g in groups[1:]:
        out += draw(st.sampled_from(SEPARATORS)) + g
    return out


#: Text around the number: it may hold anything but a digit where it touches it.
around = st.text(max_size=40)


@settings(max_examples=300)
@given(card_numbers().flatmap(lambda d: st.tuples(st.just(d), written(d))), around, around)
def test_a_card_number_written_any_way_in_any_text_is_refused_and_redacted(
        card: tuple[str, str], before: str, after: str) -> None:
    digits, form = card
    if before[-1:].isdecimal():
        before += "x"
    if after[:1].isdecimal():
        after = "x" + after
    text = before + form + after
    assert any(True for _ in card_number_spans(text))
    with pytest.raises(CardNumberError) as caught:
        check_text("evidence", text)
    shown = caught.value.value
    assert isinstance(shown, str)
    assert list(card_number_spans(shown)) == []
    assert form not in shown
    assert digits not in shown
    marker = "[card number ending "
    assert marker in shown
    # The message shows the redacted text's repr, cut to MAX_SHOWN_LENGTH like every
    # error's: text whose repr is long (escaped control or astral characters) may cut
    # the marker off there, never the redaction; the whole text is on ``value``.
    if len(repr(shown)) <= MAX_SHOWN_LENGTH:
        assert marker in str(caught.value)


@given(st.text(alphabet=st.characters(exclude_categories=["Nd"]), max_size=200))
def test_text_without_digits_is_never_refused_as_a_card(text: str) -> None:
    if "\x00" in text:
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return
    assert check_text("note", text) == text

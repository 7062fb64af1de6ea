"""The fixed words of the documents per language, and how a locale is chosen."""

from __future__ import annotations

import string
from datetime import date
from decimal import Decimal

import pytest

from milestonebill.errors import ValidationError
from milestonebill.money import Money
from milestonebill.periods import Period
from milestonebill.rendering import LANGUAGES
from milestonebill.rendering._catalogue import PLURALS, WORDS
from milestonebill.rendering._locale import words_for


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_catalogue_has_the_five_required_locales_languages() -> None:
    assert {words_for(x).lang for x in ("en_US", "en_GB", "de_DE", "fr_FR", "ja_JP")} == set(
        LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_every_message_with_the_same_placeholders(lang: str) -> None:
    english = WORDS["en"]
    assert set(WORDS[lang]) == set(english)
    assert {k: fields(v) for k, v in WORDS[lang].items()} == {
        k: fields(v) for k, v in english.items()}
    assert set(PLURALS[lang]) == set(PLURALS["en"])
    for key, forms in PLURALS[lang].items():
        assert "other" in forms, key
        assert all(fields(f) == fields(PLURALS["en"][key]["other"]) for f in forms.values())


@pytest.mark.parametrize(("locale", "n", "expected"), [
    ("en_US", 1, "Net 1 day"), ("en_US", 30, "Net 30 days"),
    ("de_DE", 1, "1 Tag netto"), ("de_DE", 14, "14 Tage netto"),
    ("fr_FR", 1, "1 jour net"), ("fr_FR", 2, "2 jours net"),
    ("ja_JP", 1, "1日以内"), ("en_US", 1000, "Net 1,000 days"),
])
def test_counted_messages_take_the_locales_plural_form(locale: str, n: int,
                                                       expected: str) -> None:
    assert words_for(locale).plural("net_days", n) == expected


def test_money_dates_periods_and_rates_follow_the_locale() -> None:
    de = words_for("de_DE")
    assert de.money(Money("1234.50", "EUR")) == "1.234,50\xa0€"
    assert de.date(date(2026, 3, 2)) == "2. März 2026"
    assert de.percent(Decimal("0.075")) == "7,5\xa0%"
    assert words_for("en_US").percent(Decimal("0.2")) == "20%"


def test_a_service_period_shows_its_last_day_not_the_boundary() -> None:
    en = words_for("en_GB")
    assert en.period(Period(date(2026, 3, 1), date(2026, 4, 1))) == "1\u2009\u2013\u200931 Mar 2026"
    assert en.period(Period(date(2026, 3, 1), date(2026, 3, 2))) == "1 March 2026"


def test_the_page_counter_is_a_css_value_with_its_words_escaped() -> None:
    assert words_for("en_US").css_string("page", page="counter(page)",
                                         pages="counter(pages)") == (
        '"Page " counter(page) " of " counter(pages)')
    fr = words_for("fr_FR")
    assert fr.css_string("valid_until") == '"Valable jusqu\\27 au"'


@pytest.mark.parametrize(("given", "locale", "lang"), [
    ("en_US", "en_US", "en"), ("en-GB", "en_GB", "en"), ("de_AT", "de_AT", "de"),
    ("fr", "fr", "fr"), ("ja_JP", "ja_JP", "ja"),
])
def test_a_locale_is_read_in_either_spelling(given: str, locale: str, lang: str) -> None:
    w = words_for(given)
    assert (w.locale, w.lang) == (locale, lang)


@pytest.mark.parametrize("bad", ["es_ES", "xx", "", "  ", None, "en_US;", 42])
def test_a_locale_without_words_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError) as e:
        words_for(bad)
    assert e.value.field == "locale"

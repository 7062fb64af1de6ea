"""One locale's way of writing a document: its fixed words, money, dates and numbers.

Private to :mod:`milestonebill.rendering`.  The words come from the
catalogue by language (``_catalogue``); money goes through
:func:`milestonebill.money.format_money` (the currency's ISO 4217 decimals,
so yen show none and dinars three), dates and numbers through babel for
the full locale.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs

from milestonebill.errors import ValidationError
from milestonebill.money import Money, format_money
from milestonebill.periods import Period
from milestonebill.rendering._catalogue import LANGUAGES, PLURALS, WORDS

__all__ = ["Words", "words_for"]


@attrs.frozen
class Words:
    """The text of one locale: ``locale`` as babel spells it (``de_DE``), ``lang`` its
    language in the catalogue."""

    locale: str
    lang: str

    @property
    def html_lang(self) -> str:
        """The locale as an HTML ``lang`` attribute (``de-DE``)."""
        return self.locale.replace("_", "-")

    def __call__(self, key: str, **values: object) -> str:
        """The message ``key``, its placeholders filled with ``values``."""
        return WORDS[self.lang][key].format(**values)

    def plural(self, key: str, n: int, **values: object) -> str:
        """The message ``key`` in the plural form CLDR gives ``n`` in this locale."""
        from babel import Locale

        forms = PLURALS[self.lang][key]
        form = Locale.parse(self.locale).plural_form(n)
        return forms.get(form, forms["other"]).format(n=self.number(n), **values)

    def money(self, money: Money) -> str:
        """``money`` with its currency, at its currency's ISO 4217 decimals."""
        return format_money(money, self.locale)

    def date(self, d: date) -> str:
        """A date in the locale's long form (``2 March 2026``, ``2026年3月2日``)."""
        from babel.dates import format_date

        return str(format_date(d, "long", locale=self.locale))

    def period(self, p: Period) -> str:
        """A half-open service period shown with its last day (``[1 Mar, 1 Apr)`` is
        ``1 - 31 Mar``): a client reads the days of service, not the boundary."""
        from babel.dates import format_interval

        last = p.end - timedelta(days=1)
        if last <= p.start:
            return self.date(p.start)
        return str(format_interval(p.start, last, "yMMMd", locale=self.locale))

    def number(self, n: int) -> str:
        """A whole number with the locale's grouping."""
        from babel.numbers import format_decimal

        return str(format_decimal(n, locale=self.locale))

    def percent(self, rate: Decimal) -> str:
        """A rate (``Decimal('0.075')``) as a percentage with every digit it has (``7.5%``)."""
        from babel.numbers import format_percent

        return str(format_percent(rate, locale=self.locale, decimal_quantization=False))

    def css_string(self, key: str, **values: str) -> str:
        """A message as a CSS ``content`` value, its placeholders replaced by CSS
        (``counter(page)``): ``"Page " counter(page) " of " counter(pages)``."""
        text = WORDS[self.lang][key]
        out: list[str] = []
        rest = text
        while "{" in rest:
            head, _, tail = rest.partition("{")
            name, _, rest = tail.partition("}")
            if head:
                out.append(_css_quoted(head))
            out.append(values[name])
        if rest:
            out.append(_css_quoted(rest))
        return " ".join(out)


def _css_quoted(text: str) -> str:
    """``text`` as a CSS string: quotes, backslashes and ``<`` (no ``</style>``) escaped."""
    escaped = "".join(c if c.isalnum() or c in " .,:;/()-" else f"\\{ord(c):x} " for c in text)
    return f'"{escaped}"'


def words_for(locale: Any) -> Words:
    """The :class:`Words` of ``locale`` (``'de_DE'`` or ``'de-DE'``).

    A locale babel does not know, or one whose language the catalogue has
    no words for, raises :class:`~milestonebill.errors.ValidationError`.
    """
    from babel import Locale, UnknownLocaleError

    expected = f"a locale such as 'en_US' in one of the languages {', '.join(LANGUAGES)}"
    if not isinstance(locale, str) or not locale.strip():
        raise ValidationError("locale", expected, locale)
    try:
        parsed = Locale.parse(locale.strip().replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        raise ValidationError("locale", expected, locale) from None
    if parsed.language not in LANGUAGES:
        raise ValidationError("locale", expected, locale)
    return Words(str(parsed), parsed.language)


"""What an error that stopped one agreement is called in summaries and the outbox.

Private to :mod:`milestonebill.engine`.  The text of an arbitrary exception
goes to the host (run summaries, ``agreement.parked`` notifications, the
store), so it is made safe first: API keys, signing secrets, bearer tokens
and anything that looks like a card number are masked, lone surrogates
(which no database encodes) are escaped and the length is bounded.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_MESSAGE", "describe", "redact"]

#: The longest message kept (characters); the rest is cut and marked.
MAX_MESSAGE: Final = 1000

# Stripe-style secret and restricted keys, webhook secrets, bearer tokens.
_SECRETS: Final = re.compile(
    r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]+|\bwhsec_[0-9A-Za-z_]+|(?i:bearer)\s+\S+")
# 13 to 19 digits, each pair possibly split by one non-alphanumeric character
# (space, no-break space, dash, dot, underscore, slash...); masked when the
# digits pass the Luhn check, as every card number does.
_CARD: Final = re.compile(r"(?<![0-9])[0-9](?:[^0-9A-Za-z]?[0-9]){12,18}(?![0-9])")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_card(m: re.Match[str]) -> str:
    digits = "".join(ch for ch in m.group() if ch.isdigit())
    return "[card number]" if _luhn(digits) else m.group()


def redact(text: str) -> str:
    """``text`` with secrets and card-like numbers masked, lone surrogates
    escaped, and at most :data:`MAX_MESSAGE` characters.

    >>> redact("key sk_live_abc123 declined card 4242 4242 4242 4242 at 2026-03-02")
    'key *** declined card [card number] at 2026-03-02'
    >>> redact("from 2026-03-02/2026-04-02")
    'from 2026-03-02/2026-04-02'
    """
    text = _SECRETS.sub("***", text)
    text = _CARD.sub(_mask_card, text)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE - 1] + "…"
    return text


def describe(exc: BaseException) -> tuple[str, str]:
    """``(type name, safe message)`` for an exception, even one whose ``str`` fails.

    >>> describe(OverflowError("date value out of range"))
    ('OverflowError', 'date value out of range')
    """
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not stop the run that reports it
        text = f"<{type(exc).__name__} whose message cannot be shown>"
    return type(exc).__name__, redact(text) or type(exc).__name__

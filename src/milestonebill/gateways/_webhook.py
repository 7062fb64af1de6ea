"""Reading a verified webhook body: the JSON and each field, or a typed error.

Private to :mod:`milestonebill.gateways`.  A body is outside input even when
its signature is right (a leaked secret, a bug at the sender, a proxy that
re-encodes), so it is read defensively: UTF-8 only, a JSON object only,
nesting bounded before the parser recurses, and every field checked for
its type.  Anything else raises
:class:`~milestonebill.errors.WebhookPayloadError` naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from milestonebill.errors import ValidationError, WebhookPayloadError
from milestonebill.gateways._signing import MAX_TIMESTAMP
from milestonebill.money import Money

__all__ = ["MAX_DEPTH", "integer", "load_object", "money", "optional_text", "subobject",
           "text", "unix_time"]

#: How deeply arrays and objects may nest in a webhook body.
MAX_DEPTH: Final = 64
_SPECIAL: Final = re.compile(r'["\\\[\]{}]')


def _too_deep(text: str) -> bool:
    """True when brackets outside strings nest deeper than :data:`MAX_DEPTH`.

    One pass over the characters that matter, so a hostile body costs
    linear time before the (recursive) parser sees it.
    """
    depth = 0
    in_string = False
    escaped = -1  # the position a backslash escapes
    for m in _SPECIAL.finditer(text):
        i, ch = m.start(), m.group()
        if in_string:
            if i == escaped:
                continue
            if ch == "\\":
                escaped = i + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_object(payload: bytes) -> dict[str, Any]:
    """The body as a JSON object."""
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookPayloadError("payload", "UTF-8 text",
                                  f"a byte that is not UTF-8 at offset {exc.start}") from None
    if _too_deep(text):
        raise WebhookPayloadError("payload", f"JSON nested at most {MAX_DEPTH} levels deep",
                                  "deeper nesting")
    try:
        body = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise WebhookPayloadError("payload", "JSON", f"invalid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise WebhookPayloadError("payload", "a JSON object", type(body).__name__)
    return body


def _find(obj: Mapping[str, Any], key: str, field: str) -> Any:
    if key not in obj:
        raise WebhookPayloadError(field, "present", "nothing")
    return obj[key]


def subobject(obj: Mapping[str, Any], key: str, field: str) -> Mapping[str, Any]:
    """``obj[key]``, which must be a JSON object."""
    value = _find(obj, key, field)
    if not isinstance(value, Mapping):
        raise WebhookPayloadError(field, "a JSON object", type(value).__name__)
    return value


def text(obj: Mapping[str, Any], key: str, field: str) -> str:
    """``obj[key]``, which must be a non-empty string."""
    value = _find(obj, key, field)
    if not isinstance(value, str) or not value:
        raise WebhookPayloadError(field, "a non-empty string", _shown(value))
    return value


def optional_text(obj: Mapping[str, Any], key: str, field: str) -> str | None:
    """``obj[key]`` when present and not null, which must then be a string."""
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise WebhookPayloadError(field, "a string or null", _shown(value))
    return value


def integer(value: Any, field: str, *, at_least: int = 0) -> int:
    """``value``, which must be a JSON integer (not a boolean) of at least ``at_least``."""
    if type(value) is not int or value < at_least:
        raise WebhookPayloadError(field, f"an integer of at least {at_least}", _shown(value))
    return value


def unix_time(value: Any, field: str) -> datetime:
    """Seconds since 1970 (a JSON integer up to the year 9999) as an aware UTC datetime."""
    if type(value) is not int or not 0 <= value <= MAX_TIMESTAMP:
        raise WebhookPayloadError(field, "whole seconds since 1970 up to the year 9999",
                                  _shown(value))
    return datetime.fromtimestamp(value, tz=UTC)


def money(value: Any, field: str) -> Money | None:
    """The ``{"amount", "currency"}`` form of :meth:`Money.to_json`, or null."""
    if value is None:
        return None
    try:
        return Money.from_json(value, field)
    except ValidationError as exc:
        raise WebhookPayloadError(exc.field, exc.expected, exc.value) from None
    except (TypeError, ValueError, ArithmeticError, KeyError):
        raise WebhookPayloadError(field, "an amount and a currency", _shown(value)) from None


def _shown(value: Any) -> Any:
    # Enough to say what was wrong; a container is named, not printed, and a
    # long string is cut.
    if isinstance(value, Mapping | list):
        return type(value).__name__
    if isinstance(value, str) and len(value) > 80:
        return value[:80] + "…"
    return value

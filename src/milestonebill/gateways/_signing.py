"""Webhook signatures in the ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` scheme.

The signed message is ``b"<t>." + payload``.  Stripe uses this scheme and
the in-memory gateway reuses it, so both are verified by the same code.
Verification takes ``now`` as an argument (no clock inside), compares in
constant time and refuses timestamps outside the tolerance window, which
defeats replays of an old, genuinely signed payload.  Every malformed
header -- bytes instead of text, no timestamp or several, a timestamp past
the year 9999, a non-ASCII signature -- is a typed error, never a crash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Final

from milestonebill._validate import utc_datetime
from milestonebill.errors import ValidationError, WebhookSignatureError

__all__ = ["MAX_TIMESTAMP", "sign", "verify"]


#: The latest signing time a header may carry: 9999-12-31T23:59:59Z.
MAX_TIMESTAMP: Final = 253_402_300_799
_DIGITS: Final = re.compile(r"[0-9]{1,12}")


def _require_aware(field: str, value: datetime) -> None:
    utc_datetime(value, field)


def _mac(secret: str, timestamp: str, payload: bytes) -> bytes:
    message = timestamp.encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest().encode("ascii")


def _matches(expected: bytes, candidate: str) -> bool:
    # Compared as bytes, so a non-ASCII candidate is simply a mismatch (comparing
    # str needs ASCII on both sides); still constant time for equal lengths.
    return hmac.compare_digest(expected, candidate.encode("utf-8", "surrogatepass"))


def sign(secret: str, payload: bytes, at: datetime) -> str:
    """The signature header for ``payload`` signed at ``at``."""
    _require_aware("at", at)
    timestamp = str(int(at.timestamp()))
    return f"t={timestamp},v1={_mac(secret, timestamp, payload).decode('ascii')}"


def _parts(header: object) -> tuple[str, list[str]]:
    """The one timestamp and the ``v1`` signatures of a header."""
    if header is None:
        header = ""
    if not isinstance(header, str):
        raise ValidationError("signature_header", "the header's value as text (str)",
                              type(header).__name__)
    timestamps: list[str] = []
    candidates: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            candidates.append(value)
    if len(timestamps) != 1 or not candidates:
        raise WebhookSignatureError(
            "signature header must carry one timestamp and a v1 signature "
            f"(got {len(timestamps)} timestamps, {len(candidates)} signatures)")
    raw = timestamps[0]
    if not _DIGITS.fullmatch(raw) or int(raw) > MAX_TIMESTAMP:
        raise WebhookSignatureError("signature header has a malformed timestamp")
    return raw, candidates


def verify(
    secret: str, payload: bytes, header: str, now: datetime, tolerance: timedelta
) -> datetime:
    """Check ``header`` for ``payload``; return the signed time (UTC).

    Raises :class:`~milestonebill.errors.WebhookSignatureError` when the header is malformed (no
    timestamp, several, one that is not whole seconds since 1970 up to the
    year 9999), no ``v1`` signature matches, or the timestamp is further than
    ``tolerance`` from ``now``; :class:`~milestonebill.errors.ValidationError` when ``payload`` is
    not bytes or ``header`` not text.
    """
    _require_aware("now", now)
    if not isinstance(payload, bytes | bytearray):
        raise ValidationError("payload", "the raw request body as bytes", type(payload).__name__)
    raw, candidates = _parts(header)
    expected = _mac(secret, raw, bytes(payload))
    # Every candidate is compared (no early exit), so timing does not say which matched.
    matched = [_matches(expected, c) for c in candidates]
    if not any(matched):
        raise WebhookSignatureError("no signature matches the payload")
    signed_at = datetime.fromtimestamp(int(raw), tz=UTC)
    if abs(now - signed_at) > tolerance:
        raise WebhookSignatureError(
            f"signature timestamp {signed_at.isoformat()} is outside the tolerance of "
            f"{int(tolerance.total_seconds())}s around {now.astimezone(UTC).isoformat()}"
        )
    return signed_at

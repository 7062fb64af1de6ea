"""Webhook signatures in the ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` scheme.

The signed message is ``b"<t>." + payload``.  Stripe uses this scheme and
the in-memory gateway reuses it, so both are verified by the same code.
Verification takes ``now`` as an argument (no clock inside), compares in
constant time and refuses timestamps outside the tolerance window, which
defeats replays of an old, genuinely signed payload.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from milestonebill._validate import utc_datetime
from milestonebill.errors import ValidationError, WebhookSignatureError

__all__ = ["sign", "verify"]


def _require_aware(field: str, value: datetime) -> None:
    utc_datetime(value, field)


def _mac(secret: str, timestamp: int, payload: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, payload: bytes, at: datetime) -> str:
    """The signature header for ``payload`` signed at ``at``."""
    _require_aware("at", at)
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={_mac(secret, timestamp, payload)}"


def verify(
    secret: str, payload: bytes, header: str, now: datetime, tolerance: timedelta
) -> datetime:
    """Check ``header`` for ``payload``; return the signed time (UTC).

    Raises :class:`WebhookSignatureError` when the header is malformed, no
    ``v1`` signature matches, or the timestamp is further than
    ``tolerance`` from ``now``.
    """
    _require_aware("now", now)
    if not isinstance(payload, bytes | bytearray):
        raise ValidationError("payload", "the raw request body as bytes", type(payload).__name__)
    timestamp: int | None = None
    candidates: list[str] = []
    for part in (header or "").split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookSignatureError("signature header has a malformed timestamp") from None
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookSignatureError("signature header lacks a timestamp or a v1 signature")
    expected = _mac(secret, timestamp, bytes(payload))
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookSignatureError("no signature matches the payload")
    signed_at = datetime.fromtimestamp(timestamp, tz=UTC)
    if abs(now - signed_at) > tolerance:
        raise WebhookSignatureError(
            f"signature timestamp {signed_at.isoformat()} is outside the tolerance of "
            f"{int(tolerance.total_seconds())}s around {now.astimezone(UTC).isoformat()}"
        )
    return signed_at

"""The signature checks the practice-management receivers share (private).

Two schemes, both HMAC-SHA256 compared in constant time:

* **timestamped** -- our own, for a tool or relay that signs the way we
  document: the header is ``t=<unix seconds>,v1=<hex>``, the digest of
  ``b"<t>." + body``; the time is signed with the body, so a delivery
  replayed outside the tolerance is refused;
* **body** -- the hex digest of the raw body alone (optionally written
  ``sha256=<hex>``), as Karbon signs; the replay window is then the
  receiver's, read from a time the signed body carries.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from milestonebill._validate import utc_datetime
from milestonebill.errors import ValidationError, WebhookSignatureError

__all__ = ["body_signature", "check_payload", "check_secret", "check_tolerance", "signed_at",
           "timestamped_signature", "verify_body", "within"]


def check_secret(secret: object, field: str = "secret") -> str:
    """The shared secret, never shown in an error."""
    if not isinstance(secret, str) or not secret:
        raise ValidationError(field, "the non-empty shared secret", "[hidden]")
    return secret


def check_payload(payload: object) -> bytes:
    """The raw request body."""
    if not isinstance(payload, bytes | bytearray):
        raise ValidationError("payload", "the raw request body as bytes", type(payload).__name__)
    return bytes(payload)


def check_tolerance(tolerance: object) -> timedelta:
    """A positive replay window."""
    if not isinstance(tolerance, timedelta) or tolerance <= timedelta(0):
        raise ValidationError("tolerance", "a positive timedelta", tolerance)
    return tolerance


def _mac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _timestamped(secret: str, timestamp: int, payload: bytes) -> str:
    return _mac(secret, str(timestamp).encode("ascii") + b"." + payload)


def timestamped_signature(payload: bytes, *, secret: str, at: datetime) -> str:
    """The ``t=<unix seconds>,v1=<hex>`` header value for ``payload`` sent at ``at``."""
    timestamp = int(utc_datetime(at, "at").timestamp())
    return f"t={timestamp},v1={_timestamped(check_secret(secret), timestamp, check_payload(payload))}"


def signed_at(payload: bytes, header: object, *, secret: str, header_name: str,
              what: str) -> datetime:
    """When a timestamped signature says ``payload`` was signed, once it matches."""
    timestamp: int | None = None
    candidates: list[str] = []
    text = header if isinstance(header, str) else ""
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if name == "t" and sep and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1" and sep:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookSignatureError(f"the {header_name} header needs t=<unix seconds> "
                                    "and v1=<hex HMAC-SHA256>")
    expected = _timestamped(secret, timestamp, payload)
    if not any(hmac.compare_digest(expected.encode(), c.encode("utf-8", "replace"))
               for c in candidates):
        raise WebhookSignatureError(f"no signature matches the {what}")
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise WebhookSignatureError(f"the {header_name} header's time is out of range") from None


def within(moment: datetime, now: datetime, tolerance: timedelta) -> None:
    """Refuse a signed time further than ``tolerance`` from ``now``."""
    if abs(utc_datetime(now, "now") - moment) > tolerance:
        raise WebhookSignatureError(
            f"the delivery was signed at {moment.isoformat()}, outside the tolerance of "
            f"{int(tolerance.total_seconds())}s")


def body_signature(payload: bytes, *, secret: str) -> str:
    """The hex HMAC-SHA256 of the raw body."""
    return _mac(check_secret(secret), check_payload(payload))


def verify_body(payload: bytes, header: object, *, secret: str, header_name: str,
                what: str) -> None:
    """Refuse ``payload`` unless ``header`` is its hex HMAC-SHA256 (``sha256=`` optional)."""
    text = header.strip() if isinstance(header, str) else ""
    if text[:7].lower() == "sha256=":
        text = text[7:]
    if not text:
        raise WebhookSignatureError(f"the {header_name} header is missing")
    expected = _mac(secret, payload)
    if not hmac.compare_digest(expected.encode(), text.lower().encode("utf-8", "replace")):
        raise WebhookSignatureError(f"no signature matches the {what}")

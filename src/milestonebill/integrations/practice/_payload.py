"""Reading a vendor's JSON body field by field (private).

Every problem is a :class:`~milestonebill.errors.WebhookPayloadError` (a
``ValidationError``) naming the field by its path in the body, so a sender
is answered 400 with what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from milestonebill._json import parse_json_object
from milestonebill._validate import check_id, check_text, decimal_from_text
from milestonebill.errors import ValidationError, WebhookPayloadError

__all__ = ["Fields"]


class Fields:
    """One JSON object of a payload, read with the path of each field in errors."""

    def __init__(self, data: object, path: str = "") -> None:
        if isinstance(data, bytes | bytearray | str):
            try:
                data = parse_json_object(bytes(data) if isinstance(data, bytearray) else data,
                                         path or "payload")
            except ValidationError as exc:
                raise WebhookPayloadError(exc.field, exc.expected, exc.value) from None
        if not isinstance(data, Mapping):
            raise WebhookPayloadError(path or "payload", "a JSON object", data)
        self.data: Mapping[str, Any] = data
        self.path = path

    def name(self, key: str) -> str:
        """The path of a field."""
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.data or self.data[key] is None:
            if required:
                raise WebhookPayloadError(self.name(key), "present", None)
            return None
        return self.data[key]

    def id(self, key: str, *, required: bool = True) -> str | None:
        """An id (non-empty text without control characters)."""
        value = self._get(key, required)
        if value is None:
            return None
        try:
            return check_id(self.name(key), value)
        except ValidationError as exc:
            raise WebhookPayloadError(exc.field, exc.expected, exc.value) from None

    def req_id(self, key: str) -> str:
        """A required id."""
        value = self.id(key)
        assert value is not None
        return value

    def text(self, key: str, default: str = "") -> str:
        """Free text (``default`` when absent)."""
        value = self._get(key, False)
        if value is None:
            return default
        try:
            return check_text(self.name(key), value)
        except ValidationError as exc:
            raise WebhookPayloadError(exc.field, exc.expected, exc.value) from None

    def moment(self, key: str) -> datetime:
        """An ISO 8601 date and time with an offset (``Z`` allowed), in UTC."""
        value = self._get(key, True)
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None or moment.utcoffset() is None:
            raise WebhookPayloadError(self.name(key), "an ISO 8601 time with its offset, such "
                                      "as '2026-03-02T08:55:00Z'", value)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise WebhookPayloadError(self.name(key), "a time within years 1..9999",
                                      value) from None

    def day(self, key: str) -> date:
        """An ISO date (a date and time is read as its date in UTC)."""
        value = self._get(key, True)
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        return self.moment(key).date()

    def whole(self, key: str, *, at_least: int = 0, at_most: int = 10**9) -> int:
        """A whole number within bounds."""
        value = self._get(key, True)
        if isinstance(value, bool) or not isinstance(value, int) \
                or not at_least <= value <= at_most:
            raise WebhookPayloadError(self.name(key), f"a whole number from {at_least} to "
                                      f"{at_most}", value)
        return value

    def number(self, key: str, *, required: bool = True) -> Decimal | None:
        """An exact number (JSON numbers with a fraction are read exactly)."""
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise WebhookPayloadError(self.name(key), "a number", value)
        if isinstance(value, str):
            try:
                return decimal_from_text(self.name(key), value, WebhookPayloadError)
            except ValidationError as exc:
                raise WebhookPayloadError(exc.field, exc.expected, exc.value) from None
        return Decimal(value)

    def flag(self, key: str, default: bool) -> bool:
        """A JSON boolean (``default`` when absent)."""
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise WebhookPayloadError(self.name(key), "true or false", value)
        return value

    def objects(self, key: str) -> list[Fields]:
        """A list of JSON objects (absent: empty)."""
        value = self._get(key, False)
        if value is None:
            return []
        if not isinstance(value, list):
            raise WebhookPayloadError(self.name(key), "a list of objects", value)
        return [Fields(v, f"{self.name(key)}[{i}]") for i, v in enumerate(value)]

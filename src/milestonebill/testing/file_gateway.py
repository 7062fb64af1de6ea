"""``FileGateway``: a payment gateway whose memory is a JSON file.

A real gateway outlives the process that calls it: if a worker dies right
after a charge, the money has moved and the gateway remembers the key.
:class:`FileGateway` gives tests that property.  Every call locks the file
(``fcntl.flock``), reads it, acts, and writes it back atomically before
returning, so several processes can share one and a killed process loses
nothing the gateway already did.  Repeated idempotency keys replay the first
result; :attr:`FileGateway.charges` lists the charges that moved money.

POSIX only (it uses ``fcntl``); for tests, not production.

>>> import tempfile, pathlib
>>> from milestonebill.gateways.base import ChargeRequest, CustomerId, PaymentMethodId
>>> from milestonebill.money import Money
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = pathlib.Path(tmp) / "gateway.json"
...     req = ChargeRequest("agr-1", "inv-1", 1, Money("10.00", "EUR"), CustomerId("c"),
...                         PaymentMethodId("pm"))
...     first = FileGateway(path).charge(req)
...     again = FileGateway(path).charge(req)  # another process, same key
...     print(first == again, len(FileGateway(path).charges), FileGateway(path).calls)
True 1 2
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from milestonebill.errors import GatewayError, IdempotencyError
from milestonebill.gateways.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CustomerId,
    CustomerRef,
    CustomerRequest,
    GatewayEvent,
    PaymentMethodId,
    RefundRequest,
    RefundResult,
    RefundStatus,
    SavedPaymentMethod,
    SetupRequest,
    SetupResult,
    SetupStatus,
    is_hard_decline,
)
from milestonebill.money import Money

__all__ = ["FileGateway"]


def _result_json(r: ChargeResult) -> dict[str, Any]:
    return {"status": r.status.value, "amount": r.amount.to_json(), "key": r.idempotency_key,
            "gateway_ref": r.gateway_ref, "decline_code": r.decline_code,
            "decline_hard": r.decline_hard, "message": r.message}


def _result(d: dict[str, Any]) -> ChargeResult:
    return ChargeResult(status=ChargeStatus(d["status"]), amount=Money.from_json(d["amount"]),
                        idempotency_key=d["key"], gateway_ref=d["gateway_ref"],
                        decline_code=d["decline_code"], decline_hard=d["decline_hard"],
                        message=d["message"])


class FileGateway:
    """A :class:`~milestonebill.gateways.base.PaymentGateway` kept in one JSON file.

    Charges succeed unless a payment method is scripted to decline with
    :meth:`decline_payment_method`.  Refunds of succeeded charges succeed.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state: dict[str, Any] = (json.loads(self.path.read_text())
                                         if self.path.exists() else {})
                for k in ("keys", "refunds", "declines"):
                    state.setdefault(k, {})
                state.setdefault("charges", [])
                state.setdefault("calls", 0)
                yield state
                tmp = self.path.with_name(self.path.name + ".tmp")
                tmp.write_text(json.dumps(state, sort_keys=True))
                os.replace(tmp, self.path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # ------------------------------------------------------------ inspection

    @property
    def charges(self) -> list[dict[str, Any]]:
        """Charges that moved money: key, agreement, invoice, attempt, amount, ref."""
        with self._state() as s:
            return list(s["charges"])

    @property
    def calls(self) -> int:
        """Charge and refund calls made, replays included."""
        with self._state() as s:
            return int(s["calls"])

    def decline_payment_method(self, payment_method_id: str, code: str) -> None:
        """Every new charge to ``payment_method_id`` is declined with ``code``."""
        with self._state() as s:
            s["declines"][payment_method_id] = code

    # ------------------------------------------------------------ the port

    def create_customer(self, request: CustomerRequest) -> CustomerRef:
        """A customer whose id is derived from the reference."""
        return CustomerRef(CustomerId(f"cus_file_{request.reference}"), request.reference)

    def save_payment_method(self, request: SetupRequest) -> SetupResult:
        """Save the token as a payment method of the same name."""
        saved = SavedPaymentMethod(PaymentMethodId(request.payment_method_token),
                                   request.customer_id, request.kind)
        return SetupResult(SetupStatus.SUCCEEDED, f"seti_{request.idempotency_key}", saved)

    def detach_payment_method(self, payment_method_id: PaymentMethodId, *,
                              idempotency_key: str) -> None:
        """Nothing to do: this gateway keeps no payment methods."""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge once per key; a repeated key replays the first result.

        Raises :class:`~milestonebill.errors.IdempotencyError` when a key is
        reused with a different amount.
        """
        key = request.idempotency_key
        with self._state() as s:
            s["calls"] += 1
            old = s["keys"].get(key)
            if old is not None:
                if old["amount"] != request.amount.to_json():
                    raise IdempotencyError(key, "reused with a different amount")
                return _result(old)
            n = len(s["keys"]) + 1
            ref = f"pi_file_{n:05d}"
            code = s["declines"].get(request.payment_method_id)
            if code is None:
                result = ChargeResult(ChargeStatus.SUCCEEDED, request.amount, key, ref)
                s["charges"].append({"key": key, "agreement_id": request.agreement_id,
                                     "invoice_id": request.invoice_id,
                                     "attempt": request.attempt,
                                     "amount": request.amount.to_json(), "gateway_ref": ref})
            else:
                result = ChargeResult(ChargeStatus.DECLINED, request.amount, key, ref,
                                      decline_code=code, decline_hard=is_hard_decline(code),
                                      message="declined")
            s["keys"][key] = _result_json(result)
            return result

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refund a succeeded charge once per key.

        Raises :class:`~milestonebill.errors.GatewayError` for a payment this
        gateway never made.
        """
        key = request.idempotency_key
        with self._state() as s:
            s["calls"] += 1
            old = s["refunds"].get(key)
            if old is None:
                charge = next((c for c in s["charges"]
                               if c["gateway_ref"] == request.gateway_ref), None)
                if charge is None:
                    raise GatewayError(f"no such payment {request.gateway_ref!r}")
                amount = request.amount or Money.from_json(charge["amount"])
                old = {"amount": amount.to_json(), "ref": f"re_file_{len(s['refunds']) + 1:05d}"}
                s["refunds"][key] = old
            return RefundResult(RefundStatus.SUCCEEDED, Money.from_json(old["amount"]), key,
                                old["ref"])

    def parse_webhook(self, payload: bytes, signature_header: str,
                      now: datetime) -> GatewayEvent | None:
        """This gateway sends no webhooks."""
        return None

"""Where the service keeps its books and takes its payments: read from the environment.

====================================  ====================================================
``MILESTONEBILL_DB``                  the SQLite file (one process), or
``MILESTONEBILL_DSN``                 a PostgreSQL connection string (many processes);
                                      exactly one of the two
``MILESTONEBILL_PG_SCHEMA``           the PostgreSQL schema (default ``milestonebill``)
``MILESTONEBILL_FIRM``                the firm's id: its invoice number sequence (required)
``MILESTONEBILL_GATEWAY``             ``memory`` (default; for trying it out) or ``stripe``
``STRIPE_API_KEY``                    Stripe's secret key (with ``stripe``), and
``STRIPE_WEBHOOK_SECRET``             the signing secret of Stripe's webhook endpoint
``MILESTONEBILL_PM_SECRET``           the generic practice-management webhook's shared
                                      secret (``/webhooks/practice`` answers 404 without)
``MILESTONEBILL_PM_LINKS``            a JSON file linking work-item ids to milestones
``MILESTONEBILL_KARBON_SIGNING_KEY``  the ``SigningKey`` of the Karbon webhook subscription
                                      (``/webhooks/karbon`` answers 404 without one), with
``MILESTONEBILL_KARBON_TOKEN``        Karbon's API bearer token and
``MILESTONEBILL_KARBON_ACCESS_KEY``   the firm's access key (to fetch the work item)
``MILESTONEBILL_KEEPER_SECRET``       the secret the Keeper relay (Zapier) signs with
                                      (``/webhooks/keeper`` answers 404 without one)
====================================  ====================================================

A missing or contradictory setting is refused with the variable's name;
no secret is ever printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs

from milestonebill.clock import Clock, SystemClock
from milestonebill.engine import Biller, FirmId
from milestonebill.errors import MilestonebillError, ValidationError
from milestonebill.gateways.base import PaymentGateway
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.integrations.practice import WorkItemLinks
from milestonebill.stores.base import BillingStore
from milestonebill.stores.sqlite import SQLiteStore

#: Fetches a Karbon work item's JSON by its key.
KarbonReader = Callable[[str], bytes]


@attrs.define
class Service:
    """What the HTTP handlers act through: the Biller and the ports behind it."""

    biller: Biller
    store: BillingStore
    gateway: PaymentGateway
    clock: Clock
    pm_secret: str | None = None
    pm_links: WorkItemLinks = attrs.Factory(WorkItemLinks)
    karbon_signing_key: str | None = None
    karbon_reader: KarbonReader | None = None
    keeper_secret: str | None = None

    def close(self) -> None:
        """Close the store (its file or its connection pool) and the Karbon client."""
        for part in (self.store, getattr(self.karbon_reader, "__self__", None)):
            close = getattr(part, "close", None)
            if close is not None:
                close()


def _env(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name, "").strip() or None


def _store(environ: Mapping[str, str], clock: Clock) -> BillingStore:
    db, dsn = _env(environ, "MILESTONEBILL_DB"), _env(environ, "MILESTONEBILL_DSN")
    if db is None and dsn is None:
        raise ValidationError("MILESTONEBILL_DB", "a SQLite file path (or MILESTONEBILL_DSN "
                              "for PostgreSQL)", None)
    if db is not None and dsn is not None:
        raise ValidationError("MILESTONEBILL_DSN", "unset when MILESTONEBILL_DB is set: "
                              "choose one store", "[set]")
    if db is not None:
        return SQLiteStore(db, clock=clock)
    from milestonebill.stores.postgres import PostgresStore

    return PostgresStore(dsn or "", clock=clock,
                         schema=_env(environ, "MILESTONEBILL_PG_SCHEMA") or "milestonebill")


def _gateway(environ: Mapping[str, str], clock: Clock) -> PaymentGateway:
    kind = _env(environ, "MILESTONEBILL_GATEWAY") or "memory"
    if kind == "memory":
        return InMemoryGateway(clock=clock)
    if kind != "stripe":
        raise ValidationError("MILESTONEBILL_GATEWAY", "memory or stripe", kind)
    from milestonebill.gateways.stripe import StripeGateway

    return StripeGateway(environ=environ)


def _links(environ: Mapping[str, str]) -> WorkItemLinks:
    path = _env(environ, "MILESTONEBILL_PM_LINKS")
    if path is None:
        return WorkItemLinks()
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError("MILESTONEBILL_PM_LINKS", "a readable JSON file of links",
                              f"{path}: {exc}") from None
    return WorkItemLinks.from_json(data)


def _karbon(environ: Mapping[str, str]) -> tuple[str | None, KarbonReader | None]:
    key = _env(environ, "MILESTONEBILL_KARBON_SIGNING_KEY")
    if key is None:
        return None, None
    token = _env(environ, "MILESTONEBILL_KARBON_TOKEN")
    access = _env(environ, "MILESTONEBILL_KARBON_ACCESS_KEY")
    for name, value in (("MILESTONEBILL_KARBON_TOKEN", token),
                        ("MILESTONEBILL_KARBON_ACCESS_KEY", access)):
        if value is None:
            raise ValidationError(name, "set with MILESTONEBILL_KARBON_SIGNING_KEY (the work "
                                  "item a notification names is fetched from Karbon)", None)
    from examples.service.karbon import KarbonApi

    return key, KarbonApi(token or "", access or "").work_item


def service_from_env(environ: Mapping[str, str], *, clock: Clock | None = None) -> Service:
    """The :class:`Service` the environment describes (see the module docs)."""
    clock = clock or SystemClock()
    firm = _env(environ, "MILESTONEBILL_FIRM")
    if firm is None:
        raise ValidationError("MILESTONEBILL_FIRM", "the firm's id (its invoice numbers)", None)
    links = _links(environ)
    karbon_key, karbon_reader = _karbon(environ)
    gateway = _gateway(environ, clock)
    store = _store(environ, clock)
    try:
        biller = Biller(store, gateway, clock=clock, firm_id=FirmId(firm))
    except MilestonebillError:
        getattr(store, "close", lambda: None)()
        raise
    return Service(biller, store, gateway, clock, _env(environ, "MILESTONEBILL_PM_SECRET"), links,
                   karbon_key, karbon_reader, _env(environ, "MILESTONEBILL_KEEPER_SECRET"))

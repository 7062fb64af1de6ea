"""The global options of ``milestonebill`` and the environment variables behind them.

Global options come before the subcommand (``milestonebill --db b.db run
--as-of 2025-03-31``).  An option given on the command line wins over its
environment variable; an empty variable counts as unset.

* ``--db PATH`` (``MILESTONEBILL_DB``): the SQLite store file; default
  ``./milestonebill.db`` when neither ``--db`` nor ``--dsn`` (nor their
  variables) is given;
* ``--dsn URL`` (``MILESTONEBILL_DSN``): PostgreSQL instead of SQLite, with
  ``--schema NAME`` (``MILESTONEBILL_PG_SCHEMA``, default ``milestonebill``)
  and ``--connect-timeout SECONDS`` (default 10);
* ``--firm ID`` (``MILESTONEBILL_FIRM``): the firm's invoice number
  sequence; no default: commands that issue invoices require it;
* ``--tenant ID`` (``MILESTONEBILL_TENANT``, default ``default``): the
  tenant whose data the command reads and writes, on a store shared by
  many firms (``docs/tenancy.md``);
* ``--gateway memory|stripe`` (``MILESTONEBILL_GATEWAY``, default ``memory``);
* ``--gateway-state FILE`` (``MILESTONEBILL_GATEWAY_STATE``): the in-memory
  gateway's state; default ``PATH.gateway.json`` beside ``--db`` (for a
  tenant other than ``default``, ``PATH.TENANT.gateway.json`` with the id
  written as :func:`~milestonebill.stores.tenancy.tenant_file_stem` does:
  each firm has its own gateway); required with ``--dsn``;
* ``--json``, ``--quiet``, ``--debug``.

The Stripe key is read from ``STRIPE_API_KEY`` only (never an option, never
printed); ``STRIPE_API_BASE`` points the adapter at another server (a test
double such as localstripe).

>>> import argparse
>>> p = argparse.ArgumentParser()
>>> add_global_options(p)
>>> c = config_of(p.parse_args(["--firm", "acme"]), {"MILESTONEBILL_DB": "/srv/b.db"})
>>> c.db, c.firm, c.tenant, c.gateway, c.gateway_state
('/srv/b.db', 'acme', 'default', 'memory', '/srv/b.db.gateway.json')
>>> c = config_of(p.parse_args(["--tenant", "acme-llp"]), {"MILESTONEBILL_DB": "/srv/b.db"})
>>> c.tenant, c.gateway_state
('acme-llp', '/srv/b.db.acme-llp.gateway.json')
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from typing import Final

import attrs

from milestonebill.cli.common import UsageError, id_arg
from milestonebill.errors import ValidationError
from milestonebill.stores.tenancy import DEFAULT_TENANT, check_tenant, tenant_file_stem

__all__ = [
    "DEFAULT_DB",
    "GATEWAYS",
    "Config",
    "add_global_options",
    "config_of",
    "redacted_dsn",
    "tenant_arg",
]

#: The SQLite file used when neither ``--db``/``--dsn`` nor their variables are set.
DEFAULT_DB: Final = "milestonebill.db"
#: The gateways ``--gateway`` knows.
GATEWAYS: Final = ("memory", "stripe")
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@attrs.frozen
class Config:
    """Where the store and the gateway are, resolved from options and environment.

    Exactly one of ``db`` (an absolute SQLite path) and ``dsn`` is set.
    ``gateway_state`` is the in-memory gateway's file (``None`` for Stripe).
    """

    db: str | None
    dsn: str | None
    schema: str
    firm: str | None
    gateway: str
    gateway_state: str | None
    json: bool = False
    debug: bool = False
    quiet: bool = False
    connect_timeout: float = 10.0
    #: The tenant the store is bound to (``docs/tenancy.md``).
    tenant: str = DEFAULT_TENANT

    @property
    def store_label(self) -> str:
        """The store as it may be shown: the file, or the DSN without its password."""
        if self.db is not None:
            return self.db
        return f"{redacted_dsn(self.dsn or '')} (schema {self.schema})"


def redacted_dsn(dsn: str) -> str:
    """``dsn`` with any password replaced by ``***``.

    >>> redacted_dsn("postgresql://ann:s3cret@db.example/billing")
    'postgresql://ann:***@db.example/billing'
    >>> redacted_dsn("host=db.example password=s3cret dbname=billing")
    'host=db.example password=*** dbname=billing'
    """
    dsn = re.sub(r"(://[^:/@\s]*):[^@\s]*@", r"\1:***@", dsn)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", dsn)


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """Add the options every subcommand shares (they come before the subcommand)."""
    g = parser.add_argument_group("store and gateway (before the subcommand)")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--db", metavar="PATH",
                       help=f"SQLite store file (env MILESTONEBILL_DB; default ./{DEFAULT_DB})")
    where.add_argument("--dsn", metavar="URL",
                       help="PostgreSQL connection string instead of SQLite "
                       "(env MILESTONEBILL_DSN)")
    g.add_argument("--schema", metavar="NAME",
                   help="PostgreSQL schema holding the tables (env MILESTONEBILL_PG_SCHEMA; "
                   "default milestonebill)")
    g.add_argument("--connect-timeout", dest="connect_timeout", type=_seconds, metavar="SECONDS",
                   help="how long to keep trying to reach PostgreSQL (default 10)")
    g.add_argument("--firm", metavar="ID", type=id_arg,
                   help="the firm's invoice number sequence (env MILESTONEBILL_FIRM); "
                   "required to issue invoices")
    g.add_argument("--tenant", metavar="ID", type=tenant_arg,
                   help="the tenant (firm) whose data the command reads and writes on a "
                   f"shared store (env MILESTONEBILL_TENANT; default {DEFAULT_TENANT})")
    g.add_argument("--gateway", choices=GATEWAYS,
                   help="payment gateway (env MILESTONEBILL_GATEWAY; default memory); "
                   "stripe reads its key from STRIPE_API_KEY only")
    g.add_argument("--gateway-state", metavar="FILE", dest="gateway_state",
                   help="the in-memory gateway's state file (env MILESTONEBILL_GATEWAY_STATE; "
                   "default PATH.gateway.json beside --db; required with --dsn)")
    o = parser.add_argument_group("output")
    o.add_argument("--json", action="store_true",
                   help="machine output: JSON on standard output, errors as JSON on "
                   "standard error")
    o.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    o.add_argument("--debug", action="store_true", help="show the traceback of an error")


def tenant_arg(text: str) -> str:
    """An argparse ``type`` for a tenant id (checked as the stores check it)."""
    try:
        return check_tenant(text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(f"must be {exc.expected} (got {text!r})") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds from 0 to 3600 (got {text!r})")
    return value


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _store(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    db, dsn = getattr(args, "db", None), getattr(args, "dsn", None)
    if db is None and dsn is None:
        db, dsn = _env(environ, "MILESTONEBILL_DB"), _env(environ, "MILESTONEBILL_DSN")
        if db is not None and dsn is not None:
            raise UsageError("MILESTONEBILL_DSN", "unset when MILESTONEBILL_DB is set "
                             "(choose one store, or give --db or --dsn)", "[set]",
                             "MILESTONEBILL_DB and MILESTONEBILL_DSN are both set: choose one "
                             "store (or give --db or --dsn, which wins over both)")
    if dsn is not None:
        return None, dsn
    if db is not None and not db.strip():
        raise UsageError("--db", "a file path", db)
    return os.path.abspath(db or DEFAULT_DB), None


def config_of(args: argparse.Namespace, environ: Mapping[str, str]) -> Config:
    """The :class:`Config` the parsed ``args`` and ``environ`` describe.

    Raises :class:`~milestonebill.cli.common.UsageError` for settings in
    conflict or of the wrong form.
    """
    db, dsn = _store(args, environ)
    schema = getattr(args, "schema", None) or _env(environ, "MILESTONEBILL_PG_SCHEMA") \
        or "milestonebill"
    if not _SCHEMA.fullmatch(schema):
        raise UsageError("--schema", "a lower-case SQL identifier such as milestonebill", schema)
    firm = getattr(args, "firm", None) or _env(environ, "MILESTONEBILL_FIRM")
    if firm is not None:
        try:
            id_arg(firm)
        except argparse.ArgumentTypeError:
            raise UsageError("MILESTONEBILL_FIRM", "an id", firm) from None
    tenant = getattr(args, "tenant", None) or _env(environ, "MILESTONEBILL_TENANT") \
        or DEFAULT_TENANT
    try:
        tenant_arg(tenant)
    except argparse.ArgumentTypeError:
        raise UsageError("MILESTONEBILL_TENANT", "a tenant id", tenant) from None
    gateway = getattr(args, "gateway", None) or _env(environ, "MILESTONEBILL_GATEWAY") or "memory"
    if gateway not in GATEWAYS:
        raise UsageError("MILESTONEBILL_GATEWAY", "memory or stripe", gateway)
    state = getattr(args, "gateway_state", None) or _env(environ, "MILESTONEBILL_GATEWAY_STATE")
    if gateway == "memory":
        if state is None and db is not None:
            # One gateway per firm: tenants reuse agreement ids, so they would
            # share idempotency keys in one in-memory gateway.
            state = (f"{db}.gateway.json" if tenant == DEFAULT_TENANT
                     else f"{db}.{tenant_file_stem(tenant)}.gateway.json")
        state = None if state is None else os.path.abspath(state)
    else:
        state = None
    return Config(db, dsn, schema, firm, gateway, state, json=bool(getattr(args, "json", False)),
                  debug=bool(getattr(args, "debug", False)),
                  quiet=bool(getattr(args, "quiet", False)),
                  connect_timeout=getattr(args, "connect_timeout", None) or 10.0,
                  tenant=tenant)

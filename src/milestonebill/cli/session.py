"""Opening the store, the gateway and the Biller for one command.

* The store: the SQLite file or the PostgreSQL schema of the
  :class:`~milestonebill.cli.config.Config`.  Only ``init`` creates or
  migrates it; every other command refuses a store that is missing or whose
  schema is behind (exit status 3, "run milestonebill init").
* The gateway: ``memory`` restores an
  :class:`~milestonebill.gateways.memory.InMemoryGateway` from its state file
  (a fresh one when the file does not exist yet), holds a lock on
  ``FILE.lock`` for the whole command so two commands never lose each
  other's charges, and writes the state back -- to a temporary file, then
  ``os.replace`` -- when the command changed it, even if the command failed
  afterwards (the money moved).  ``stripe`` builds a
  :class:`~milestonebill.gateways.stripe.StripeGateway` from
  ``STRIPE_API_KEY`` (and ``STRIPE_API_BASE``).
* The tenant: with ``--tenant`` the store is bound to that tenant
  (:func:`bind_tenant`), so the command reads and writes that firm's data
  only (``docs/tenancy.md``).
* The Biller, on the system clock, as worker ``cli-<host>-<pid>``.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import IO, Any

import attrs

from milestonebill.cli.common import UsageError, error_text
from milestonebill.cli.config import Config, config_of
from milestonebill.clock import SystemClock
from milestonebill.engine import Biller
from milestonebill.errors import GatewayError, StoreError, ValidationError
from milestonebill.gateways.base import PaymentGateway
from milestonebill.gateways.memory import InMemoryGateway
from milestonebill.ids import FirmId, WorkerId
from milestonebill.stores.base import BillingStore
from milestonebill.stores.tenancy import DEFAULT_TENANT, TenantBound

__all__ = ["NO_FIRM", "Session", "StoreOpened", "bind_tenant", "config_for", "open_session",
           "open_store"]

#: The firm of a Biller that never numbers a document (reports, dry runs, records).
NO_FIRM = FirmId("no-firm-given")


@attrs.frozen
class StoreOpened:
    """A store just opened: what its schema was, and whether the file was new."""

    store: Any
    created: bool
    applied: tuple[int, ...]
    known: tuple[int, ...]


def _known(dsn: str | None) -> tuple[int, ...]:
    if dsn is None:
        from milestonebill.stores.sqlite import MIGRATIONS
    else:
        from milestonebill.stores.postgres import MIGRATIONS
    return tuple(m.version for m in MIGRATIONS)


def _open_sqlite(path: str, create: bool) -> tuple[Any, bool]:
    from milestonebill.stores.sqlite import SQLiteStore

    if os.path.isdir(path):
        raise StoreError(f"{path} is a directory, not a store file")
    exists = os.path.exists(path)
    if not exists and not create:
        raise StoreError(f"no store at {path}: run 'milestonebill init' first "
                         "(or give --db / MILESTONEBILL_DB)")
    if not exists and not os.path.isdir(os.path.dirname(path) or "."):
        raise StoreError(f"cannot create {path}: its directory does not exist")
    return SQLiteStore(path, migrations=()), not exists


def _open_postgres(config: Config) -> Any:
    try:
        from milestonebill.stores.postgres import PostgresStore
    except ImportError as exc:
        raise StoreError("PostgreSQL needs the postgres extra: "
                         "pip install 'milestonebill[postgres]'") from exc
    return PostgresStore(config.dsn or "", schema=config.schema, migrations=(),
                         connect_timeout=config.connect_timeout)


def open_store(config: Config, *, create: bool = False) -> StoreOpened:
    """Open the configured store without migrating it.

    ``create``: a missing SQLite file is created (for ``init``); otherwise a
    missing file raises :class:`~milestonebill.errors.StoreError`.
    """
    if config.db is not None:
        store, created = _open_sqlite(config.db, create)
    else:
        store, created = _open_postgres(config), False
    try:
        applied = tuple(store.applied_migrations())
    except BaseException:
        store.close()
        raise
    return StoreOpened(store, created, applied, _known(config.dsn))


def _current(opened: StoreOpened, config: Config) -> BillingStore:
    if opened.applied != opened.known:
        opened.store.close()
        if not opened.applied:
            raise StoreError(f"{config.store_label} has no milestonebill schema: "
                             "run 'milestonebill init' first")
        raise StoreError(f"{config.store_label} is at schema migration {max(opened.applied)}, "
                         f"this version needs {max(opened.known)}: run 'milestonebill init'")
    store: BillingStore = opened.store
    return store


def bind_tenant(store: BillingStore, config: Config) -> BillingStore:
    """``store`` bound to the configured tenant: a view sharing its connection
    (the caller closes ``store`` itself).  The store is opened for the
    default tenant first so that a schema behind the code gets the usual
    "run milestonebill init" answer before any tenant is registered.

    Raises :class:`~milestonebill.errors.StoreError` when ``--tenant`` names
    another tenant and the store cannot be bound to one.
    """
    if config.tenant == DEFAULT_TENANT:
        return store
    if not isinstance(store, TenantBound):
        raise StoreError(f"{config.store_label} cannot be bound to tenant {config.tenant!r}: "
                         "this store does not support tenants")
    bound: BillingStore = store.for_tenant(config.tenant)
    return bound


# ------------------------------------------------------------------ gateways


class _StateFile:
    """The in-memory gateway's state file, locked while a command runs."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock: IO[str] | None = None
        self._loaded: object = None

    def __enter__(self) -> _StateFile:
        if not os.path.isdir(os.path.dirname(self.path) or "."):
            raise GatewayError(f"gateway state {self.path}: its directory does not exist")
        try:
            import fcntl
        except ImportError:  # not POSIX: one command at a time is the user's to ensure
            return self
        self._lock = open(f"{self.path}.lock", "a+", encoding="utf-8")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.close()  # closing releases the lock

    def load(self) -> InMemoryGateway:
        """The gateway the file describes; a fresh one when there is no file yet."""
        if not os.path.exists(self.path):
            gateway = InMemoryGateway()
            self._loaded = gateway.to_state()
            return gateway
        try:
            with open(self.path, encoding="utf-8") as f:
                self._loaded = json.load(f)
            return InMemoryGateway.from_state(self._loaded)
        except UnicodeDecodeError:
            why = "not UTF-8 text"
        except ValidationError as exc:
            why = error_text(exc)
        except (ValueError, RecursionError):
            why = "not valid JSON"
        except OSError as exc:
            why = exc.strerror or str(exc)
        raise GatewayError(f"gateway state {self.path} cannot be read: {why}")

    def save(self, gateway: InMemoryGateway) -> bool:
        """Write the state when it changed (atomically); ``True`` when written."""
        state = gateway.to_state()
        if state == self._loaded:
            return False
        tmp = f"{self.path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1, ensure_ascii=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self._loaded = state
        return True


def _stripe(environ: Mapping[str, str]) -> tuple[PaymentGateway, str]:
    key = environ.get("STRIPE_API_KEY", "").strip()
    if not key:
        raise UsageError("STRIPE_API_KEY", "set in the environment for --gateway stripe",
                         None, "--gateway stripe needs the API key in the environment "
                         "variable STRIPE_API_KEY (it is never taken as an option)")
    try:
        from milestonebill.gateways.stripe import StripeGateway
    except ImportError as exc:
        raise GatewayError("--gateway stripe needs the stripe extra: "
                           "pip install 'milestonebill[stripe]'") from exc
    base = environ.get("STRIPE_API_BASE", "").strip() or None
    return StripeGateway(key, base_url=base, environ={}), key


# ------------------------------------------------------------------ the session


@attrs.define
class Session:
    """What one command works with: the store, the gateway and a Biller on them."""

    config: Config
    store: BillingStore
    gateway: PaymentGateway
    biller: Biller
    secrets: tuple[str, ...] = ()


def _secrets_holder(args: Any) -> list[str]:
    held: list[str] = getattr(args, "secrets", [])
    args.secrets = held
    return held


def config_for(args: Any) -> Config:
    """The :class:`~milestonebill.cli.config.Config` of parsed ``args`` (their
    ``environ`` attribute is the environment; default ``os.environ``)."""
    return config_of(args, getattr(args, "environ", os.environ))


@contextmanager
def open_session(args: Any, *, gateway: bool = False, firm: bool = False) -> Iterator[Session]:
    """Open the store (and, with ``gateway``, the configured gateway) for one command.

    ``firm``: the command issues documents, so ``--firm`` is required.
    Secrets (the Stripe key) are added to ``args.secrets`` so error reports
    can hide them.

    Raises :class:`~milestonebill.cli.common.UsageError` naming ``--firm`` when the command
    issues invoices without one, or ``--gateway-state`` when the in-memory gateway
    has no state file to share with a PostgreSQL store.
    """
    config = config_for(args)
    environ: Mapping[str, str] = getattr(args, "environ", os.environ)
    if firm and config.firm is None:
        raise UsageError("--firm", "the firm's invoice number sequence", None,
                         "this command issues invoices: give --firm ID (or set "
                         "MILESTONEBILL_FIRM), the name of the firm's invoice number sequence")
    with ExitStack() as stack:
        gw: PaymentGateway = InMemoryGateway()
        state: _StateFile | None = None
        memory: InMemoryGateway | None = None
        if gateway and config.gateway == "stripe":
            gw, key = _stripe(environ)
            _secrets_holder(args).append(key)
        elif gateway:
            if config.gateway_state is None:
                raise UsageError("--gateway-state", "a file for the in-memory gateway's state "
                                 "(required with --dsn)", None,
                                 "--gateway memory with --dsn needs --gateway-state FILE (or "
                                 "MILESTONEBILL_GATEWAY_STATE): where the gateway keeps its state")
            state = stack.enter_context(_StateFile(config.gateway_state))
            gw = memory = state.load()
        root = _current(open_store(config), config)
        stack.callback(root.close)  # type: ignore[attr-defined]
        store = bind_tenant(root, config)
        if state is not None and memory is not None:
            stack.callback(state.save, memory)
        biller = Biller(store, gw, clock=SystemClock(),
                        firm_id=FirmId(config.firm) if config.firm else NO_FIRM,
                        worker_id=WorkerId(f"cli-{socket.gethostname()}-{os.getpid()}"))
        yield Session(config, store, gw, biller, tuple(getattr(args, "secrets", ())))

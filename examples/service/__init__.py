"""A small billing service a firm could run: milestonebill over HTTP (Starlette).

``create_app(service)`` is the ASGI application; ``service_from_env`` builds
its :class:`Service` (a Biller on a SQLite or PostgreSQL store and an
in-memory or Stripe gateway) from environment variables.  Run it with
``python -m examples.service`` and the nightly job with
``python -m examples.service.nightly``.  ``docs/service.md`` describes every
endpoint.
"""

from examples.service.app import create_app
from examples.service.config import Service, service_from_env

__all__ = ["Service", "create_app", "service_from_env"]

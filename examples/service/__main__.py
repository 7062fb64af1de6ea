"""``python -m examples.service [--host H] [--port P]``: serve the billing service.

The store, gateway and secrets come from the environment (see
:mod:`examples.service.config`); a bad setting exits with status 2 and one
line naming the variable.  One process per SQLite file; for several
processes use PostgreSQL (``MILESTONEBILL_DSN``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvicorn

from examples.service.app import create_app
from examples.service.config import service_from_env
from milestonebill.errors import MilestonebillError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.service",
                                     description="Serve milestonebill over HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        service = service_from_env(os.environ)
    except MilestonebillError as exc:
        print(f"examples.service: {exc}", file=sys.stderr)
        return 2
    try:
        uvicorn.run(create_app(service), host=args.host, port=args.port)
    finally:
        service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

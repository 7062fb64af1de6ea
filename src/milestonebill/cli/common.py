"""What every ``milestonebill`` subcommand shares: the handler and registrar
types and the ISO date argument.

>>> date_arg("2025-01-31")
datetime.date(2025, 1, 31)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from typing import Any, TextIO

__all__ = ["Handler", "Registrar", "date_arg"]

#: Runs a parsed subcommand: from the arguments and an output stream to an exit code.
Handler = Callable[[argparse.Namespace, TextIO], int]
#: Adds one subcommand's parser to the subparsers and sets its ``handler``.
Registrar = Callable[[Any], None]


def date_arg(text: str) -> date:
    """An argparse ``type`` for ISO dates such as ``2025-01-31``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date such as 2025-01-31, got {text!r}"
        ) from None

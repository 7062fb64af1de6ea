"""``python -m examples.service.nightly [--as-of DATE]``: the nightly job, from cron.

Bills what is due (retries and amendment approvals included), finishes
unanswered charges, expires proposals and, at a month end, recognises
revenue (:func:`milestonebill.engine.nightly`), then prints what it did as
JSON.  Start it from as many processes or machines as you like: the
engine's claims give every agreement to one of them, so nothing is billed
or charged twice.  ``--as-of`` defaults to today (UTC).  Exit status: 0
done, 1 some agreements could not be finished (listed under ``problems``;
tried again the next night), 2 a bad setting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from datetime import date

from examples.service.config import service_from_env
from milestonebill.engine import nightly
from milestonebill.errors import MilestonebillError


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.service.nightly",
                                     description="Run the nightly billing job once.")
    parser.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="the day to run for (default: today, UTC)")
    args = parser.parse_args(argv)
    try:
        service = service_from_env(os.environ if environ is None else environ)
    except MilestonebillError as exc:
        print(f"nightly: {exc}", file=sys.stderr)
        return 2
    try:
        summary = nightly(service.biller, args.as_of or service.clock.today())
    finally:
        service.close()
    print(json.dumps(summary.to_json(), indent=2))
    problems = summary.run.problems + (summary.recognition.problems if summary.recognition
                                       else ())
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

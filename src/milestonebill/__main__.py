"""``python -m milestonebill``: the same as the ``milestonebill`` command."""

from milestonebill.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

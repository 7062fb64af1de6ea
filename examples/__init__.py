"""Runnable examples of hosts built on milestonebill (tested with the library)."""

"""Ways in and out of the library for the systems a firm already has.

Shell-side: these modules read files and talk to other tools; the core
never imports them.

* :mod:`milestonebill.integrations.spreadsheet` -- existing agreements
  imported from a spreadsheet export (CSV): every row checked first, every
  problem reported with its row and column;
* :mod:`milestonebill.integrations.practice` -- a practice-management tool's
  signed "work item completed" webhook completes the milestone it delivers,
  once however often it is delivered.
"""

"""Ways in and out of the library for the systems a firm already has.

Shell-side: these modules read files and talk to other tools; the core
never imports them.

* :mod:`milestonebill.integrations.spreadsheet` -- existing agreements
  imported from a spreadsheet export (CSV): every row checked first, every
  problem reported with its row and column;
* :mod:`milestonebill.integrations.practice` -- practice-management tools:
  work items linked in the store to what they deliver, Karbon's and
  Keeper's deliveries and a generic signed webhook completing milestones
  and reporting hours to date, once however often they come, and a PSA's
  time export imported as progress.
"""

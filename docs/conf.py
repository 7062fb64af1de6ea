"""Sphinx configuration for the milestonebill site (``.ci/docs`` builds it).

The concept pages stay plain Markdown read by MyST-Parser, so the same files
are the site and doctests (pytest collects ``docs/**/*.md``).  The API
reference is generated from ``__all__`` by ``_ext/apiref.py`` at build time.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE / "_ext"), str(HERE.parent / "src")]

project = "milestonebill"
author = "milestonebill developers"
copyright = "milestonebill developers"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "apiref",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_ext", "img/*.py", "**/__pycache__"]

# Markdown: heading anchors so links such as `reliability.md#amount-grammar` resolve.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# Autodoc: documented as written, in source order, with hints in the signature.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autoclass_content = "class"
python_use_unqualified_type_names = True
# Keep the 1,500 documented names out of the table of contents: the page's
# own section per module is enough, and furo would copy every entry into the
# navigation of every page (most of the build's time).
toc_object_entries = False

# Strict (-n): every reference into milestonebill must resolve -- a short
# name (``:class:`Proposal```) too, through ``apiref.by_short_name``.  Dotted
# names of the standard library and vendors, builtins and lower-case names
# cannot be checked here (the build has no network for intersphinx), so only
# those are let through.
nitpicky = True
# Private names (a ``_module`` or ``_Name`` that a hint or a base class shows)
# are not documented on purpose, so they are let through too.
nitpick_ignore_regex = [
    (r"py:.*", r"(?!milestonebill\b)\w+(\.\w+)+.*"),  # other packages' dotted names
    (r"py:.*", r"[a-z_]\w*"),  # builtins and lower-case short names
    (r"py:class", r"Figure"),  # matplotlib's, in the plot module's hints
    (r"py:.*", r"milestonebill\.(\w+\.)*_\w+.*"),
]
# A short name such as ``type`` in a hint can match two fields; that is not
# a broken reference.
suppress_warnings = ["ref.python"]

html_theme = "furo"
html_title = "milestonebill"
html_static_path: list[str] = []
html_show_sourcelink = False

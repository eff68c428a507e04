"""Sphinx configuration for the temporal-model docs.

Diagrams are generated from the transition tables at build time (docs/_ext/machines.py);
nothing in docs/generated/ is written by hand or committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

project = "temporal-model"
author = "temporal-model developers"
copyright = "2026, temporal-model developers"
extensions = ["myst_parser", "machines", "walkthrough", "simexample", "replexample"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "alabaster"
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing"]

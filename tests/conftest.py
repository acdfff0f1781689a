"""Shared by every test folder: the helper modules in tests/fixtures (the hostile PDF corpus, the fake BSrE
service) importable by their names."""

from __future__ import annotations

import sys
from pathlib import Path

FIXTURES = str(Path(__file__).resolve().parent / "fixtures")
if FIXTURES not in sys.path:
    sys.path.insert(0, FIXTURES)

"""Test-only catalog overlay for tests/workflow/test_payment.py (never on a deployed path).

A stack process started with this directory first on PYTHONPATH and `SILASTRI_TEST_PAYMENT_STAGES` set
(JSON: `{permit_type: PaymentStage fields}`) gives those permit types that payment stage; everything else in the
seeded catalog stays as it is. Python imports `sitecustomize` at start-up, before any silastri module, so every
`from ..domain.catalog import default_catalog` sees the overlaid catalog."""

from __future__ import annotations

import json
import os
from functools import lru_cache

_STAGES = os.environ.get("SILASTRI_TEST_PAYMENT_STAGES")

if _STAGES:
    from silastri.domain import catalog as _catalog

    _seeded = _catalog.default_catalog
    _overrides = json.loads(_STAGES)

    @lru_cache(maxsize=1)
    def _overlaid() -> _catalog.Catalog:
        base = _seeded()
        types = {name: (permit.model_copy(update={"payment": _catalog.PaymentStage(**_overrides[name])})
                        if name in _overrides else permit) for name, permit in base.permit_types.items()}
        return base.model_copy(update={"permit_types": types})

    _catalog.default_catalog = _overlaid

"""Trial intake: registry records → drafted rule files (``eligimatch draft``).

A record (ClinicalTrials.gov API v2 JSON, or a registry page's plain text) is read
(:mod:`.record`), its criteria split into items (:mod:`.split`), each item drafted by the
recognisers (:mod:`.recognisers`, combined in :mod:`.compose`): typed logic only when they
account for the whole item, a review node otherwise.  Examples are generated and decided by the
engine (:mod:`.examples`).  :mod:`.compare` measures drafts against hand encodings;
:mod:`.mark` says which results rest on draft criteria.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .build import DraftResult, draft_file, draft_record
    from .record import DraftError, Record, read_record

__all__ = ["DraftError", "DraftResult", "Record", "draft_file", "draft_record", "read_record"]

# imported when first used: screening imports .mark only, and the recognisers compile many
# regular expressions (about 0.1 s of every cold start)
_HOMES = {
    "DraftResult": "build",
    "draft_file": "build",
    "draft_record": "build",
    "DraftError": "record",
    "Record": "record",
    "read_record": "record",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)

"""Trial intake: registry records → drafted rule files (``eligimatch draft``).

A record (ClinicalTrials.gov API v2 JSON, or a registry page's plain text) is read
(:mod:`.record`), its criteria split into items (:mod:`.split`), each item drafted by the
recognisers (:mod:`.recognisers`, combined in :mod:`.compose`): typed logic only when they
account for the whole item, a review node otherwise.  Examples are generated and decided by the
engine (:mod:`.examples`).  :mod:`.compare` measures drafts against hand encodings;
:mod:`.mark` says which results rest on draft criteria.
"""

from __future__ import annotations

from .build import DraftResult, draft_file, draft_record
from .record import DraftError, Record, read_record

__all__ = ["DraftError", "DraftResult", "Record", "draft_file", "draft_record", "read_record"]

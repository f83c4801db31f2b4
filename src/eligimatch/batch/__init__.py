"""Population-scale screening: many profiles against many trials, streamed, in parallel.

Input is a directory of profile files (``*.json``, in name order) or a JSON Lines file (one
profile per line, blank lines skipped; ``-`` reads standard input).  Output is one record per
patient × trial, in input order and then trial order, whatever the number of workers, each
naming the rules' content hash and the as-of date it was decided on (see :mod:`.output`).

The modules, in the order a run goes through them:

* :mod:`.inputs`: the records of a directory or a JSON Lines file;
* :mod:`.plan`: what every worker needs (the rule files' bytes, the trials, the rules' hash,
  the as-of date, the format) and the one per-process cache of its compiled form;
* :mod:`.chunk`: screening one chunk of records, the unit of work;
* :mod:`.engines`: where chunks run (this process, a process pool, Dask), results in order;
* :mod:`.workers`: how many workers by default, and workers that die with their parent;
* :mod:`.run`: the run itself, its summary and its progress line;
* :mod:`.output` and :mod:`.attrition`: the records and the attrition report;
* :mod:`.command`: the ``screen-batch`` command (files, atomic output, the summary line).
"""

from __future__ import annotations

from .attrition import Attrition, attrition_text
from .chunk import ChunkResult, peak_rss_kb, screen_chunk
from .command import screen_batch, summary_line
from .engines import Engine
from .inputs import BatchError, BatchInput, Record
from .output import CSV_COLUMNS, attrition_document
from .plan import OutputFormat, Plan, make_plan
from .run import Progress, Summary, chunk_size, run_batch
from .workers import default_jobs

__all__ = [
    "CSV_COLUMNS",
    "Attrition",
    "BatchError",
    "BatchInput",
    "ChunkResult",
    "Engine",
    "OutputFormat",
    "Plan",
    "Progress",
    "Record",
    "Summary",
    "attrition_document",
    "attrition_text",
    "chunk_size",
    "default_jobs",
    "make_plan",
    "peak_rss_kb",
    "run_batch",
    "screen_batch",
    "screen_chunk",
    "summary_line",
]

"""Histology by ontology: the OncoTree tumour-type tree.

The tree ships in ``data/oncotree/`` (OncoTree release 2025-10-03, Memorial Sloan Kettering
Cancer Center / cBioPortal, CC BY 4.0; see the LICENSE.md beside it).  Histology criteria name
OncoTree codes, never strings: a diagnosis matches a listed code when it *is* that code or lies
below it in the tree.

A histology rule lists codes that include, exclude or need review.  The most specific listed
ancestor of the patient's code decides, so "soft tissue sarcoma, but not rhabdomyosarcoma, though
pleomorphic rhabdomyosarcoma is fine" is three codes: include SOFT_TISSUE, exclude RMS, include
PLRMS.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from .diskcache import parsed

__all__ = ["OncoTree", "oncotree"]

Verdict = Literal["include", "exclude", "review"]


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    parent: str | None
    main_type: str


class OncoTree:
    """Parent links of the OncoTree codes, with ancestry queries."""

    release = "oncotree_2025_10_03"
    attribution = (
        "OncoTree (oncotree_2025_10_03), Memorial Sloan Kettering Cancer Center / cBioPortal, CC BY 4.0"
    )

    def __init__(self, nodes: dict[str, Node]) -> None:
        self.nodes = nodes

    def __contains__(self, code: object) -> bool:
        return code in self.nodes

    def name(self, code: str) -> str:
        return self.nodes[code].name

    def lineage(self, code: str) -> list[str]:
        """``code`` and its ancestors, nearest first."""
        out: list[str] = []
        cur: str | None = code
        while cur is not None and cur in self.nodes and cur not in out:
            out.append(cur)
            cur = self.nodes[cur].parent
        return out

    def is_a(self, code: str, ancestor: str) -> bool:
        return ancestor in self.lineage(code)

    def classify(self, code: str, listed: dict[str, Verdict]) -> tuple[Verdict | None, str | None]:
        """The verdict of the most specific listed code on ``code``'s lineage, and that code."""
        for c in self.lineage(code):
            if c in listed:
                return listed[c], c
        return None, None


@functools.cache
def oncotree() -> OncoTree:
    """The tree, read once from the shipped flat file (its rows kept in the cache of parsed
    tables, :func:`.diskcache.parsed`)."""
    path = resources.files("eligimatch.data").joinpath("oncotree/oncotree_2025_10_03_flat.tsv")
    rows = parsed(path.read_text(encoding="utf-8"), b"oncotree-tsv-1\0", _rows, _valid)
    return OncoTree({code: Node(code, name, parent or None, main) for code, name, parent, main in rows})


def _valid(rows: object) -> bool:
    """Rows as :func:`_rows` gives them: some, each four strings."""
    return (
        isinstance(rows, list)
        and bool(rows)
        and all(type(r) is list and len(r) == 4 and all(type(x) is str for x in r) for r in rows)
    )


def _rows(text: str) -> list[list[str]]:
    """code, name, parent and main type of every row of the flat file."""
    return [
        [row["code"], row["name"], row["parent"], row["mainType"]]
        for row in csv.DictReader(io.StringIO(text, newline=""), delimiter="\t")
    ]

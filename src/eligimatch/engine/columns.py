"""The facts of a chunk of patients as columns, for the graph runner's columnar path.

A batch screens patients in chunks.  Instead of evaluating every node once per patient, the
graph runner (:mod:`.graph`) asks each node for its values over the whole chunk at once:
``node.columns(chunk, ctx)`` gives an array of truth *codes*, one per patient.  Nodes that can
compute on arrays (comparisons, ``recorded``, ``exists``) do so from a chunk's quantities and
items as arrays (:mod:`.chunkdata`), built once per chunk on first use (the quantities and item
fields a graph reads are learnt from its earlier chunks and read in one pass); nodes whose value
depends on one fact value (``fact``, ``histology``) decide once per distinct value in the chunk
(:meth:`Chunk.by_value`); any other node is decided patient by patient by its status-only
``status`` (:meth:`Chunk.rows`).

Truth codes: :data:`FALSE` 0 < :data:`UNKNOWN` 1 < :data:`TRUE` 2, so that on a set of values
Kleene's AND is the minimum and OR the maximum (``tests/test_columns.py`` checks this against
:func:`.core.junction` on every combination).  Logic nodes do not rely on it: their columns
come from a table of their own ``combine`` (:func:`.columnar.combined`).

How each node kind computes on these columns is in :mod:`.columnar`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .core import Truth

if TYPE_CHECKING:
    from ..dates import Duration
    from ..facts import Facts
    from ..quantities import QuantityFact
    from .chunkdata import Items as Items
    from .chunkdata import Quantities as Quantities

__all__ = [
    "CODES",
    "FALSE",
    "TRUE",
    "UNDATED",
    "UNKNOWN",
    "Chunk",
    "Codes",
    "Columns",
    "Mask",
    "code",
    "value_of",
]

Codes = npt.NDArray[np.uint8]
Columns = list[Codes] | Codes  # one row of codes per node (a 2-D array, or a list of rows)
Mask = npt.NDArray[np.bool_]
FALSE, UNKNOWN, TRUE = 0, 1, 2
CODES: dict[Truth, int] = {False: FALSE, None: UNKNOWN, True: TRUE}
_VALUE: tuple[Truth, Truth, Truth] = (False, None, True)
UNDATED = np.iinfo(np.int64).max // 4  # the age of an undated fact: stale for any limit
# per node deciding by value (by_value): its codes by value, for the whole run; bounded
_MEMOS: dict[int, tuple[Any, dict[Any, int]]] = {}
_KEPT_MEMOS, _KEPT_VALUES = 1 << 14, 1 << 12


def _memo(node: Any) -> dict[Any, int]:
    if node is None:
        return {}
    got = _MEMOS.get(id(node))
    if got is None or got[0] is not node:
        if len(_MEMOS) > _KEPT_MEMOS:
            _MEMOS.clear()
        got = _MEMOS[id(node)] = (node, {})
    if len(got[1]) > _KEPT_VALUES:
        got[1].clear()
    return got[1]


def code(value: Truth) -> int:
    return CODES[value]


def value_of(c: int) -> Truth:
    return _VALUE[c]


class Chunk:
    """The facts of a chunk of patients, and the columns built from them on first use."""

    def __init__(
        self,
        facts: Sequence[Facts],
        fields: dict[str, list[str]] | None = None,
        keys: list[str] | None = None,
    ) -> None:
        self.facts = tuple(facts)
        self.n = len(self.facts)
        self.as_of = np.fromiter((f.as_of.toordinal() for f in self.facts), np.int64, self.n)
        self._cache: dict[Hashable, Any] = {}
        # per collection, the item fields read so far (by this chunk and the earlier ones of the
        # same graph, when it passes them on): read from each item at once
        self.fields: dict[str, list[str]] = {} if fields is None else fields
        self.keys: list[str] = [] if keys is None else keys  # the same for quantities

    def cached(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """What ``make`` gives, made once per chunk for ``key`` (readings shared by nodes)."""
        try:
            return self._cache[key]
        except KeyError:
            got = self._cache[key] = make()
            return got

    def analyte(self, key: str) -> Any:
        from ..units import analytes

        return analytes()[key]

    def quantity_facts(self, key: str) -> list[QuantityFact | None]:
        """Each patient's fact of the quantity ``key`` (None: none); those of the quantities
        known to be read (``keys``) read in one pass over the patients."""
        if key not in self.keys:
            self.keys.append(key)
            return [f.quantities.get(key) for f in self.facts]
        wanted = tuple(self.keys)  # as it is now (a list other chunks of the graph add to)

        def read() -> dict[str, list[QuantityFact | None]]:
            if not self.facts:
                return {k: [] for k in wanted}
            got = zip(*[tuple(map(f.quantities.get, wanted)) for f in self.facts], strict=True)
            return {k: list(column) for k, column in zip(wanted, got, strict=True)}

        facts: dict[str, list[QuantityFact | None]] = self.cached(("quantity facts", len(wanted)), read)
        if key in facts:
            return facts[key]
        return [f.quantities.get(key) for f in self.facts]

    def quantity(self, key: str) -> Quantities:
        from .chunkdata import Quantities

        q: Quantities = self.cached(("quantity", key), lambda: Quantities(self, key))
        return q

    def collection(self, name: str) -> Items:
        from .chunkdata import Items

        c: Items = self.cached(
            ("collection", name), lambda: Items(self, name, self.fields.setdefault(name, []))
        )
        return c

    def reported(self, key: str) -> Mask:
        """Where the quantity has a result, or a reason it has none (conflicting results...)."""
        got: Mask = self.cached(
            ("reported", key),
            lambda: np.fromiter(
                (key in f.quantities or key in f.quantity_gaps for f in self.facts), np.bool_, self.n
            ),
        )
        return got

    def attested(self) -> list[int]:
        """The patients with clinician attestations."""
        got: list[int] = self.cached(
            "attested", lambda: [i for i, f in enumerate(self.facts) if f.attestations]
        )
        return got

    def rows(self, status: Callable[[Facts], Truth]) -> Codes:
        """Codes of ``status`` patient by patient."""
        return np.fromiter((CODES[status(f)] for f in self.facts), np.uint8, self.n)

    def by_value(
        self,
        name: Hashable,
        value: Callable[[Facts], Any],
        status: Callable[[Facts], Truth],
        node: Any = None,
        read: Callable[[], list[Any]] | None = None,
    ) -> Codes:
        """Codes of a ``status`` that depends on one fact alone, ``value(facts)`` (named
        ``name``; ``read()``, if given, reads it for every patient at once): decided once for
        each distinct value in the chunk, and, given the ``node`` deciding, once per value for
        the whole run (a bounded memo)."""

        def make() -> tuple[npt.NDArray[np.intp], list[int], list[Any]]:
            got = list(map(value, self.facts)) if read is None else read()
            keys: list[Any] = [(type(v), v) for v in got]  # True is not 1
            try:
                order = dict.fromkeys(keys)
            except TypeError:  # an unhashable value: decided on its own
                return _keys_apart(keys)
            places = {key: k for k, key in enumerate(order)}
            index = np.fromiter(map(places.__getitem__, keys), np.intp, len(keys))
            first = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
            return index, [first[key] for key in order], list(order)

        index, firsts, keys = self.cached(("values", name), make)
        memo = _memo(node)
        codes = np.empty(len(firsts), np.uint8)
        for j, (i, key) in enumerate(zip(firsts, keys, strict=True)):
            c = None if key is None else memo.get(key)
            if c is None:
                c = CODES[status(self.facts[i])]
                if key is not None and node is not None:
                    memo[key] = c
            codes[j] = c
        out: Codes = codes[index]
        return out

    def by_scalar(self, name: str, status: Callable[[Facts], Truth], node: Any = None) -> Codes:
        """:meth:`by_value` of the scalar fact ``name``."""

        def read() -> list[Any]:
            scalars: list[dict[str, Any]] = self.cached("scalars", lambda: [f.scalars for f in self.facts])
            return [d.get(name) for d in scalars]

        return self.by_value(("scalar", name), lambda f: f.scalars.get(name), status, node, read)

    def window_start(self, window: Duration) -> npt.NDArray[np.int64]:
        """Per patient, the ordinal of ``window`` before the as-of date (once per distinct
        as-of date of the chunk; :meth:`Duration.before` remembers its dates for the run)."""

        def make() -> npt.NDArray[np.int64]:
            dates, which = self.cached("as-of dates", lambda: np.unique(self.as_of, return_inverse=True))
            starts = [window.before(date.fromordinal(d)).toordinal() for d in dates.tolist()]
            out: npt.NDArray[np.int64] = np.array(starts, np.int64)[which.reshape(-1)]
            return out

        got: npt.NDArray[np.int64] = self.cached(("window", window), make)
        return got


def _keys_apart(keys: list[Any]) -> tuple[npt.NDArray[np.intp], list[int], list[Any]]:
    """For :meth:`Chunk.by_value`: the distinct keys, unhashable ones each on its own (None)."""
    seen: dict[Any, int] = {}
    firsts: list[int] = []
    distinct: list[Any] = []
    index = np.empty(len(keys), np.intp)
    for i, key in enumerate(keys):
        try:
            k = seen.setdefault(key, len(firsts))
        except TypeError:
            k, key = len(firsts), None
        if k == len(firsts):
            firsts.append(i)
            distinct.append(key)
        index[i] = k
    return index, firsts, distinct

"""A chunk's pass codes → each trial's distinct status patterns and its attrition counts, for all
trials at once (the columnar runner's last step, :mod:`.chunked`).

The pass codes of a chunk are one array: a row per criterion of every trial, a column per
patient, with the trials of one size next to each other (:class:`Group`), so that each group is
a 3-D array (trials × criteria × patients) without a copy.  For each group:

* each patient's statuses in a trial as one number, its key: the base-3 number of its codes (first
  criterion most significant), or, for a trial of more criteria than one number holds, the
  numbers of its pieces ranked and combined;
* the distinct keys of every trial in the chunk, with the number of patients that have each and
  which one each patient has: by counting (trials × possible keys) when a trial's keys are few,
  else by sorting each trial's keys;
* each distinct pattern decoded once: a one-piece key *is* the statuses (its digits), so the
  trials of a group that share a pattern share its decoding; larger trials' patterns are read
  from a patient that has each;
* the attrition counts from the distinct patterns and how many patients have each.

Python runs once per decoded pattern and once per trial, never once per patient × trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from .columns import FALSE, TRUE, UNKNOWN, Codes
from .core import Verdict, verdict

if TYPE_CHECKING:
    from .graph import TrialStatus

__all__ = ["Attrition", "Group", "statuses"]

_Ints = npt.NDArray[np.int64]
_Bools = npt.NDArray[np.bool_]
Attrition = tuple[int, list[int], list[int], list[int], list[int], dict[str, int]]


class Group:
    """Trials of ``size`` criteria whose rows are ``top`` onwards, trial after trial; ``pieces``:
    the (begin, end) criteria of each piece of a trial (one number each)."""

    __slots__ = ("pieces", "size", "top", "trials")

    def __init__(self, size: int, trials: list[int], top: int, piece: int) -> None:
        self.size = size
        self.trials = trials
        self.top = top
        self.pieces = [(b, min(b + piece, size)) for b in range(0, size, piece)]


def _verdicts() -> dict[tuple[bool, bool], Verdict]:
    """The verdict from whether some criterion fails and whether some is unknown
    (:func:`.core.verdict`)."""
    return {
        (f, u): verdict([True, *([False] if f else []), *([None] if u else [])])
        for f in (False, True)
        for u in (False, True)
    }


VERDICT = _verdicts()
_ELIGIBLE, _UNDETERMINED, _INELIGIBLE = VERDICT[False, False], VERDICT[False, True], VERDICT[True, False]
# keys counted rather than sorted while a trial has at most this many possible keys per patient
_COUNTED = 2


class _Found(NamedTuple):
    """A group's distinct (trial, pattern) pairs, ordered by trial then key: the trial (its
    place in the group), the pattern's codes and :data:`~.graph.TrialStatus`, how many patients
    have it; where each trial's pairs begin; and each patient's pattern, trial by trial."""

    trial: _Ints
    codes: Codes
    found: npt.NDArray[np.object_]
    patients: _Ints
    begins: _Ints
    inverse: _Ints
    keys: _Ints | None = None  # when counted: each pair's key


def statuses(
    groups: Sequence[Group], n_trials: int, passes: Codes
) -> tuple[list[list[TrialStatus]], list[_Ints], list[Attrition]]:
    """Per trial: its distinct status patterns in the chunk (in the order of their keys), each
    patient's place among them, and the chunk's attrition counts."""
    n = passes.shape[1]
    patterns: list[list[TrialStatus]] = [[]] * n_trials
    which: list[_Ints] = [np.zeros(0, np.int64)] * n_trials
    attrition: list[Attrition] = [(n, [], [], [], [], {})] * n_trials
    grouped = {t for g in groups for t in g.trials}
    for t in range(n_trials):
        if t not in grouped:  # a trial without criteria
            patterns[t], which[t] = [(verdict([]), [], [])], np.zeros(n, np.int64)
            attrition[t] = (n, [], [], [n], [n], {verdict([]): n})
    for g in groups:
        m, s = len(g.trials), g.size
        if n == 0:
            for t in g.trials:
                patterns[t], which[t] = [], np.zeros(0, np.int64)
                none: dict[str, int] = {_ELIGIBLE: 0, _UNDETERMINED: 0, _INELIGIBLE: 0}
                attrition[t] = (0, [0] * s, [0] * s, [0] * (s + 1), [0] * (s + 1), none)
            continue
        codes = passes[g.top : g.top + m * s].reshape(m, s, n)
        f = _found(g, codes)
        counts = _attrition(f, m, s)
        listed = f.found.tolist()
        ends = [*f.begins[1:].tolist(), len(listed)]
        for k, (t, begin, end) in enumerate(zip(g.trials, f.begins.tolist(), ends, strict=True)):
            patterns[t] = listed[begin:end]
            which[t] = f.inverse[k]
            attrition[t] = (n, counts[0][k], counts[1][k], counts[2][k], counts[3][k], counts[4][k])
    return patterns, which, attrition


def _horner(codes: Codes, begin: int, end: int) -> _Ints:
    """Per trial and patient, the base-3 number of criteria ``begin:end`` (first most significant)."""
    key = codes[:, begin].astype(np.int64)
    for j in range(begin + 1, end):
        key *= 3
        key += codes[:, j]
    return key


def _found(g: Group, codes: Codes) -> _Found:
    m, s, n = codes.shape
    if len(g.pieces) == 1:
        key = _horner(codes, 0, s)
        span = 3**s
        if span <= _COUNTED * n:
            return _counted(key, span, s)
    else:
        numbers = [_horner(codes, b, e) for b, e in g.pieces]
        key = np.stack([_combined_key([p[k] for p in numbers]) for k in range(m)])
    order = np.argsort(key, axis=1)
    ranked = np.take_along_axis(key, order, axis=1)
    new = np.ones((m, n), np.bool_)
    new[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    inverse = np.empty((m, n), np.int64)
    np.put_along_axis(inverse, order, np.cumsum(new, axis=1) - 1, axis=1)
    at = np.flatnonzero(new)  # trial by trial, keys ascending; each trial's first is new
    trial = at // n
    count = np.diff(np.append(at, m * n))
    begins = np.searchsorted(trial, np.arange(m))
    if len(g.pieces) == 1:
        got, found = _decoded(ranked.reshape(-1)[at], s)
    else:  # read from a patient that has each
        got = codes[trial, :, order.reshape(-1)[at]]
        found = _statuses(got == FALSE, got == UNKNOWN)
    return _Found(trial, got, found, count, begins, inverse)


def _counted(key: _Ints, span: int, s: int) -> _Found:
    """Distinct keys by counting each (trial, key) of ``span`` possible keys."""
    m = key.shape[0]
    key += np.arange(0, m * span, span, dtype=np.int64)[:, None]  # one number per (trial, key)
    flat = key.reshape(-1)
    tally = np.bincount(flat, minlength=m * span)
    present = tally > 0
    at = np.flatnonzero(present)
    trial, value = np.divmod(at, span)
    begins = np.searchsorted(at, np.arange(0, m * span, span, dtype=np.int64))
    rank = np.cumsum(present, dtype=np.int64)
    inverse = np.take(rank, flat).reshape(m, -1)
    inverse -= (begins + 1)[:, None]  # the rank of the trial's own first key is 0
    got, found = _decoded(value, s, span)
    return _Found(trial, got, found, tally[at], begins, inverse, value)


def _decoded(values: _Ints, s: int, span: int = 0) -> tuple[Codes, npt.NDArray[np.object_]]:
    """The codes and statuses of one-piece keys of trials of ``s`` criteria (their base-3
    digits), each distinct key decoded once (found by counting when there are ``span``
    possible keys, else by sorting)."""
    if span:
        present = np.bincount(values, minlength=span) > 0
        distinct = np.flatnonzero(present)
        which = (np.cumsum(present) - 1)[values]
    else:
        distinct, which = np.unique(values, return_inverse=True)
        which = which.reshape(-1)
    powers = 3 ** np.arange(s - 1, -1, -1, dtype=np.int64)
    digits = ((distinct[:, None] // powers[None, :]) % 3).astype(np.uint8)
    return digits[which], _statuses(digits == FALSE, digits == UNKNOWN)[which]


def _combined_key(pieces: Sequence[_Ints]) -> _Ints:
    """A trial's pieces' numbers ranked and combined (ranks are below the chunk's size)."""
    key: _Ints = pieces[0]
    for piece in pieces[1:]:
        _, rank = np.unique(key, return_inverse=True)
        _, other = np.unique(piece, return_inverse=True)
        key = rank.reshape(-1).astype(np.int64) * len(key) + other.reshape(-1)
    return key


def _statuses(fail: _Bools, unknown: _Bools) -> npt.NDArray[np.object_]:
    """Per row of the masks (a pattern; columns: criteria), its :data:`~.graph.TrialStatus`."""
    fail_at, unknown_at = _positions(fail), _positions(unknown)
    some_fail = cast(list[bool], fail.any(axis=1).tolist())
    some_unknown = cast(list[bool], unknown.any(axis=1).tolist())
    got = np.empty(fail.shape[0], object)
    got[:] = [
        (VERDICT[f, u], fa, ua)
        for f, u, fa, ua in zip(some_fail, some_unknown, fail_at, unknown_at, strict=True)
    ]
    return got


def _positions(mask: _Bools) -> list[list[int]]:
    """Per row of ``mask``, the columns set, ascending."""
    flat = np.flatnonzero(mask)
    cols = (flat % mask.shape[1]).tolist()
    ends = np.cumsum(np.bincount(flat // mask.shape[1], minlength=mask.shape[0])).tolist()
    return [cols[begin:end] for begin, end in zip([0, *ends[:-1]], ends, strict=True)]


_Counts = tuple[list[list[int]], list[list[int]], list[list[int]], list[list[int]], list[dict[str, int]]]


def _attrition(f: _Found, m: int, s: int) -> _Counts:
    """Per trial of the group: fail and unknown counts per criterion, histograms of the first
    failing and the first not passing criterion (``s``: none), and verdict counts, from the
    distinct patterns and how many patients have each (when the keys were counted: what each
    key adds, :func:`_weights`, times its patients)."""
    if f.keys is not None:
        got = np.add.reduceat(_weights(s)[f.keys] * f.patients[:, None], f.begins, axis=0)
        parts = np.split(got, np.cumsum([s, s, s + 1, s + 1]), axis=1)
        return (
            *(part.tolist() for part in parts[:4]),
            [{_ELIGIBLE: e, _UNDETERMINED: u, _INELIGIBLE: i} for e, u, i in parts[4].tolist()],
        )
    fails, others = f.codes == FALSE, f.codes != TRUE
    weight = f.patients[:, None]
    fail_counts = np.add.reduceat(fails * weight, f.begins, axis=0).tolist()
    unknown_counts = np.add.reduceat((f.codes == UNKNOWN) * weight, f.begins, axis=0).tolist()
    failed, other = fails.any(axis=1), others.any(axis=1)
    first_fail = np.where(failed, fails.argmax(axis=1), s)
    first_other = np.where(other, others.argmax(axis=1), s)

    def tally(bins: int, where: _Ints) -> list[list[int]]:
        got = np.bincount(f.trial * bins + where, weights=f.patients, minlength=m * bins)
        out: list[list[int]] = got.astype(np.int64).reshape(m, bins).tolist()
        return out

    kinds = tally(3, np.where(failed, 2, other.astype(np.int64)))
    verdicts: list[dict[str, int]] = [{_ELIGIBLE: e, _UNDETERMINED: u, _INELIGIBLE: i} for e, u, i in kinds]
    return (
        fail_counts,
        unknown_counts,
        tally(s + 1, first_fail),
        tally(s + 1, first_other),
        verdicts,
    )


_WEIGHTS: dict[int, _Ints] = {}


def _weights(s: int) -> _Ints:
    """For every key of a trial of ``s`` criteria (rows), what it adds to the attrition counts
    (columns): a fail, an unknown per criterion; the first failing, the first not passing
    criterion (``s``: none); its verdict (eligible, undetermined, ineligible)."""
    got = _WEIGHTS.get(s)
    if got is None:
        powers = 3 ** np.arange(s - 1, -1, -1, dtype=np.int64)
        digits = (np.arange(3**s, dtype=np.int64)[:, None] // powers[None, :]) % 3
        fails, unknowns, others = digits == FALSE, digits == UNKNOWN, digits != TRUE
        failed, other = fails.any(axis=1), others.any(axis=1)
        first_fail = np.where(failed, fails.argmax(axis=1), s)
        first_other = np.where(other, others.argmax(axis=1), s)
        kind = np.where(failed, 2, other.astype(np.int64))
        got = _WEIGHTS[s] = np.hstack(
            [fails, unknowns, np.eye(s + 1)[first_fail], np.eye(s + 1)[first_other], np.eye(3)[kind]]
        ).astype(np.int64)
    return got

"""Synthetic catalogues of 250+ trials made from the real trials, and a reference catalogue.

* :func:`build` (the *varied* catalogue): copies of the real trials with thresholds and windows
  varied a little.  Most copies share most of their criteria (the same blood counts, windows
  and value lists), so the batch graph evaluates about one node in fifteen: it flatters.
* :func:`build_distinct` (the *distinct* catalogue): the same logic, but every numeric threshold,
  ULN multiple, window and histology list is made distinct across the whole catalogue, so only
  parameterless parts (``measurable_disease is true``, an ``exists`` without a window) and
  enumerations too small to vary (sex, grade, disease status, condition types) stay shared.
* :func:`build_reference`: 250 trials of five simple criteria (ANC, platelets, bilirubin × ULN,
  age, ECOG) with distinct thresholds, the workload of the DuckDB reference query in
  ``benchmarks/reference.py``.

Each real rule file in ``rules/`` is copied many times; copy ``k`` of a trial gets the id
``<id>-v<k>`` and, drawn from a seeded generator, other quantity thresholds (× 0.8-1.2, whole
numbers shifted by a step or two), ULN multiples, ``within`` windows, ``within_days`` and
``lab_max_age_days``.  Copy 0 keeps the original values.  The logic itself (node kinds, nesting,
facts read) is the real trials', so evaluation costs are realistic.  Criterion examples are
dropped: they were written for the original thresholds, and loading a rule file does not run
them (``eligimatch check`` does).

    python benchmarks/catalogue.py OUTDIR [--trials 250] [--seed 1] [--kind varied|distinct|reference]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_DURATION = re.compile(r"^P(\d+)([YMWD])$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


# ---------------------------------------------------------------------------- a small TOML writer


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def toml_value(v: Any) -> str:
    """A TOML value for the types a rule file is read as (floats as Decimal)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | Decimal):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a valid TOML basic string
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def toml_document(doc: dict[str, Any]) -> str:
    lines = [
        f"{_key(k)} = {toml_value(v)}"
        for k, v in doc.items()
        if not isinstance(v, dict) and not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))
    ]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines += ["", f"[{_key(k)}]", *(f"{_key(a)} = {toml_value(b)}" for a, b in v.items())]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                lines += ["", f"[[{_key(k)}]]", *(f"{_key(a)} = {toml_value(b)}" for a, b in item.items())]
    return "\n".join(lines) + "\n"


def read_rules(src: Path) -> dict[str, Any]:
    """A rule file as eligimatch reads it: TOML 1.1, floats as Decimal, every definition and
    shared value set expanded (so the copies need neither)."""
    from eligimatch.rulesource import load_shared, read

    doc, problems = read(src.read_bytes(), load_shared(src))
    if doc is None:
        raise ValueError(f"{src}: {problems}")
    out: dict[str, Any] = doc
    return out


# ---------------------------------------------------------------------------- variation


def _scale(value: int | Decimal, rng: random.Random) -> int | Decimal:
    if isinstance(value, int):
        step = 1 if value <= 5 else max(1, round(value * 0.05))
        shifted = value + step * rng.choice([-2, -1, 0, 1, 2])
        return max(0, min(shifted, 4)) if value <= 5 else max(1, shifted)
    factor = Decimal(rng.choice(["0.8", "0.9", "1", "1.1", "1.2"]))
    out = value * factor
    if out == 0:
        return out
    digits = 2 - out.adjusted()  # keep three significant digits
    return out.quantize(Decimal(1).scaleb(-digits)).normalize() if digits > 0 else round(out)


def _vary(node: Any, rng: random.Random) -> Any:
    if isinstance(node, list):
        return [_vary(x, rng) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _vary(v, rng) for k, v in node.items()}
    if (
        "quantity" in out
        and "value" in out
        and isinstance(out["value"], int | Decimal)
        and not isinstance(out["value"], bool)
    ):
        out["value"] = _scale(out["value"], rng)
    if "uln" in out:
        out["uln"] = Decimal(str(out["uln"])) * Decimal(rng.choice(["0.8", "1", "1.2", "1.5"]))
    if isinstance(out.get("within_days"), int):
        out["within_days"] = max(1, round(out["within_days"] * rng.choice([0.5, 1, 1.5, 2])))
    if isinstance(out.get("within"), str):
        m = _DURATION.match(out["within"])
        if m:
            n = max(1, round(int(m.group(1)) * rng.choice([0.5, 1, 1.5, 2])))
            out["within"] = f"P{n}{m.group(2)}"
    return out


def varied(doc: dict[str, Any], k: int, rng: random.Random) -> dict[str, Any]:
    trial = dict(doc["trial"])
    trial["id"] = f"{trial['id']}-v{k:03d}"
    trial["title"] = f"{trial['title']} [synthetic variant {k}]"
    criteria = []
    for c in doc["criteria"]:
        c = {key: v for key, v in c.items() if key != "examples"}
        if k:
            c["logic"] = _vary(c["logic"], rng)
        criteria.append(c)
    if k and isinstance(trial.get("lab_max_age_days"), int):
        trial["lab_max_age_days"] = rng.choice([14, 21, 28, 42])
    return {**doc, "trial": trial, "criteria": criteria}


def build(out_dir: Path, n_trials: int = 250, seed: int = 1, rules_dir: Path = ROOT / "rules") -> list[Path]:
    """Write at least ``n_trials`` varied rule files into ``out_dir``; return their paths."""
    sources = sorted(rules_dir.glob("*.toml"))
    copies = math.ceil(n_trials / len(sources))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources:
        doc = read_rules(src)
        for k in range(copies):
            rng = random.Random(f"{seed}:{src.stem}:{k}")
            path = out_dir / f"{src.stem}-v{k:03d}.toml"
            path.write_text(toml_document(varied(doc, k, rng)), encoding="utf-8")
            written.append(path)
    return written


# ---------------------------------------------------------------------------- distinct

_DAYS = {"D": 1, "W": 7, "M": 30, "Y": 365}


class _Distinct:
    """Draws thresholds, windows and lists no other trial of the catalogue uses."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"distinct:{seed}")
        self.used: set[tuple[Any, ...]] = set()
        self.index = 0  # of the trial being written, 0..n-1
        from eligimatch.ontology import oncotree

        self.codes = sorted(oncotree().nodes)

    def _fresh(self, kind: tuple[Any, ...], draw: Any) -> Any:
        for _ in range(10_000):
            v = draw()
            if (*kind, v) not in self.used:
                self.used.add((*kind, v))
                return v
        raise RuntimeError(f"no distinct value left for {kind}")

    def number(self, kind: tuple[Any, ...], value: int | Decimal, integer: bool) -> Decimal:
        """``value`` × 0.8-1.2 to four significant digits; an integer analyte's threshold ± 0.5
        (three decimals), so that it keeps its meaning on whole values."""

        def draw() -> Decimal:
            if integer:
                return (Decimal(value) + Decimal(self.rng.randint(-499, 499)) / 1000).normalize()
            out = Decimal(value) * Decimal(self.rng.randint(8000, 12000)) / 10000
            return out.quantize(Decimal(1).scaleb(out.adjusted() - 3)).normalize()

        return self._fresh(kind, draw)

    def days(self, base_days: int) -> int:
        """A window unique to this trial: half the original plus the trial's index."""
        return max(1, round(base_days / 2)) + self.index

    def extra_code(self, codes: list[str]) -> str:
        """An OncoTree code for this trial's copy of a histology list (never one of ``codes``)."""
        i = self.index
        while self.codes[i % len(self.codes)] in codes:
            i += 1
        return self.codes[i % len(self.codes)]


def _make_distinct(node: Any, d: _Distinct, integer: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_make_distinct(x, d, integer) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _make_distinct(v, d, integer) for k, v in node.items()}
    q = out.get("quantity")
    if q is not None and isinstance(out.get("value"), int | Decimal) and not isinstance(out["value"], bool):
        out["value"] = d.number(("value", q, out.get("op"), out.get("unit")), out["value"], q in integer)
    if q is not None and "uln" in out:
        out["uln"] = d.number(("uln", q, out.get("op")), Decimal(str(out["uln"])), False)
    if isinstance(out.get("within_days"), int) and not isinstance(out["within_days"], bool):
        out["within_days"] = d.days(out["within_days"])
    if isinstance(out.get("within"), str):
        m = _DURATION.match(out["within"])
        if m:
            out["within"] = f"P{d.days(int(m.group(1)) * _DAYS[m.group(2)])}D"
    if isinstance(out.get("histology"), dict) and isinstance(out["histology"].get("include"), list):
        h = dict(out["histology"])
        listed = [c for key in ("include", "exclude", "review", "review_exact") for c in h.get(key, [])]
        h["include"] = [*h["include"], d.extra_code(listed)]
        out["histology"] = h
    return out


def build_distinct(
    out_dir: Path, n_trials: int = 250, seed: int = 1, rules_dir: Path = ROOT / "rules"
) -> list[Path]:
    """Write at least ``n_trials`` rule files whose thresholds, windows and histology lists are
    distinct across the catalogue (seeded); return their paths."""
    from eligimatch.units import analytes

    integer = frozenset(k for k, a in analytes().items() if a.integer)
    sources = sorted(rules_dir.glob("*.toml"))
    copies = math.ceil(n_trials / len(sources))
    docs = [read_rules(src) for src in sources]
    out_dir.mkdir(parents=True, exist_ok=True)
    d = _Distinct(seed)
    written = []
    for k in range(copies):
        for src, doc in zip(sources, docs, strict=True):
            trial = dict(doc["trial"])
            trial["id"] = f"{trial['id']}-d{k:03d}"
            trial["title"] = f"{trial['title']} [synthetic distinct copy {k}]"
            if isinstance(trial.get("lab_max_age_days"), int):
                trial["lab_max_age_days"] = d.days(trial["lab_max_age_days"])
            criteria = [
                {
                    **{key: v for key, v in c.items() if key != "examples"},
                    "logic": _make_distinct(c["logic"], d, integer),
                }
                for c in doc["criteria"]
            ]
            path = out_dir / f"{src.stem}-d{k:03d}.toml"
            path.write_text(toml_document({**doc, "trial": trial, "criteria": criteria}), encoding="utf-8")
            written.append(path)
            d.index += 1
    return written


# ---------------------------------------------------------------------------- reference

REFERENCE = ("anc", "platelets", "bilirubin", "age", "ecog")  # criterion order in every trial


def reference_thresholds(i: int) -> dict[str, Any]:
    """Trial ``i``'s thresholds: all distinct across 250 trials, on grids that the synthetic
    values hit exactly now and then (1500 /uL is 1.5 ×10⁹/L; ECOG 1 and 2; whole ages), so that
    boundaries are exercised."""
    return {
        "anc": Decimal(1000 + 4 * i) / 1000,  # ≥, ×10⁹/L: 1.000 … 1.996
        "platelets": Decimal(750 + 3 * i) / 10,  # ≥, ×10⁹/L: 75.0 … 149.7
        "bilirubin": Decimal(1000 + 8 * i) / 1000,  # ≤ k × ULN: 1.000 … 2.992
        "age": Decimal(1600 + 4 * i) / 100,  # ≥, years: 16.00 … 25.96
        "ecog": Decimal(50 + i) / 100,  # ≤: 0.50 … 2.99
        "lab_max_age_days": (14, 21, 28, 42)[i % 4],
    }


def build_reference(out_dir: Path, n_trials: int = 250) -> list[Path]:
    """Write ``n_trials`` rule files of the five reference criteria; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(n_trials):
        t = reference_thresholds(i)
        logic = {
            "anc": {"quantity": "anc", "op": ">=", "value": t["anc"], "unit": "10^9/L"},
            "platelets": {"quantity": "platelets", "op": ">=", "value": t["platelets"], "unit": "10^9/L"},
            "bilirubin": {"quantity": "bilirubin", "op": "<=", "uln": t["bilirubin"]},
            "age": {"quantity": "age", "op": ">=", "value": t["age"], "unit": "year"},
            "ecog": {"quantity": "ecog", "op": "<=", "value": t["ecog"]},
        }
        doc = {
            "schema": 1,
            "trial": {
                "id": f"REF-{i:04d}",
                "title": f"Reference trial {i} (synthetic)",
                "phase": "PHASE2",
                "status": "RECRUITING",
                "seed": "benchmarks/catalogue.py",
                "lab_max_age_days": t["lab_max_age_days"],
            },
            "criteria": [
                {
                    "id": f"I{n}.{key}",
                    "kind": "inclusion",
                    "text": f"reference criterion {key}",
                    "logic": logic[key],
                }
                for n, key in enumerate(REFERENCE, 1)
            ],
        }
        path = out_dir / f"REF-{i:04d}.toml"
        path.write_text(toml_document(doc), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--trials", type=int, default=250, help="at least this many trials")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kind", choices=["varied", "distinct", "reference"], default="varied")
    args = ap.parse_args(argv)
    paths = (
        build(args.out_dir, args.trials, args.seed)
        if args.kind == "varied"
        else build_distinct(args.out_dir, args.trials, args.seed)
        if args.kind == "distinct"
        else build_reference(args.out_dir, args.trials)
    )
    print(f"{len(paths)} rule files in {args.out_dir}")


if __name__ == "__main__":
    main()

"""A synthetic catalogue of 250+ trials made by varying the real trials' thresholds and windows.

Each real rule file in ``rules/`` is copied many times; copy ``k`` of a trial gets the id
``<id>-v<k>`` and, drawn from a seeded generator, other quantity thresholds (× 0.8-1.2, whole
numbers shifted by a step or two), ULN multiples, ``within`` windows, ``within_days`` and
``lab_max_age_days``.  Copy 0 keeps the original values.  The logic itself (node kinds, nesting,
facts read) is the real trials', so evaluation costs are realistic.  Criterion examples are
dropped: they were written for the original thresholds, and loading a rule file does not run
them (``eligimatch check`` does).

    python benchmarks/catalogue.py OUTDIR [--trials 250] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import tomllib
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
    """A TOML value for the types tomllib gives back (with parse_float=Decimal)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | Decimal):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)   # a valid TOML basic string
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def toml_document(doc: dict[str, Any]) -> str:
    lines = [f"{_key(k)} = {toml_value(v)}" for k, v in doc.items()
             if not isinstance(v, dict) and not (isinstance(v, list) and v
                                                 and all(isinstance(x, dict) for x in v))]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines += ["", f"[{_key(k)}]", *(f"{_key(a)} = {toml_value(b)}" for a, b in v.items())]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                lines += ["", f"[[{_key(k)}]]",
                          *(f"{_key(a)} = {toml_value(b)}" for a, b in item.items())]
    return "\n".join(lines) + "\n"


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
    digits = 2 - out.adjusted()     # keep three significant digits
    return out.quantize(Decimal(1).scaleb(-digits)).normalize() if digits > 0 else round(out)


def _vary(node: Any, rng: random.Random) -> Any:
    if isinstance(node, list):
        return [_vary(x, rng) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _vary(v, rng) for k, v in node.items()}
    if "quantity" in out and "value" in out and isinstance(out["value"], int | Decimal) \
            and not isinstance(out["value"], bool):
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


def build(out_dir: Path, n_trials: int = 250, seed: int = 1,
          rules_dir: Path = ROOT / "rules") -> list[Path]:
    """Write at least ``n_trials`` varied rule files into ``out_dir``; return their paths."""
    sources = sorted(rules_dir.glob("*.toml"))
    copies = math.ceil(n_trials / len(sources))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources:
        doc = tomllib.loads(src.read_text("utf-8"), parse_float=Decimal)
        for k in range(copies):
            rng = random.Random(f"{seed}:{src.stem}:{k}")
            path = out_dir / f"{src.stem}-v{k:03d}.toml"
            path.write_text(toml_document(varied(doc, k, rng)), encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--trials", type=int, default=250, help="at least this many trials")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    paths = build(args.out_dir, args.trials, args.seed)
    print(f"{len(paths)} rule files in {args.out_dir}")


if __name__ == "__main__":
    main()

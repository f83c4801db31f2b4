"""Rule files and directories → compiled trials (:func:`.compile.compile_bytes` does the work).

A directory of rule files is its ``*.toml`` files (one trial each) and, in ``shared/``, the value
sets they share (:mod:`eligimatch.rulesource`), read once for the directory; a single rule file
finds the shared sets next to it the same way.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import RuleFileError
from ..rulesource import SharedSets, load_shared, read_rule_bytes
from .cache import cached
from .compile import RuleSet, Trial, compile_bytes

__all__ = ["default_rules_dir", "load_rule_file", "load_rules", "rule_files"]


def default_rules_dir() -> Path:
    """The project's own rules: shipped inside the package, or the checkout's ``rules/``."""
    packaged = resources.files("eligimatch").joinpath("rules")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "rules"


def rule_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise RuleFileError(str(directory), [("", "not a directory of rule files")])
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise RuleFileError(str(directory), [("", "no rule files (*.toml) found")])
    return files


def load_rules(directory: Path | None = None) -> RuleSet:
    """Load every ``*.toml`` in ``directory``; raise on the first broken file."""
    d = directory or default_rules_dir()
    files = rule_files(d)
    shared = load_shared(files[0])
    trials = [load_rule_file(p, shared) for p in files]
    seen: dict[str, str] = {}
    for t in trials:
        if t.id in seen:
            raise RuleFileError(t.path, [("trial.id", f"{t.id!r} is also defined in {seen[t.id]}")])
        seen[t.id] = t.path
    return RuleSet(tuple(trials), str(d))


_NEXT_TO_IT = SharedSets("", {}, "")  # load_rule_file: read the shared sets next to the file


def load_rule_file(path: Path, shared: SharedSets | None = _NEXT_TO_IT) -> Trial:
    """Load, validate and compile one rule file; raise :class:`RuleFileError` with every problem.
    ``shared``: the shared value sets (by default those next to the file; ``None``: none)."""
    data = read_rule_bytes(path)
    if shared is _NEXT_TO_IT:
        shared = load_shared(path)
    return cached(data, str(path), shared, compile_bytes)  # compiled once per content

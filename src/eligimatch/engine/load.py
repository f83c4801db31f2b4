"""Rule files and directories → compiled trials (:func:`.compile.compile_bytes` does the work)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import RuleFileError
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
    trials = [load_rule_file(p) for p in rule_files(d)]
    seen: dict[str, str] = {}
    for t in trials:
        if t.id in seen:
            raise RuleFileError(t.path, [("trial.id", f"{t.id!r} is also defined in {seen[t.id]}")])
        seen[t.id] = t.path
    return RuleSet(tuple(trials), str(d))


def load_rule_file(path: Path) -> Trial:
    """Load, validate and compile one rule file; raise :class:`RuleFileError` with every problem."""
    from ..jsonin import TooLarge, max_input_bytes, read_bytes

    try:
        data = read_bytes(path, max_input_bytes())
    except TooLarge as exc:
        raise RuleFileError(str(path), [("", str(exc))]) from None
    except OSError as exc:
        raise RuleFileError(str(path), [("", f"cannot read: {exc.strerror or exc}")]) from None
    return compile_bytes(data, str(path))

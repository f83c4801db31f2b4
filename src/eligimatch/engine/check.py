"""``eligimatch check``: every problem of the given rule files, their examples included."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import RuleFileError
from .examples import example_problems
from .load import load_rule_file

__all__ = ["check_rules"]


def check_rules(paths: Iterable[Path], warnings: list[str] | None = None) -> list[str]:
    """Every problem in the given rule files, examples included, one line each.  Criteria
    still marked ``draft`` (``eligimatch draft``) are not problems: one warning line per file
    is appended to ``warnings`` when given."""
    lines: list[str] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            trial = load_rule_file(path)
        except RuleFileError as exc:
            lines.extend(f"{path}: {f}: {m}" if f else f"{path}: {m}" for f, m in exc.problems)
            continue
        if trial.id in seen:
            lines.append(f"{path}: trial.id: {trial.id!r} is also defined in {seen[trial.id]}")
        seen[trial.id] = str(path)
        drafts = [c.id for c in trial.criteria if c.spec.draft is not None]
        if drafts and warnings is not None:
            warnings.append(f"{path}: warning: {len(drafts)} of {len(trial.criteria)} criteria "
                            f"are drafts, not yet reviewed: {', '.join(drafts)}")
        for c in trial.criteria:
            lines.extend(example_problems(trial, c, str(path)))
    return lines

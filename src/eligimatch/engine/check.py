"""``eligimatch check``: every problem of the given rule files, their examples included, and any
file (a rule file or the shared value sets next to it) not in the layout ``eligimatch fmt``
writes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import RuleFileError
from ..rulesource import SharedSets, load_shared, shared_path, unused_shared
from .examples import example_problems
from .load import load_rule_file

__all__ = ["check_rules"]


def check_rules(
    paths: Iterable[Path], warnings: list[str] | None = None, *, layout: bool = False
) -> list[str]:
    """Every problem in the given rule files, examples included, one line each; with
    ``layout``, also each file (and shared value sets) not in the canonical layout.  Criteria
    still marked ``draft`` (``eligimatch draft``) are not problems: one warning line per file
    is appended to ``warnings`` when given, and one for each shared value set that no rule file
    of its directory uses (when every rule file of the directory is checked)."""
    paths = list(paths)
    lines: list[str] = []
    seen: dict[str, str] = {}
    shared: dict[Path, SharedSets | RuleFileError | None] = {}  # per directory, read once
    failed: set[Path] = set()
    for path in paths:
        where = shared_path(path)
        if where not in shared:
            try:
                shared[where] = load_shared(path)
            except RuleFileError as exc:
                shared[where] = exc
            if layout and where.is_file():
                lines.extend(unformatted(where))
        sets = shared[where]
        if layout:
            lines.extend(unformatted(path))
        try:
            if isinstance(sets, RuleFileError):
                raise sets
            trial = load_rule_file(path, sets)
        except RuleFileError as exc:
            lines.extend(f"{exc.source}: {f}: {m}" if f else f"{exc.source}: {m}" for f, m in exc.problems)
            failed.add(path)
            continue
        if trial.id in seen:
            lines.append(f"{path}: trial.id: {trial.id!r} is also defined in {seen[trial.id]}")
        seen[trial.id] = str(path)
        drafts = [c.id for c in trial.criteria if c.spec.draft is not None]
        if drafts and warnings is not None:
            warnings.append(
                f"{path}: warning: {len(drafts)} of {len(trial.criteria)} criteria "
                f"are drafts, not yet reviewed: {', '.join(drafts)}"
            )
        for c in trial.criteria:
            lines.extend(example_problems(trial, c, str(path)))
    if warnings is not None:
        warnings.extend(_unused(paths, shared, failed))
    return list(dict.fromkeys(lines))  # a broken shared file: once, not once per rule file


def _unused(paths: list[Path], shared: dict[Path, Any], failed: set[Path]) -> list[str]:
    """Shared value sets no rule file of their directory uses (when all of them are checked and
    loaded: what a broken file uses is not known)."""
    lines: list[str] = []
    for where, sets in shared.items():
        directory = where.parent.parent
        files = sorted(directory.glob("*.toml"))
        if isinstance(sets, SharedSets) and set(files) <= set(paths) and not failed & set(files):
            lines.extend(
                f"{where}: warning: {name}: {message}" for name, message in unused_shared(where, files)
            )
    return lines


def unformatted(path: Path) -> list[str]:
    """One line when the file is not in the canonical layout (nothing when it cannot be read:
    loading it reports that)."""
    from ..rulefmt import FormatError, format_text

    try:
        text = path.read_text(encoding="utf-8")
        if format_text(text) == text:
            return []
    except (OSError, UnicodeDecodeError, FormatError):
        return []
    return [f"{path}: not in the canonical layout (run: eligimatch fmt {path})"]

"""A drafted rule file as TOML text."""

from __future__ import annotations

from typing import Any

from .tomlw import key, string, value

__all__ = ["render"]

_TRIAL_KEYS = ("id", "registry_id", "title", "phase", "status", "seed", "notes")
_CRIT_KEYS = ("id", "kind", "draft", "text", "notes", "logic")


def render(trial: dict[str, Any], criteria: list[dict[str, Any]], header: str = "") -> str:
    lines = [f"# {ln}" if ln else "#" for ln in header.splitlines()]
    lines += ["", "schema = 1", "", "[trial]"] if lines else ["schema = 1", "", "[trial]"]
    for k in _TRIAL_KEYS:
        if trial.get(k) is not None:
            v = trial[k]
            lines.append(f"{k} = {string(v) if isinstance(v, str) else value(v)}")
    for c in criteria:
        lines += ["", "[[criteria]]"]
        for k in _CRIT_KEYS:
            if c.get(k) is not None:
                v = c[k]
                lines.append(f"{k} = {string(v) if isinstance(v, str) else value(v)}")
        for ex in c.get("examples", []):
            lines += ["", "  [[criteria.examples]]"]
            lines += [f"  {key(k)} = {value(v)}" for k, v in ex.items()]
    return "\n".join(lines) + "\n"

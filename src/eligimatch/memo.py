"""Bounded memos of pure functions, shared across patients (a unit reading, a date a duration
before another, a treatment's classes by what decides them): the input chooses the keys, so a
memo is emptied when it holds its limit and filled again from what comes next."""

from __future__ import annotations

from typing import Any

__all__ = ["remember"]


def remember(memo: dict[Any, Any], key: Any, value: Any, most: int) -> None:
    """``memo[key] = value``, the memo emptied first when it holds ``most`` entries."""
    if len(memo) >= most:
        memo.clear()
    memo[key] = value

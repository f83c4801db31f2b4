"""Small rule files written by tests: the trial table and one criterion at a time."""

from __future__ import annotations


def header(trial_id: str = "T1", title: str = "test trial", extra: str = "") -> str:
    """``schema`` and the ``[trial]`` table; ``extra`` adds lines to it (lab_max_age_days ...)."""
    return f'''schema = 1
[trial]
id = "{trial_id}"
title = "{title}"
phase = "PHASE2"
status = "RECRUITING"
seed = "seeds/none.txt"
{extra}'''


def criterion(logic: str, cid: str = "I1", kind: str = "inclusion", text: str = "verbatim") -> str:
    return f'''
[[criteria]]
id = "{cid}"
kind = "{kind}"
text = "{text}"
logic = {logic}
'''

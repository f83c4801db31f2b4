"""Every numbered inclusion and exclusion item of every seed record has at least one criterion
in the rule file encoded from it (ids start with their registry number: I8, I8.anc, E3.autoimmune).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eligimatch.engine import load_rule_file

ROOT = Path(__file__).resolve().parents[1]
RULES = {load_rule_file(p).meta.seed: load_rule_file(p) for p in sorted((ROOT / "rules").glob("*.toml"))}
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
END = re.compile(r"^(Minimum Eligible Age|Study & Design|Study details|Primary purpose|Sex|Ages)\b", re.M)
# Seed 003 states its exclusions as unnumbered sentences; they are numbered E1-E4 in order of
# appearance (second primary tumour, pathological fracture, prior radiotherapy to the target
# lesion, pregnancy or breastfeeding).
UNNUMBERED_EXCLUSIONS = {"003_3f6982a6890c5b2a.txt": 4}
# What the parser must find, so that a parsing slip cannot make the test vacuous.
EXPECTED = {"000": (9, 6), "001": (6, 9), "002": (7, 13), "003": (8, 4), "004": (10, 19)}


def _numbers(section: str) -> set[int]:
    found = {int(m.group(1)) for m in re.finditer(r"(?:^|[\s;])(\d{1,2})\\?\.\s", section, re.M)}
    # a run-on paragraph may leave the first number off ("Sign the consent; 2. ...")
    return set(range(1, max(found) + 1)) if found else set()


def numbered_items(text: str, name: str) -> tuple[set[int], set[int]]:
    inc = re.search(r"Inclusion [Cc]riteria:?\s*$", text, re.M)
    exc = re.search(r"Exclusion [Cc]riteria:?\s*$", text, re.M)
    assert inc and exc, f"{name}: no inclusion / exclusion headings"
    inclusion = text[inc.end() : exc.start()]
    rest = text[exc.end() :]
    end = END.search(rest)
    exclusion = rest[: end.start()] if end else rest
    excl = _numbers(exclusion) or set(range(1, UNNUMBERED_EXCLUSIONS.get(name, 0) + 1))
    return _numbers(inclusion), excl


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_every_numbered_item_has_a_criterion(seed):
    rel = f"seeds/{seed.name}"
    assert rel in RULES, f"no rule file is encoded from {rel}"
    inclusion, exclusion = numbered_items(seed.read_text("utf-8"), seed.name)
    assert (len(inclusion), len(exclusion)) == EXPECTED[seed.name[:3]]
    ids = [c.id for c in RULES[rel].criteria]

    def covered(prefix: str) -> bool:
        return any(i == prefix or i.startswith(prefix + ".") for i in ids)

    missing = [f"I{n}" for n in sorted(inclusion) if not covered(f"I{n}")]
    missing += [f"E{n}" for n in sorted(exclusion) if not covered(f"E{n}")]
    assert not missing, f"{rel}: no criterion for {', '.join(missing)}"


def test_every_rule_file_names_an_existing_seed():
    for seed, trial in RULES.items():
        assert (ROOT / seed).is_file(), f"{trial.path}: seed {seed} does not exist"


def test_no_criterion_refers_to_an_item_the_seed_does_not_have():
    for seed in SEEDS:
        trial = RULES[f"seeds/{seed.name}"]
        inclusion, exclusion = numbered_items(seed.read_text("utf-8"), seed.name)
        for c in trial.criteria:
            number = int(re.match(r"[IE](\d+)", c.id).group(1))
            assert number in (inclusion if c.id[0] == "I" else exclusion), (
                f"{trial.path}: {c.id} has no item {number} in {seed.name}"
            )

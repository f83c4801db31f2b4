"""The cache of compiled rule files (eligimatch.engine.cache): a shortcut that is never a source of
truth.  A hit gives the trial a fresh compile gives; anything stale, corrupt, foreign or unsafe is
ignored and the file compiled again; errors always come from the rule file itself."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

import eligimatch.engine.load as load
from eligimatch.api import read_patient
from eligimatch.engine import Program, cache, load_rule_file, load_rules
from eligimatch.engine.compile import compile_bytes
from eligimatch.errors import RuleFileError
from eligimatch.facts import build_facts
from eligimatch.units import analytes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    out = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", out)
    return out


@pytest.fixture
def store(cache_on: Path) -> Path:
    """The cache on, in a directory of the test's own (conftest)."""
    return cache_on


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    done: list[str] = []

    def counting(data: bytes, source: str, shared: object = None) -> object:
        done.append(Path(source).name)
        return compile_bytes(data, source, shared)  # type: ignore[arg-type]

    monkeypatch.setattr(load, "compile_bytes", counting)
    return done


def _entries(store: Path) -> list[Path]:
    return sorted(store.rglob("*.pickle"))


def test_the_second_load_compiles_nothing_and_gives_the_same_trials(rules, store, compiled):
    first = load_rules(rules)
    assert len(compiled) == len(first.trials) == len(_entries(store))
    compiled.clear()
    second = load_rules(rules)
    assert compiled == []
    assert second.trials == first.trials
    assert second.sha256 == first.sha256
    # shared catalogue objects are the very ones a fresh compile holds
    for t in second.trials:
        for node in _walk(c.node for c in t.criteria):
            a = getattr(node, "analyte", None)
            if a is not None:
                assert a is analytes()[a.key]


def _walk(nodes):
    for n in nodes:
        yield n
        yield from _walk(n.subnodes())


def test_a_cached_trial_screens_and_explains_as_a_compiled_one(rules, store):
    fresh = load_rules(rules).trials
    again = load_rules(rules).trials
    for path in sorted((ROOT / "patients").glob("*.json")):
        facts = build_facts(read_patient(path))
        assert Program(again).run(facts) == Program(fresh).run(facts)
        for a, b in zip(again, fresh, strict=True):
            assert a.evaluate(facts) == b.evaluate(facts), (path.name, a.id)


def test_the_same_bytes_elsewhere_are_a_hit_named_by_their_own_path(rules, store, compiled, tmp_path):
    original = load_rule_file(rules / "NCT07342322.toml")
    copy = tmp_path / "elsewhere" / "copy.toml"
    copy.parent.mkdir()
    shutil.copy(rules / "NCT07342322.toml", copy)
    shutil.copytree(rules / "shared", copy.parent / "shared")
    compiled.clear()
    moved = load_rule_file(copy)
    assert compiled == []
    assert moved.path == str(copy) and original.path == str(rules / "NCT07342322.toml")
    assert moved.criteria == original.criteria


@pytest.mark.parametrize("damage", ["garbage", "truncated", "another object", "another trial"])
def test_a_damaged_entry_is_compiled_again_and_replaced(rules, store, compiled, damage):
    path = rules / "NCT07342322.toml"
    good = load_rule_file(path)
    (entry,) = _entries(store)
    blob = entry.read_bytes()
    other = compile_bytes((rules / "NCT06593899.toml").read_bytes(), "x.toml", load.load_shared(path))
    entry.write_bytes(
        {
            "garbage": b"\x00not a pickle",
            "truncated": blob[: len(blob) // 2],
            "another object": pickle.dumps({"id": "NCT07342322"}),
            "another trial": pickle.dumps(other),
        }[damage]
    )
    compiled.clear()
    assert load_rule_file(path) == good
    assert compiled == ["NCT07342322.toml"]
    compiled.clear()
    assert load_rule_file(path) == good  # the entry was written again
    assert compiled == []


def test_another_engine_or_other_shared_sets_miss(rules, store, compiled, monkeypatch):
    path = rules / "NCT07342322.toml"
    load_rule_file(path)
    monkeypatch.setattr(cache, "_FINGERPRINT", ["another engine"])
    compiled.clear()
    load_rule_file(path)
    assert compiled == ["NCT07342322.toml"]
    shared = rules / "shared" / "value_sets.toml"
    shared.write_text(shared.read_text("utf-8") + '\nextra_set_for_the_test = ["x"]\n', "utf-8")
    compiled.clear()
    load_rule_file(path)
    assert compiled == ["NCT07342322.toml"]


@pytest.mark.parametrize("name", ["engine/cache.py", "data/analytes.toml", "units/table.py"])
def test_the_fingerprint_changes_with_a_source_file(monkeypatch, tmp_path, name):
    monkeypatch.setattr(cache, "_FINGERPRINT", [])
    before = cache.fingerprint()
    module = Path(cache.__file__).resolve().parents[1] / name
    stat = module.stat()
    try:
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        monkeypatch.setattr(cache, "_FINGERPRINT", [])
        assert cache.fingerprint() != before
    finally:
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_a_broken_file_is_never_stored_and_says_what_is_wrong_each_time(rules, store):
    path = rules / "NCT07342322.toml"
    path.write_text(path.read_text("utf-8").replace('op = ">="', 'op = "=>"', 1), "utf-8")
    messages = []
    for _ in range(2):
        with pytest.raises(RuleFileError) as err:
            load_rule_file(path)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "op" in messages[0]
    assert _entries(store) == []


def test_off_or_unwritable_or_shared_with_others_the_cache_is_left_alone(rules, store, compiled, monkeypatch):
    path = rules / "NCT07342322.toml"
    monkeypatch.setenv("ELIGIMATCH_NO_CACHE", "1")
    load_rule_file(path)
    assert not store.exists()
    monkeypatch.delenv("ELIGIMATCH_NO_CACHE")
    store.write_text("a file where the directory should be")
    good = load_rule_file(path)  # cannot be written: compiled, no error
    store.unlink()
    load_rule_file(path)
    (entry,) = _entries(store)
    os.chmod(entry.parent, 0o777)  # others could have put it there
    compiled.clear()
    assert load_rule_file(path) == good
    assert compiled == ["NCT07342322.toml"]


def test_an_expression_trial_is_cached_and_decides_as_compiled(tmp_path, store, compiled):
    """rule-engine's compiled rule travels in the pickle and decides the same on reload."""
    from eligimatch.patient import Patient
    from rulefiles import criterion, header

    path = tmp_path / "x1.toml"
    path.write_text(
        header("X1", "expr") + criterion("{ expr = \"anc > 1.5 and sex == 'female'\" }", "I1"), "utf-8"
    )
    fresh = load_rule_file(path, None)
    compiled.clear()
    again = load_rule_file(path, None)
    assert compiled == []
    for sex, anc in (("female", "2000"), ("female", "1000"), ("male", "2000"), (None, "2000")):
        raw = {
            "id": "p",
            "as_of": "2026-11-01",
            "labs": [{"test": "anc", "value": anc, "unit": "/uL", "date": "2026-10-30"}],
        }
        if sex:
            raw["sex"] = sex
        facts = build_facts(Patient.model_validate(raw))
        assert again.evaluate(facts) == fresh.evaluate(facts)


def test_old_entries_go_as_new_ones_are_written(rules, store):
    path = rules / "NCT07342322.toml"
    load_rule_file(path)
    (entry,) = _entries(store)
    stale = entry.parent / ("0" * 64 + ".pickle")
    stale.write_bytes(b"left by an engine long gone")
    month_ago = entry.stat().st_mtime - 31 * 86400
    os.utime(stale, (month_ago, month_ago))
    entry.unlink()
    load_rule_file(path)  # writes its entry again, in the same bucket
    assert _entries(store) == [entry]


def test_a_worker_compiling_a_plan_reads_the_cache_too(rules, store, monkeypatch):
    """A spawned worker compiles the plan from its bytes: through the cache, as the parent did."""
    import eligimatch.engine as engine
    from eligimatch.batch import make_plan
    from eligimatch.batch.plan import _compile

    plan = make_plan(load_rules(rules), None, None, "jsonl")
    done: list[str] = []

    def counting(data: bytes, source: str, shared: object = None) -> object:
        done.append(source)
        return compile_bytes(data, source, shared)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "compile_bytes", counting)
    trials = _compile(plan)
    assert done == []
    assert [t.id for t in trials] == list(plan.trial_ids)
    monkeypatch.setenv("ELIGIMATCH_NO_CACHE", "1")
    assert [t.id for t in _compile(plan)] == list(plan.trial_ids)
    assert len(done) == len(plan.rule_files)

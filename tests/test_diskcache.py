"""Parsed data tables kept in the cache (eligimatch.diskcache.parsed, toml_table): a kept table is
the one its parser gives (tomllib, the OncoTree flat file's reader), and anything stale, forged,
unreadable, of another shape or unsafe is parsed again."""

from __future__ import annotations

import json
import os
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from eligimatch import diskcache

DATA = resources.files("eligimatch.data")
TABLES = sorted(p.name for p in DATA.iterdir() if p.name.endswith(".toml"))


@pytest.fixture
def store(cache_on: Path) -> Path:
    return cache_on


def _entries(store: Path) -> list[Path]:
    return sorted((store / "tables").glob("*.json"))


@pytest.mark.parametrize("name", TABLES)
def test_every_data_table_reads_back_as_tomllib_parses_it(store, name):
    text = DATA.joinpath(name).read_text("utf-8")
    first = diskcache.toml_table(text)
    again = diskcache.toml_table(text)
    assert first == again == tomllib.loads(text)
    assert len(_entries(store)) == 1


def test_a_changed_table_is_another_entry(store):
    assert diskcache.toml_table('a = 1\nb = "x"\n') == {"a": 1, "b": "x"}
    assert diskcache.toml_table('a = 2\nb = "x"\n') == {"a": 2, "b": "x"}
    assert len(_entries(store)) == 2


@pytest.mark.parametrize(
    "forged",
    [
        b"",
        b"{not json",
        b"[1, 2]",
        b'{"sha256": "0000", "table": {"a": 99}}',  # another table's entry copied here
        b'{"table": {"a": 99}}',
    ],
)
def test_a_corrupt_or_foreign_entry_is_parsed_again(store, forged):
    diskcache.toml_table("a = 1\n")
    (entry,) = _entries(store)
    entry.write_bytes(forged)
    assert diskcache.toml_table("a = 1\n") == {"a": 1}


def test_an_entry_in_a_directory_others_can_write_is_not_read(store):
    diskcache.toml_table("a = 1\n")
    (entry,) = _entries(store)
    doc = json.loads(entry.read_bytes())
    doc["table"] = {"a": 99}  # what another user could have put there
    entry.write_text(json.dumps(doc))
    os.chmod(entry.parent, 0o777)
    try:
        assert diskcache.toml_table("a = 1\n") == {"a": 1}
    finally:
        os.chmod(entry.parent, 0o700)


@pytest.mark.parametrize("text", ["when = 2026-01-01\n", "x = nan\n", "x = inf\n"])
def test_a_table_json_cannot_keep_is_parsed_each_time(store, text):
    first, again = diskcache.toml_table(text), diskcache.toml_table(text)
    assert repr(first) == repr(again) == repr(tomllib.loads(text))
    assert _entries(store) == []


def test_off_and_unwritable_caches_still_parse(tmp_path, monkeypatch):
    monkeypatch.setenv("ELIGIMATCH_NO_CACHE", "1")
    assert diskcache.toml_table("a = 1\n") == {"a": 1}
    monkeypatch.delenv("ELIGIMATCH_NO_CACHE")
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("ELIGIMATCH_CACHE_DIR", str(blocked / "cache"))
    assert diskcache.toml_table("a = 1\n") == {"a": 1}


def test_broken_toml_still_raises(store):
    with pytest.raises(tomllib.TOMLDecodeError):
        diskcache.toml_table("a = \n")
    assert _entries(store) == []


def test_the_oncotree_rows_kept_are_the_flat_file_s(store):
    import csv

    from eligimatch import ontology

    path = DATA.joinpath("oncotree/oncotree_2025_10_03_flat.tsv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    trees = []
    for _ in range(2):  # parsed and stored, then read from the cache
        ontology.oncotree.cache_clear()
        trees.append(ontology.oncotree().nodes)
    ontology.oncotree.cache_clear()
    assert len(_entries(store)) == 1
    for nodes in trees:
        assert list(nodes) == [r["code"] for r in rows]
        assert [(n.name, n.parent or "", n.main_type) for n in nodes.values()] == [
            (r["name"], r["parent"], r["mainType"]) for r in rows
        ]


def test_a_kept_table_of_another_shape_is_parsed_again(store):
    parse = lambda text: text.split()  # noqa: E731
    words = lambda t: isinstance(t, list) and all(isinstance(w, str) for w in t)  # noqa: E731
    assert diskcache.parsed("a b", b"words-1\0", parse, words) == ["a", "b"]
    (entry,) = _entries(store)
    doc = json.loads(entry.read_bytes())
    for forged in ({"a": 1}, [1, 2], None):  # a dict where a list was kept, numbers, nothing
        doc["table"] = forged
        entry.write_text(json.dumps(doc))
        assert diskcache.parsed("a b", b"words-1\0", parse, words) == ["a", "b"]
    assert diskcache.parsed("a b", b"words-2\0", lambda t: t.split("b"), words) == ["a ", ""]
    assert len(_entries(store)) == 2  # another parser: another entry


@pytest.mark.parametrize("forged", [[], [["X"]], [{"code": "X"}], [[1, 2, 3, 4]], [["a", "b", "c", None]]])
def test_a_kept_oncotree_that_is_not_its_rows_is_read_again_from_the_file(store, forged):
    from eligimatch import ontology

    ontology.oncotree.cache_clear()
    whole = len(ontology.oncotree().nodes)
    (entry,) = _entries(store)
    doc = json.loads(entry.read_bytes())
    doc["table"] = forged
    entry.write_text(json.dumps(doc))
    ontology.oncotree.cache_clear()
    try:
        assert len(ontology.oncotree().nodes) == whole == 898
    finally:
        ontology.oncotree.cache_clear()

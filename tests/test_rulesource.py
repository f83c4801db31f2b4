"""Named definitions and shared value sets (eligimatch.rulesource): what a reference stands for,
and every resolution problem as the exact one-line load error naming the file and the field."""

from __future__ import annotations

import shutil
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from eligimatch import rulesource, tomlin
from eligimatch.engine import check_rules, load_rule_file, load_rules, rule_files
from eligimatch.errors import RuleFileError
from rulefiles import criterion, header

ROOT = Path(__file__).resolve().parents[1]
OLD = '{ exists = "treatments", where = { agents = ["doxorubicin", "epirubicin"] } }'


def _write(directory: Path, body: str, shared: str | None = None, name: str = "t.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if shared is not None:
        (directory / "shared").mkdir(exist_ok=True)
        (directory / "shared" / "value_sets.toml").write_text(shared, encoding="utf-8")
    path = directory / name
    path.write_text(header() + body, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(RuleFileError) as info:
        load_rule_file(path)
    return str(info.value)


def _logic(path: Path, cid: str = "I1") -> object:
    return next(c.spec.logic for c in load_rule_file(path).criteria if c.id == cid)


# ---------------------------------------------------------------------------- what a reference is


def test_a_shared_set_used_as_a_value(tmp_path):
    path = _write(
        tmp_path,
        criterion('{ exists = "treatments", where = { agents = { use = "anthra" } } }'),
        'anthra = ["doxorubicin", "epirubicin"]\n',
    )
    assert _logic(path) == tomllib.loads(f"x = {OLD}")["x"]


def test_a_value_set_is_spliced_into_a_list(tmp_path):
    path = _write(
        tmp_path,
        criterion(
            '{ exists = "treatments", where = { agents = ["idarubicin", { use = "anthra" }, "adriamycin"] } }'
        ),
        'anthra = ["doxorubicin", "epirubicin"]\n',
    )
    assert _logic(path) == {
        "exists": "treatments",
        "where": {"agents": ["idarubicin", "doxorubicin", "epirubicin", "adriamycin"]},
    }


def test_definitions_of_a_file_tables_lists_and_each_other(tmp_path):
    body = """
[definitions]
drug = [{ classes = "anthracycline" }, { agents = { use = "anthra" } }]
chemo = { exists = "treatments", where = { any = { use = "drug" } } }
""" + criterion('{ all = [{ use = "chemo" }, { not = { use = "chemo" } }] }')
    path = _write(tmp_path, body, 'anthra = ["doxorubicin"]\n')
    chemo = {
        "exists": "treatments",
        "where": {"any": [{"classes": "anthracycline"}, {"agents": ["doxorubicin"]}]},
    }
    assert _logic(path) == {"all": [chemo, {"not": chemo}]}


def test_a_list_of_tables_spliced_into_all(tmp_path):
    body = """
[definitions]
two = [{ fact = "sex", is = "female" }, { fact = "consent_signed", is = true }]
""" + criterion('{ all = [{ use = "two" }, { fact = "pregnant", is = false }] }')
    path = _write(tmp_path, body)
    assert [n for n in _logic(path)["all"]] == [  # type: ignore[index]
        {"fact": "sex", "is": "female"},
        {"fact": "consent_signed", "is": True},
        {"fact": "pregnant", "is": False},
    ]


def test_shared_sets_may_use_each_other(tmp_path):
    path = _write(
        tmp_path,
        criterion('{ exists = "treatments", where = { agents = { use = "all_of" } } }'),
        'some = ["a"]\nall_of = [{ use = "some" }, "b"]\n',
    )
    assert _logic(path) == {"exists": "treatments", "where": {"agents": ["a", "b"]}}


def test_every_copy_is_its_own(tmp_path):
    body = """
[definitions]
chemo = { exists = "treatments", where = { agents = ["x"] } }
""" + criterion('{ all = [{ use = "chemo" }, { use = "chemo" }] }')
    raw, problems = rulesource.read(_write(tmp_path, body).read_bytes(), None)
    first, second = raw["criteria"][0]["logic"]["all"]
    assert problems == [] and first == second and first is not second
    assert "definitions" not in raw


def test_a_single_file_finds_the_shared_sets_next_to_it(tmp_path):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    for path in rule_files(tmp_path / "rules"):
        assert load_rule_file(path).criteria
    assert (
        rulesource.shared_path(tmp_path / "rules" / "x.toml")
        == tmp_path / "rules" / "shared" / "value_sets.toml"
    )


def test_the_shared_file_is_not_a_trial():
    files = rule_files(ROOT / "rules")
    assert ROOT / "rules" / "shared" / "value_sets.toml" not in files
    assert len(load_rules(ROOT / "rules").trials) == len(files)


def test_the_rules_hash_covers_the_shared_sets(tmp_path):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    before = load_rules(tmp_path / "rules").sha256
    shared = tmp_path / "rules" / "shared" / "value_sets.toml"
    shared.write_text(shared.read_text("utf-8") + "\n# a comment\n", encoding="utf-8")
    assert load_rules(tmp_path / "rules").sha256 != before


def test_every_list_of_the_project_rules_is_written_once():
    """No list of three or more values, nor a table of more than 150 characters of logic,
    appears twice in the project's rule files as written."""
    import json

    seen: dict[str, str] = {}

    def walk(node: object, where: str) -> None:
        if isinstance(node, list):
            if len(node) >= 3 and all(isinstance(v, str) for v in node):
                key = json.dumps(node)
                assert key not in seen, f"{where} repeats {seen.get(key)}"
                seen[key] = where
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{where}.{k}")

    for path in [*rule_files(ROOT / "rules"), ROOT / "rules" / "shared" / "value_sets.toml"]:
        walk(tomlin.parse(path.read_bytes())[0], path.name)


# ---------------------------------------------------------------------------- resolution errors

SHARED = 'anthracyclines = ["doxorubicin"]\n'
ERRORS = [
    (
        "unknown-name",
        criterion('{ exists = "treatments", where = { agents = { use = "anthracyclins" } } }'),
        "criteria[I1].logic.where.agents: unknown definition 'anthracyclins'; did you mean 'anthracyclines'?",
    ),
    (
        "unknown-name-no-hint",
        criterion('{ exists = "treatments", where = { agents = { use = "zzz" } } }'),
        "criteria[I1].logic.where.agents: unknown definition 'zzz'",
    ),
    (
        "cycle",
        '\n[definitions]\na = { all = [{ use = "b" }] }\nb = { any = [{ use = "a" }] }\n'
        + criterion('{ use = "a" }'),
        "definitions.a: definitions use each other in a cycle: a → b → a",
    ),
    (
        "self-cycle",
        '\n[definitions]\na = { not = { use = "a" } }\n' + criterion('{ use = "a" }'),
        "definitions.a: definitions use each other in a cycle: a → a",
    ),
    (
        "unused",
        '\n[definitions]\nspare = ["x"]\n' + criterion('{ fact = "sex", is = "female" }'),
        "definitions.spare: defined but never used",
    ),
    (
        "list-as-logic",
        criterion('{ use = "anthracyclines" }'),
        "criteria[I1].logic: 'anthracyclines' is a list; here a table (a logic node) is expected",
    ),
    (
        "values-among-tables",
        criterion('{ all = [{ use = "anthracyclines" }, { fact = "sex", is = "male" }] }'),
        "criteria[I1].logic.all[0]: 'anthracyclines' holds values; here tables (logic nodes) are expected",
    ),
    (
        "table-among-values",
        '\n[definitions]\nchemo = { classes = "anthracycline" }\n'
        + criterion('{ exists = "treatments", where = { agents = ["x", { use = "chemo" }] } }'),
        "criteria[I1].logic.where.agents[1]: 'chemo' is a table; here a value is expected",
    ),
    (
        "tables-among-values",
        '\n[definitions]\nchemo = [{ classes = "anthracycline" }]\n'
        + criterion('{ exists = "treatments", where = { agents = ["x", { use = "chemo" }] } }'),
        "criteria[I1].logic.where.agents[1]: 'chemo' holds tables; here values are expected",
    ),
    (
        "extra-key",
        criterion('{ exists = "treatments", where = { agents = { use = "anthracyclines", plus = "x" } } }'),
        "criteria[I1].logic.where.agents: a reference { use = ... } takes no other key (got plus)",
    ),
    (
        "name-not-a-string",
        criterion('{ exists = "treatments", where = { agents = { use = 3 } } }'),
        "criteria[I1].logic.where.agents.use: must be the name of a definition",
    ),
    (
        "outside-logic",
        criterion('{ fact = "sex", is = "female" }')
        + '\n  [[criteria.examples]]\n  expect = "pass"\n  patient = { use = "anthracyclines" }\n',
        "criteria[I1].examples[0].patient: a reference { use = ... } may stand only in a criterion's "
        "logic or in a definition",
    ),
    (
        "shadows-shared",
        '\n[definitions]\nanthracyclines = ["x"]\n' + criterion('{ fact = "sex", is = "female" }'),
        "definitions.anthracyclines: 'anthracyclines' is a shared value set ({shared}); "
        "give this definition another name",
    ),
    (
        "bad-name",
        '\n[definitions]\nBad-Name = ["x"]\n' + criterion('{ fact = "sex", is = "female" }'),
        "definitions.Bad-Name: a definition's name is lower case letters, digits and '_', "
        "starting with a letter",
    ),
    (
        "scalar-definition",
        "\n[definitions]\nthree = 3\n" + criterion('{ fact = "sex", is = "female" }'),
        "definitions.three: a definition is a list (a value set) or a table (logic)",
    ),
    (
        "in-a-definition",
        '\n[definitions]\nchemo = { exists = "treatments", where = { agents = { use = "anthracyclin" } } }\n'
        + criterion('{ use = "chemo" }'),
        "definitions.chemo.where.agents: unknown definition 'anthracyclin'; did you mean 'anthracyclines'?",
    ),
]


@pytest.mark.parametrize(("body", "message"), [pytest.param(b, m, id=i) for i, b, m in ERRORS])
def test_resolution_error_is_one_exact_line(tmp_path, body, message):
    path = _write(tmp_path, body, SHARED)
    shared = tmp_path / "shared" / "value_sets.toml"
    assert _error(path) == f"{path}: " + message.replace("{shared}", str(shared))


def test_definitions_must_be_a_table(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("definitions = 3\n" + header() + criterion('{ fact = "sex", is = "female" }'))
    assert _error(path) == f"{path}: definitions: must be a table of named definitions"


def test_several_problems_are_all_reported(tmp_path):
    body = '\n[definitions]\nspare = ["x"]\n' + criterion(
        '{ exists = "treatments", where = { agents = { use = "nope" } } }'
    )
    path = _write(tmp_path, body, SHARED)
    assert _error(path) == (
        f"{path}: criteria[I1].logic.where.agents: unknown definition 'nope'; "
        "definitions.spare: defined but never used"
    )


SHARED_ERRORS = [
    ("not-a-list", 'anthracyclines = "doxorubicin"\n', "anthracyclines: a shared value set must be a list"),
    (
        "a-table-inside",
        'anthracyclines = [{ agents = "x" }]\n',
        "anthracyclines[0]: a value set holds only values and other value sets",
    ),
    (
        "unknown",
        'anthracyclines = [{ use = "anthracyclin" }]\n',
        "anthracyclines[0]: unknown definition 'anthracyclin'; did you mean 'anthracyclines'?",
    ),
    (
        "cycle",
        'a = [{ use = "b" }]\nb = [{ use = "a" }]\n',
        "a: definitions use each other in a cycle: a → b → a",
    ),
    ("syntax", "a = [\n", "TOML syntax error: Invalid value (at end of document)"),
]


@pytest.mark.parametrize(("shared", "message"), [pytest.param(s, m, id=i) for i, s, m in SHARED_ERRORS])
def test_a_broken_shared_file_is_an_error_naming_it(tmp_path, shared, message):
    path = _write(tmp_path, criterion('{ fact = "sex", is = "female" }'), shared)
    assert _error(path) == f"{tmp_path / 'shared' / 'value_sets.toml'}: {message}"
    assert check_rules(
        [path, _write(tmp_path, criterion('{ fact = "sex", is = "male" }'), name="u.toml")]
    ) == [f"{tmp_path / 'shared' / 'value_sets.toml'}: {message}"]  # once, not per file


def test_definitions_that_expand_without_limit_are_refused(tmp_path):
    def level(i: int) -> str:
        ref = f'{{ use = "d{i + 1}" }}'
        return f"d{i} = [{', '.join([ref] * 10)}]"

    levels = "\n".join(level(i) for i in range(7))
    body = f'\n[definitions]\n{levels}\nd7 = ["x"]\n' + criterion(
        '{ exists = "treatments", where = { agents = { use = "d0" } } }'
    )
    path = _write(tmp_path, body)
    assert _error(path) == f"{path}: the definitions expand to more than 1,000,000 values"


def test_depth_is_bounded_after_expansion(tmp_path):
    defs = "\n".join(f'n{i} = {{ not = {{ use = "n{i + 1}" }} }}' for i in range(70))
    body = f'\n[definitions]\n{defs}\nn70 = {{ fact = "sex", is = "female" }}\n' + criterion('{ use = "n0" }')
    message = _error(_write(tmp_path, body))
    assert message.endswith(": nested more than 64 levels deep")


def test_toml_1_1_multi_line_inline_tables_and_trailing_commas(tmp_path):
    body = criterion("""{
  exists = "treatments",  # a comment inside an inline table
  where = {
    agents = ["doxorubicin", "epirubicin",],
  },
}""")
    path = _write(tmp_path, body)
    assert _logic(path) == tomllib.loads(f"x = {OLD}", parse_float=Decimal)["x"]


def test_check_warns_of_a_shared_set_no_rule_file_uses(tmp_path):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    shared = tmp_path / "rules" / "shared" / "value_sets.toml"
    shared.write_text(shared.read_text("utf-8") + 'spare = ["x"]\n', encoding="utf-8")
    files = rule_files(tmp_path / "rules")
    warnings: list[str] = []
    assert check_rules(files, warnings) == []
    assert warnings == [f"{shared}: warning: spare: a shared value set no rule file uses"]
    warnings.clear()
    assert check_rules(files[:1], warnings) == [] and warnings == []  # one file need not use all

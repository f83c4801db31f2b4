"""The documentation: generated documents are current, and what the documents quote is true."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import typing
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

from eligimatch import patient as patient_module
from eligimatch.api import parse_patient
from eligimatch.errors import PatientError

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCRIPT = ROOT / "scripts" / "update_docs.py"


@pytest.fixture(scope="module")
def update_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("update_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_documents_are_current(update_docs):
    stale = [str(p.relative_to(ROOT)) for p in update_docs.stale()]
    assert stale == [], f"stale: {stale}; run python scripts/update_docs.py and review the diff"


def test_check_mode_names_a_stale_document_and_fails(update_docs, tmp_path, monkeypatch, capsys):
    doc = tmp_path / "doc.md"
    doc.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(update_docs, "ROOT", tmp_path)
    monkeypatch.setattr(update_docs, "DOCUMENTS", {doc: lambda: "new\n"})
    assert update_docs.main(["--check"]) == 1
    assert capsys.readouterr().err == "doc.md is stale: run python scripts/update_docs.py\n"
    assert doc.read_text(encoding="utf-8") == "old\n"  # --check never writes
    assert update_docs.main([]) == 0
    assert doc.read_text(encoding="utf-8") == "new\n"
    assert update_docs.main(["--check"]) == 0
    assert update_docs.main(["--bogus"]) == 2


def test_the_script_runs_as_documented():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr


def test_regenerating_keeps_the_hand_written_part(update_docs):
    text = (DOCS / "patient-format.md").read_text(encoding="utf-8")
    marker = update_docs.MARKER.format(source="src/eligimatch/patient/")
    assert text.count(marker) == 1
    head = text.split(marker)[0]
    assert "## Format version" in head and "## Field reference" not in head
    assert update_docs.patient_format() == text  # idempotent


def _models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = [patient_module.Patient]
    for model in seen:
        for f in model.model_fields.values():
            for arg in _leaves(f.annotation):
                if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in seen:
                    seen.append(arg)
    return seen


def _leaves(ann: object) -> list[object]:
    args = typing.get_args(ann)
    return [ann] if not args else [x for a in args for x in _leaves(a)]


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^### (\w+)\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_every_field_of_every_model_is_in_the_patient_format(model):
    sections = _sections((DOCS / "patient-format.md").read_text(encoding="utf-8"))
    assert model.__name__ in sections
    rows = re.findall(r"^\| `(\w+)` \|", sections[model.__name__], flags=re.M)
    assert rows == list(model.model_fields)


def test_every_vocabulary_value_is_in_the_patient_format():
    sections = _sections((DOCS / "patient-format.md").read_text(encoding="utf-8"))
    for name in ("ConditionType", "ConditionCategory", "DrugClass", "MetastasisSite", "TreatmentType"):
        values = typing.get_args(getattr(patient_module, name))
        assert re.findall(r"`(\w+)`", sections[name]) == list(values)


def _quoted_errors(text: str) -> list[str]:
    return re.findall(r"^eligimatch: error: (.+)$", text, flags=re.M)


def test_the_patient_format_quotes_the_real_version_error():
    (quoted,) = _quoted_errors((DOCS / "patient-format.md").read_text(encoding="utf-8"))
    raw = json.loads((ROOT / "patients" / "p02_lms_low_anc_ineligible.json").read_text())
    raw["format_version"] = "2"
    with pytest.raises(PatientError) as info:
        parse_patient(json.dumps(raw), "p02.json")
    assert str(info.value) == quoted


def test_the_patient_format_example_reads(tmp_path):
    text = (DOCS / "patient-format.md").read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)```", text, flags=re.S)
    assert example is not None
    p = parse_patient(example.group(1), "example.json")
    assert p.format_version == "1" and p.id == "p02"


# ---------------------------------------------------------------- the rule language


def test_the_rule_language_shows_every_node_kind_with_its_examples_and_errors():
    from eligimatch.engine.registry import kinds

    text = (DOCS / "rule-language.md").read_text(encoding="utf-8")
    for key, kind in kinds().items():
        assert f"\n### `{key}`\n" in text
        section = text.split(f"\n### `{key}`\n", 1)[1].split("\n### ", 1)[0]
        assert kind.unknown in section
        for ex in kind.examples:
            assert ex.logic in section
            if ex.error is not None:
                assert f"`{ex.error}`" in section.replace("\\|", "|")


def test_examples_in_the_docs_show_what_the_engine_explains(update_docs):
    from eligimatch.engine.registry import kinds

    text = (DOCS / "rule-language.md").read_text(encoding="utf-8").replace("\\|", "|")
    for kind in kinds().values():
        for ex in kind.examples:
            if ex.error is None:
                assert update_docs.explanation(ex) in text


def test_the_readme_links_the_generated_documents_instead_of_its_own_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/rule-language.md)" in readme and "(docs/patient-format.md)" in readme
    assert "| node | meaning |" not in readme and "Logic vocabulary" not in readme
    assert not (DOCS / "rule-vocabulary.md").exists()


_ISSUE = re.compile(r"\bissue\s*\d+|\badditions for\b", re.I)  # "Additions for issue 3"
_NAMED = re.compile(r"issue|additions", re.I)  # test_engine_additions.py


def test_no_document_test_file_or_banner_is_named_after_an_issue():
    files = [
        p
        for top in ("docs", "tests", "src", "scripts")
        for p in (ROOT / top).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert [p.name for p in files if _NAMED.search(p.stem)] == []
    for md in [ROOT / "README.md", *DOCS.glob("*.md")]:
        headings = re.findall(r"^#+ .*$", md.read_text(encoding="utf-8"), flags=re.M)
        assert [h for h in headings if _ISSUE.search(h)] == [], md.name
    for py in (p for p in files if p.suffix == ".py"):
        banners = re.findall(r"^\s*# ?[-=#]{4,}.*$", py.read_text(encoding="utf-8"), flags=re.M)
        assert [b for b in banners if _ISSUE.search(b)] == [], py


def test_the_changelog_has_unreleased_and_the_current_version():
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## \[([^\]]+)\]", text, flags=re.M)
    assert sections[0] == "Unreleased" and version in sections
    allowed = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
    assert set(re.findall(r"^### (.+)$", text, flags=re.M)) <= allowed


def test_the_rule_file_shown_in_the_rule_language_is_canonical_and_loads():
    from eligimatch.engine import compile_bytes
    from eligimatch.rulefmt import is_formatted

    text = (DOCS / "rule-language.md").read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    assert is_formatted(example)
    trial = compile_bytes(example.encode(), "NCT07342322.toml")
    assert [c.id for c in trial.criteria] == ["I8.alt"]

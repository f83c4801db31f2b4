"""The registry is the one list of the rule language, and nothing outside the node modules
branches on node types."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from eligimatch.engine import nodes, registry
from eligimatch.engine.nodes.base import Node, NodeKind

SRC = Path(nodes.__file__).resolve().parents[2]  # src/eligimatch
NODE_CLASSES = {
    name
    for name, obj in vars(nodes).items()
    if inspect.isclass(obj) and (issubclass(obj, Node) or name.endswith("FieldTest") or name == "Match")
}


def test_every_family_module_lists_its_kinds():
    for family in registry.FAMILIES:
        assert family.KINDS, family.__name__
        assert all(isinstance(k, NodeKind) for k in family.KINDS)
    keys = [k.key for f in registry.FAMILIES for k in f.KINDS]
    assert len(keys) == len(set(keys))
    assert list(registry.kinds()) == keys


def test_a_kind_defined_twice_is_refused(monkeypatch):
    class Twice:
        __name__ = "twice"
        KINDS = (NodeKind("all", lambda raw, where, problems: Node()),)

    monkeypatch.setattr(registry, "FAMILIES", [*registry.FAMILIES, Twice])
    monkeypatch.setattr(registry, "_kinds", None)
    with pytest.raises(ValueError, match="node kind 'all' is defined twice"):
        registry.kinds()


def _type_tests(tree: ast.AST) -> list[tuple[int, str]]:
    """isinstance(x, NodeClass) and type(x) is NodeClass in a module."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("isinstance", "issubclass"):
            names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            out.extend((node.lineno, n) for n in names & NODE_CLASSES)
        if (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Call)
            and getattr(node.left.func, "id", None) == "type"
        ):
            names = {n.id for c in node.comparators for n in ast.walk(c) if isinstance(n, ast.Name)}
            out.extend((node.lineno, n) for n in names & NODE_CLASSES)
    return out


def test_no_module_outside_the_node_modules_branches_on_node_types():
    assert {"All", "Compare", "Exists", "Review", "Match"} <= NODE_CLASSES
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if (SRC / "engine" / "nodes") in path.parents:
            continue
        for line, name in _type_tests(ast.parse(path.read_text(encoding="utf-8"))):
            found.append(f"{path.relative_to(SRC)}:{line}: {name}")
    assert found == []

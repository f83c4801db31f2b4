"""Named definitions in rule files, and value sets shared by the rule files of a directory.

A list or a piece of logic that rule files need more than once is written once and used by
name::

    [definitions]                       # in a rule file: lists and tables
    anthracycline_chemotherapy = {
      exists = "treatments",
      where = { any = [{ classes = "anthracycline" }, { agents = { use = "anthracyclines" } }] },
    }

    # rules/shared/value_sets.toml: lists of values shared by the rule files of rules/
    anthracyclines = ["doxorubicin", "epirubicin", ...]

A **reference** is an inline table with the one key ``use``: ``{ use = "anthracyclines" }``.  No
table of a rule file has a key ``use`` of its own (``ref`` is taken: a date comparison's
``{ op = ">=", ref = "start" }``), so a reference cannot be mistaken for data.  It stands for a
copy of the definition:

* as the value of a key, the definition replaces the reference;
* as an element of a list, a list definition is spliced in, element by element, and a table
  definition is one element: ``agents = [{ use = "anthracyclines" }, "adriamycin"]``;
* the value of a criterion's ``logic`` and each element of an ``all`` or ``any`` list is a
  table (a logic node or a condition); a list of values spliced among tables, or tables among
  values, is the wrong shape;
* a shared value set holds values and references to other shared sets only;
* references may stand in a criterion's ``logic``, in a definition and in a shared value set,
  nowhere else (not in the trial's metadata, nor in the examples, which are written out);
* a file's ``[definitions]`` and the shared value sets are one namespace (names of lower-case
  letters, digits and ``_``): a file may not define a name the shared file defines;
* every definition of a file is used; definitions may use each other, but not in a cycle.

The shared value sets of a rule file are ``shared/value_sets.toml`` next to it (``rule_files``
reads only the ``*.toml`` directly in ``rules/``, so it is never taken for a trial).  Every
problem is a load error naming the file and the field, as ``(field, message)``.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import tomlin
from .errors import RuleFileError

__all__ = [
    "DEFINITIONS",
    "REFERENCE",
    "SHARED_FILE",
    "SharedSets",
    "load_shared",
    "read",
    "read_rule_bytes",
    "references",
    "resolve",
    "shared_path",
    "unused_shared",
]

DEFINITIONS = "definitions"
REFERENCE = "use"
SHARED_FILE = Path("shared") / "value_sets.toml"
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_LOGIC_LISTS = ("all", "any")

Problems = list[tuple[str, str]]
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SharedSets:
    """The shared value sets of a directory of rule files (``path`` as messages name it)."""

    path: str
    sets: Mapping[str, Any]
    sha256: str

    @classmethod
    def from_bytes(cls, path: str, data: bytes) -> SharedSets:
        """Read and check a shared file: every top-level key is a value set (a list of values
        and of references to other sets of the file); :class:`RuleFileError` otherwise."""
        raw, problems = tomlin.parse(data)
        if raw is None:
            raise RuleFileError(path, problems)
        for name, value in raw.items():
            if not NAME.match(name):
                problems.append((name, _BAD_NAME))
            elif not isinstance(value, list):
                problems.append((name, "a shared value set must be a list"))
        if not problems:
            r = _Resolver(raw, {}, problems, shared_file=True)
            for name in raw:
                r.definition(name, (name,))
            sets = {name: r.done[name] for name in raw if name in r.done}
            problems.extend(r.bounds(sets))
        if problems:
            raise RuleFileError(path, problems)
        return cls(path, sets, hashlib.sha256(data).hexdigest())


def shared_path(rule_file: Path) -> Path:
    """Where the shared value sets of ``rule_file`` are (whether or not the file exists)."""
    return rule_file.parent / SHARED_FILE


def read_rule_bytes(path: Path) -> bytes:
    """The bytes of a rule file or a shared file, within the input limit; a file that cannot be
    read is a :class:`RuleFileError` naming it."""
    from .jsonin import TooLarge, max_input_bytes, read_bytes

    try:
        return read_bytes(path, max_input_bytes())
    except TooLarge as exc:
        raise RuleFileError(str(path), [("", str(exc))]) from None
    except OSError as exc:
        raise RuleFileError(str(path), [("", f"cannot read: {exc.strerror or exc}")]) from None


def load_shared(rule_file: Path) -> SharedSets | None:
    """The shared value sets next to ``rule_file``; ``None`` when there is no shared file."""
    path = shared_path(rule_file)
    if not path.is_file():
        return None
    return SharedSets.from_bytes(str(path), read_rule_bytes(path))


def read(data: bytes, shared: SharedSets | None) -> tuple[Any, Problems]:
    """A rule file's bytes → its document with every definition expanded (``None`` and the
    problems when it cannot be read, breaks a bound or a reference cannot be resolved)."""
    raw, problems = tomlin.parse(data)
    if raw is None:
        return None, problems
    return resolve(raw, shared)


def resolve(raw: dict[str, Any], shared: SharedSets | None) -> tuple[Any, Problems]:
    """The document without its ``[definitions]`` and with every reference replaced."""
    problems: Problems = []
    defs = raw.get(DEFINITIONS, {})
    if not isinstance(defs, dict):
        return None, [(DEFINITIONS, "must be a table of named definitions")]
    known = dict(shared.sets) if shared else {}
    for name, value in defs.items():
        where = tomlin.location((DEFINITIONS, name), raw)
        if not NAME.match(name):
            problems.append((where, _BAD_NAME))
        elif name in known:
            problems.append(
                (
                    where,
                    f"{name!r} is a shared value set ({shared.path if shared else ''}); "
                    "give this definition another name",
                )
            )
        elif not isinstance(value, list | dict):
            problems.append((where, "a definition is a list (a value set) or a table (logic)"))
    if problems:
        return None, problems
    r = _Resolver(raw, known, problems)
    for name in defs:
        r.definition(name, (DEFINITIONS, name))
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == DEFINITIONS:
            continue
        out[key] = r.document(value, (key,))
    problems.extend(
        (tomlin.location((DEFINITIONS, n), raw), "defined but never used") for n in defs if n not in r.used
    )
    problems.extend(r.bounds(out))
    return (None, problems) if problems else (out, [])


_BAD_NAME = "a definition's name is lower case letters, digits and '_', starting with a letter"


@dataclass
class _Resolver:
    raw: dict[str, Any]  # the document (or the shared file) being resolved
    shared: Mapping[str, Any]  # the shared value sets, resolved
    problems: Problems
    shared_file: bool = False  # resolving the shared file itself
    done: dict[str, Any] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    active: list[str] = field(default_factory=list)
    size: int = 0
    reported: set[str] = field(default_factory=set)

    def own(self) -> Mapping[str, Any]:
        return self.raw if self.shared_file else self.raw.get(DEFINITIONS, {})

    def where(self, path: Loc) -> str:
        return tomlin.location(path, self.raw)

    def bounds(self, doc: Any) -> Problems:
        if self.size > tomlin.MAX_VALUES:
            return [("", f"the definitions expand to more than {tomlin.MAX_VALUES:,} values")]
        problem = tomlin.bounds(doc)
        return [problem] if problem else []

    # ------------------------------------------------------------------ definitions

    def definition(self, name: str, path: Loc) -> Any:
        """The resolved value of one of the file's own definitions (``None`` when broken)."""
        if name in self.done:
            return self.done[name]
        if name in self.active:
            cycle = [*self.active[self.active.index(name) :], name]
            if not self.reported & set(cycle):
                self.reported.update(cycle)
                start = (() if self.shared_file else (DEFINITIONS,)) + (cycle[0],)
                self.problems.append(
                    (self.where(start), "definitions use each other in a cycle: " + " → ".join(cycle))
                )
            return None
        self.active.append(name)
        value = self.own()[name]
        if self.shared_file:
            resolved: Any = self.value_set(value, path)
        elif isinstance(value, list):
            resolved = self.elements(value, path, tables=False)
        else:
            resolved = self.logic(value, path)
        self.active.pop()
        self.done[name] = resolved
        return resolved

    def value_set(self, items: list[Any], path: Loc) -> list[Any] | None:
        out: list[Any] = []
        for i, item in enumerate(items):
            if _is_reference(item):
                name, value = self.reference(item, (*path, i))
                if isinstance(value, dict):
                    self.problems.append(
                        (
                            self.where((*path, i)),
                            f"{name!r} is a table (logic); "
                            "a value set holds only values and other value sets",
                        )
                    )
                elif isinstance(value, list):
                    out.extend(value)
            elif isinstance(item, dict | list):
                self.problems.append(
                    (self.where((*path, i)), "a value set holds only values and other value sets")
                )
            else:
                out.append(item)
        return out

    # ------------------------------------------------------------------ references

    def reference(self, ref: dict[str, Any], path: Loc) -> tuple[str, Any]:
        """The name a reference uses and its resolved value (``None`` when it cannot be used)."""
        where = self.where(path)
        name = ref[REFERENCE]
        if len(ref) != 1:
            extra = sorted(k for k in ref if k != REFERENCE)
            self.problems.append(
                (where, f"a reference {{ {REFERENCE} = ... }} takes no other key (got {', '.join(extra)})")
            )
            return "", None
        if not isinstance(name, str):
            self.problems.append((f"{where}.{REFERENCE}", "must be the name of a definition"))
            return "", None
        own = self.own()
        if name in own:
            self.used.add(name)
            value = self.definition(name, (() if self.shared_file else (DEFINITIONS,)) + (name,))
        elif name in self.shared:
            value = self.shared[name]
        else:
            names = sorted({*own, *self.shared})
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.problems.append((where, f"unknown definition {name!r}{hint}"))
            return name, None
        if value is not None:
            self.size += _count(value)
            if self.size > tomlin.MAX_VALUES:
                return name, None
        return name, value

    # ------------------------------------------------------------------ documents

    def document(self, value: Any, path: Loc) -> Any:
        """A part of the document outside the logic: references are not allowed here, except
        in each criterion's ``logic``."""
        if isinstance(value, dict):
            if _is_reference(value):
                self.problems.append(
                    (
                        self.where(path),
                        "a reference { use = ... } may stand only in a criterion's logic or in a definition",
                    )
                )
                return value
            return {
                k: (
                    self.logic(v, (*path, k), table=True)
                    if path[:1] == ("criteria",) and len(path) == 2 and k == "logic"
                    else self.document(v, (*path, k))
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.document(v, (*path, i)) for i, v in enumerate(value)]
        return value

    def logic(self, value: Any, path: Loc, *, table: bool = False) -> Any:
        """A value inside logic (or a definition), references replaced; ``table``: this place
        takes a table (``logic``, an element of ``all`` / ``any``)."""
        if _is_reference(value):
            name, resolved = self.reference(value, path)
            if table and isinstance(resolved, list):
                self.problems.append(
                    (self.where(path), f"{name!r} is a list; here a table (a logic node) is expected")
                )
            return copy.deepcopy(resolved)
        if isinstance(value, dict):
            return {k: self.logic(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return self.elements(value, path, tables=path[-1] in _LOGIC_LISTS if path else False)
        return value

    def elements(self, items: list[Any], path: Loc, *, tables: bool) -> list[Any]:
        literal = {isinstance(v, dict) for v in items if not _is_reference(v)}
        want_table = tables or literal == {True}
        want_value = not tables and literal == {False}
        out: list[Any] = []
        for i, item in enumerate(items):
            if not _is_reference(item):
                out.append(self.logic(item, (*path, i), table=tables))
                continue
            name, value = self.reference(item, (*path, i))
            where = self.where((*path, i))
            if isinstance(value, list):
                if want_table and not all(isinstance(v, dict) for v in value):
                    self.problems.append(
                        (where, f"{name!r} holds values; here tables (logic nodes) are expected")
                    )
                elif want_value and any(isinstance(v, dict) for v in value):
                    self.problems.append((where, f"{name!r} holds tables; here values are expected"))
                out.extend(copy.deepcopy(value))
            elif isinstance(value, dict):
                if want_value:
                    self.problems.append((where, f"{name!r} is a table; here a value is expected"))
                out.append(copy.deepcopy(value))
        return out


def references(raw: Any) -> set[str]:
    """The names a parsed document (a rule file or the shared file) uses."""
    found: set[str] = set()
    stack = [raw]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if _is_reference(node) and isinstance(node[REFERENCE], str):
                found.add(node[REFERENCE])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def unused_shared(shared: Path, rule_files: list[Path]) -> Problems:
    """The shared value sets that neither ``rule_files`` (all the files of the directory) nor
    another shared set uses, as problems of the shared file."""
    docs = [tomlin.parse(p.read_bytes())[0] for p in [shared, *rule_files]]
    if any(d is None for d in docs):
        return []  # reported when the files are loaded
    used = set().union(*(references(d) for d in docs))
    return [(name, "a shared value set no rule file uses") for name in docs[0] if name not in used]


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and REFERENCE in value


def _count(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_count(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_count(v) for v in value)
    return 1

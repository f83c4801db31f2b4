"""The drug catalogue (``data/drug_classes.toml``): agents, their classes, and how a drug item of a
profile is read.

A medication or treatment says what it is in up to three places: its ``classes``, its ``agents``
and its ``name`` ("Surufatinib 300 mg qd", "AI regimen (doxorubicin + ifosfamide)").  The item's
classes are what the profile states plus what the catalogue derives from its agents and from the
agents, aliases, brand names and regimen names that appear in its name as whole words (any case).

Absence is never "none": an item whose classes are not stated and whose name or agents hold a
word the catalogue cannot read (an unknown drug, a trial code such as "XY-101") has classes that
are only partly known, an :class:`Open` tuple.  A class test on it can find a class, but cannot
rule one out; the item stays unknown for that test and the explanation names the drug.

Nothing here decides eligibility; :mod:`eligimatch.facts` puts the readings on the items.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .diskcache import toml_table

__all__ = ["ANTICANCER_CLASSES", "Agent", "Catalogue", "DrugReading", "Open", "catalogue"]

# Classes of drugs that are given against cancer.  A medication with one of them is anticancer
# therapy unless its agent is also used for other diseases (methotrexate for arthritis), which
# leaves the question to the record or a clinician.
ANTICANCER_CLASSES = frozenset(
    {
        "anthracycline",
        "alkylating_agent",
        "antimetabolite",
        "taxane",
        "vinca_alkaloid",
        "platinum",
        "topoisomerase_inhibitor",
        "cytotoxic",
        "anti_angiogenic",
        "tyrosine_kinase_inhibitor",
        "vegf_antibody",
        "immune_checkpoint_inhibitor",
        "pd1_inhibitor",
        "pdl1_inhibitor",
        "ctla4_inhibitor",
        "hormonal",
    }
)
# classes that some drugs carry outside cancer treatment too: on their own (stated, with no
# agent the catalogue knows) they do not say whether the drug was anticancer therapy
_DUAL_USE_CLASSES = frozenset({"antimetabolite", "alkylating_agent", "hormonal"})

SYSTEMIC_ROUTES = frozenset({"oral", "intravenous", "subcutaneous", "intramuscular"})
# words of a drug name that say how it is given (used when the item records no route)
_ROUTE_WORDS = {
    "oral": "oral",
    "po": "oral",
    "tablet": "oral",
    "tablets": "oral",
    "tab": "oral",
    "capsule": "oral",
    "capsules": "oral",
    "iv": "intravenous",
    "intravenous": "intravenous",
    "infusion": "intravenous",
    "sc": "subcutaneous",
    "subcutaneous": "subcutaneous",
    "im": "intramuscular",
    "intramuscular": "intramuscular",
    "inhaler": "inhaled",
    "inhaled": "inhaled",
    "inhalation": "inhaled",
    "nebulised": "inhaled",
    "nebulized": "inhaled",
    "cream": "topical",
    "ointment": "topical",
    "gel": "topical",
    "topical": "topical",
    "eye": "topical",
    "drops": "topical",
    "nasal": "topical",
    "spray": "topical",
}
# words that carry no identity of a drug: doses, units, schedules, forms, connectors, salts
_FILLER = frozenset(
    """
    mg g ug mcg microgram micrograms gram grams kg ml l iu unit units m2 m mmol meq qd od bd bid
    tid qid qds tds prn nocte mane daily weekly monthly twice once three four times day days week
    weeks month months hour hours h hr hrs every each per q q2w q3w q4w q21d q28d morning evening
    night nightly bedtime alternate tablet tablets tab tabs capsule capsules cap caps injection
    injections infusion infusions solution suspension syrup oral po iv sc im subcutaneous
    intravenous intramuscular inhaler inhaled inhalation nebuliser nebulizer cream ointment gel
    topical patch patches eye drops nasal spray extended release modified sustained slow er sr xl
    mr dr ec film coated and with plus or of the a an in on for to by then followed than x regimen
    regimens combination combined cycle cycles course courses line first second third therapy
    treatment treatments chemotherapy chemo maintenance adjuvant neoadjuvant palliative induction
    consolidation continuation standard dose doses dosing high low reduced full hydrochloride hcl
    sodium potassium calcium magnesium mesylate malate tosylate maleate citrate phosphate sulfate
    sulphate acetate succinate tartrate besylate besilate fumarate dihydrochloride monohydrate
    trihydrate hydrobromide bromide chloride disodium
""".split()  # noqa: SIM905
)
_NUMBER = re.compile(r"^\d+([.,]\d+)?$|^\d+(mg|g|ug|mcg|ml|x|d|w|h)$|^[cd]\d+$")


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


@dataclass(frozen=True)
class Agent:
    """One agent of the catalogue."""

    name: str
    classes: tuple[str, ...]
    treatment: str | None  # the treatment type when it is an anticancer drug
    systemic_route_only: bool  # the classes hold only when given systemically
    non_oncologic_use: bool  # also given for other diseases (methotrexate for arthritis)
    rxnorm: tuple[str, ...]
    names: tuple[str, ...]  # name and aliases, as words joined by single spaces


@dataclass(frozen=True)
class Regimen:
    """A regimen name ("AI", "MAID", "gem/doc") standing for its agents."""

    name: str
    agents: tuple[str, ...]
    names: tuple[str, ...]


class Open(tuple):  # type: ignore[type-arg]
    """Values of a list field that are only partly known: at least these, maybe more.

    A test for membership can be True on it, and False only for values outside ``possible``
    (the categories a condition type allows): ``in`` finds or is unknown, ``not`` excludes or is
    unknown.  ``unread`` names what could not be read (shown in explanations).
    """

    unread: tuple[str, ...]
    possible: frozenset[Any] | None  # the values it may have at most (None: any)

    def __new__(
        cls, values: Iterable[Any], unread: Iterable[str] = (), possible: Iterable[Any] | None = None
    ) -> Open:
        obj = super().__new__(cls, values)
        obj.unread = tuple(unread)
        obj.possible = None if possible is None else frozenset(possible) | frozenset(obj)
        return obj

    def may_have(self, values: Iterable[Any]) -> bool:
        """Could any of ``values`` be among the values not known?"""
        return self.possible is None or any(v in self.possible for v in values)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Open)
            and tuple(self) == tuple(other)
            and self.unread == other.unread
            and self.possible == other.possible
        )

    def __hash__(self) -> int:
        return hash((tuple(self), self.unread, self.possible))


@dataclass(frozen=True)
class DrugReading:
    """What an item's classes, agents and name say, together."""

    agents: tuple[str, ...]  # canonical agent names found, then unread ones as written
    classes: tuple[str, ...]
    unread: tuple[str, ...]  # words or agents the catalogue could not read
    classes_known: bool  # False: more classes may apply (see unread)
    agents_known: bool
    anticancer: bool | None  # is it anticancer drug therapy?


class Catalogue:
    """The agents and regimens of ``drug_classes.toml`` with whole-word name lookup."""

    def __init__(self, agents: dict[str, Agent], regimens: dict[str, Regimen]) -> None:
        self.agents = agents
        self.regimens = regimens
        self.by_rxnorm = {code: a.name for a in agents.values() for code in a.rxnorm}
        # every name as a word sequence → the agents it stands for; longest names first
        phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for a in agents.values():
            for n in a.names:
                phrases[tuple(n.split())] = (a.name,)
        for r in regimens.values():
            for n in r.names:
                phrases[tuple(n.split())] = r.agents
        self._phrases = sorted(phrases.items(), key=lambda kv: -len(kv[0]))
        self._first = {p[0] for p, _ in self._phrases}
        self._readings: dict[tuple[Any, ...], DrugReading] = {}

    def agent(self, text: str) -> Agent | None:
        """The agent called ``text`` (its name or an alias, any case), or None."""
        words = tuple(_words(text))
        for phrase, names in self._phrases:
            if phrase == words and len(names) == 1:
                return self.agents[names[0]]
        return None

    def scan(self, text: str) -> tuple[list[str], list[str]]:
        """(agents named in ``text`` as whole words, words that are neither a drug nor filler)."""
        words = _words(text)
        found: list[str] = []
        unread: list[str] = []
        i = 0
        while i < len(words):
            w = words[i]
            hit = None
            if w in self._first:
                for phrase, names in self._phrases:
                    if tuple(words[i : i + len(phrase)]) == phrase:
                        hit = (phrase, names)
                        break
            if hit is not None:
                found.extend(n for n in hit[1] if n not in found)
                i += len(hit[0])
                continue
            if w not in _FILLER and not _NUMBER.match(w):
                unread.append(w)
            i += 1
        return found, unread

    def agents_in(self, text: str) -> list[str]:
        """Agents whose name, alias or regimen appears as a whole word (or phrase) in ``text``."""
        return self.scan(text)[0]

    def read(
        self,
        *,
        name: str | None,
        agents: Sequence[str] | None,
        classes: Sequence[str] | None,
        route: str | None,
        drug: bool,
    ) -> DrugReading:
        """Read one item.  ``drug`` is False for items that are not drug therapy (an operation,
        radiotherapy, a transfusion): words of their names that are not drugs mean nothing."""
        key = (
            name,
            None if agents is None else tuple(agents),
            None if classes is None else tuple(classes),
            route,
            drug,
        )
        hit = self._readings.get(key)
        if hit is None:  # a pure function of the key: remembered (bounded, as the input chooses)
            hit = self._read(name=name, agents=agents, classes=classes, route=route, drug=drug)
            if len(self._readings) >= _READINGS_MAX:
                self._readings.clear()
            self._readings[key] = hit
        return hit

    def _read(
        self,
        *,
        name: str | None,
        agents: Sequence[str] | None,
        classes: Sequence[str] | None,
        route: str | None,
        drug: bool,
    ) -> DrugReading:
        found: list[str] = []
        unread: list[str] = []
        for given in agents or ():
            a = self.agent(given)
            if a is not None:
                if a.name not in found:
                    found.append(a.name)
                continue
            names, rest = self.scan(given)
            if names and not rest:  # a regimen name or "doxorubicin hydrochloride"
                found.extend(n for n in names if n not in found)
            else:
                unread.append(given.strip().lower())
        name_unread: list[str] = []
        if name:
            names, rest = self.scan(name)
            found.extend(n for n in names if n not in found)
            name_unread = rest
        if route is None and name:
            routes = {_ROUTE_WORDS[w] for w in _words(name) if w in _ROUTE_WORDS}
            route = routes.pop() if len(routes) == 1 else None
        derived: list[str] = []
        route_unread: list[str] = []
        for n in found:
            a = self.agents[n]
            if a.systemic_route_only and a.classes:
                if route is None:
                    route_unread.append(f"{n} (route not recorded)")
                    continue
                if route not in SYSTEMIC_ROUTES:
                    continue
            derived.extend(c for c in a.classes if c not in derived)
        stated = list(classes) if classes is not None else None
        all_classes = tuple(dict.fromkeys([*(stated or []), *derived]))
        gaps = list(unread)
        if drug and name_unread:
            gaps.append(name.strip())  # type: ignore[union-attr]
        # a drug item is read when every agent and every word of its name is; an operation or a
        # transfusion names no drug unless one of its words is one
        agents_known = not gaps and (bool(found) or not drug)
        classes_known = stated is not None or (agents_known and not route_unread)
        anticancer = self._anticancer(found, all_classes, classes_known)
        return DrugReading(
            agents=tuple(found) + tuple(unread),
            classes=all_classes,
            unread=tuple(gaps) + tuple(route_unread),
            classes_known=classes_known,
            agents_known=agents_known,
            anticancer=anticancer,
        )

    def _anticancer(self, found: Sequence[str], classes: Sequence[str], known: bool) -> bool | None:
        dual = False
        for n in found:
            a = self.agents[n]
            if a.treatment is not None:
                if not a.non_oncologic_use:
                    return True
                dual = True
        hits = set(classes) & ANTICANCER_CLASSES
        if hits - _DUAL_USE_CLASSES and not dual:
            return True
        if dual or hits:
            return None
        return False if known else None


_READINGS_MAX = 4096


def _text(name: str) -> str:
    return resources.files("eligimatch.data").joinpath(name).read_text(encoding="utf-8")


@functools.cache
def catalogue() -> Catalogue:
    """The drug catalogue (read once per process)."""
    raw = toml_table(_text("drug_classes.toml"))
    regimens_raw = raw.pop("regimens", {})
    agents: dict[str, Agent] = {}
    for name, entry in raw.items():
        names = (name, *entry.get("aliases", ()))
        agents[name] = Agent(
            name=name,
            classes=tuple(entry["classes"]),
            treatment=entry.get("treatment"),
            systemic_route_only=bool(entry.get("systemic_route_only", False)),
            non_oncologic_use=bool(entry.get("non_oncologic_use", False)),
            rxnorm=tuple(entry.get("rxnorm", ())),
            names=tuple(" ".join(_words(n)) for n in names),
        )
    regimens: dict[str, Regimen] = {}
    for name, entry in regimens_raw.items():
        unknown = [a for a in entry["agents"] if a not in agents]
        if unknown:
            raise ValueError(f"drug_classes.toml: regimen {name!r} names unknown agents {unknown}")
        regimens[name] = Regimen(
            name=name,
            agents=tuple(entry["agents"]),
            names=tuple(" ".join(_words(n)) for n in (name, *entry.get("aliases", ()))),
        )
    return Catalogue(agents, regimens)

"""The code tables behind FHIR import and export, read once from ``data/``.

* ``ucum_units.toml``: UCUM code → unit spelling understood by :func:`eligimatch.units.parse_unit`.
* ``fhir_value_sets.toml``: coded value sets (ICD-10 ranges, SNOMED CT codes) for condition
  types, procedure kinds and Observation codes no criterion uses, with their sources; merged
  into the sections of ``fhir_codes.toml``.
* ``fhir_codes.toml``: code systems, non-lab Observation codes, refused LOINC codes, ECOG and
  pregnancy answers, comorbidities, metastasis sites (and generic secondary-cancer codes),
  primary cancers, histology → OncoTree, body sites, procedures, intents, severities, routes,
  TNM category answers, Karnofsky → ECOG.
* ``drug_classes.toml`` (through :mod:`eligimatch.drugs`): agent → drug classes and treatment type.
* ``analytes.toml`` (through :mod:`eligimatch.units`): LOINC → analyte.
* the bundled OncoTree release: its NCI Thesaurus column maps NCIt codes to OncoTree codes.

Nothing here imports fhir.resources; the tables are plain data with lookups by (system, code).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..diskcache import toml_table
from ..drugs import Agent, catalogue  # the one drug catalogue, shared with profiles
from ..units import analytes

__all__ = ["EIM", "EXT_FIELDS", "MCODE", "Agent", "Tables", "tables"]

# eligimatch's own code systems and extension (documented in eligimatch.fhir).  The ".invalid"
# top-level domain is reserved (RFC 2606): these URIs can never collide with a real one.
EIM = "http://eligimatch.invalid/fhir"
EXT_FIELDS = f"{EIM}/StructureDefinition/profile-fields"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
UCUM = "http://unitsofmeasure.org"


def eim_system(name: str) -> str:
    """URI of one of eligimatch's code systems (analyte, condition-type, treatment-type, ...)."""
    return f"{EIM}/CodeSystem/{name}"


@dataclass(frozen=True)
class Tables:
    systems: dict[str, tuple[str, ...]]
    uri_alias: dict[str, str]
    ucum: dict[str, str]
    sections: dict[str, dict[tuple[str, str], Any]]
    prefixes: dict[str, list[tuple[str, str, Any]]]
    agents: dict[str, Agent]
    agent_by_rxnorm: dict[str, str]
    ncit_oncotree: dict[str, str]
    loinc_analyte: dict[str, str] = field(default_factory=dict)
    karnofsky_ecog: dict[int, tuple[int, ...]] = field(default_factory=dict)
    # ICD-10 ranges from fhir_value_sets.toml: section -> [(alias, low, high, value)]
    ranges: dict[str, list[tuple[str, str, str, Any]]] = field(default_factory=dict)
    # (condition type, alias) -> the code patterns of a value set complete in that system
    complete: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # ICD-10 combination codes under a condition value set: (alias, prefix)
    combination: list[tuple[str, str]] = field(default_factory=list)

    def alias(self, system: str | None) -> str | None:
        return self.uri_alias.get(system or "")

    def uri(self, alias: str) -> str:
        return self.systems[alias][0]

    def lookup(self, section: str, system: str | None, code: str | None) -> Any:
        """The entry of ``section`` for (system, code), or None; exact codes before prefixes."""
        alias = self.alias(system)
        if alias is None or not code:
            return None
        hit = self.sections[section].get((alias, code))
        if hit is not None:
            return hit
        if section == "conditions" and self.is_combination(system, code):
            return None
        best: tuple[int, Any] | None = None
        for a, prefix, value in self.prefixes[section]:
            if a == alias and code.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), value)
        if best:
            return best[1]
        for a, low, high, value in self.ranges.get(section, ()):
            if a == alias and in_range(code, low, high):
                return value
        return None

    def is_combination(self, system: str | None, code: str | None) -> bool:
        """Is (system, code) an ICD-10 combination code a condition value set leaves out?"""
        alias = self.alias(system)
        return bool(code) and any(a == alias and _matches(str(code), p) for a, p in self.combination)

    def outside_complete_set(self, ctype: str, system: str | None, code: str | None) -> bool:
        """Is (system, code) provably not of condition type ``ctype``: outside a value set that
        lists every code of that type in its system?"""
        alias = self.alias(system)
        patterns = self.complete.get((ctype, alias or ""))
        if patterns is None or not code:
            return False
        return not any(_matches(code, p) for p in patterns)

    def reverse(self, section: str, value: Any, alias: str | None = None) -> tuple[str, str] | None:
        """The first exact (system URI, code) whose entry is ``value`` (for export)."""
        for (a, code), v in self.sections[section].items():
            if v == value and (alias is None or a == alias):
                return self.uri(a), code
        return None

    def agents_in(self, text: str) -> list[str]:
        """Agents whose name, alias or regimen appears as a whole word (or phrase) in ``text``."""
        return catalogue().agents_in(text)


def in_range(code: str, low: str, high: str) -> bool:
    """Is an ICD-10 code within low-high (inclusive, each bound with everything below it)?"""
    c, lo, hi = (x.replace(".", "").upper() for x in (code, low, high))
    return c[: len(lo)] >= lo and c[: len(hi)] <= hi


def _matches(code: str, pattern: str) -> bool:
    if "-" in pattern:
        low, high = pattern.split("-", 1)
        return in_range(code, low, high)
    return code.replace(".", "").upper().startswith(pattern.replace(".", "").upper())


def _value_sets(
    exact: dict[str, dict[tuple[str, str], Any]], prefixes: dict[str, list[tuple[str, str, Any]]]
) -> tuple[
    dict[str, list[tuple[str, str, str, Any]]], dict[tuple[str, str], list[str]], list[tuple[str, str]]
]:
    """Merge ``fhir_value_sets.toml`` into the sections; return its ranges and complete sets."""
    raw = toml_table(_text("fhir_value_sets.toml"))
    ranges: dict[str, list[tuple[str, str, str, Any]]] = {"conditions": []}
    complete: dict[tuple[str, str], list[str]] = {}
    combination: list[tuple[str, str]] = []

    def put(section: str, alias: str, code: str, value: Any, where: str) -> None:
        old = exact[section].get((alias, code))
        same = old == value or (
            section == "conditions" and old is not None and list(old[:2]) == list(value[:2])
        )
        if old is not None and not same:
            raise ValueError(
                f"fhir_value_sets.toml {where}: {alias}:{code} is already {old!r} in fhir_codes.toml"
            )
        exact[section].setdefault((alias, code), value)

    for i, vs in enumerate(raw.get("condition", [])):
        where = f"[[condition]] {i + 1} ({vs['type']})"
        value = [vs["category"], vs["type"], vs["display"]]
        for code in vs.get("snomed", []):
            put("conditions", "snomed", str(code), value, where)
        for code in vs.get("icd10", []):
            if "-" in code:
                low, high = code.split("-", 1)
                ranges["conditions"].append(("icd10", low, high, value))
            else:
                prefixes["conditions"].append(("icd10", code, value))
        combination.extend(("icd10", code) for code in vs.get("except", []))
        for alias in vs.get("complete", []):
            if alias != "icd10":
                raise ValueError(f"fhir_value_sets.toml {where}: only ICD-10 sets can be complete")
            complete[(vs["type"], alias)] = list(vs["icd10"])
    for i, vs in enumerate(raw.get("procedure", [])):
        for code in vs.get("snomed", []):
            put("procedures", "snomed", str(code), {"type": vs["type"]}, f"[[procedure]] {i + 1}")
    exact["drugs"] = {}
    for i, vs in enumerate(raw.get("drug", [])):
        for code in vs.get("rxnorm", []):
            put(
                "drugs",
                "rxnorm",
                str(code),
                {"classes": list(vs["classes"]), "display": vs["display"]},
                f"[[drug]] {i + 1}",
            )
    for code in raw.get("observations_not_used", {}).get("loinc", []):
        put("observations", "loinc", str(code), "not_used", "[observations_not_used]")
    return ranges, complete, combination


def _text(name: str) -> str:
    return resources.files("eligimatch.data").joinpath(name).read_text(encoding="utf-8")


def _split_key(key: str, systems: dict[str, tuple[str, ...]], where: str) -> tuple[str, str]:
    alias, sep, code = key.partition(":")
    if not sep or alias not in systems or not code:
        raise ValueError(f"{where}: bad key {key!r} (expected '<system alias>:<code>')")
    return alias, code


def _sections(
    raw: dict[str, Any], systems: dict[str, tuple[str, ...]], names: Iterable[str]
) -> tuple[dict[str, dict[tuple[str, str], Any]], dict[str, list[tuple[str, str, Any]]]]:
    exact: dict[str, dict[tuple[str, str], Any]] = {}
    prefixes: dict[str, list[tuple[str, str, Any]]] = {}
    for name in names:
        exact[name], prefixes[name] = {}, []
        for key, value in raw.get(name, {}).items():
            alias, code = _split_key(key, systems, f"fhir_codes.toml [{name}]")
            if code.endswith("*"):
                prefixes[name].append((alias, code[:-1], value))
            else:
                exact[name][(alias, code)] = value
    return exact, prefixes


SECTIONS = (
    "observations",
    "loinc_refused",
    "ecog_values",
    "pregnancy_values",
    "conditions",
    "metastasis_codes",
    "metastasis_generic",
    "cancer_codes",
    "histology",
    "body_sites",
    "procedures",
    "intents",
    "severities",
    "routes",
    "tnm_values",
)


@functools.cache
def tables() -> Tables:
    """All FHIR code tables (built once per process)."""
    codes = toml_table(_text("fhir_codes.toml"))
    systems = {k: tuple(v) for k, v in codes["systems"].items()}
    uri_alias = {uri: alias for alias, uris in systems.items() for uri in uris}
    exact, prefixes = _sections(codes, systems, SECTIONS)
    ranges, complete, combination = _value_sets(exact, prefixes)
    prefixes.setdefault("drugs", [])
    ucum = dict(toml_table(_text("ucum_units.toml"))["units"])
    drugs = catalogue()
    agents, by_rxnorm = drugs.agents, drugs.by_rxnorm
    loinc_analyte: dict[str, str] = {}
    for key, a in analytes().items():
        for code in a.loinc:
            if code in loinc_analyte:
                raise ValueError(
                    f"analytes.toml: LOINC {code} is given for both {loinc_analyte[code]} and {key}"
                )
            loinc_analyte[code] = key
    return Tables(
        systems=systems,
        uri_alias=uri_alias,
        ucum=ucum,
        sections=exact,
        prefixes=prefixes,
        agents=agents,
        agent_by_rxnorm=by_rxnorm,
        ncit_oncotree=_ncit_oncotree(),
        loinc_analyte=loinc_analyte,
        karnofsky_ecog={int(k): tuple(v) for k, v in codes.get("karnofsky_ecog", {}).items()},
        ranges=ranges,
        complete=complete,
        combination=combination,
    )


def _ncit_oncotree() -> dict[str, str]:
    """NCI Thesaurus code → OncoTree code, from the OncoTree release's own NCI column.

    A NCIt code that two OncoTree nodes share is ambiguous and left out.
    """
    path = resources.files("eligimatch.data").joinpath("oncotree/oncotree_2025_10_03_flat.tsv")
    seen: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            for nci in (row.get("NCI") or "").split(","):
                if nci.strip():
                    seen.setdefault(nci.strip(), []).append(row["code"])
    return {nci: codes[0] for nci, codes in seen.items() if len(codes) == 1}

"""The code tables behind FHIR import and export, read once from ``data/``.

* ``ucum_units.toml``: UCUM code → unit spelling understood by :func:`eligimatch.units.parse_unit`.
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
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .drugs import Agent, catalogue  # the one drug catalogue, shared with profiles
from .units import analytes

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
        best: tuple[int, Any] | None = None
        for a, prefix, value in self.prefixes[section]:
            if a == alias and code.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), value)
        return best[1] if best else None

    def reverse(self, section: str, value: Any, alias: str | None = None) -> tuple[str, str] | None:
        """The first exact (system URI, code) whose entry is ``value`` (for export)."""
        for (a, code), v in self.sections[section].items():
            if v == value and (alias is None or a == alias):
                return self.uri(a), code
        return None

    def agents_in(self, text: str) -> list[str]:
        """Agents whose name, alias or regimen appears as a whole word (or phrase) in ``text``."""
        return catalogue().agents_in(text)


def _text(name: str) -> str:
    return resources.files("eligimatch.data").joinpath(name).read_text(encoding="utf-8")


def _split_key(key: str, systems: dict[str, tuple[str, ...]], where: str) -> tuple[str, str]:
    alias, sep, code = key.partition(":")
    if not sep or alias not in systems or not code:
        raise ValueError(f"{where}: bad key {key!r} (expected '<system alias>:<code>')")
    return alias, code


def _sections(raw: dict[str, Any], systems: dict[str, tuple[str, ...]], names: Iterable[str]
              ) -> tuple[dict[str, dict[tuple[str, str], Any]],
                         dict[str, list[tuple[str, str, Any]]]]:
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


SECTIONS = ("observations", "loinc_refused", "ecog_values", "pregnancy_values", "conditions",
            "metastasis_codes", "metastasis_generic", "cancer_codes", "histology", "body_sites",
            "procedures", "intents", "severities", "routes", "tnm_values")


@functools.cache
def tables() -> Tables:
    """All FHIR code tables (built once per process)."""
    codes = tomllib.loads(_text("fhir_codes.toml"))
    systems = {k: tuple(v) for k, v in codes["systems"].items()}
    uri_alias = {uri: alias for alias, uris in systems.items() for uri in uris}
    exact, prefixes = _sections(codes, systems, SECTIONS)
    ucum = dict(tomllib.loads(_text("ucum_units.toml"))["units"])
    drugs = catalogue()
    agents, by_rxnorm = drugs.agents, drugs.by_rxnorm
    loinc_analyte: dict[str, str] = {}
    for key, a in analytes().items():
        for code in a.loinc:
            if code in loinc_analyte:
                raise ValueError(f"analytes.toml: LOINC {code} is given for both "
                                 f"{loinc_analyte[code]} and {key}")
            loinc_analyte[code] = key
    return Tables(systems=systems, uri_alias=uri_alias, ucum=ucum, sections=exact,
                  prefixes=prefixes, agents=agents, agent_by_rxnorm=by_rxnorm,
                  ncit_oncotree=_ncit_oncotree(), loinc_analyte=loinc_analyte,
                  karnofsky_ecog={int(k): tuple(v) for k, v in
                                  codes.get("karnofsky_ecog", {}).items()})


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

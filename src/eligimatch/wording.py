"""How a rule's item tests read in explanations: one home for the words.

An ``exists`` node without a ``label`` is described from its ``where`` table as a clinician would
say it: ``{ type = "radiotherapy", involves_target_site = true }`` on treatments reads
"radiotherapy at the tumour site", ``{ category = "infection", status = "active",
requires_systemic_treatment = true }`` on conditions "active infection needing systemic
treatment", ``{ classes = "immunosuppressant" }`` on medications "immunosuppressant".  Field
values are shown by their display names (``hepatitis_b`` → "hepatitis B").  A test this module
has no words for is shown as "with <field> <value>", never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["describe_items", "display", "phrase"]

# the noun of an item of each collection
NOUNS = {
    "treatments": "treatment",
    "conditions": "condition",
    "medications": "medication",
    "metastases": "metastasis",
    "toxicities": "toxicity",
    "allergies": "allergy",
    "other_malignancies": "other malignancy",
    "lesions": "lesion",
}
# values whose display is not their key with spaces
DISPLAY = {
    "hiv": "HIV",
    "copd": "COPD",
    "crohns_disease": "Crohn's disease",
    "hepatitis_b": "hepatitis B",
    "hepatitis_c": "hepatitis C",
    "pd1_inhibitor": "PD-1 inhibitor",
    "pdl1_inhibitor": "PD-L1 inhibitor",
    "ctla4_inhibitor": "CTLA-4 inhibitor",
    "vegf_antibody": "VEGF antibody",
    "anti_angiogenic": "anti-angiogenic drug",
    "systemic_anti_infective": "systemic anti-infective",
    "hbv_antiviral": "hepatitis B antiviral",
    "nyha_class": "NYHA class",
    "pet_ct": "PET-CT",
    "ct": "CT",
    "mri": "MRI",
    "x_ray": "X-ray",
    "bone_metastasis_soft_tissue_mass": "bone metastasis with a soft-tissue mass",
    "targeted_therapy": "targeted therapy",
    "investigational": "investigational treatment",
    "other_anticancer": "other anticancer treatment",
    "hormonal_therapy": "hormonal therapy",
    "treated_stable": "treated and stable",
    "non_oncologic": "non-oncological",
    "spine": "spinal involvement",
    "involves_target_site": "tumour site",
    "measurable_recist_1_1": "measurable (RECIST 1.1)",
    "cord": "the cord",
}
# a category as a noun ("autoimmune" → "autoimmune disease")
CATEGORY_NOUNS = {
    "infection": "infection",
    "bleeding": "bleeding",
    "thromboembolic": "thromboembolic event",
    "autoimmune": "autoimmune disease",
    "cardiovascular": "cardiovascular disease",
    "pulmonary": "pulmonary disease",
    "psychiatric": "psychiatric disorder",
    "substance_abuse": "substance abuse",
    "immunodeficiency": "immunodeficiency",
    "gastrointestinal": "gastrointestinal disease",
    "hepatic": "liver disease",
    "renal": "kidney disease",
    "metabolic": "metabolic disorder",
    "neurological": "neurological disorder",
    "other": "other condition",
}
# a true / false boolean field: (before or after the noun, words for true, words for false)
BOOLEANS: dict[str, tuple[str, str, str]] = {
    "anticancer": ("before", "anticancer", "non-anticancer"),
    "involves_target_site": ("after", "at the tumour site", "away from the tumour site"),
    "major": ("before", "major", "minor"),
    "symptomatic": ("before", "symptomatic", "asymptomatic"),
    "requires_systemic_treatment": ("after", "needing systemic treatment", "not needing systemic treatment"),
    "stopped_for_toxicity": ("after", "stopped for intolerable toxicity", "not stopped for toxicity"),
    "in_clinical_trial": ("after", "given in a clinical trial", "given outside a clinical trial"),
    "live": ("before", "live", "non-live"),
    "in_situ": ("before", "in situ", "invasive"),
    "invasive": ("before", "invasive", "non-invasive"),
    "amputation": ("after", "that was an amputation", "that was not an amputation"),
    "curatively_treated": ("before", "curatively treated", "not curatively treated"),
    "measurable_recist_1_1": ("before", "measurable (RECIST 1.1)", "non-measurable"),
    "target": ("before", "target", "non-target"),
    "ongoing": ("before", "ongoing", "finished"),
}
# fields whose values describe the item (shown before the noun)
ADJECTIVES = {"status", "severity", "kind", "intent"}


def singular(collection: str) -> str:
    """One item of a collection, in words: ``toxicities`` → "toxicity", ``metastases`` →
    "metastasis", ``other_malignancies`` → "other malignancy"."""
    word = collection.replace("_", " ")
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("ses"):
        return word[:-2] + "is"
    return word[:-1] if word.endswith("s") else word


def display(value: Any) -> str:
    text = str(value)
    return DISPLAY.get(text, text.replace("_", " "))


def _alternatives(values: Sequence[Any]) -> str:
    shown = [display(v) for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def phrase(m: Any) -> str:
    """One `where` test in words, on its own ("with NYHA class > 2", "not resolved")."""
    name = getattr(m, "name", "")
    kind = getattr(m, "kind", None)
    if kind is None:  # an item-aware test (quantity, date, OncoTree, alternatives)
        text = str(m.describe())
        return text if name == "any" else "with " + text.replace(name, display(name), 1)
    if kind == "compare":
        return "with " + str(m.describe()).replace(name, display(name), 1)
    values = m.values
    if name in BOOLEANS and len(values) == 1 and isinstance(values[0], bool):
        _, yes, no = BOOLEANS[name]
        truth = values[0] if kind == "in" else not values[0]
        return yes if truth else no
    shown = _alternatives(values)
    if kind == "not_in":
        return f"not {shown}" if name in ADJECTIVES else f"with {display(name)} other than {shown}"
    if name in ADJECTIVES:
        return shown
    if name == "imaging":
        return f"shown on {shown}"
    return f"with {display(name)} {shown}"


def describe_items(collection: str, tests: Sequence[Any]) -> str:
    """What an ``exists`` node looks for, e.g. "active infection needing systemic treatment"."""
    before: list[str] = []
    after: list[str] = []
    noun = NOUNS.get(collection, collection.replace("_", " "))
    named = False
    for m in tests:
        name = getattr(m, "name", "")
        kind = getattr(m, "kind", None)
        values = getattr(m, "values", ())
        if (
            kind == "in"
            and not named
            and (
                name == "type"
                or (name == "classes" and collection == "medications")
                or (name == "kind" and collection == "lesions")
            )
        ):
            noun, named = _alternatives(values), True
            continue
        if kind == "in" and name == "category" and collection == "conditions" and not named:
            noun = " or ".join(dict.fromkeys(CATEGORY_NOUNS.get(v, display(v)) for v in values))
            named = True
            continue
        if kind == "in" and name == "site" and collection == "metastases":
            before.append(_alternatives(values))
            continue
        if kind == "in" and name == "classes":
            after.append(f"with {_alternatives(values)}")
            continue
        if kind == "not_in" and name == "status" and values == ("resolved",):
            before.insert(0, "unresolved")
            continue
        if kind == "in" and (name in ADJECTIVES or (name in BOOLEANS and BOOLEANS[name][0] == "before")):
            before.append(phrase(m))
            continue
        after.append(phrase(m))
    head = " ".join([*before, noun])
    return head + (" " + ", ".join(after) if after else "")

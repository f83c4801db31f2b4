"""FHIR R4: bundles (US Core, mCODE) read into patient profiles, and profiles written as bundles.

Reading: :func:`import_bundle` (:mod:`.importer`) validates a Bundle (:mod:`.validate`), maps each
resource (:mod:`.mapping`, with one module per kind: :mod:`.observations` (values in
:mod:`.measurements`), :mod:`.mcode`, :mod:`.conditions`, :mod:`.treatments`, :mod:`.medications`),
assembles the mapped items into a profile (:mod:`.assemble`) and lists everything it could not read
(:mod:`.report`).  Writing: :func:`export_bundle` (:mod:`.export`, resources built by
:mod:`.writers`).  The code tables behind both are data, read once by :mod:`.tables`.

eligimatch's own FHIR conventions (written by :mod:`.export`, read by :mod:`.importer`):

* Code systems ``http://eligimatch.invalid/fhir/CodeSystem/<name>`` for the profile's closed
  vocabularies: ``analyte``, ``condition-category``, ``condition-type``, ``condition-role``
  (index-diagnosis, other-malignancy), ``site-group``, ``metastasis-site``, ``treatment-type``
  (the treatment types and ``medication``), ``collection``.  The ``.invalid`` domain is
  reserved, so these can never clash with a real system.
* A ``List`` with mode ``snapshot`` and a ``collection`` code asserts that the collection is
  complete; with ``emptyReason`` it records an empty list ("none").
* The extension ``http://eligimatch.invalid/fhir/StructureDefinition/profile-fields``
  (valueString, a JSON object) carries, unchanged, the profile fields FHIR cannot express (or
  not exactly): attestations, administrative facts, FNCLCC grade, ... on the Patient resource,
  and per item on the resource that carries the item.  Its fields override what was read from
  the resource itself, and the import lists which fields came from it.

Nothing here imports fhir.resources until a bundle is read or written.
"""

from __future__ import annotations

from .export import export_bundle
from .importer import import_bundle, is_fhir, profile_json, read_fhir
from .report import FhirImport, Finding
from .validate import load_bundle, load_entries

__all__ = [
    "FhirImport",
    "Finding",
    "export_bundle",
    "import_bundle",
    "is_fhir",
    "load_bundle",
    "load_entries",
    "profile_json",
    "read_fhir",
]

"""FHIR R4: bundles (US Core, mCODE) read into patient profiles (:mod:`.importer`), and profiles
written as bundles (:mod:`.export`)."""

from __future__ import annotations

from .export import export_bundle
from .importer import (
           FhirImport,
           Finding,
           import_bundle,
           is_fhir,
           load_bundle,
           load_entries,
           profile_json,
           read_fhir,
)

__all__ = ["FhirImport", "Finding", "export_bundle", "import_bundle", "is_fhir", "load_bundle",
           "load_entries", "profile_json", "read_fhir"]

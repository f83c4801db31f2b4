"""Hypothesis profiles: a fast ``dev`` profile by default, a thorough ``ci`` profile when the
environment says ``CI=true`` (as CI services do).  ``HYPOTHESIS_PROFILE=<name>`` picks one
explicitly, e.g. ``HYPOTHESIS_PROFILE=ci pytest tests/test_properties.py`` on a workstation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Generating a whole patient profile takes milliseconds, and the first example of a run pays
# for loading the rules and the unit registry: no per-example deadline, no "too slow" check.
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}

settings.register_profile("dev", max_examples=20, **_COMMON)
# 100 examples a property: the profiles are rich (drug catalogue names, evidence, dated values),
# and the whole suite must stay well under 10 minutes in CI
settings.register_profile("ci", max_examples=100, print_blob=True, **_COMMON)

_ci = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _ci else "dev"))

# Tests compile rule files afresh (some patch the compiler): the cache of compiled rule files is
# off unless a test turns it on (tests/test_cache.py does, in a directory of its own).
os.environ.setdefault("ELIGIMATCH_NO_CACHE", "1")


@pytest.fixture
def cache_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache on (compiled rule files, data tables), in a directory of the test's own."""
    where = tmp_path / "cache"
    monkeypatch.delenv("ELIGIMATCH_NO_CACHE", raising=False)
    monkeypatch.setenv("ELIGIMATCH_CACHE_DIR", str(where))
    return where

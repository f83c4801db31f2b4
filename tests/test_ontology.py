from __future__ import annotations

import pytest

from eligimatch.ontology import oncotree


@pytest.mark.parametrize(
    ("code", "ancestor", "expected"),
    [
        ("DDLS", "LIPO", True),
        ("LIPO", "SOFT_TISSUE", True),
        ("DDLS", "SOFT_TISSUE", True),
        ("ULMS", "SOFT_TISSUE", False),
        ("ES", "BONE", True),
        ("ESST", "SOFT_TISSUE", True),
        ("MFH", "SOFT_TISSUE", True),
        ("PLRMS", "RMS", True),
        ("GIST", "SOFT_TISSUE", True),
    ],
)
def test_is_a(code, ancestor, expected):
    assert oncotree().is_a(code, ancestor) is expected


def test_most_specific_listed_code_decides():
    listed = {"SOFT_TISSUE": "include", "RMS": "exclude", "PLRMS": "include"}
    tree = oncotree()
    assert tree.classify("ERMS", listed) == ("exclude", "RMS")
    assert tree.classify("PLRMS", listed) == ("include", "PLRMS")
    assert tree.classify("LMS", listed) == ("include", "SOFT_TISSUE")
    assert tree.classify("OS", listed) == (None, None)

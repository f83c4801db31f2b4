"""Readable words for collections and their items."""

from __future__ import annotations

import pytest

from eligimatch.vocabulary import COLLECTIONS
from eligimatch.wording import singular


@pytest.mark.parametrize(
    ("collection", "one"),
    [
        ("metastases", "metastasis"),
        ("lesions", "lesion"),
        ("conditions", "condition"),
        ("medications", "medication"),
        ("treatments", "treatment"),
        ("toxicities", "toxicity"),
        ("allergies", "allergy"),
        ("other_malignancies", "other malignancy"),
    ],
)
def test_one_item_of_a_collection(collection, one):
    assert singular(collection) == one


def test_every_collection_has_its_singular_tested():
    assert set(COLLECTIONS) <= {c for c, _ in test_one_item_of_a_collection.pytestmark[0].args[1]}

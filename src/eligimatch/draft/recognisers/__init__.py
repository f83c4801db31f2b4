"""The recognisers, in one list (like a linter's rules): each is a small documented unit with
its own phrases it must type (``passes``) and must leave to review (``fails``)."""

from __future__ import annotations

from .base import Recogniser
from .consent import CONSENT
from .demographics import AGE, SEX
from .disease import CNS, LIFE_EXPECTANCY, MEASURABLE
from .infection import VIRAL
from .labs import BLOOD_COUNTS, INR, ULN
from .organs import CREATININE, LVEF, QTC
from .performance import ECOG, KARNOFSKY
from .reproductive import CONTRACEPTION, PREGNANCY
from .treatment import PRIOR_DRUG, WASHOUT

__all__ = ["RECOGNISERS", "Recogniser"]

RECOGNISERS: tuple[Recogniser, ...] = (
    AGE,
    SEX,
    ECOG,
    KARNOFSKY,
    BLOOD_COUNTS,
    ULN,
    INR,
    CREATININE,
    LVEF,
    QTC,
    PREGNANCY,
    CONTRACEPTION,
    CNS,
    WASHOUT,
    PRIOR_DRUG,
    VIRAL,
    MEASURABLE,
    LIFE_EXPECTANCY,
    CONSENT,
)

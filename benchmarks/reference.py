"""The reference query: the five simple criteria of ``catalogue.build_reference`` (ANC ≥,
platelets ≥, bilirubin ≤ k × ULN, age ≥, ECOG ≤) for every patient × trial, in DuckDB.

It starts from the same JSON Lines profiles as eligimatch and computes the same three-valued
statuses: unknown (NULL) when a value is not recorded or older than the trial's
``lab_max_age_days`` (labs) or 28 days (ECOG, its analyte's ``max_age_days``); age in completed
years at the profile's ``as_of`` (a birthday counts); units as the synthetic profiles give them
(ANC in /uL, 10^9/L, 10*3/uL; platelets in 10^9/L, 10*3/uL; bilirubin in mg/dL or µmol/L);
× ULN against the lab's own upper limit when it reports a range, else decided only when the
verdict is the same at both ends of eligimatch's ULN band (12-26 µmol/L), unknown otherwise.
Arithmetic is DECIMAL, so boundaries are exact: bilirubin in mg/dL is compared by multiplying
out the molar mass (584.66 g/mol) instead of dividing by it.  One thread (one core).

``benchmarks/run.py`` times it against eligimatch and checks that both give the same status to
every criterion of every pair.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import catalogue

D = "DECIMAL(38,10)"
LAB = f"STRUCT(test VARCHAR, value {D}, unit VARCHAR, date DATE, reference_range STRUCT(low {D}, high {D}))[]"
COLUMNS = {
    "id": "VARCHAR",
    "as_of": "DATE",
    "birth_date": "DATE",
    "ecog": f"STRUCT(value {D}, date DATE)",
    "labs": LAB,
}
ECOG_MAX_AGE_DAYS = 28
BILIRUBIN_BAND = ("12", "26")  # µmol/L, data/analytes.toml
BILIRUBIN_MOLAR_MASS = "584.66"  # g/mol: 1 mg/dL = 10000 / 584.66 µmol/L


def boundary_profiles() -> list[dict[str, Any]]:
    """Profiles that sit exactly on the reference thresholds and windows (appended to the
    benchmark cohort): ANC 1500 /uL = 1.5 ×10⁹/L (trial 125), platelets 90 and 120 (trials 50,
    150), bilirubin exactly 2 × the lab's ULN in both units (trial 125) and at the ends of the ULN
    band without a range (12 µmol/L = 0.701592 mg/dL and 26 µmol/L at k = 1, trial 0), an 18th
    birthday on the evaluation date (trial 50), ECOG 1 and 2 (trials 50, 150), labs exactly as old
    as a window allows (14, 21, 28, 42 days) and a day older, and a profile with nothing."""
    as_of = date(2026, 11, 16)

    def day(back: int) -> str:
        return (as_of - timedelta(days=back)).isoformat()

    def lab(test: str, value: str, unit: str, back: int, high: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"test": test, "value": float(value), "unit": unit, "date": day(back)}
        if high is not None:
            out["reference_range"] = {"low": 0, "high": float(high)}
        return out

    cases: list[dict[str, Any]] = [{}]
    for back in (14, 15, 21, 22, 28, 29, 42, 43):
        cases += [
            {
                "labs": [
                    lab("anc", "1500", "/uL", back),
                    lab("platelets", "90", "10^9/L", back),
                    lab("bilirubin", "2.4", "mg/dL", back, "1.2"),
                ]
            },
            {
                "labs": [
                    lab("anc", "1.5", "10^9/L", back),
                    lab("platelets", "120", "10*3/uL", back),
                    lab("bilirubin", "41", "umol/L", back, "20.5"),
                ]
            },
            {"labs": [lab("anc", "1.5", "10*3/uL", back), lab("bilirubin", "0.701592", "mg/dL", back)]},
            {"labs": [lab("bilirubin", "12", "umol/L", back)]},
            {"labs": [lab("bilirubin", "26", "umol/L", back)]},
            {"labs": [lab("bilirubin", "26.01", "umol/L", back)]},
        ]
    cases += [
        {"birth_date": "2008-11-16"},
        {"birth_date": "2008-11-17"},
        {"birth_date": "2006-11-16"},
        {"birth_date": "2004-02-29"},
        {"ecog": {"value": 2, "date": day(28)}},
        {"ecog": {"value": 1, "date": day(28)}},
        {"ecog": {"value": 1, "date": day(29)}},
        {"ecog": {"value": 0, "date": day(0)}},
    ]
    return [{"id": f"edge-{i:03d}", "as_of": as_of.isoformat(), **c} for i, c in enumerate(cases)]


def connect() -> Any:
    import duckdb

    con = duckdb.connect(":memory:", config={"threads": 1})
    return con


def load_trials(con: Any, n_trials: int) -> None:
    rows = [
        (
            f"REF-{i:04d}",
            *(str(catalogue.reference_thresholds(i)[k]) for k in catalogue.REFERENCE),
            catalogue.reference_thresholds(i)["lab_max_age_days"],
        )
        for i in range(n_trials)
    ]
    con.execute(
        f"CREATE OR REPLACE TABLE trials (trial_id VARCHAR, anc_min {D}, "
        f"platelets_min {D}, bilirubin_k {D}, age_min {D}, ecog_max {D}, "
        f"lab_days INTEGER)"
    )
    con.executemany("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def _latest(test: str) -> str:
    """The most recent result of ``test`` (a struct with the date first, so that sorting the
    list sorts by date; NULL when none)."""
    return (
        f"list_last(list_sort(list_transform(list_filter(labs, lambda x: x.test = '{test}'), "
        f"lambda x: {{'date': x.date, 'value': x.value, 'unit': x.unit, "
        f"'high': x.reference_range.high}})))"
    )


def screen(con: Any, cohort: Path) -> None:
    """Statuses of every patient × trial into table ``statuses`` (NULL = unknown)."""
    cols = ", ".join(f"{k}: '{v}'" for k, v in COLUMNS.items())
    lo, hi = BILIRUBIN_BAND
    mm = BILIRUBIN_MOLAR_MASS
    con.execute(f"""
CREATE OR REPLACE TABLE statuses AS
WITH p AS (
  SELECT id, as_of, birth_date, ecog,
         {_latest("anc")} AS anc, {_latest("platelets")} AS plt,
         {_latest("bilirubin")} AS bili
  FROM read_json('{cohort}', format = 'newline_delimited', columns = {{{cols}}})
), v AS (
  SELECT id,
    CASE WHEN birth_date IS NULL OR birth_date > as_of THEN NULL
         ELSE year(as_of) - year(birth_date)
              - CASE WHEN month(as_of) < month(birth_date) OR (month(as_of) = month(birth_date)
                          AND day(as_of) < day(birth_date)) THEN 1 ELSE 0 END END AS age,
    CASE WHEN date_diff('day', ecog.date, as_of) <= {ECOG_MAX_AGE_DAYS} THEN ecog.value END
      AS ecog,
    CASE anc.unit WHEN '/uL' THEN anc.value / 1000 WHEN '10^9/L' THEN anc.value
                  WHEN '10*3/uL' THEN anc.value END AS anc,
    date_diff('day', anc.date, as_of) AS anc_days,
    CASE plt.unit WHEN '10^9/L' THEN plt.value WHEN '10*3/uL' THEN plt.value END AS plt,
    date_diff('day', plt.date, as_of) AS plt_days,
    -- bilirubin scaled to µmol/L × 584.66 (exact for both units)
    CASE bili.unit WHEN 'umol/L' THEN bili.value * {mm} WHEN 'mg/dL' THEN bili.value * 10000
         END AS bili_x,
    CASE bili.unit WHEN 'umol/L' THEN bili.high * {mm}
         WHEN 'mg/dL' THEN bili.high * 10000 END AS bili_uln_x,
    date_diff('day', bili.date, as_of) AS bili_days
  FROM p
)
SELECT v.id, t.trial_id,
  CASE WHEN anc IS NULL OR anc_days > t.lab_days THEN NULL ELSE anc >= t.anc_min END AS anc,
  CASE WHEN plt IS NULL OR plt_days > t.lab_days THEN NULL ELSE plt >= t.platelets_min END
    AS platelets,
  CASE WHEN bili_x IS NULL OR bili_days > t.lab_days THEN NULL
       WHEN bili_uln_x IS NOT NULL THEN bili_x <= t.bilirubin_k * bili_uln_x
       WHEN bili_x <= t.bilirubin_k * {lo} * {mm} THEN TRUE
       WHEN bili_x > t.bilirubin_k * {hi} * {mm} THEN FALSE END AS bilirubin,
  CASE WHEN age IS NULL THEN NULL ELSE age >= t.age_min END AS age,
  CASE WHEN ecog IS NULL THEN NULL ELSE ecog <= t.ecog_max END AS ecog
FROM v CROSS JOIN trials t
""")


def counts(con: Any) -> dict[str, tuple[int, int, int]]:
    """Per criterion: how many pairs pass, fail, are unknown."""
    out = {}
    for key in catalogue.REFERENCE:
        row = con.execute(
            f"SELECT count_if({key}), count_if(NOT {key}), count_if({key} IS NULL) FROM statuses"
        ).fetchone()
        out[key] = tuple(row)
    return out


def statuses(con: Any) -> dict[tuple[str, str], tuple[bool | None, ...]]:
    """(patient id, trial id) → the five statuses (True pass, False fail, None unknown)."""
    rows = con.execute(f"SELECT id, trial_id, {', '.join(catalogue.REFERENCE)} FROM statuses").fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def boundaries(con: Any, cohort: Path) -> dict[str, int]:
    """How many criterion decisions fell exactly on their threshold (value = threshold, or
    bilirubin = k × the lab's ULN): the cases where inexact arithmetic would flip a status."""
    mm = BILIRUBIN_MOLAR_MASS
    cols = ", ".join(f"{k}: '{v}'" for k, v in COLUMNS.items())
    row = con.execute(f"""
WITH p AS (
  SELECT id, as_of, birth_date, ecog, {_latest("anc")} AS anc, {_latest("platelets")} AS plt,
         {_latest("bilirubin")} AS bili
  FROM read_json('{cohort}', format = 'newline_delimited', columns = {{{cols}}})
)
SELECT
  count_if(CASE anc.unit WHEN '/uL' THEN anc.value / 1000 ELSE anc.value END = t.anc_min),
  count_if(plt.value = t.platelets_min),
  count_if(CASE bili.unit WHEN 'umol/L' THEN bili.value * {mm} ELSE bili.value * 10000 END
           = t.bilirubin_k * CASE bili.unit WHEN 'umol/L' THEN bili.high * {mm}
                                            ELSE bili.high * 10000 END),
  count_if(year(as_of) - year(birth_date) - CASE WHEN month(as_of) < month(birth_date)
           OR (month(as_of) = month(birth_date) AND day(as_of) < day(birth_date)) THEN 1
           ELSE 0 END = t.age_min),
  count_if(ecog.value = t.ecog_max)
FROM p CROSS JOIN trials t
""").fetchone()
    return dict(zip(catalogue.REFERENCE, row, strict=True))

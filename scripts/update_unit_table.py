"""Regenerate src/eligimatch/data/unit_table.json: what pint computes for the unit table.

Each expression of ``data/unit_spellings.toml`` with its scale, pint unit and dimension, and the
exact factor between every two units of one dimension, keyed by the SHA-256 of the sources
(``units.txt``, ``unit_spellings.toml``, pint's definition files).  While the key matches,
eligimatch reads and converts units without importing pint; when it does not, pint computes
everything as before (slower start).  Run after editing either data file or upgrading pint;
``tests/test_units.py`` fails while the stored table is stale.

    python scripts/update_unit_table.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from eligimatch.units import build_table  # noqa: E402

OUT = ROOT / "src" / "eligimatch" / "data" / "unit_table.json"


def layout(table: dict[str, object]) -> str:
    """JSON with one entry a line, so that a change reads as a small diff."""
    lines = []
    for key, value in table.items():
        if isinstance(value, dict):
            entries = [
                f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
                for k, v in sorted(value.items())
            ]
            lines.append(f"{json.dumps(key)}: {{\n" + ",\n".join(entries) + "\n}")
        else:
            lines.append(f"{json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main() -> None:
    table = build_table()
    OUT.write_text(layout(table), encoding="utf-8")
    print(
        f"{OUT.relative_to(ROOT)}: {len(table['expressions'])} expressions, "
        f"{len(table['factors'])} factors, sources {table['sources_sha256'][:12]}"
    )


if __name__ == "__main__":
    main()

"""Run the eligimatch CLI in-process through main(), as the console script does."""

from __future__ import annotations

import sys

import pytest

from eligimatch import cli


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``eligimatch ARGV``."""
    old = sys.argv
    sys.argv = ["eligimatch", *argv]
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return code, out, err

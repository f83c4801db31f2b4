"""Faults around a run, as the real command meets them (subprocesses): interrupts and kills in
the middle of ``screen-batch``, a full device, a closed or broken standard output.

What must hold: the exit code says so (2 for an output error, 130 / 143 after SIGINT /
SIGTERM), stderr is one line and never a traceback, no file at an output path could be taken
for a complete run (a previous complete one is left as it was), and no worker outlives the
parent, whatever killed it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_runner import run_main
from eligimatch import safeio
from eligimatch.errors import OutputError

ROOT = Path(__file__).resolve().parents[1]
EXE = [sys.executable, "-m", "eligimatch"]
LINUX = sys.platform.startswith("linux")
PROFILE = {
    "id": "f",
    "as_of": "2026-11-16",
    "sex": "female",
    "birth_date": "1979-08-30",
    "weight": {"value": 64, "unit": "kg", "date": "2026-11-12"},
    "ecog": {"value": 1, "date": "2026-11-12"},
    "labs": [{"test": "anc", "value": 1200, "unit": "/uL", "date": "2026-11-12"}],
}
PREVIOUS = "a previous complete run\n"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    path = [str(p) for p in map(Path, sys.path) if (p / "eligimatch" / "__init__.py").is_file()]
    env["PYTHONPATH"] = os.pathsep.join([*path, env.get("PYTHONPATH", "")])
    return env


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough profiles for a run of several seconds on two workers."""
    path = tmp_path_factory.mktemp("cohort") / "cohort.jsonl"
    with path.open("w") as f:
        for i in range(40_000):
            f.write(json.dumps({**PROFILE, "id": f"f{i:05d}"}) + "\n")
    return path


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(x) for x in (task / "children").read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has ended; init reaps it when it can


def _start_batch(cohort: Path, out: Path) -> tuple[subprocess.Popen[str], list[int]]:
    """screen-batch with two workers, once both run and records are being written."""
    out.write_text(PREVIOUS)
    (out.parent / "att.json").write_text(PREVIOUS)
    proc = subprocess.Popen(
        [
            *EXE,
            "screen-batch",
            str(cohort),
            "-o",
            str(out),
            "--attrition",
            str(out.parent / "att.json"),
            "--jobs",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and proc.poll() is None:
        workers = [c for c in _children(proc.pid) if _alive(c)]
        parts = list(out.parent.glob(".out.jsonl.*.part"))
        if len(workers) >= 2 and parts and parts[0].stat().st_size > 0:
            return proc, workers
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"the batch did not get going: {proc.communicate()}")


def _no_part_files(d: Path) -> None:
    assert not list(d.glob(".*.part"))


@pytest.mark.skipif(not LINUX, reason="reads /proc")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_batch_leaves_the_previous_files_and_no_worker(cohort, tmp_path, sig, code):
    out = tmp_path / "out.jsonl"
    proc, workers = _start_batch(cohort, out)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert stdout == ""
    assert stderr == (
        f"eligimatch: interrupted by {sig.name}; not written: {out}, "
        f"{tmp_path / 'att.json'} (an earlier file there is left as it was)\n"
    )
    assert out.read_text() == PREVIOUS and (tmp_path / "att.json").read_text() == PREVIOUS
    _no_part_files(tmp_path)
    time.sleep(0.2)
    assert not [w for w in workers if _alive(w)]


@pytest.mark.skipif(not LINUX, reason="reads /proc; the parent-death signal is Linux's")
def test_killed_parent_leaves_no_worker_and_no_complete_looking_file(cohort, tmp_path):
    out = tmp_path / "out.jsonl"
    proc, workers = _start_batch(cohort, out)
    proc.kill()
    proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], "a worker outlived its parent"
    # SIGKILL cannot be cleaned up after: the unfinished file stays under its temporary name
    assert out.read_text() == PREVIOUS and (tmp_path / "att.json").read_text() == PREVIOUS


def _one_line(proc: subprocess.CompletedProcess[str], fragment: str, code: int = 2) -> None:
    assert "Traceback" not in proc.stderr
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EXE, *argv],
        capture_output="stdout" not in kw,
        text=True,
        check=False,
        env=_env(),
        timeout=120,
        **kw,
    )  # type: ignore[call-overload]


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    p = tmp_path / "p.json"
    p.write_text(json.dumps(PROFILE))
    return p


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize(
    "argv",
    [
        ["screen", "{p}", "--format", "json"],
        ["export-fhir", "{p}"],
        ["export-fhir", "{p}", "-o", "/dev/full"],
        ["screen-batch", "{d}"],
        ["screen-batch", "{d}", "-o", "/dev/full"],
        ["screen-batch", "{d}", "-o", "{d}/out.jsonl", "--attrition", "/dev/full"],
    ],
)
def test_full_device_is_one_line_and_exit_2(argv, profile, tmp_path):
    argv = [a.format(p=profile, d=tmp_path) for a in argv]
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [*EXE, *argv],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            env=_env(),
            timeout=120,
        )
    _one_line(proc, "cannot write: No space left on device")
    _no_part_files(tmp_path)
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    "argv", [["screen", "{p}"], ["export-fhir", "{p}"], ["screen-batch", "{d}"], ["trials"]]
)
def test_closed_stdout_is_never_success(argv, profile, tmp_path):
    argv = [a.format(p=profile, d=tmp_path) for a in argv]
    proc = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *EXE, *argv],
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        env=_env(),
        timeout=120,
    )
    _one_line(proc, "eligimatch: error: standard output: closed, so nothing could be written")


def test_broken_pipe_is_one_line_and_exit_2(cohort, tmp_path):
    proc = subprocess.Popen(
        [*EXE, "screen-batch", str(cohort), "--jobs", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `| head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in err
    assert err == "eligimatch: error: standard output: cannot write: Broken pipe\n"


# ---------------------------------------------------------------------------- in-process


def test_disk_full_mid_batch_leaves_the_previous_file(tmp_path, capsys, monkeypatch):
    src = tmp_path / "cohort.jsonl"
    src.write_text("".join(json.dumps({**PROFILE, "id": f"f{i}"}) + "\n" for i in range(300)))
    out = tmp_path / "out.jsonl"
    out.write_text(PREVIOUS)
    real = safeio.AtomicFile.write
    calls = []

    def write(self: safeio.AtomicFile, text: str) -> None:
        calls.append(text)
        if len(calls) > 2:
            raise OutputError(self.name, f"cannot write: {os.strerror(errno.ENOSPC)}")
        real(self, text)

    monkeypatch.setattr(safeio.AtomicFile, "write", write)
    monkeypatch.setattr("eligimatch.batch.run.TARGET_PAIRS_PER_CHUNK", 100)
    code, stdout, err = run_main(
        ["screen-batch", str(src), "-o", str(out), "--jobs", "1", "--attrition", str(tmp_path / "att.json")],
        capsys,
    )
    assert code == 2 and stdout == ""
    assert err == (
        f"eligimatch: error: {out}: cannot write: No space left on device; not "
        f"written: {out}, {tmp_path / 'att.json'} (an earlier file there is left "
        "as it was)\n"
    )
    assert out.read_text() == PREVIOUS and not (tmp_path / "att.json").exists()
    _no_part_files(tmp_path)


def test_atomic_file_appears_complete_or_not_at_all(tmp_path):
    target = tmp_path / "t.json"
    with safeio.AtomicFile(target) as f:
        f.write("half")
    assert not target.exists()
    _no_part_files(tmp_path)
    with pytest.raises(RuntimeError), safeio.AtomicFile(target) as f:
        f.write("half")
        raise RuntimeError
    assert not target.exists()
    with safeio.AtomicFile(target) as f:
        f.write("whole\n")
        assert not target.exists()
        f.commit()
    assert target.read_text() == "whole\n"
    assert (target.stat().st_mode & 0o777) == (0o666 & ~_umask())
    with safeio.AtomicFile(Path(os.devnull)) as f:  # a device is written directly
        f.write("x")
        f.commit()
    assert Path(os.devnull).exists()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

"""Helpers of the web tests: an application over a fresh SQLite store with a fixed clock."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web workspace needs pip install -e '.[test]'")

from fastapi import FastAPI
from fastapi.testclient import TestClient

from eligimatch.web.app import create_app
from eligimatch.web.config import Settings

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = ROOT / "patients"
P04 = PATIENTS / "p04_liposarcoma_review.json"
REVIEW_TRIAL = "NCT07342322"
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def settings(db: Path, **kw: object) -> Settings:
    s = Settings(database_url=f"sqlite:///{db}", local_user="Dr Rivera", now=lambda: NOW)
    for k, v in kw.items():
        setattr(s, k, v)
    return s


def make_app(db: Path, **kw: object) -> FastAPI:
    return create_app(settings(db, **kw))


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def review_items(doc: dict, trial_id: str = REVIEW_TRIAL) -> list[dict]:
    """The criteria of a trial that wait for a clinician's answer, from the results JSON."""
    trial = next(t for t in doc["trials"] if t["trial_id"] == trial_id)
    return [c for c in trial["criteria"] if c["status"] == "unknown" and c["review"]]


def non_review_unknowns(doc: dict, trial_id: str = REVIEW_TRIAL) -> list[str]:
    trial = next(t for t in doc["trials"] if t["trial_id"] == trial_id)
    return [c["id"] for c in trial["criteria"] if c["status"] == "unknown" and not c["review"]]


def answer_that_passes(criterion: dict) -> str:
    """'no' lets an exclusion pass (it does not apply); 'yes' lets an inclusion pass."""
    return "no" if criterion["kind"] == "exclusion" else "yes"


def client(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1:8000")


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve the app with uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)

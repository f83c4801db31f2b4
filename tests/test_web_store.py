"""The store: it survives a restart, the audit log and attestations cannot be rewritten, the
schema comes from Alembic; sign-in, CSRF, bind checks, and a server log without patient data."""

from __future__ import annotations

import base64
import logging
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from eligimatch.web.config import ConfigError, load_users
from eligimatch.web.migrate import upgrade
from eligimatch.web.security import hash_password
from eligimatch.web.server import make_settings
from eligimatch.web.store import Store, make_engine
from web_support import (
    P04,
    REVIEW_TRIAL,
    answer_that_passes,
    client,
    csrf_of,
    make_app,
    review_items,
)

JSON = {"content-type": "application/json"}


def _answer_all(c, key):
    doc = c.get(f"/api/patients/{key}/results").json()
    for item in review_items(doc):
        r = c.post(
            f"/api/patients/{key}/attestations",
            headers=JSON,
            json={
                "trial": REVIEW_TRIAL,
                "criterion": item["id"],
                "answer": answer_that_passes(item),
                "reason": "reviewed",
            },
        )
        assert r.status_code == 201, r.text


def _verdict(c, key):
    doc = c.get(f"/api/patients/{key}/results").json()
    return next(t["verdict"] for t in doc["trials"] if t["trial_id"] == REVIEW_TRIAL)


def test_everything_is_still_there_after_a_restart(tmp_path):
    db = tmp_path / "store.db"
    first = client(make_app(db))
    key = first.post("/api/patients", content=P04.read_bytes(), headers=JSON).json()["key"]
    _answer_all(first, key)
    before = _verdict(first, key)
    del first
    again = client(make_app(db))  # a new process would do the same: migrate, load, serve
    assert _verdict(again, key) == before
    assert len(again.get(f"/api/patients/{key}/attestations").json()) >= 1
    page = again.get("/audit").text
    assert page.count(">attest<") >= 1 and "store patient" in page


def test_audit_log_and_attestations_cannot_be_rewritten(tmp_path):
    db = tmp_path / "store.db"
    c = client(make_app(db))
    key = c.post("/api/patients", content=P04.read_bytes(), headers=JSON).json()["key"]
    _answer_all(c, key)
    engine = make_engine(f"sqlite:///{db}")
    for stmt in (
        "UPDATE audit SET actor = 'someone else'",
        "DELETE FROM audit",
        "DELETE FROM attestations",
        "UPDATE attestations SET answer = 'yes'",
    ):
        with pytest.raises(DatabaseError), engine.begin() as conn:
            conn.execute(text(stmt))
    with engine.connect() as conn:
        rules = {r[0] for r in conn.execute(text("SELECT rules_sha256 FROM audit"))}
    assert len(rules) == 1 and len(next(iter(rules))) == 64


def test_migrations_are_idempotent(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as conn:
        (version,) = conn.execute(text("SELECT version_num FROM alembic_version")).one()
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
    assert version == "0001"
    assert {"patients", "attestations", "audit", "settings"} <= tables
    assert Store(engine).secret() == Store(engine).secret()


@pytest.fixture
def users_file(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text(f'[users.rivera]\npassword_hash = "{hash_password("s3cret pass")}"\n')
    return path


def test_password_sign_in(tmp_path, users_file):
    c = client(make_app(tmp_path / "s.db", auth="password", users=load_users(users_file)))
    r = c.get("/patients", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert c.get("/api/patients").status_code == 401
    assert "Basic" in c.get("/api/patients").headers["www-authenticate"]
    form = c.get("/login").text
    bad = c.post("/login", data={"csrf": csrf_of(form), "username": "rivera", "password": "wrong"})
    assert bad.status_code == 401
    ok = c.post(
        "/login",
        data={"csrf": csrf_of(form), "username": "rivera", "password": "s3cret pass", "next": "/trials"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/trials"
    assert "rivera" in c.get("/patients").text
    basic = "Basic " + base64.b64encode(b"rivera:s3cret pass").decode()
    anon = client(c.app)
    assert anon.get("/api/patients", headers={"authorization": basic}).status_code == 200
    events = c.get("/audit").text
    assert "sign-in refused" in events and "sign in" in events


def test_trusted_proxy_header(tmp_path):
    c = client(make_app(tmp_path / "p.db", auth="proxy", proxy_header="X-Remote-User"))
    assert c.get("/patients").status_code == 401
    r = c.post("/api/patients", content=P04.read_bytes(), headers=JSON | {"x-remote-user": "dr.okafor"})
    assert r.status_code == 201
    assert "dr.okafor" in c.get("/audit", headers={"x-remote-user": "dr.okafor"}).text


def test_every_form_needs_the_csrf_token(tmp_path):
    c = client(make_app(tmp_path / "c.db"))
    page = c.get("/patients").text
    assert page.count('name="csrf"') >= 1
    r = c.post("/patients", files={"file": ("p04.json", P04.read_bytes(), "application/json")})
    assert r.status_code == 403
    r = c.post(
        "/patients",
        data={"csrf": "forged"},
        files={"file": ("p04.json", P04.read_bytes(), "application/json")},
    )
    assert r.status_code == 403
    other = client(c.app)  # another browser's token is no good here either
    r = other.post(
        "/patients",
        data={"csrf": csrf_of(page)},
        files={"file": ("p04.json", P04.read_bytes(), "application/json")},
    )
    assert r.status_code == 403


def test_host_header_is_checked_on_loopback(tmp_path):
    s = make_settings(
        host="127.0.0.1",
        db=str(tmp_path / "h.db"),
        rules=None,
        users=None,
        proxy_header=None,
        user="Dr Rivera",
        public_url=None,
    )
    from fastapi.testclient import TestClient

    from eligimatch.web.app import create_app

    app = create_app(s)
    assert TestClient(app, base_url="http://127.0.0.1:8000").get("/healthz").status_code == 200
    assert TestClient(app, base_url="http://evil.example").get("/healthz").status_code == 400


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_refuses_other_addresses_without_sign_in(tmp_path, host, users_file):
    kw = {"db": str(tmp_path / "b.db"), "rules": None, "user": None, "public_url": None}
    with pytest.raises(ConfigError, match="refusing to listen"):
        make_settings(host=host, users=None, proxy_header=None, **kw)
    with pytest.raises(ConfigError, match="refusing to listen"):
        make_settings(host=host, users=None, proxy_header="X-Remote-User", **kw)
    assert make_settings(host=host, users=users_file, proxy_header=None, **kw).auth == "password"


def test_serve_refusal_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "eligimatch", "serve", "--host", "0.0.0.0", "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eligimatch: error: refusing to listen")


def test_server_log_has_no_patient_data(tmp_path, caplog):
    c = client(make_app(tmp_path / "l.db"))
    with caplog.at_level(logging.INFO, logger="eligimatch.web"):
        key = c.post("/api/patients", content=P04.read_bytes(), headers=JSON).json()["key"]
        c.get(f"/patients/{key}")
        _answer_all(c, key)
        c.post("/api/screen", content=b'{"id": "secret-id-123", "as_of": "2026-13-01"}', headers=JSON)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/patients/{key}" in logged and "POST /api/patients" in logged
    for needle in ("p04", "secret-id-123", "liposarcoma", "Dr Rivera", "reviewed"):
        assert needle not in logged


def test_upload_page_shows_errors_and_fhir_import_notes(tmp_path):
    c = client(make_app(tmp_path / "u.db"))
    token = csrf_of(c.get("/patients").text)
    bad = c.post(
        "/patients", data={"csrf": token, "text": '{"id": "x", "as_of": "2026-11-16", "ecog": {"value": 7}}'}
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.text and "ecog" in bad.text
    pytest.importorskip("fhir.resources")
    bundle = P04.parents[1] / "tests/data/fhir/mcode/mcode-extended-example-jenny-m.json"
    r = c.post(
        "/patients",
        data={"csrf": token},
        files={"file": (bundle.name, bundle.read_bytes(), "application/fhir+json")},
    )
    assert r.status_code == 200, r.text  # followed the redirect to the patient page
    assert "Import notes" in r.text and "FHIR bundle" in r.text


def test_a_stored_profile_that_no_longer_reads_is_listed(tmp_path):
    db = tmp_path / "b.db"
    c = client(make_app(db))
    key = c.post("/api/patients", content=P04.read_bytes(), headers=JSON).json()["key"]
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:  # as if the patient format had become stricter
        conn.execute(
            text("UPDATE patients SET profile = :p, revision = revision + 1"),
            {"p": '{"id": "p04", "as_of": "2026-11-16", "shoe_size": 9}'},
        )
    page = c.get("/patients").text
    assert "no longer read" in page and "shoe_size" in page
    assert c.get(f"/patients/{key}").status_code == 422

"""The coordinator's workspace: web pages, a REST API and a CDS Hooks service over a store.

``eligimatch serve`` runs :func:`eligimatch.web.app.create_app` under uvicorn.  Needs the
dependencies installed with eligimatch.

Modules: ``config`` (settings and the user list), ``store`` (SQLAlchemy tables and the
append-only audit log), ``migrate`` (Alembic), ``workspace`` (screening stored patients with
their attestations; rules loaded once), ``security`` (sessions, sign-in, CSRF), ``pages`` (HTML),
``rest`` (JSON API), ``cds`` (CDS Hooks), ``problems`` (RFC 9457 errors), ``server`` (bind
checks and uvicorn).
"""

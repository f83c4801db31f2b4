"""The FastAPI application: middleware (identity, CSRF cookie, request log), error handlers,
and the three routers (pages, REST API, CDS Hooks)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ..errors import EligimatchError, UnknownTrialError
from . import present
from .config import Settings
from .migrate import upgrade
from .problems import one_line, problem
from .security import COOKIE, SessionCodec, verify_password
from .store import Store, make_engine
from .workspace import ActionError, Workspace, version

__all__ = ["create_app"]

HERE = Path(__file__).parent
log = logging.getLogger("eligimatch.web")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC = ("/login", "/static/", "/favicon.ico", "/docs", "/openapi.json", "/healthz")
MAX_BODY = 5_000_000


def _is_api(path: str) -> bool:
    return path.startswith(("/api/", "/cds-services"))


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """Build the application over a store (made from ``settings.database_url`` when not given;
    the schema is brought up to date first).  The rules are loaded here, once."""
    if store is None:
        engine = make_engine(settings.database_url)
        upgrade(engine)
        store = Store(engine)
    ws = Workspace(settings, store)
    codec = SessionCodec(store.secret(), settings.session_hours * 3600)
    app = FastAPI(
        title="eligimatch",
        version=version(),
        docs_url="/docs",
        redoc_url=None,
        description="Screen patients against clinical-trial eligibility criteria; "
        "store patients and clinicians' answers; CDS Hooks.",
    )
    app.state.ws, app.state.codec, app.state.settings = ws, codec, settings
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(
        present.template_globals(), version=version(), rules_sha256=ws.rules_sha256, auth=settings.auth
    )
    templates.env.filters["evidence"] = present.evidence
    templates.env.filters["compact"] = lambda v: json.dumps(v, ensure_ascii=False, default=str)
    app.state.templates = templates
    basic_cache: dict[str, tuple[str, float]] = {}

    def basic_user(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        digest = hashlib.sha256(header.encode()).hexdigest()
        hit = basic_cache.get(digest)
        if hit and hit[1] > time.monotonic():
            return hit[0]
        try:
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not verify_password(settings.users, name, password):
            return None
        basic_cache[digest] = (name, time.monotonic() + 300)
        return name

    def identify(request: Request, user_in_session: str | None) -> str | None:
        if settings.auth == "local":
            return settings.local_user
        if settings.auth == "proxy":
            return request.headers.get(settings.proxy_header or "") or None
        return user_in_session or (basic_user(request) if _is_api(request.url.path) else None)

    @app.middleware("http")
    async def context(request: Request, call_next: Any) -> Response:
        t0 = time.perf_counter()
        path = request.url.path
        sess = codec.decode(request.cookies.get(COOKIE))
        fresh = sess is None
        if sess is None:
            sess = codec.new()
        user = identify(request, sess.user)
        request.state.session, request.state.user = sess, user
        request.state.csrf = codec.csrf_token(sess)
        length = request.headers.get("content-length", "0")
        response: Response
        if user is None and not path.startswith(PUBLIC):
            if _is_api(path) or settings.auth == "proxy":
                response = problem(
                    401,
                    "sign in first",
                    headers=(
                        {"WWW-Authenticate": 'Basic realm="eligimatch"'}
                        if settings.auth == "password"
                        else None
                    ),
                )
            else:
                response = RedirectResponse("/login?next=" + quote(path), status_code=303)
        elif length.isdigit() and int(length) > MAX_BODY:
            response = problem(413, f"the request is larger than {MAX_BODY // 1_000_000} MB")
        elif (
            _is_api(path)
            and request.method in UNSAFE
            and "json" not in request.headers.get("content-type", "")
        ):
            response = problem(415, "send the body as JSON (Content-Type: application/json)")
        else:
            response = await call_next(request)
        if fresh and COOKIE not in response.headers.get("set-cookie", ""):
            response.set_cookie(
                COOKIE,
                codec.encode(sess),
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
                max_age=settings.session_hours * 3600,
            )
        route = request.scope.get("route")
        # the route's template, never the path itself, the query or any body: no patient data
        log.info(
            "%s %s %d %.1fms",
            request.method,
            getattr(route, "path", "-"),
            response.status_code,
            (time.perf_counter() - t0) * 1000,
        )
        return response

    def html_error(request: Request, status: int, message: str) -> Response:
        return templates.TemplateResponse(
            request, "error.html", _base(request) | {"status": status, "message": message}, status_code=status
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        detail = str(exc.detail)
        if _is_api(request.url.path):
            return problem(exc.status_code, detail, headers=dict(exc.headers or {}))
        return html_error(request, exc.status_code, detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
        detail = "request: " + "; ".join(parts)
        if _is_api(request.url.path):
            return problem(422, detail, kind="invalid-request")
        return html_error(request, 422, detail)

    @app.exception_handler(EligimatchError)
    async def refused(request: Request, exc: EligimatchError) -> Response:
        status = (
            exc.status
            if isinstance(exc, ActionError)
            else (404 if isinstance(exc, UnknownTrialError) else 422)
        )
        if _is_api(request.url.path):
            kind = "invalid-patient" if status == 422 else None
            return problem(status, str(exc), kind=kind)
        return html_error(request, status, one_line(str(exc)))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "rules_sha256": ws.rules_sha256}

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    from . import cds, pages, rest

    app.include_router(pages.router)
    app.include_router(rest.router)
    app.include_router(cds.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    if settings.allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    return app


def _base(request: Request) -> dict[str, Any]:
    return {"user": getattr(request.state, "user", None), "csrf": getattr(request.state, "csrf", "")}


def page_context(request: Request) -> dict[str, Any]:
    return _base(request)


def html(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, _base(request) | context, status_code=status)

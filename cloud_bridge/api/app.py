"""The cloud's HTTP app (FastAPI): public verification, market and supervisor actions, operator
JSON and exports, and the dashboard pages.

``create_app`` builds the app; nothing is created at import time. Give it an engine (tests, the
demo) or let it make its engines from the settings when it starts (``nongan bridge serve``), in
which case it disposes of them on shutdown.

Errors: JSON ``{"error": code, "detail": words}`` with a 4xx or 503 status for the API; a page
in the reader's language for ``/c/`` and ``/dashboard``. An unexpected failure is logged and
answered 500 without a stack trace. Bodies over ``api.max_body_bytes`` get 413.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloud_bridge.domain.errors import RegistryError
from cloud_bridge.domain.ingest_health import IngestHealth
from cloud_bridge.domain.ingest_health import ingest_health as health_of_ingest
from cloud_bridge.patterns import TOKEN_RULE
from cloud_bridge.settings import BridgeSettings, load_settings
from cloud_bridge.store.engine import make_engine, session_factory

from . import (
    actions,
    dashboard,
    dashboard_devices,
    dead_letters_pages,
    notify_api,
    notify_pages,
    operator,
    public,
)
from .bodylimit import SECURITY_HEADERS, BodyLimitMiddleware, SecurityHeaders
from .deps import readers
from .errors import ApiError
from .pages import STATIC, make_templates, render
from .ratelimit import PublicRateLimit, TokenBucket
from .responses import ErrorView, HealthView, IngestHealthView, WorkerHealthView

log = logging.getLogger(__name__)

HTML_PREFIXES = ("/c/", "/dashboard")


def create_app(settings: BridgeSettings | None = None, *, engine: Engine | None = None
               ) -> FastAPI:
    """Build the app.

    Args:
        settings: the bridge's settings (defaults when None; the database URL is used when
            ``engine`` is None).
        engine: an engine on a migrated store, owned by the caller (used for reads and writes).
    """
    if engine is None and settings is None:
        raise ValueError("create_app needs settings or an engine")
    settings = settings or load_settings(None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned: list[Engine] = []
        if engine is not None:
            reader = writer = engine
        else:
            db = settings.database
            writer = make_engine(db.url, writer=True, busy_timeout_ms=db.busy_timeout_ms,
                                 pool_size=2)
            owned = [writer]
            if writer.dialect.name == "postgresql":
                # Readers: autocommit (no BEGIN/ROLLBACK round trips) and no pre-ping (a
                # connection lost to a database restart fails one request with 503 and the
                # pool replaces it): a QR scan costs one round trip to the database. A request
                # waits at most a second for a pooled connection (the public route waits on the
                # event loop), then answers 503.
                base = make_engine(db.url, writer=False, pool_size=db.pool_size,
                                   pool_pre_ping=False, pool_timeout=1,
                                   connect_args=_reader_timeouts(db.url))
                owned.append(base)
                reader = base.execution_options(isolation_level="AUTOCOMMIT")
            else:
                reader = make_engine(db.url, writer=False, busy_timeout_ms=db.busy_timeout_ms)
                owned.append(reader)
        app.state.sessions = session_factory(reader)
        app.state.writer_sessions = session_factory(writer)
        try:
            yield
        finally:
            for used in owned:
                used.dispose()

    # No /docs or /redoc: FastAPI's pages load Swagger UI from a CDN, and our pages use local
    # assets only. The OpenAPI document itself is at /openapi.json.
    app = FastAPI(title="nongan cloud", version="1", lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="Certificate verification (承诺达标合格证), market checks, "
                  "purchaser re-issues, the producer registry and the fleet of kiosks.",
                  responses={422: {"model": ErrorView}})
    app.state.settings = settings
    app.state.templates = make_templates()
    app.state.public_bucket = TokenBucket(settings.api.public_rate_per_minute,
                                          settings.api.public_burst)
    # The last added runs first: the security headers wrap everything, the rate limit's 429
    # and the body limit's 413 included.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(PublicRateLimit, bucket=app.state.public_bucket,
                       trusted=set(settings.api.trusted_proxies))
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    _install_error_handlers(app)

    @app.get("/healthz", response_model=HealthView, response_model_exclude_none=True,
             responses={503: {"model": HealthView}}, tags=["public"])
    def healthz(request: Request, scope: Literal["all", "api"] = "all"
                ) -> HealthView | JSONResponse:
        """The API is up, its database answers, and the ingest keeps up (503 otherwise, with
        the reasons). ``?scope=api`` checks only the API and its database (for a reverse
        proxy: verification pages work while the ingest is stalled)."""
        try:
            with readers(request)() as session:
                session.execute(text("SELECT 1"))
                ingest = (health_of_ingest(session, settings.dashboard) if scope == "all"
                          else None)
        except SQLAlchemyError as exc:
            log.warning("health check: database unreachable: %s", exc)
            return JSONResponse(status_code=503,
                                content={"status": "unavailable", "database": "unreachable"})
        if ingest is None:
            return HealthView(status="ok", database="ok")
        view = HealthView(status="ok" if ingest.ok else "degraded", database="ok",
                          ingest=ingest_view(ingest))
        if ingest.ok:
            return view
        return JSONResponse(status_code=503, content=view.model_dump(mode="json",
                                                                     exclude_none=True))

    public.install_fast_route(app)
    app.include_router(public.router)
    app.include_router(actions.router)
    app.include_router(operator.router)
    app.include_router(dashboard.router)
    app.include_router(dead_letters_pages.router)
    app.include_router(dashboard_devices.router)
    app.include_router(notify_api.router)
    app.include_router(notify_pages.router)
    return app


def ingest_view(health: IngestHealth) -> IngestHealthView:
    return IngestHealthView(
        status=health.status, problems=health.problems,
        dead_letters_open=health.dead_letters_open,
        oldest_dead_letter_age_s=health.oldest_dead_letter_age_s,
        workers=[WorkerHealthView(client_id=w.client_id, state=w.state,
                                  heartbeat_age_s=round(w.heartbeat_age_s, 1),
                                  in_hand=w.in_hand,
                                  oldest_in_hand_age_s=w.oldest_in_hand_age_s,
                                  last_error=w.last_error, problem=w.problem)
                 for w in health.workers])


def _reader_timeouts(url: str) -> dict[str, Any]:
    """Connect and statement timeouts for the API's PostgreSQL readers, kept beside any
    ``options`` the URL already carries (e.g. a search_path)."""
    options = make_url(url).query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    return {"connect_timeout": 3,
            "options": f"{options} -c statement_timeout=5000".strip()}


def _wants_page(request: Request) -> bool:
    return request.url.path.startswith(HTML_PREFIXES)


def _error(request: Request, status: int, error: str, detail: str,
           headers: dict[str, str] | None = None) -> Response:
    if _wants_page(request):
        if status == 401 and request.url.path.startswith("/dashboard"):
            return RedirectResponse("/dashboard/login", status_code=303)
        template = "not_found.html" if status == 404 else "error.html"
        return render(request, template, {"status": status, "error": error, "detail": detail},
                      status=status, headers=headers)
    content: dict[str, Any] = {"error": error, "detail": detail}
    response = JSONResponse(status_code=status, content=content, headers=headers)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return _error(request, exc.status, exc.error, exc.detail, exc.headers)

    @app.exception_handler(RegistryError)
    async def registry_refused(request: Request, exc: RegistryError) -> Response:
        # Not found, forbidden, conflict, refused: the registry's status, code and words.
        return _error(request, exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        loc = tuple(first.get("loc", ()))
        if loc == ("path", "token"):
            return _error(request, 422, "malformed_token", TOKEN_RULE)
        where = ".".join(str(p) for p in loc)
        return _error(request, 422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> Response:
        # e.g. a NUL character, which PostgreSQL text cannot hold: the input is at fault.
        log.info("refused a value the database cannot take on %s: %s", request.url.path, exc)
        return _error(request, 422, "invalid_request",
                      "a value cannot be stored or searched (e.g. it holds a NUL character)")

    async def database_down(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable for %s: %s", request.url.path, exc)
        return _error(request, 503, "database_unavailable",
                      "the database is not reachable; try again")

    # Unreachable, or every pooled connection busy past the pool's timeout: both are 503.
    app.add_exception_handler(OperationalError, database_down)
    app.add_exception_handler(PoolTimeoutError, database_down)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        response = _error(request, 500, "internal", "an internal error occurred")
        # Starlette answers this one from outside every middleware: add the headers here.
        for name, value in SECURITY_HEADERS:
            response.headers[name.decode()] = value.decode()
        return response

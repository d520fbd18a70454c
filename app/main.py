"""The application: routers, static files, error handlers and what runs for the app's lifetime."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.config import get_settings
from app.db import get_database
from app.deps import LoginRequired
from app.errors import AppError, RateLimited, Unauthorized
from app.live.broker import Broker, PostgresBroker, set_broker
from app.routers import api, pages
from app.routers.middleware import BodyLimit, SecurityHeaders
from app.templating import STATIC, is_htmx, render
from app.wiring import wire, wire_pages
from app.worker.runner import Runner

log = logging.getLogger("firstline")

API_DESCRIPTION = """
Firstline's JSON API. Authenticate with `Authorization: Bearer <token>`; make a token with
`firstline token create --email you@example.org --name ci`. A token may do what both its
scopes and its owner's role allow.

Errors are JSON `{"detail": "...", "code": "..."}` with the HTTP status telling the class of
problem: 400 malformed JSON, 401 no or bad token, 403 not allowed, 404 not found, 409 conflict
(illegal status move, already claimed, duplicate), 412 stale `If-Match`, 413 body too large,
415 wrong content type, 422 invalid fields, 429 rate limited.
"""


def _make_broker() -> Broker:
    settings = get_settings()
    backend = settings.live_backend
    if backend == "auto":
        backend = "memory" if settings.is_sqlite else "postgres"
    if backend == "postgres":
        from sqlalchemy.engine import make_url

        url = make_url(settings.database_url)
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresBroker(conninfo)
    return Broker()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    database = get_database()
    broker = _make_broker()
    set_broker(broker)
    await broker.start()
    stop = asyncio.Event()
    worker = None
    if get_settings().runs_worker_in_process:
        worker = asyncio.create_task(Runner(database).run_forever(stop))
    # Everything imported so far (modules, templates, the route table) lives as long as the
    # process: moving it out of the collector's reach makes full collections short. One full
    # collection over it took ~180 ms in the middle of a board request (bench p99; docs/adr/0002).
    gc.collect()
    gc.freeze()
    # A request's rows, ORM states and views live until its response is sent, and at the
    # default threshold (700) the collector scanned them 4 times per board page: 1.8 ms of a
    # ~25 ms page. At 20,000 it runs less than once in twenty pages (0.15 ms a page), by when
    # most of them were freed by reference counting.
    gc.set_threshold(20_000, *gc.get_threshold()[1:])
    try:
        yield
    finally:
        stop.set()
        if worker is not None:
            await worker
        await broker.stop()
        await database.dispose()


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/healthz", "/readyz"))


def _json_error(
    status: int, detail: object, code: str, headers: dict[str, str] | None = None, **extra
) -> JSONResponse:
    return JSONResponse(
        {"detail": detail, "code": code, **extra}, status_code=status, headers=headers
    )


def _page_error(
    request: Request, status: int, detail: str, code: str, headers: dict[str, str] | None = None
) -> Response:
    if is_htmx(request):
        # htmx swaps 4xx into the page's flash area (see base.html's htmx-config).
        hx = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML", **(headers or {})}
        return render(
            request,
            "partials/flash.html",
            {"level": "error", "message": detail},
            status_code=status,
            headers=hx,
        )
    return render(
        request,
        "errors/error.html",
        {"status": status, "detail": detail, "code": code},
        status_code=status,
        headers=headers,
    )


async def app_error_handler(request: Request, exc: AppError) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, LoginRequired) and not _is_api(request):
        target = (
            exc.login_path
            + "?next="
            + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        )
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if _is_api(request):
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = "Bearer"
        return _json_error(exc.status_code, exc.detail, exc.code, headers, **exc.extra)
    return _page_error(request, exc.status_code, exc.detail, exc.code, headers)


def _describe(errors: list[dict]) -> str:
    parts = []
    for err in errors:
        loc = ".".join(
            str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")
        )
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts)


async def validation_error_handler(request: Request, exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        if _is_api(request):
            return _json_error(400, "the request body is not valid JSON", "malformed_json")
        return _page_error(request, 400, "malformed request", "malformed_json")
    clean = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors
    ]
    if _is_api(request):
        return _json_error(422, _describe(errors), "invalid", errors=clean)
    return _page_error(request, 422, _describe(errors), "invalid")


def _allowed_methods(request: Request) -> list[str]:
    from fastapi.routing import iter_route_contexts
    from starlette.routing import compile_path

    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        route_methods = getattr(context.original_route, "methods", None)
        if context.path and route_methods and compile_path(context.path)[0].match(request.url.path):
            methods |= set(route_methods)
    return sorted(methods)


async def http_error_handler(request: Request, exc: StarletteHTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed", 415: "unsupported_media_type"}.get(
        exc.status_code, "http_error"
    )
    detail = exc.detail if isinstance(exc.detail, str) else "error"
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such page or resource"
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        # Starlette names only the first matching route's methods; one path often has several routes.
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    if _is_api(request):
        return _json_error(exc.status_code, detail, code, headers)
    return _page_error(request, exc.status_code, detail, code)


async def unhandled_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    if _is_api(request):
        return _json_error(500, "internal error; it has been logged", "internal")
    return _page_error(
        request, 500, "Something went wrong on our side; it has been logged.", "internal"
    )


def _document_our_errors(app: FastAPI) -> None:
    """Replace FastAPI's default 422 schema with ours, and add 400 wherever a JSON body is read.

    Our handlers answer `{"detail", "code", "errors"}`, so the spec must say so; clients and
    schemathesis hold the API to it.
    """
    from fastapi.openapi.utils import get_openapi

    from app.routers.api.common import ErrorOut

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error_schema.pop("$defs", {}))
        components["ErrorOut"] = error_schema
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"]["content"] = error
                if "requestBody" in operation and "400" not in responses:
                    responses["400"] = {"description": "Malformed JSON body", "content": error}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app() -> FastAPI:
    wire()
    wire_pages()
    settings = get_settings()
    app = FastAPI(
        title="Firstline",
        version="0.1.0",
        summary="The support front line: intake, triage, SLAs, rota, incidents.",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    # Starlette types every handler as taking Exception; each of these gets only its own class.
    app.add_exception_handler(AppError, app_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unhandled_error_handler)

    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    _document_our_errors(app)
    body_limit = settings.max_attachments * settings.max_attachment_bytes + 2 * 1024 * 1024
    app.add_middleware(BodyLimit, max_bytes=body_limit)
    app.add_middleware(SecurityHeaders)
    return app

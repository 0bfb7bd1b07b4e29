"""Starlette application: lifespan-owned clients, one GraphQL endpoint over HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import ipaddress
import json
import logging
import mimetypes
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from auth.secrets import configure_password_hashing
from composition import Runtime, open_stores, running
from graph.engine import GraphUnavailable
from graph.projection import Projector
from relational.uow import RequestMeta
from resolvers.context import Context
from schema.errors import error_body, log_outage
from schema.root import AUDIT_READ, build_schema
from schema.subscription_transport import TransportWSHandler
from services import audit, metrics, rate_limit
from services import health as health_state
from services.audit import TrailFilter
from services.clock import Clock
from services.errors import (
    BadUserInput,
    DomainError,
    ErrorCode,
    Forbidden,
    Internal,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
    store_failure,
)
from services.identity import sessions
from services.identity.users import ensure_builtin_roles
from services.stores import Stores
from settings import Settings, get_settings

log = logging.getLogger("crm")
# Module scripts must be served as JavaScript; not every system's MIME table knows `.mjs`.
mimetypes.add_type("text/javascript", ".mjs")


class RequestIdMiddleware:
    """Gives every request an id (or keeps a sane incoming X-Request-ID) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


class SecurityHeadersMiddleware:
    """Headers every response carries; the API is never framed or sniffed."""

    HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
               (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store"),
               (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"))

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(self.HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def _bearer(connection: HTTPConnection) -> str | None:
    """The credential of an `Authorization: Bearer …` header, if any."""
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


class RateLimitMiddleware:
    """Counts every GraphQL request against its identity's quota before it is parsed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        bearer = _bearer(request)
        client = request.client.host if request.client else None
        stores: Stores = scope["state"]["stores"]
        try:
            await rate_limit.check(stores.ledger, stores.settings, bearer, client)
        except RateLimited as limited:
            metrics.RATE_LIMITED.inc()
            await error_response(limited, scope["state"]["request_id"])(scope, receive, send)
            return
        await self.app(scope, receive, send)


GRAPHQL_RESPONSE = "application/graphql-response+json"


def _prefers_graphql_response(accept: str) -> bool:
    """The client asks for the GraphQL-over-HTTP media type before (or instead of) JSON."""
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if GRAPHQL_RESPONSE not in kinds:
        return False
    return "application/json" not in kinds or (
        kinds.index(GRAPHQL_RESPONSE) < kinds.index("application/json"))


class GraphQLResponseMediaType:
    """`application/graphql-response+json` (GraphQL over HTTP): for a client that asks for it,
    the response says so, and a request error (the document does not parse or validate, the
    variables do not coerce: no data, errors without a path) answers 400 without `data`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        if (scope["type"] != "http" or scope["path"] != "/graphql"
                or not _prefers_graphql_response(accept)):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                await self._send(start, b"".join(chunks), send)

        await self.app(scope, receive, buffered)

    @staticmethod
    async def _send(start: Message, body: bytes, send: Send) -> None:
        headers = [(key, value) for key, value in start.get("headers", [])
                   if key.lower() != b"content-length"]
        status = int(start["status"])
        kind = dict(headers).get(b"content-type", b"")
        if kind.startswith(b"application/json"):
            status, body = _as_graphql_response(status, body)
            headers = [(key, value) for key, value in headers if key.lower() != b"content-type"]
            headers.append((b"content-type", f"{GRAPHQL_RESPONSE}; charset=utf-8".encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _as_graphql_response(status: int, body: bytes) -> tuple[int, bytes]:
    try:
        result = json.loads(body)
    except ValueError:
        return status, body
    if not isinstance(result, dict) or result.get("data") is not None:
        return status, body
    errors = result.get("errors") or []
    if errors and all(isinstance(one, dict) and "path" not in one for one in errors):
        result.pop("data", None)
        return (status if status >= 400 else 400), json.dumps(result).encode()
    return status, body


class ErrorBoundaryMiddleware:
    """Whatever escapes a route or an inner middleware before the response has started still
    answers through the one error shape: a store outage as UNAVAILABLE (503, Retry-After,
    logged as one warning line), anything else as INTERNAL (500, stack trace logged)."""

    def __init__(self, app: ASGIApp, *, retry_after: int) -> None:
        self.app = app
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        started = False

        async def watching(message: Message) -> None:
            nonlocal started
            if message["type"] in {"http.response.start", "websocket.accept",
                                   "websocket.close"}:
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching)
        except Exception as error:
            if started:
                raise
            request_id = scope.get("state", {}).get("request_id", "-")
            failure = self._typed(error, request_id)
            if scope["type"] == "websocket":
                # 1013 "try again later" for an outage, 1011 for a defect (no body before accept).
                code = 1013 if failure.code is not ErrorCode.INTERNAL else 1011
                await send({"type": "websocket.close", "code": code,
                            "reason": failure.code.value})
                return
            await error_response(failure, request_id)(scope, receive, send)

    def _typed(self, error: Exception, request_id: str) -> DomainError:
        if isinstance(error, DomainError):
            return error
        outage = store_failure(error, self.retry_after)
        if isinstance(outage, OutcomeUnknown):
            # Outside GraphQL no client write runs (only bookkeeping such as the rate
            # counter): the request did nothing the client must check before retrying.
            outage = Unavailable(self.retry_after, "the ledger")
        if outage is not None:
            log_outage(outage, request_id, error)
            return outage
        log.error("unexpected error (request %s)", request_id, exc_info=error)
        return Internal(f"Internal error; quote request id {request_id} to support")


def error_response(error: DomainError, request_id: str) -> JSONResponse:
    """Every refusal outside GraphQL answers like a GraphQL error (schema.errors)."""
    body, status = error_body(error, request_id)
    retry_after = getattr(error, "retry_after", None)
    headers = {"retry-after": str(retry_after)} if isinstance(retry_after, int) else None
    return JSONResponse(body, status_code=status, headers=headers)


def _reason(value: str | None) -> str | None:
    """The purpose a client states for its request (e.g. 投标准备, percent-encoded UTF-8 as
    headers are ASCII), kept short and printable."""
    if not value:
        return None
    cleaned = "".join(char for char in unquote(value) if char.isprintable())[:200].strip()
    return cleaned or None


class CrmGraphQL(GraphQL[Context, None]):
    """GraphQL over HTTP, and over WebSocket with `graphql-transport-ws` only (the legacy
    `graphql-ws` subprotocol is refused: 4406). The socket's token comes in connection_init
    (`{"authorization": "Bearer …"}`); a bad one closes it with 4403, so does its expiry or
    revocation later (checked every WS_AUTH_RECHECK_SECONDS)."""

    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, schema: Any, settings: Settings, **options: Any) -> None:
        super().__init__(
            schema, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            max_subscriptions_per_connection=settings.subscriptions_per_connection,
            allowed_origins=settings.cors_origins, **options)
        self.settings = settings

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        client = request.client
        return Context(
            stores=request.state.stores,
            projector=request.state.projector,
            dispatcher=request.state.dispatcher,
            request_id=request.state.request_id,
            ip=client.host if client else None,
            connection=request,
            bearer=_bearer(request),
            reason=_reason(request.headers.get("x-audit-reason")),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization") or params.get("token")
        if raw:  # else the upgrade request's Authorization header, for non-browser clients
            scheme, _, credentials = str(raw).partition(" ")
            context.bearer = credentials.strip() if scheme.lower() == "bearer" else str(raw)
        try:
            actor = await context.actor()
        except Exception as error:
            outage = isinstance(error, Unavailable) or (
                not isinstance(error, DomainError) and store_failure(error, 1) is not None)
            if not outage:
                if isinstance(error, DomainError):
                    raise ConnectionRejectionError from error
                raise
            # The token cannot be checked during an outage: the socket is let in, but every
            # operation authenticates again (and answers UNAVAILABLE until the ledger is
            # back), and the watcher closes it (4403) once the token turns out invalid.
            log.warning("socket accepted unverified, its token could not be checked: %s", error)
        else:
            if not actor.authenticated:
                raise ConnectionRejectionError
        watch = asyncio.create_task(_watch_token(context, self.settings.ws_auth_recheck_seconds))
        _WATCHERS.add(watch)
        watch.add_done_callback(_WATCHERS.discard)
        done: UnsetType = UNSET
        return done


_WATCHERS: set[asyncio.Task[None]] = set()


async def _watch_token(context: Context, every: float) -> None:
    """Close the socket (4403) once its token has expired or been revoked."""
    socket = context.connection
    stores = context.stores
    while isinstance(socket, WebSocket) and socket.application_state is WebSocketState.CONNECTED:
        await asyncio.sleep(every)
        try:
            await sessions.authenticate(stores.ledger, stores.settings, context.bearer,
                                        context.ip)
        except Exception as error:
            if store_failure(error, 1) is not None:
                continue  # an outage is not a revocation: check again later
            if not isinstance(error, DomainError):
                raise
            if error.code is not ErrorCode.UNAUTHENTICATED:
                continue
            with contextlib.suppress(Exception):
                await context.close_socket(4403, "Forbidden: token expired or revoked")
            return


async def audit_export(request: Request) -> Response:
    """The audit trail as CSV; the same filters as `auditTrail`, as query parameters."""
    bearer = _bearer(request)
    params = request.query_params
    stores: Stores = request.state.stores
    try:
        client = request.client.host if request.client else None
        actor = await sessions.authenticate(stores.ledger, stores.settings, bearer, client)
        AUDIT_READ.check(actor)
        query = TrailFilter(actor=params.get("actorUsername"), target_id=params.get("targetId"),
                           operation=params.get("operation"),
                           since=_instant(params.get("since"), "since"),
                           until=_instant(params.get("until"), "until"))
        rows = audit.export_csv(stores.read, actor, query)
        first = await anext(rows)
        async with stores.uow(RequestMeta(actor=actor.label, ip=client,
                                          request_id=request.state.request_id,
                                          reason=_reason(request.headers.get(
                                              "x-audit-reason")))) as uow:
            audit.record_export(uow, query)
    except DomainError as error:
        return error_response(error, request.state.request_id)

    async def body() -> AsyncIterator[str]:
        yield first
        async for chunk in rows:
            yield chunk

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": 'attachment; filename="audit-trail.csv"'})


def _instant(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError as error:
        raise BadUserInput(f"`{field}` is not an ISO 8601 time", field=field) from error
    return found if found.tzinfo else found.replace(tzinfo=UTC)


class ExplorerFiles(StaticFiles):
    """The /explore page (web/static): plain files under a policy that lets the page load and
    reach nothing but this origin, so no script, style or request ever leaves it."""

    POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; "
              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    # The one third-party script, copied there from web/node_modules by `make install`.
    VENDORED = Path("vendor") / "cytoscape.esm.min.mjs"

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["content-security-policy"] = self.POLICY
        return response


def explorer(settings: Settings) -> Mount:
    if not (settings.explorer_dir / ExplorerFiles.VENDORED).is_file():
        log.warning("/explore lacks %s under %s: run `make install`", ExplorerFiles.VENDORED,
                    settings.explorer_dir)
    return Mount("/explore", ExplorerFiles(directory=settings.explorer_dir, html=True,
                                           check_dir=False), name="explore")


async def health(request: Request) -> Response:
    """Up while the ledger answers (else UNAVAILABLE, 503); the graph may be catching up."""
    stores: Stores = request.state.stores
    await stores.ledger.ping()
    projector: Projector = request.state.projector
    return JSONResponse({"status": "ok", "graph": "up" if projector.healthy else "catching up"})


READY_TIMEOUT_SECONDS = 1.0


async def _answers(probe: Awaitable[object]) -> bool:
    """The store answered a cheap query within READY_TIMEOUT_SECONDS."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await probe
    except Exception:
        return False
    return True


StoresDown = Callable[[], frozenset[str]]


def readiness(stores_down: StoresDown | None) -> Callable[[Request], Awaitable[Response]]:
    """`/readyz`: 200 when both stores answer, the ledger's migrations are current and the
    graph is no further behind the newest commit than READY_MAX_PROJECTOR_LAG_SECONDS; else
    503 with the reasons. `stores_down` names the embedded stores the supervisor is
    restarting (`crm serve`)."""

    async def ready(request: Request) -> Response:
        stores: Stores = request.state.stores
        projector: Projector = request.state.projector
        down = stores_down() if stores_down else frozenset()
        state = None
        if "ledger" not in down:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                    state = await health_state.sample(stores.ledger)
        graph_up = "graph" not in down and await _answers(stores.graph.read("RETURN 1"))
        graph = "down" if not graph_up else "up" if projector.healthy else "catching up"
        limit = stores.settings.ready_max_projector_lag_seconds
        reasons = [*(["the ledger does not answer"] if state is None else []),
                   *(["the graph does not answer"] if not graph_up else []),
                   *(["the graph projector is retrying"] if graph == "catching up" else [])]
        if state is not None and not state.migrations_current:
            reasons.append(f"the ledger is at migration {state.revision}, the code needs "
                           f"{health_state.EXPECTED_REVISION}: run `crm migrate`")
        if state is not None and state.lag_seconds > limit:
            reasons.append(f"the graph is {state.lag_seconds:.0f} s behind the ledger "
                           f"({state.backlog} events; limit {limit:.0f} s)")
        body = {"status": "not ready" if reasons else "ready",
                "ledger": "up" if state is not None else "down", "graph": graph,
                "migrations": None if state is None else
                "current" if state.migrations_current else "behind",
                "projectorLagSeconds": None if state is None else round(state.lag_seconds, 3),
                "reasons": reasons}
        return JSONResponse(body, status_code=503 if reasons else 200)

    return ready


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format. From loopback without credentials (a local agent); from
    anywhere else only with `Authorization: Bearer $METRICS_TOKEN`, and never without one."""
    stores: Stores = request.state.stores
    if not _loopback(request.client.host if request.client else None):
        token = stores.settings.metrics_token
        given = _bearer(request) or ""
        if token is None or not hmac.compare_digest(given.encode(),
                                                    token.get_secret_value().encode()):
            return error_response(Forbidden("metrics are served to loopback, or with the "
                                            "METRICS_TOKEN bearer token"),
                                  request.state.request_id)
    with contextlib.suppress(Exception):  # a ledger outage must not hide the other metrics
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await health_state.sample(stores.ledger)
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def _prepare(runtime: Runtime) -> None:
    try:
        await runtime.stores.graph.ensure_schema()
    except GraphUnavailable as error:
        log.warning("graph unreachable at start-up, projecting later: %s", error)
    async with runtime.stores.uow(RequestMeta(actor="system:start")) as uow:
        await ensure_builtin_roles(uow)
    # Long-lived start-up objects leave the collector's generations, and collections run
    # less often: full collections were a large share of the CPU of big pages.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def create_app(settings: Settings | None = None, *,
               stores_down: StoresDown | None = None, clock: Clock | None = None) -> Starlette:
    settings = settings or get_settings()
    if not settings.database_url or not settings.graph_url:
        raise RuntimeError("DATABASE_URL and GRAPH_URL must be set (`crm serve` sets them)")

    configure_password_hashing(settings.password_hash_memory_kib,
                               settings.password_hash_time_cost)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        # The scheduler's connection is the in-process worker's: requests defer jobs in
        # their own transactions and need none.
        async with open_stores(settings, pool_size=settings.db_pool_size, clock=clock,
                               jobs=settings.worker_in_process) as runtime:
            await _prepare(runtime)
            async with running(runtime, worker=settings.worker_in_process):
                yield {"stores": runtime.stores, "projector": runtime.projector,
                       "dispatcher": runtime.dispatcher}

    graphql = CrmGraphQL(build_schema(settings), settings,
                         graphql_ide="graphiql" if settings.graphiql else None)
    app = Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]),
                WebSocketRoute("/graphql", graphql),
                Route("/healthz", health),
                Route("/readyz", readiness(stores_down)),
                Route("/metrics", metrics_endpoint),
                Route("/audit/export.csv", audit_export),
                explorer(settings)],
        lifespan=lifespan,
    )
    app.add_middleware(RateLimitMiddleware)
    app.add_middleware(GraphQLResponseMediaType)
    app.add_middleware(ErrorBoundaryMiddleware,
                       retry_after=settings.unavailable_retry_after_seconds)
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"],
                           allow_headers=["authorization", "content-type", "x-request-id"],
                           expose_headers=["x-request-id"], max_age=600)
    app.add_middleware(RequestIdMiddleware)
    return app

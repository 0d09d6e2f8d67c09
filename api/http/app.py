"""The composition root of the HTTP API: `create_app(settings)` builds everything once.

Rule: one DuesLedger and one `Reads` per app (`api.http.services`), one router per
resource, every error as problem+json (`api.http.problems`). The signing key comes from settings
(`api.settings.jwt_signing_key`): production mode without DANGPHI_JWT_KEY refuses
to build the app. Webhook secrets come from the environment (or the mapping given).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.http import problems
from api.http.routers import (
    audit,
    findings,
    members,
    money,
    orgs,
    payment_requests,
    structure,
    webhooks,
)
from api.http.services import build_services
from api.settings import Settings, load_settings
from ledger.clock import Clock

DESCRIPTION = """Sổ đảng phí / Party dues ledger over HTTP.

Every request but the gateways' webhooks carries `Authorization: Bearer <token>`
(`dangphi token issue`). Errors are `application/problem+json` in Vietnamese and
English. Money is integer đồng; dates ISO 8601; months `YYYY-MM`. See docs/api.md.
"""


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    gateway_settings: Mapping[str, str] | None = None,
) -> FastAPI:
    """The API on the database `settings` names (default: from the environment)."""
    services = build_services(
        settings or load_settings(), clock=clock, gateway_settings=gateway_settings
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            services.close()

    app = FastAPI(
        title="dangphi",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services
    problems.install(app)
    for module in (
        members,
        orgs,
        structure,
        money,
        payment_requests,
        findings,
        audit,
        webhooks,
    ):
        app.include_router(module.router)
    return app

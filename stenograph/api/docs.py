"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served from the pinned ``fastapi-offline`` package.

FastAPI's own pages load unpinned scripts from a CDN and fonts from Google; these load nothing from
outside the server. Swagger UI's start-up script is served as a file (``/docs/swagger-init.js``) so that
the Content-Security-Policy can forbid inline scripts.
"""

from __future__ import annotations

import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

#: Swagger UI's and ReDoc's files (swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, favicon.png).
DOCS_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/static-docs"
SWAGGER_INIT_URL = "/docs/swagger-init.js"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def install_docs(app: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and their assets under ``/static-docs/`` (create ``app`` with
    ``docs_url=None, redoc_url=None``).

    Raises:
        RuntimeError: the ``fastapi-offline`` package has no asset folder, or Swagger UI's page has no
            inline start-up script to move into a file (a changed FastAPI).
    """
    if not DOCS_ASSETS.is_dir():
        raise RuntimeError(f"fastapi-offline's assets are missing: {DOCS_ASSETS}")
    title = app.title
    openapi_url = app.openapi_url or "/openapi.json"
    page_body = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title}: API (Swagger UI)",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters=app.swagger_ui_parameters,
    ).body
    page = bytes(page_body).decode()
    found = _INLINE_SCRIPT.search(page)
    if found is None:
        raise RuntimeError("Swagger UI's page has no inline start-up script to serve as a file")
    init_script = found.group(1).strip() + "\n"
    swagger_page = page[: found.start()] + f'<script src="{SWAGGER_INIT_URL}"></script>' + page[found.end() :]
    redoc_body = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{title}: API (ReDoc)",
        redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    ).body
    redoc_page = bytes(redoc_body).decode()

    app.mount(ASSETS_URL, StaticFiles(directory=DOCS_ASSETS), name="static-docs")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger_page)

    @app.get(SWAGGER_INIT_URL, include_in_schema=False)
    def swagger_init() -> Response:
        return Response(init_script, media_type="text/javascript")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(redoc_page)

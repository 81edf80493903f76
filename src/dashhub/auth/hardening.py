"""Production guards, cookie settings, request size limit and security headers (flask-talisman)."""

from __future__ import annotations

import datetime as dt
import logging
import os

from dash import Dash
from dash.exceptions import DependencyException
from flask import Flask, Response, jsonify, request
from flask_compress import Compress
from flask_talisman import Talisman
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from dashhub.auth.users import password_problem
from dashhub.config import ConfigError, Settings
from dashhub.i18n import current_locale
from dashhub.i18n import gettext as _

log = logging.getLogger(__name__)

KNOWN_WEAK_SECRETS = frozenset({"", "changeme", "secret", "development-only-secret", "dev", "dashhub"})
DEVELOPMENT_SECRET = "development-only-secret"


def check_production(settings: Settings, environ: dict[str, str] | None = None) -> None:
    """Refuse unsafe settings unless environment is development; one message lists them all."""
    if settings.environment == "development":
        return
    environ = dict(os.environ if environ is None else environ)
    problems = []
    if settings.server.debug:
        problems.append("server.debug is true (it shows source code and tracebacks to any visitor)")
    secret = settings.server.secret_key
    if secret in KNOWN_WEAK_SECRETS or len(secret) < 32:
        problems.append(
            "server.secret_key is empty, a default or shorter than 32 characters: set DASHHUB_SECRET_KEY "
            "to a random value, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    admin_password = environ.get("DASHHUB_ADMIN_PASSWORD")
    if admin_password is not None:
        problem = password_problem(admin_password, "admin", settings.auth.min_password_length)
        if problem:
            problems.append(f"DASHHUB_ADMIN_PASSWORD is weak: {problem}")
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(
            f"refusing to start in production:\n{listed}\n"
            "(set environment: development, or DASHHUB_ENVIRONMENT=development, for local work only)"
        )


def configure_server(server: Flask, settings: Settings) -> None:
    if settings.server.trusted_proxies:
        count = settings.server.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=count, x_proto=count)
    secret = settings.server.secret_key or DEVELOPMENT_SECRET
    server.config.update(
        SECRET_KEY=secret,
        MAX_CONTENT_LENGTH=int(settings.server.max_request_mb * 1024 * 1024),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.server.session_hours),
        SESSION_REFRESH_EACH_REQUEST=False,  # a login lasts session_hours, not session_hours of idleness
        SESSION_COOKIE_NAME="dashhub_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.server.https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.server.https,
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the session
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by the app's own forms; Dash callbacks are JSON-only
    )

    @server.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        """Short JSON for API and callback requests; never a traceback."""
        if request.path.startswith(("/_dash", "/api", "/export")) or request.is_json:
            return jsonify(error=error.description), error.code
        return error

    @server.errorhandler(DependencyException)
    def unknown_script(error: DependencyException):
        """A script path Dash does not serve (a guess, a typo, a .py): not found, not a 500."""
        log.info("unknown component-suite path refused: %s", request.path)
        return jsonify(error="not found"), 404

    @server.errorhandler(OperationalError)
    def database_down(error: OperationalError):
        """The database does not answer: 503 with a page (or JSON) that says so; retry later."""
        log.error("database unavailable on %s: %s", request.path, str(error).splitlines()[0])
        if request.path.startswith(("/_dash", "/api", "/export")) or request.is_json or not _wants_html():
            response = jsonify(error="database unavailable")
        else:
            prefix = settings.server.url_prefix.rstrip("/")
            # Not render_template: its context processors would ask the database for current_user.
            template = server.jinja_env.get_template("unavailable.html")
            html = template.render(prefix=prefix, locale=current_locale(), _=_)
            response = Response(html, mimetype="text/html")
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @server.errorhandler(Exception)
    def unexpected_error(error: Exception):
        # Our callbacks turn their own failures into CallbackFailed (an HTTPException), so what
        # reaches here from the callback route is Dash refusing a request it cannot parse.
        if request.path.endswith("/_dash-update-component"):
            log.warning("malformed callback request refused: %s: %s", type(error).__name__, error)
            return jsonify(error="malformed callback request"), 400
        log.exception("unexpected error on %s", request.path)
        return jsonify(error="internal error; the administrators have been told"), 500


# Compressed: the script bundles, styles and callback answers (JSON), which make up nearly all of a
# first visit. Not HTML: its pages carry a CSRF token beside text a link can choose (the login
# page's `next`), the pattern compression-length attacks (BREACH) need; they are a few KB.
COMPRESSED_TYPES = [
    "application/javascript",
    "text/javascript",
    "text/css",
    "application/json",
    "image/svg+xml",
]


def install_compression(server: Flask, prefix: str = "") -> None:
    """gzip or Brotli (Flask-Compress) on every host, with or without nginx in front."""
    server.config.update(
        COMPRESS_MIMETYPES=COMPRESSED_TYPES,
        COMPRESS_MIN_SIZE=1024,
        # files sent from disk (the assets) are compressed too; CSV exports are text/csv, not in
        # the list: they stream row by row, uncompressed
        COMPRESS_STREAMS=True,
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_ALGORITHM_STREAMING=["br", "deflate"],  # files from disk (Flask-Compress: no gzip)
        COMPRESS_BR_LEVEL=4,
        COMPRESS_LEVEL=6,
        # compressed on each request: bundles are fingerprinted and cached by browsers for a year
        COMPRESS_CACHE_BACKEND=None,
        COMPRESS_REGISTER=False,  # applied below, to what browsers load
    )
    compress = Compress(server)

    @server.after_request
    def compress_for_browsers(response: Response) -> Response:
        """Pages' scripts, styles and callbacks; not the programs' routes (the prediction API,
        /metrics), whose clients choose their own transport (nginx compresses them in compose)."""
        if request.path.startswith(f"{prefix}/api/") or request.path == f"{prefix}/metrics":
            return response
        return compress.after_request(response)

    @server.after_request
    def cache_fingerprinted_assets(response: Response) -> Response:
        """Dash links the assets with their modification time (`?m=…`): such a link never
        changes content, so browsers keep it a year (nginx does the same in compose). The same
        file without it (the login page's links) is revalidated."""
        if "/assets/" in request.path and request.args.get("m") and response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        elif "/_dash-component-suites/" in request.path and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-cache"  # not fingerprinted (plotly.js): ETag, 304
        return response


def _wants_html() -> bool:
    return "text/html" in request.headers.get("Accept", "")


def content_security_policy(app: Dash) -> dict:
    """CSP that Dash works under: its inline scripts by hash, plotly's injected styles allowed."""
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *app.csp_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def install_headers(app: Dash, settings: Settings) -> None:
    """Security headers on every response; call after every callback is registered."""
    Talisman(
        app.server,
        force_https=False,  # TLS ends at nginx; it redirects
        strict_transport_security=settings.server.https,
        session_cookie_secure=settings.server.https,
        session_cookie_http_only=True,
        content_security_policy=content_security_policy(app),
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        x_content_type_options=True,
    )

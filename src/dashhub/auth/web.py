"""The login gate in front of every route, the login and logout pages, and permission checks."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from flask import Flask, Response, jsonify, redirect, render_template, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import Forbidden, HTTPException
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from dashhub import __version__
from dashhub.auth.audit import AuditLog
from dashhub.auth.users import LoginResult, User, UserStore
from dashhub.config import Settings
from dashhub.i18n import LOCALES, current_locale, remember_locale
from dashhub.i18n import gettext as _
from dashhub.registry import DASHBOARDS, Dashboard, allowed_roles, by_key, permitted_roles
from dashhub.themes import current_theme, html_attributes, remember_theme

log = logging.getLogger(__name__)

# The only paths served without a session. Decided from the path alone, never from the body.
PUBLIC_PATHS = frozenset({"/login", "/health", "/ready", "/_favicon.ico"})
PUBLIC_ASSETS = frozenset(
    {
        "/assets/bootstrap.min.css",
        "/assets/bootstrap-icons.min.css",
        "/assets/dashhub.css",
        "/assets/theme.js",
        "/assets/fonts/bootstrap-icons.woff2",
    }
)
LOCALE_PATHS = frozenset({"/locale", "/theme"})  # the language and theme switches work before login too
SESSION_ID = "dashhub_sid"  # the session cookie's key for the server-side session id


class LoginForm(FlaskForm):
    username = StringField(validators=[DataRequired(), Length(max=64)])
    password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class LogoutForm(FlaskForm):
    pass


class Access:
    """Who may open what: the registry's defaults, overridden by auth.permissions."""

    def __init__(self, settings: Settings) -> None:
        self._permissions = settings.auth.permissions

    def can_open(self, user, dashboard: Dashboard) -> bool:
        return bool(getattr(user, "is_authenticated", False)) and user.role in allowed_roles(
            dashboard, self._permissions
        )

    def allows(self, role: str, permission: str) -> bool:
        """Whether a role has an API permission (predict, metrics)."""
        return role in permitted_roles(permission, self._permissions)

    def visible(self, user) -> list[Dashboard]:
        return [d for d in DASHBOARDS if self.can_open(user, d)]

    def require(self, key: str) -> User:
        """The current user, if they may open dashboard key; else 403 (logged)."""
        if not self.can_open(current_user, by_key(key)):
            log.warning("refused %s to %s", key, getattr(current_user, "username", "anonymous"))
            raise Forbidden(_("You are not allowed to see this dashboard."))
        return current_user


def install(server: Flask, settings: Settings, store: UserStore, audit: AuditLog, limiter: Limiter) -> None:
    """Sessions, the gate, /login and /logout on server."""
    prefix = settings.server.url_prefix.rstrip("/")
    manager = LoginManager(server)
    manager.session_protection = "strong"

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        """The session's user, while the session is open on the server (logout, a password or
        role change, or `dashhub users logout` end it whatever the cookie says)."""
        if not user_id.isdigit() or not store.sessions.is_open(session.get(SESSION_ID), int(user_id)):
            return None
        return store.get(int(user_id))

    @server.before_request
    def gate():
        path = request.path.removeprefix(prefix) if prefix else request.path
        if path in PUBLIC_PATHS or path in PUBLIC_ASSETS:
            return None
        if path in LOCALE_PATHS and request.method == "POST":
            return None
        if request.endpoint is not None and (
            request.endpoint.startswith("api.") or request.endpoint == "metrics"
        ):
            return None  # programs: tokens (or allowed networks), checked by those routes themselves
        if current_user.is_authenticated:
            return None
        if (
            request.method == "GET"
            and not path.startswith("/_dash")
            and "text/html" in request.headers.get("Accept", "")
        ):
            return redirect(f"{prefix}/login?next={_quote(request.full_path.rstrip('?'))}")
        return jsonify(error=_("Log in first.")), 401

    def page(form: LoginForm, message: str | None = None, kind: str = "danger", status: int = 200):
        html = render_template(
            "login.html",
            form=form,
            message=message,
            message_kind=kind,
            prefix=prefix,
            locale=current_locale(),
            locales=LOCALES,
            theme_attributes=html_attributes(current_theme()),
            version=__version__,
            _=_,
        )
        return Response(html, status=status, mimetype="text/html")

    @server.route(f"{prefix}/login", methods=["GET", "POST"])
    @limiter.limit(
        settings.auth.login_rate_limit,
        methods=["POST"],
        error_message="too many login attempts",
        # failed attempts count; a user who logs in often is not one guessing passwords
        deduct_when=lambda response: response.status_code != 302,
    )
    def login():
        form = LoginForm()
        if request.method == "GET":
            form.next.data = request.args.get("next", "")
            return page(form)
        if not form.validate_on_submit():
            return page(form, _("Please fill in your user name and password."), status=400)
        result = store.authenticate(form.username.data, form.password.data, request.remote_addr)
        if result.user is not None and result.user.role == "service":
            result = LoginResult(None)  # a program's account: API tokens only, never the pages
        if result.user is None:
            # The same answers whether the account exists or not (unknown names lock alike).
            audit.record("login_failed", username=form.username.data, locked=result.locked_until is not None)
            if result.locked_until is not None:
                until = result.locked_until.astimezone().strftime("%H:%M")
                message = _("Too many failed attempts from your address: try again after {time}.").format(
                    time=until
                )
                return page(form, message, status=429)
            return page(form, _("Wrong user name or password."), status=401)
        session.clear()
        session.permanent = True
        session[SESSION_ID] = store.sessions.start(
            result.user.id, request.remote_addr, request.headers.get("User-Agent")
        )
        login_user(result.user)
        audit.record("login", username=result.user.username, role=result.user.role)
        response = redirect(_safe_next(form.next.data, prefix))
        saved = store.locale(result.user.id)
        if saved:
            remember_locale(response, saved)  # the language follows the user to a new browser
        theme = store.theme(result.user.id)
        if theme:
            remember_theme(response, theme)  # so does the theme
        return response

    @server.route(f"{prefix}/logout", methods=["POST"])
    def logout():
        form = LogoutForm()
        if not form.validate_on_submit():
            return jsonify(error=_("Invalid or expired form: reload the page.")), 400
        audit.record("logout")
        store.sessions.end(session.get(SESSION_ID))
        logout_user()
        session.clear()
        return redirect(f"{prefix}/login")

    @server.errorhandler(429)
    def too_many(error: HTTPException):
        if request.path.endswith("/login"):
            message = _("Too many login attempts from your address: wait a minute and try again.")
            return page(LoginForm(), message, status=429)
        return jsonify(error=str(error.description)), 429


def _quote(path: str) -> str:
    return quote(path, safe="")


def _safe_next(target: str | None, prefix: str) -> str:
    """A same-site path to go to after login; anything else goes home."""
    home = f"{prefix}/"
    if not target:
        return home
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(character) < 32 or ord(character) == 127 for character in target)
    ):
        return home
    return target


def make_limiter(server: Flask, settings: Settings) -> Limiter:
    """Flask-Limiter, counting for every worker at once: in Redis when the cache is Redis (every
    host), else in a diskcache folder beside the data (every worker of the host)."""
    import dashhub.limiter_storage  # noqa: F401  (registers the dashhub-diskcache:// scheme)

    if settings.cache.type == "redis":
        storage = settings.cache.redis_url
    else:
        folder = settings.data_dir / "limits"
        folder.mkdir(parents=True, exist_ok=True)
        storage = f"dashhub-diskcache://{folder}"
    return Limiter(
        get_remote_address,
        app=server,
        storage_uri=storage,
        default_limits=[],
        headers_enabled=False,
        swallow_errors=True,
        key_prefix=settings.cache.key_prefix + "limits",
    )

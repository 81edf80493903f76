"""Dash, telling each user only what their role needs.

- Background-job handles are signed for the session: Dash signs a page load's `endId` and every
  job handle with the app's signing secret; here that secret is derived for the session's user
  and session id, so another user's (or another session's) handles never verify.
- `/_dash-dependencies` lists only the callbacks of dashboards the user may open.
- The page configuration carries no Python, Dash or Plotly version.
- The page names its language (`<html lang>`).
"""

from __future__ import annotations

import hashlib
import hmac

from dash import Dash
from dash._utils import to_json
from flask import has_request_context, session
from flask_login import current_user

from dashhub.auth.callbacks import CALLBACK_KEYS
from dashhub.auth.web import SESSION_ID, Access
from dashhub.i18n import current_locale
from dashhub.registry import by_key
from dashhub.themes import current_theme, html_attributes

VERSION_KEYS = ("dash_version", "python_version", "plotly_version", "ddk_version", "dash_version_url")


class GuardedDash(Dash):
    access: Access | None = None  # set by the app factory

    def _get_signing_secret(self) -> bytes:
        secret = super()._get_signing_secret()
        if has_request_context() and current_user.is_authenticated:
            scope = f"{current_user.id}:{session.get(SESSION_ID, '')}".encode()
            return hmac.new(secret, scope, hashlib.sha256).digest()
        return secret

    def _config(self):
        config = super()._config()
        if not self._dev_tools.ui:  # (the development error overlay shows them)
            for key in VERSION_KEYS:
                config.pop(key, None)
        return config

    def interpolate_index(self, **kwargs) -> str:
        """Dash's page, with the user's language on <html> (screen readers read it aloud) and
        their theme (light, dark, or the system's)."""
        page = super().interpolate_index(**kwargs)
        return page.replace(
            "<html>", f'<html lang="{current_locale()}"{html_attributes(current_theme())}>', 1
        )

    def dependencies(self):
        keys: dict = self.server.extensions.get(CALLBACK_KEYS, {})
        visible = [
            callback
            for callback in self._callback_list
            if callback["output"] in keys and self._may_see(keys[callback["output"]])
        ]
        return self.backend.make_response(
            to_json(visible),
            content_type="application/json",
        )

    def _may_see(self, key: str | None) -> bool:
        if key is None:
            return bool(current_user.is_authenticated)
        return self.access is not None and self.access.can_open(current_user, by_key(key))

"""Light or dark: the user's choice, or their system's (« auto », the default).

The choice is a cookie read on each page (the page is drawn in it at once) and a user setting, so
that it follows the user to any browser they log in from, like the language.
"""

from __future__ import annotations

from flask import has_request_context, request

THEMES = ("auto", "light", "dark")
THEME_COOKIE = "dashhub_theme"
THEME_COOKIE_MAX_AGE = 365 * 24 * 3600


def current_theme() -> str:
    """The browser's choice; « auto » (follow the system) when it made none."""
    if has_request_context():
        chosen = request.cookies.get(THEME_COOKIE)
        if chosen in THEMES:
            return chosen
    return "auto"


def remember_theme(response, theme: str) -> None:
    if theme in THEMES:
        response.set_cookie(THEME_COOKIE, theme, max_age=THEME_COOKIE_MAX_AGE, httponly=True, samesite="Lax")


def html_attributes(theme: str) -> str:
    """The <html> attributes of a page in theme: Bootstrap's data-bs-theme when it is fixed;
    with « auto », assets/theme.js sets it from the system's setting (and follows its changes)."""
    fixed = f' data-bs-theme="{theme}"' if theme in ("light", "dark") else ""
    return f' data-theme="{theme}"{fixed}'

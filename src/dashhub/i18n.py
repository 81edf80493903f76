"""Translation layer: gettext catalogs (Babel .po files), locale per user, locale-aware numbers."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache, lru_cache
from importlib.resources import files

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, parse_pattern
from flask import current_app, has_request_context, request

LOCALES = ("fr", "en")
# The locale of work done outside a request for a user (a background job).
_job_locale: ContextVar[str | None] = ContextVar("dashhub_job_locale", default=None)
LOCALE_COOKIE = "dashhub_locale"


@cache
def catalog(locale: str) -> dict[str, str]:
    """msgid → translation for locale, read once per process from the package's .po file."""
    source = files("dashhub") / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with source.open("rb") as handle:
        parsed = read_po(handle, locale=locale)
    return {m.id: m.string for m in parsed if m.id and m.string and not m.fuzzy}


def default_locale() -> str:
    try:
        return current_app.config.get("DASHHUB_DEFAULT_LOCALE", "fr")
    except RuntimeError:  # outside an application context (CLI, unit tests)
        return "fr"


def current_locale() -> str:
    """The user's choice (cookie) when there is one, else the configured default."""
    forced = _job_locale.get()
    if forced is not None:
        return forced
    if has_request_context():
        chosen = request.cookies.get(LOCALE_COOKIE)
        if chosen in LOCALES:
            return chosen
    return default_locale()


LOCALE_COOKIE_MAX_AGE = 365 * 24 * 3600


def remember_locale(response, code: str) -> None:
    """Make code this browser's language (a cookie read by current_locale)."""
    if code in LOCALES:
        response.set_cookie(LOCALE_COOKIE, code, max_age=LOCALE_COOKIE_MAX_AGE, httponly=True, samesite="Lax")


@contextlib.contextmanager
def use_locale(code: str) -> Iterator[None]:
    """Speak code inside the block, whatever the request says (background jobs have none)."""
    token = _job_locale.set(code if code in LOCALES else None)
    try:
        yield
    finally:
        _job_locale.reset(token)


def gettext(message: str, locale: str | None = None) -> str:
    return catalog(locale or current_locale()).get(message, message)


_ = gettext


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


class Word(str):
    """A parameter of a Said message that is itself a msgid (« numbers »): translated with it."""


class Said(Exception):
    """A refusal whose message is a msgid (marked with N_) and its parameters: str() is English (logs,
    the command line), said() speaks the user's language. Whole numbers among the parameters are
    grouped as each language writes them; Word parameters are translated."""

    def __init__(self, message: str, **params: object) -> None:
        self.message, self.params = message, params
        english = {k: f"{v:,}" if _whole(v) else v for k, v in params.items()}
        super().__init__(message.format(**english) if params else message)

    def said(self, locale: str | None = None) -> str:
        code = locale or current_locale()
        text = gettext(self.message, code)
        if not self.params:
            return text
        return text.format(**{k: _said_param(v, code) for k, v in self.params.items()})


def said(exc: BaseException) -> str:
    """What to tell the user about exc: in their language when it can say it, else its text."""
    return exc.said() if isinstance(exc, Said) else str(exc)


def _said_param(value: object, code: str) -> object:
    if _whole(value):
        return fmt_number(value, 0, code)
    return gettext(value, code) if isinstance(value, Word) else value


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@lru_cache(maxsize=64)
def _pattern(pattern: str) -> NumberPattern:
    """A parsed Babel number pattern (parsing costs more than formatting: KPIs are hot)."""
    return parse_pattern(pattern)


@lru_cache(maxsize=8)
def _locale(code: str) -> Locale:
    return Locale.parse(code)


def number_separators(locale: str | None = None) -> tuple[str, str]:
    """(thousands, decimal) separators of locale, for widgets that format numbers themselves."""
    symbols = _locale(locale or current_locale()).number_symbols["latn"]
    return symbols["group"], symbols["decimal"]


def fmt_number(value: float, digits: int = 0, locale: str | None = None) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return _pattern(pattern).apply(value, _locale(locale or current_locale()))


_MONEY_PATTERN = {"fr": "#,##0\u00a0¤", "en": "¤#,##0"}
_PERCENT_PATTERN = {"fr": "+#,##0.0\u00a0%;-#,##0.0\u00a0%", "en": "+#,##0.0%;-#,##0.0%"}


def fmt_money(value: float, locale: str | None = None) -> str:
    code = locale or current_locale()
    return _pattern(_MONEY_PATTERN[code]).apply(value, _locale(code), currency="EUR", currency_digits=False)


def fmt_percent(value: float, locale: str | None = None) -> str:
    code = locale or current_locale()
    return _pattern(_PERCENT_PATTERN[code]).apply(value, _locale(code))


def fmt_month(year: int, month: int, locale: str | None = None) -> str:
    return _babel_format_date(dt.date(year, month, 1), "MMMM y", locale=locale or current_locale())


def fmt_date(day: dt.date, locale: str | None = None) -> str:
    """A day as people of locale write it: « 31 décembre 2025 », « December 31, 2025 »."""
    return _babel_format_date(day, "long", locale=locale or current_locale())


def month_abbreviations(locale: str | None = None) -> list[str]:
    names = Locale.parse(locale or current_locale()).months["format"]["abbreviated"]
    return [names[m] for m in range(1, 13)]


# What plotly.js itself writes: the chart toolbar's tooltips and its pop-up messages.
PLOTLY_MESSAGES = (
    N_("Autoscale"),
    N_("Box Select"),
    N_("Compare data on hover"),
    N_("Double-click on legend to isolate one trace"),
    N_("Double-click to zoom back out"),
    N_("Download plot"),
    N_("Download plot as a PNG"),
    N_("Lasso Select"),
    N_("Pan"),
    N_("Reset"),
    N_("Reset axes"),
    N_("Reset view"),
    N_("Show closest data on hover"),
    N_("Snapshot succeeded"),
    N_("Sorry, there was a problem downloading your snapshot!"),
    N_("Taking snapshot - this may take a few seconds"),
    N_("Toggle Spike Lines"),
    N_("Toggle show closest data on hover"),
    N_("Zoom"),
    N_("Zoom in"),
    N_("Zoom out"),
    N_("trace"),
)


def plotly_locale(locale: str | None = None) -> dict:
    """dcc.Graph config entries that make Plotly print dates and numbers in locale."""
    locale = locale or current_locale()
    if locale == "en":
        return {"locale": "en"}
    babel_locale = Locale.parse(locale)
    months = babel_locale.months["format"]
    days = babel_locale.days["format"]
    order = [6, 0, 1, 2, 3, 4, 5]  # Plotly starts weeks on Sunday, Babel on Monday
    return {
        "locale": locale,
        "locales": {
            locale: {
                "dictionary": {message: gettext(message, locale) for message in PLOTLY_MESSAGES},
                "format": {
                    "days": [days["wide"][i] for i in order],
                    "shortDays": [days["abbreviated"][i] for i in order],
                    "months": [months["wide"][m] for m in range(1, 13)],
                    "shortMonths": [months["abbreviated"][m] for m in range(1, 13)],
                    "date": "%d/%m/%Y",
                    "decimal": ",",
                    "thousands": "\u202f",
                },
            }
        },
    }

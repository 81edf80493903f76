"""The app's frame: navbar, home page, footer, drawn from the dashboard registry."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, get_relative_path, html
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from dashhub import __version__
from dashhub.i18n import LOCALES, N_, current_locale
from dashhub.i18n import gettext as _
from dashhub.registry import Dashboard
from dashhub.themes import current_theme

PAGE_CONTENT = "page-content"
ROUTE = "route"  # {pathname, search, at}: the address the page content is to be drawn for
PAGE_ROUTE = "page-route"  # the `at` of the route the page content shown was drawn for


PAGE_MARK = "page-mark"  # written by markPage (assets/dashhub.js): the page the tab and navbar name


def app_layout(dashboards: list[Dashboard]) -> html.Div:
    """The whole page, drawn per request: the user's language and the dashboards they may open."""
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            dcc.Store(id=ROUTE),
            dcc.Store(id=PAGE_ROUTE),
            dcc.Store(id=PAGE_MARK),
            # the first stop of the keyboard: past the navbar to the page
            html.A(
                _("Skip to content"), href="#page-content", className="visually-hidden-focusable skip-link"
            ),
            navbar(dashboards),
            html.Main(
                dbc.Container(html.Div(id=PAGE_CONTENT, className="py-3", tabIndex="-1"), fluid="xxl"),
                className="flex-grow-1",
            ),
            footer(),
            request_messages(),
        ],
        className="d-flex flex-column min-vh-100",
        lang=current_locale(),
    )


def request_messages() -> html.Div:
    """What the page says when a request fails (read by assets/dashhub.js, in the user's language)."""
    messages = {
        # (the controls show the new choice, the charts the previous one: each message says so)
        "data-unavailable": _(
            "The database is not answering: the charts still show your previous choice. "
            "Your filters are kept; try again in a moment."
        ),
        "data-error": _(
            "Something went wrong on the server: the charts still show your previous choice. "
            "The administrators have been told."
        ),
        "data-timeout": _(
            "The server did not answer in time: the charts still show your previous choice. "
            "Try again in a moment."
        ),
        "data-offline": _(
            "The connection to the server was lost: the charts still show your previous choice. "
            "Check your network and try again."
        ),
        "data-session": _("Your session has ended: log in again."),
        "data-close": _("Close"),
    }
    return html.Div(id="request-messages", hidden=True, **messages)


def navbar(dashboards: list[Dashboard]) -> dbc.Navbar:
    links = [
        dbc.NavItem(
            dcc.Link(
                [html.I(className=f"bi bi-{d.icon} me-1"), _(d.title)],
                href=get_relative_path(d.path),
                className="nav-link",
                # read by assets/dashhub.js (markPage): the tab's title on this dashboard
                title=_(d.title),
            )
        )
        for d in dashboards
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dcc.Link(
                    [html.I(className="bi bi-grid-1x2-fill me-2"), "dashhub"],
                    href=get_relative_path("/"),
                    className="navbar-brand fw-semibold",
                ),
                dbc.NavbarToggler(id="navbar-toggler", className="border-0"),
                dbc.Collapse(
                    [
                        dbc.Nav(links, navbar=True, className="me-auto"),
                        html.Div(
                            [theme_switch(), language_switch(), user_menu()],
                            className="d-flex gap-3 align-items-center",
                        ),
                    ],
                    id="navbar-collapse",
                    navbar=True,
                ),
            ],
            fluid="xxl",
        ),
        color="dark",
        dark=True,
        expand="lg",  # (five dashboards, the theme, language and user menus: a row from 992 px)
        className="mb-2 shadow-sm",
    )


def language_switch() -> html.Form:
    """Buttons that set the language (a POST with a CSRF token: a link on another site cannot
    change it) and come back to the page they were clicked on."""
    current = current_locale()
    return html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf(), id="locale-csrf"),
            html.Div(
                [
                    html.Button(
                        code.upper(),
                        type="submit",
                        name="code",
                        value=code,
                        className="btn btn-sm " + ("btn-light" if code == current else "btn-outline-light"),
                        title=_("Switch the interface language"),
                        **{"aria-current": "true" if code == current else "false"},
                    )
                    for code in LOCALES
                ],
                className="d-flex gap-1",
                role="group",
                **{"aria-label": _("Language")},
            ),
        ],
        method="POST",
        action=get_relative_path("/locale"),
        className="language-switch mb-0",
    )


THEME_CHOICES = (
    ("auto", "circle-half", N_("Theme of the system")),
    ("light", "sun", N_("Light theme")),
    ("dark", "moon-stars", N_("Dark theme")),
)


def theme_switch() -> html.Form:
    """Follow the system, light or dark (a POST with a CSRF token; remembered for the user)."""
    current = current_theme()
    return html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf(), id="theme-csrf"),
            html.Div(
                [
                    html.Button(
                        html.I(className=f"bi bi-{icon}"),
                        type="submit",
                        name="theme",
                        value=theme,
                        className="btn btn-sm " + ("btn-light" if theme == current else "btn-outline-light"),
                        title=_(label),
                        **{"aria-label": _(label), "aria-pressed": "true" if theme == current else "false"},
                    )
                    for theme, icon, label in THEME_CHOICES
                ],
                className="d-flex gap-1",
                role="group",
                **{"aria-label": _("Theme")},
            ),
        ],
        method="POST",
        action=get_relative_path("/theme"),
        className="theme-switch mb-0",
    )


def user_menu() -> html.Form | html.Div:
    """Who is logged in, and a logout button (a POST with a CSRF token)."""
    if not current_user.is_authenticated:
        return html.Div()
    return html.Form(
        [
            html.Span(
                [html.I(className="bi bi-person-circle me-1"), current_user.username],
                className="text-light small",
                title=_("Role: {role}").format(role=current_user.role),
            ),
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf(), id="logout-csrf"),
            html.Button(
                [html.I(className="bi bi-box-arrow-right me-1"), _("Log out")],
                type="submit",
                className="btn btn-sm btn-outline-light",
            ),
        ],
        method="POST",
        action=get_relative_path("/logout"),
        className="d-flex gap-2 align-items-center mb-0 user-menu",
    )


def home(dashboards: list[Dashboard]) -> html.Div:
    cards = [
        dbc.Col(
            dcc.Link(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.I(className=f"bi bi-{d.icon} fs-2 text-primary"),
                            html.H2(_(d.title), className="h5 mt-2"),
                            html.P(_(d.description), className="text-secondary mb-0"),
                        ]
                    ),
                    className="h-100 dashboard-card",
                ),
                href=get_relative_path(d.path),
                className="text-decoration-none text-reset",
            ),
            xs=12,
            md=6,
            xl=4,
            className="mb-3",
        )
        for d in dashboards
    ]
    if not dashboards:
        cards = [html.P(_("Your role does not open any dashboard yet: ask an administrator."))]
    return html.Div(
        [
            html.H1(_("Dashboards"), className="h3"),
            html.P(_("Pick a dashboard to explore."), className="text-secondary"),
            dbc.Row(cards, className="g-3"),
        ]
    )


def not_found(path: str) -> html.Div:
    return html.Div(
        [
            html.H1(_("Page not found"), className="h3"),
            html.P(_("There is no dashboard at this address."), className="text-secondary"),
            dcc.Link(_("Back to the dashboards"), href=get_relative_path("/")),
        ],
        className="py-5 text-center",
    )


def forbidden() -> html.Div:
    return html.Div(
        [
            html.I(className="bi bi-shield-lock display-5 text-secondary"),
            html.H1(_("Access denied"), className="h3 mt-3"),
            html.P(_("Your role does not allow you to open this dashboard."), className="text-secondary"),
            dcc.Link(_("Back to the dashboards"), href=get_relative_path("/")),
        ],
        className="py-5 text-center",
    )


def footer() -> html.Footer:
    return html.Footer(
        dbc.Container(
            html.Small(
                f"dashhub {__version__} · " + _("Dash, Plotly and scikit-learn"),
                className="text-secondary",
            ),
            fluid="xxl",
        ),
        className="border-top py-2 mt-auto",
    )

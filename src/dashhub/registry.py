"""The dashboards the app hosts; the navbar, the home page and the router are drawn from here."""

from __future__ import annotations

from dataclasses import dataclass

from dashhub.i18n import N_


@dataclass(frozen=True)
class Dashboard:
    key: str  # also the name of its modules: dashhub.layouts.<key>, dashhub.callbacks.<key>
    path: str
    title: str  # msgid, translated where shown
    description: str  # msgid
    icon: str  # a Bootstrap Icons name
    roles: tuple[str, ...]  # who may open it by default (config: auth.permissions)

    @property
    def layout_module(self) -> str:
        return f"dashhub.layouts.{self.key}"

    @property
    def callbacks_module(self) -> str:
        return f"dashhub.callbacks.{self.key}"


DASHBOARDS: tuple[Dashboard, ...] = (
    Dashboard(
        key="sales",
        path="/sales",
        title=N_("Sales"),
        description=N_("Sales by region over time, by month and year, and monthly totals."),
        icon="graph-up-arrow",
        roles=("viewer", "analyst", "hr", "admin"),
    ),
    Dashboard(
        key="hr",
        path="/hr",
        title=N_("HR"),
        description=N_("Employees: salaries, performance, satisfaction by age and experience."),
        icon="people",
        roles=("hr", "admin"),
    ),
    Dashboard(
        key="ml_explorer",
        path="/ml/explorer",
        title=N_("ML explorer"),
        description=N_("Train classifiers on Iris, Wine or Breast Cancer, compare them, deploy one."),
        icon="cpu",
        roles=("analyst", "admin"),
    ),
    Dashboard(
        key="ml_monitoring",
        path="/ml/monitoring",
        title=N_("ML monitoring"),
        description=N_("The served model in production: accuracy, latency, volume, errors, drift, alerts."),
        icon="activity",
        roles=("analyst", "admin"),
    ),
    Dashboard(
        key="explore",
        path="/explore",
        title=N_("Your data"),
        description=N_("Bring your own CSV file: browse its rows and summarise each column."),
        icon="table",
        roles=("viewer", "analyst", "hr", "admin"),
    ),
)


# What programs may do through the API (with a token), and who may by default. « service » is a
# role for programs: it has no dashboard and cannot log in to the pages.
API_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "predict": ("analyst", "admin", "service"),
    "metrics": ("admin", "service"),
}


def allowed_roles(dashboard: Dashboard, permissions: dict[str, list[str]]) -> frozenset[str]:
    """The roles that may open dashboard: the configuration's list, else the registry's."""
    return frozenset(permissions.get(dashboard.key, dashboard.roles))


def permitted_roles(permission: str, permissions: dict[str, list[str]]) -> frozenset[str]:
    """The roles that have an API permission: the configuration's list, else the default."""
    return frozenset(permissions.get(permission, API_PERMISSIONS[permission]))


def by_key(key: str) -> Dashboard:
    return next(d for d in DASHBOARDS if d.key == key)


def find(path: str) -> Dashboard | None:
    """The dashboard served at path (trailing slash ignored), if any."""
    normalised = path.rstrip("/") or "/"
    return next((d for d in DASHBOARDS if d.path == normalised), None)

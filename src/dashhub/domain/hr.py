"""RH value types: bands, the filter and chart selection, the shaped data, and the URL codec."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from dashhub.domain.query import encode_search

AGE_EDGES = (25, 30, 35, 45, 55)  # bands: <25 (shown 20–25), 25–30, 30–35, 35–45, 45–55, 55+
AGE_LABELS = ("20–25", "25–30", "30–35", "35–45", "45–55", "55+")
EXP_EDGES = (5, 10, 20, 30)
EXP_LABELS = ("0–5", "5–10", "10–20", "20–30", "30+")
COLUMNS = ("employee_id", "department", "age", "experience_years", "salary", "performance", "satisfaction")


@dataclass(frozen=True)
class Selection:
    """Cross-filter chosen on the charts (None: not set)."""

    department: str | None = None
    cell: tuple[int, int] | None = None  # (age band, experience band)
    box: tuple[float, float, float, float] | None = None  # performance and salary ranges
    lasso: tuple[tuple[float, float], ...] | None = None  # polygon in (performance, salary)

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.department, self.cell, self.box, self.lasso))


@dataclass(frozen=True)
class HrFilter:
    """Departments, ages and completed years of experience (whole numbers, both ends included:
    experience (0, 5) keeps 5.9 years and leaves out 6.0), and the chart selection."""

    departments: tuple[str, ...]
    experience: tuple[float, float]
    age: tuple[float, float]
    selection: Selection = field(default_factory=Selection)


def whole(bounds: tuple[float, float]) -> tuple[float, float]:
    """A range of whole years: the whole numbers within bounds."""
    return float(math.ceil(bounds[0])), float(math.floor(bounds[1]))


@dataclass(frozen=True)
class HrOptions:
    departments: tuple[str, ...]
    experience: tuple[float, float]
    age: tuple[float, float]
    salary: tuple[float, float]
    count: int

    @property
    def empty(self) -> bool:
        return self.count == 0

    def everything(self) -> HrFilter:
        return HrFilter(self.departments, self.experience, self.age)


@dataclass(frozen=True)
class HrData:
    count: int
    mean_salary: float | None
    mean_performance: float | None
    mean_satisfaction: float | None
    departments: tuple[str, ...]  # the departments present, in display order
    salary_edges: list[float]
    salary_counts: dict[str, list[int]]  # department → count per salary bin
    scatter_mode: str  # "points" or "density"
    points: dict[str, dict[str, list]]  # department → x, y, customdata [id, age, experience, satisfaction]
    density: dict[str, list] | None  # x centres, y centres, z counts (None where 0)
    trends: dict[str, tuple[float, float, float, float]]  # department → x0, y0, x1, y1
    by_department: list[tuple[str, float, float | None, int]]  # name, mean, CI half-width, n
    heatmap: list[list[float | None]]  # [age band][experience band] mean satisfaction
    heatmap_counts: list[list[int]]
    all_departments: tuple[str, ...] = ()  # every department (a department's colour never changes)
    min_cell_count: int = 1  # heatmap cells of fewer employees are left empty
    selected_department: str | None = None  # the bar clicked (the others are drawn dimmed)
    selected_cell: tuple[int, int] | None = None  # the heatmap cell clicked (age band, experience band)


# --- filter state: URL ⇄ HrFilter ---


def filter_from_query(query: dict[str, list[str]], options: HrOptions) -> HrFilter:
    """The filter a URL asks for: unknown departments dropped, ranges clamped to the data."""
    departments = query.get("department")
    known = (
        options.departments
        if departments is None
        else tuple(d for d in dict.fromkeys(departments) if d in options.departments)
    )
    return HrFilter(
        known,
        whole(_range_from_text(query.get("experience"), options.experience)),
        whole(_range_from_text(query.get("age"), options.age)),
    )


def selection_to_store(selection: Selection) -> dict:
    """The cross-filter as the page's store (and the address's `sel`) keeps it."""
    data: dict = {}
    if selection.department is not None:
        data["department"] = selection.department
    if selection.cell is not None:
        data["cell"] = list(selection.cell)
    if selection.box is not None:
        data["box"] = list(selection.box)
    if selection.lasso is not None:
        data["lasso"] = [list(point) for point in selection.lasso]
    return data


def query_for(flt: HrFilter, options: HrOptions) -> str:
    """The shortest query string for flt (what equals the default is left out)."""
    return encode_search(
        {
            "department": None
            if set(flt.departments) == set(options.departments)
            else list(flt.departments) or ["-"],
            "experience": None if flt.experience == options.experience else _range_text(flt.experience),
            "age": None if flt.age == options.age else _range_text(flt.age),
        }
    )


def _range_text(bounds: tuple[float, float]) -> str:
    return "-".join(f"{b:g}" for b in bounds)


def _range_from_text(values: list[str] | None, bounds: tuple[float, float]) -> tuple[float, float]:
    if not values:
        return bounds
    try:
        low, high = (float(part) for part in values[-1].split("-", 1))
    except ValueError:
        return bounds
    if not (math.isfinite(low) and math.isfinite(high)):
        return bounds
    low, high = sorted((low, high))
    return max(low, bounds[0]), min(high, bounds[1])

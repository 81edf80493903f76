"""Names of exported files: the same stem for a chart's PNG and HTML, and every file names the
filters it holds (« ventes-evolution_2025-01-01_2025-12-31_Nord-Sud.html »)."""

from __future__ import annotations

import re
import unicodedata

from dashhub.domain.hr import HrFilter, HrOptions
from dashhub.domain.sales import SalesFilter, SalesOptions

MAX_STEM = 120


def slug(text: str) -> str:
    """ASCII letters, digits and dashes: safe in every file system and download header."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9.]+", "-", plain).strip("-.")


def stem(name: str, parts: list[str]) -> str:
    """name, then each part, joined by underscores; cut at MAX_STEM characters."""
    joined = "_".join([slug(name), *(slug(part) for part in parts if slug(part))])
    return joined[:MAX_STEM].rstrip("-_")


def _chosen(values: tuple[str, ...], every: tuple[str, ...]) -> list[str]:
    """The chosen values, or nothing when all are chosen (the file holds them all)."""
    if set(values) >= set(every):
        return []
    return ["-".join(sorted(values)) if values else "none"]


def sales_parts(flt: SalesFilter, options: SalesOptions) -> list[str]:
    return [
        flt.start.isoformat(),
        flt.end.isoformat(),
        *_chosen(flt.regions, options.regions),
        *_chosen(flt.products, options.products),
    ]


def _span(name: str, chosen: tuple[float, float], bounds: tuple[float, float]) -> list[str]:
    if tuple(chosen) == tuple(bounds):
        return []
    return [f"{name}{chosen[0]:g}-{chosen[1]:g}"]


def hr_parts(flt: HrFilter, options: HrOptions) -> list[str]:
    return [
        *_chosen(flt.departments, options.departments),
        *_span("exp", flt.experience, options.experience),
        *_span("age", flt.age, options.age),
        *([f"selection-{flt.selection.department or ''}".rstrip("-")] if flt.selection.active else []),
    ]

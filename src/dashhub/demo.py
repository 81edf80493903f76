"""Deterministic demo data that looks like the seed's screens (same seed, same rows)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

REGIONS = ("Nord", "Sud", "Est", "Ouest")
PRODUCTS = ("Produit A", "Produit B", "Produit C", "Produit D")
DEPARTMENTS = ("HR", "Finance", "Marketing", "Sales", "IT")
DEMO_START = dt.date(2024, 1, 1)
DEMO_END = dt.date(2025, 12, 31)

_REGION_BASE = {"Nord": 1000.0, "Sud": 900.0, "Est": 820.0, "Ouest": 720.0}
_PRODUCT_SHARE = {"Produit A": 1.0, "Produit B": 0.8, "Produit C": 0.6, "Produit D": 0.45}
_DEPARTMENT_WEIGHT = (0.10, 0.15, 0.15, 0.30, 0.30)
_DEPARTMENT_SALARY = {"HR": -6000, "Finance": 6000, "Marketing": -2000, "Sales": -3000, "IT": 5000}
_DEPARTMENT_PERFORMANCE = {"HR": 0.5, "Finance": 1.0, "Marketing": -2.0, "Sales": -0.5, "IT": 1.5}


def demo_sales(start: dt.date = DEMO_START, end: dt.date = DEMO_END, seed: int = 42) -> pd.DataFrame:
    """One row per day × region × product with a Christmas peak, a southern summer and growth."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    grid = pd.MultiIndex.from_product([days, REGIONS, PRODUCTS], names=["date", "region", "product"])
    frame = grid.to_frame(index=False)
    day_of_year = frame["date"].dt.dayofyear.to_numpy()
    years = (frame["date"] - pd.Timestamp(start)).dt.days.to_numpy() / 365.25
    christmas = 1.0 + 0.9 * np.exp(-(((day_of_year - 356) / 9.0) ** 2))
    summer = np.where(frame["region"] == "Sud", 0.3 * np.exp(-(((day_of_year - 200) / 30.0) ** 2)), 0)
    weekend = np.where(frame["date"].dt.day_of_week >= 5, 1.15, 1.0)
    base = frame["region"].map(_REGION_BASE) * frame["product"].map(_PRODUCT_SHARE)
    noise = rng.lognormal(mean=0.0, sigma=0.15, size=len(frame))
    amount = base * (christmas + summer) * weekend * (1 + 0.08 * years) * noise
    frame["amount"] = np.round(amount.to_numpy(), 2)
    frame["date"] = frame["date"].dt.date
    return frame


def demo_employees(count: int = 2000, seed: int = 7) -> pd.DataFrame:
    """Employees whose means match the seed: salary ≈ 96,525 €, performance ≈ 74, satisfaction ≈ 7."""
    rng = np.random.default_rng(seed)
    department = rng.choice(DEPARTMENTS, size=count, p=_DEPARTMENT_WEIGHT)
    age = np.clip(np.round(rng.normal(40, 10, count)), 21, 65).astype(int)
    experience = np.clip(np.round((age - 21) * rng.uniform(0.35, 1.0, count), 1), 0, None)
    performance = np.clip(
        rng.normal(74.45, 10.0, count) + pd.Series(department).map(_DEPARTMENT_PERFORMANCE).to_numpy(),
        20,
        100,
    )
    salary = (
        74_640
        + 1_650 * experience
        + 550 * (performance - 74)
        + pd.Series(department).map(_DEPARTMENT_SALARY).to_numpy()
        + rng.normal(0, 9_000, count)
    )
    satisfaction = np.clip(
        7.0
        + 0.9 * (experience >= 30)
        - 0.8 * ((age >= 30) & (age < 35) & (experience >= 20))
        + 0.02 * (performance - 74)
        + rng.normal(0, 1.2, count),
        0,
        10,
    )
    return pd.DataFrame(
        {
            "employee_id": np.arange(1, count + 1),
            "department": department,
            "age": age,
            "experience_years": experience,
            "salary": np.round(np.clip(salary, 28_000, None), 0),
            "performance": np.round(performance, 1),
            "satisfaction": np.round(satisfaction, 1),
        }
    )


def insert_transactions(conn, count: int, chunk: int = 500_000) -> None:
    """count synthetic transactions spread over the demo's days, regions and products (volume
    for benchmarks and tests; the caller refreshes the rollup and bumps the version)."""
    base = demo_sales()
    rng = np.random.default_rng(1)
    raw = conn.connection.driver_connection
    cursor = raw.cursor()
    paramstyle = "?" if "sqlite" in type(raw).__module__ else "%s"
    sql = f"INSERT INTO sales (date, region, product, amount) VALUES ({', '.join([paramstyle] * 4)})"
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        picked = base.iloc[rng.integers(0, len(base), size)]
        amounts = np.round(picked["amount"].to_numpy() / 50 * rng.lognormal(0, 0.3, size), 2)
        cursor.executemany(
            sql,
            list(
                zip(
                    [d.isoformat() for d in picked["date"]],
                    picked["region"].tolist(),
                    picked["product"].tolist(),
                    amounts.tolist(),
                    strict=True,
                )
            ),
        )

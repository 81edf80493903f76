"""Locust users for the load benchmarks (loopback only): run through bench/locust_run.py.
FastHttpUser (geventhttpclient): the client shares the server's two cores, so it must be cheap.

Settings come from the environment: DASHHUB_BENCH_USER / DASHHUB_BENCH_PASSWORD (a browser user),
DASHHUB_BENCH_TOKEN (an API token), DASHHUB_BENCH_MODEL (the model to call).
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from pathlib import Path

from locust import FastHttpUser, between, constant, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.api import instances
from tests.support.dash_requests import callback_body, page_body, sales_body
from tests.support.hr_requests import hr_body

REGIONS = ["Est", "Nord", "Ouest", "Sud"]
PRODUCTS = ["Produit A", "Produit B", "Produit C", "Produit D"]
DEPARTMENTS = ["Finance", "HR", "IT", "Marketing", "Sales"]
CALLBACK = "/_dash-update-component"
TRIVIAL = callback_body(
    [("navbar-collapse", "is_open")],
    [("navbar-toggler", "n_clicks", 1)],
    [("navbar-collapse", "is_open", False)],
)


class Browser(FastHttpUser):
    """A logged-in browser user (abstract)."""

    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        page = self.client.get("/login", name="GET /login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        self.client.post(
            "/login",
            data={
                "username": os.environ["DASHHUB_BENCH_USER"],
                "password": os.environ["DASHHUB_BENCH_PASSWORD"],
                "csrf_token": token,
            },
            allow_redirects=False,
            name="POST /login",
        )


class DashboardUser(Browser):
    """Opens pages and changes the Ventes and RH filters, as people do (think time 0.5–2 s)."""

    wait_time = between(0.5, 2)

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="GET /")

    @task(1)
    def page(self) -> None:
        self.client.post(CALLBACK, json=page_body(random.choice(["/", "/sales", "/hr"])), name="page")

    @task(4)
    def sales_filter(self) -> None:
        regions = sorted(random.sample(REGIONS, random.randint(1, 4)))
        end = random.choice(["2024-12-31", "2025-06-30", "2025-12-31"])
        self.client.post(CALLBACK, json=sales_body(regions, PRODUCTS, "2024-01-01", end), name="sales filter")

    @task(4)
    def hr_filter(self) -> None:
        departments = sorted(random.sample(DEPARTMENTS, random.randint(1, 5)))
        body = hr_body(departments, [0, random.choice([20, 30, 44])], [21, 65])
        self.client.post(CALLBACK, json=body, name="hr filter")


def _pace():
    """No pause (find the ceiling), or DASHHUB_BENCH_RATE calls per second per user on average,
    at random (exponential) intervals: together, the users' calls arrive as a Poisson stream, as
    independent programs' calls do, not in the lockstep bursts of users started together."""
    rate = float(os.environ.get("DASHHUB_BENCH_RATE", "0"))
    if not rate:
        return constant(0)

    def wait(user) -> float:
        # the next call is due an exponential gap after the previous one was due (the answer's
        # own time counts), but never in the past: a slow answer does not cause a burst
        now = time.monotonic()
        user.next_call = max(getattr(user, "next_call", now) + random.expovariate(rate), now)
        return user.next_call - now

    return wait


class TrivialCallbackUser(Browser):
    """The cheapest callback there is (the navbar toggle): the ceiling of the stack."""

    wait_time = _pace()

    @task
    def trivial(self) -> None:
        self.client.post(CALLBACK, json=TRIVIAL, name="trivial callback")


class CachedSalesUser(Browser):
    """The same Ventes filter again and again: a cached dashboard callback."""

    body = sales_body(REGIONS, PRODUCTS, "2024-01-01", "2025-12-31")

    @task
    def cached(self) -> None:
        self.client.post(CALLBACK, json=self.body, name="cached sales callback")


class PredictUser(FastHttpUser):
    """A program calling the prediction API, one instance per call."""

    wait_time = _pace()

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {os.environ['DASHHUB_BENCH_TOKEN']}"}
        model = os.environ.get("DASHHUB_BENCH_MODEL", "iris")
        self.path = f"/api/v1/models/{model}/predict"
        self.rows = instances({"cancer": "breast_cancer"}.get(model, model), slice(0, 150))

    @task
    def predict(self) -> None:
        body = {"instances": [random.choice(self.rows)]}
        self.client.post(self.path, json=body, headers=self.headers, name="predict")

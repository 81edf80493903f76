"""The prediction API through the Flask test client, on SQLite and PostgreSQL: answers against the
model used directly, every refusal, tokens, feedback, the log, reloads, limits and metrics."""

from __future__ import annotations

import datetime as dt
import json
import math
import threading

import numpy as np
import pytest
import schemathesis
from click.testing import CliRunner
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from prometheus_client.parser import text_string_to_metric_families
from schemathesis.checks import positive_data_acceptance
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sqlalchemy import func, select, update

from dashhub.app import create_app
from dashhub.cli import main
from dashhub.db import feedback, make_engine, prediction_rollups, predictions
from dashhub.services.retention import prune
from dashhub.services.training import bundled_dataset, split
from tests.conftest import login, make_settings
from tests.support.api import CANCER, IRIS, bearer, config, deploy, instances

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def served(demo_app):
    """The app with « cancer » (SVM) and « iris » (forest) served, and a token per role."""
    services = demo_app.server.extensions["dashhub"]
    deploy(services, "cancer", CANCER)
    deploy(services, "iris", IRIS)
    demo_app.tokens = {
        role: services.tokens.create(role, f"{role} test")[1] for role in ("analyst", "viewer")
    }
    services.users.add("robot", "service", "Runs-The-Batch-2026!")
    demo_app.tokens["service"] = services.tokens.create("robot", "batch")[1]
    return demo_app


def rows_logged(app, status: str | None = None) -> int:
    engine = make_engine(app.server.extensions["dashhub"].settings.database_url)
    with engine.connect() as conn:
        query = select(func.count()).select_from(predictions)
        if status:
            query = query.where(predictions.c.status == status)
        count = conn.scalar(query)
    engine.dispose()
    return count


def test_answers_equal_the_model_used_directly_and_every_instance_is_logged(served):
    client = served.server.test_client()
    sent = instances("breast_cancer", slice(0, 40))
    response = client.post(
        "/api/v1/models/cancer/predict", json={"instances": sent}, headers=bearer(served.tokens["service"])
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["model"] == {"name": "cancer", "version": 1}
    data = bundled_dataset("breast_cancer")
    X_train, _X_test, y_train, _y_test = split(config(CANCER), data)
    independent = make_pipeline(StandardScaler(), SVC(random_state=42)).fit(X_train, y_train)
    expected = [data.classes[i] for i in independent.predict(data.X[:40])]
    assert [p["label"] for p in body["predictions"]] == expected
    for p in body["predictions"]:
        assert set(p["probabilities"]) == {"malignant", "benign"}
        assert math.isclose(sum(p["probabilities"].values()), 1, abs_tol=1e-5)
    assert len({p["id"] for p in body["predictions"]}) == 40
    assert rows_logged(served, "ok") == 40
    engine = make_engine(served.server.extensions["dashhub"].settings.database_url)
    with engine.connect() as conn:
        row = conn.execute(select(predictions).where(predictions.c.id == body["predictions"][0]["id"])).one()
    engine.dispose()
    assert (row.model_name, row.model_version, row.label, row.status) == ("cancer", 1, expected[0], "ok")
    assert json.loads(row.features) == pytest.approx(sent[0])
    assert row.latency_ms > 0


def test_the_default_model_is_the_configured_one_or_the_only_one(served, tmp_path, settings):
    client = served.server.test_client()
    several = client.post(
        "/api/v1/predict", json={"instances": instances("iris")}, headers=bearer(served.tokens["analyst"])
    )
    assert several.status_code == 404 and "no default model" in several.get_json()["error"]
    named = create_app(
        make_settings(tmp_path / "other", settings.database_url, DASHHUB_API__DEFAULT_MODEL="iris")
    )
    answer = named.server.test_client().post(
        "/api/v1/predict", json={"instances": instances("iris")}, headers=bearer(served.tokens["analyst"])
    )
    assert answer.status_code == 200 and answer.get_json()["model"]["name"] == "iris"


ONE = instances("iris", slice(0, 1))[0]


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("payload", "status", "needle"),
    [
        ({"instances": [{k: v for k, v in ONE.items() if k != "petal width (cm)"}]}, 422, "petal width (cm)"),
        ({"instances": [{**ONE, "colour": 1}]}, 422, "colour"),
        ({"instances": [{**ONE, "sepal length (cm)": "5.1"}]}, 422, "must be a number"),
        ({"instances": [{**ONE, "sepal length (cm)": True}]}, 422, "must be a number"),
        ({"instances": [ONE, {**ONE, "sepal width (cm)": None}]}, 422, '"instance": 1'),
        ({"instances": []}, 422, "empty"),
        ({"instances": [ONE] * 1001}, 422, "at most 1000"),
        ({"instances": "all of them"}, 422, "list of objects"),
        ({"instances": [[1, 2, 3, 4]]}, 422, "object"),
        ({"rows": [ONE]}, 422, "list of objects"),
        ([ONE], 400, "not a JSON object"),
    ],
)
def test_every_bad_request_gets_a_4xx_naming_the_instance_and_the_feature(served, payload, status, needle):
    client = served.server.test_client()
    response = client.post(
        "/api/v1/models/iris/predict", json=payload, headers=bearer(served.tokens["analyst"])
    )
    assert response.status_code == status
    text = json.dumps(response.get_json())
    assert needle in text, text
    assert rows_logged(served, "ok") == 0
    if status == 422:
        assert rows_logged(served, "rejected") == 1, "a refused request is logged (the error rate)"


@SQLITE_ONLY
@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinite_numbers_are_refused(served, raw):
    body = json.dumps({"instances": [ONE]}).replace(str(ONE["sepal length (cm)"]), raw, 1)
    response = served.server.test_client().post(
        "/api/v1/models/iris/predict",
        data=body,
        content_type="application/json",
        headers=bearer(served.tokens["analyst"]),
    )
    assert response.status_code == 422
    assert response.get_json()["problems"][0] == {
        "instance": 0,
        "feature": "sepal length (cm)",
        "message": "must be a finite number (not NaN or infinite)",
    }


@SQLITE_ONLY
def test_the_body_must_be_json_and_not_too_large(served, tmp_path, settings):
    client = served.server.test_client()
    headers = bearer(served.tokens["analyst"])
    assert client.post("/api/v1/models/iris/predict", data="instances=1", headers=headers).status_code == 415
    broken = client.post(
        "/api/v1/models/iris/predict", data="{not json", content_type="application/json", headers=headers
    )
    assert broken.status_code == 400
    small = create_app(make_settings(tmp_path / "small", settings.database_url, DASHHUB_API__MAX_BODY_KB="1"))
    big = {"instances": [ONE] * 40}
    too_big = small.server.test_client().post("/api/v1/models/iris/predict", json=big, headers=headers)
    assert too_big.status_code == 413 and "1 KB" in too_big.get_json()["error"]


@SQLITE_ONLY
def test_tokens_not_sessions_open_the_api_and_roles_decide(served):
    client = served.server.test_client()
    payload = {"instances": [ONE]}
    assert client.post("/api/v1/models/iris/predict", json=payload).status_code == 401
    assert (
        client.post(
            "/api/v1/models/iris/predict", json=payload, headers={"Authorization": "Bearer dh_" + "x" * 43}
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/api/v1/models/iris/predict", json=payload, headers={"Authorization": "Basic YWRtaW46YWRtaW4="}
        ).status_code
        == 401
    )
    viewer = client.post("/api/v1/models/iris/predict", json=payload, headers=bearer(served.tokens["viewer"]))
    assert viewer.status_code == 403
    assert (
        client.post(
            "/api/v1/models/iris/predict", json=payload, headers=bearer(served.tokens["service"])
        ).status_code
        == 200
    )
    browser = served.server.test_client()
    assert login(browser, "admin").status_code == 302  # an admin's session cookie alone: still no
    assert browser.post("/api/v1/models/iris/predict", json=payload).status_code == 401
    assert login(served.server.test_client(), "robot", "Runs-The-Batch-2026!").status_code == 401, (
        "a service account never logs in to the pages"
    )
    assert (
        client.post(
            "/api/v1/models/nope/predict", json=payload, headers=bearer(served.tokens["analyst"])
        ).status_code
        == 404
    )


def test_token_commands_create_once_list_without_the_secret_and_revoke(served, settings):
    env = {"DASHHUB_DATABASE__URL": settings.database_url, "DASHHUB_PATHS__DATA_DIR": str(settings.data_dir)}
    runner = CliRunner()
    made = runner.invoke(main, ["tokens", "create", "analyst", "--name", "nightly"], env=env)
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("dh_") and len(secret) == 46
    listing = runner.invoke(main, ["tokens", "list", "analyst"], env=env).output
    assert "nightly" in listing and secret not in listing and secret[:10] in listing
    client = served.server.test_client()
    payload = {"instances": [ONE]}
    assert client.post("/api/v1/models/iris/predict", json=payload, headers=bearer(secret)).status_code == 200
    token_id = next(line.split("\t")[0] for line in listing.splitlines() if "nightly" in line)
    assert runner.invoke(main, ["tokens", "revoke", token_id], env=env).exit_code == 0
    assert client.post("/api/v1/models/iris/predict", json=payload, headers=bearer(secret)).status_code == 401
    assert runner.invoke(main, ["tokens", "create", "nobody"], env=env).exit_code == 1


def test_feedback_is_stored_once_unknown_ids_are_told_and_labels_checked(served):
    client = served.server.test_client()
    headers = bearer(served.tokens["service"])
    made = client.post(
        "/api/v1/models/iris/predict", json={"instances": instances("iris", slice(0, 4))}, headers=headers
    ).get_json()["predictions"]
    first = [
        {"id": made[0]["id"], "label": made[0]["label"]},
        {"id": made[1]["id"], "label": "virginica"},
        {"id": "0" * 32, "label": "setosa"},
        {"id": made[2]["id"], "label": "tulip"},
    ]
    report = client.post("/api/v1/feedback", json={"feedback": first}, headers=headers).get_json()
    assert report == {
        "accepted": 2,
        "updated": 0,
        "duplicates": 0,
        "unknown": ["0" * 32],
        "invalid": [
            {"instance": 3, "id": made[2]["id"], "message": "label is not one of the model's classes"}
        ],
    }
    again = client.post("/api/v1/feedback", json={"feedback": first[:2]}, headers=headers).get_json()
    assert (again["accepted"], again["duplicates"]) == (0, 2), "sending the same labels again changes nothing"
    changed = client.post(
        "/api/v1/feedback",
        json={"feedback": [{"id": made[1]["id"], "label": made[1]["label"]}]},
        headers=headers,
    ).get_json()
    assert changed["updated"] == 1
    engine = make_engine(served.server.extensions["dashhub"].settings.database_url)
    with engine.connect() as conn:
        stored = {r.prediction_id: (r.label, r.correct) for r in conn.execute(select(feedback))}
    engine.dispose()
    assert stored == {made[0]["id"]: (made[0]["label"], True), made[1]["id"]: (made[1]["label"], True)}
    bad = client.post("/api/v1/feedback", json={"feedback": [{"id": 1, "label": []}]}, headers=headers)
    assert bad.status_code == 422


def test_the_catalogue_lists_versions_the_served_one_and_their_schemas(served):
    services = served.server.extensions["dashhub"]
    deploy(services, "iris", IRIS.replace("n_estimators=20", "n_estimators=30"), activate=False)
    body = (
        served.server.test_client().get("/api/v1/models", headers=bearer(served.tokens["analyst"])).get_json()
    )
    iris = next(m for m in body["models"] if m["name"] == "iris")
    assert iris["active_version"] == 1
    assert [(v["version"], v["active"]) for v in iris["versions"]] == [(2, False), (1, True)]
    assert [f["name"] for f in iris["versions"][0]["features"]] == bundled_dataset("iris").features
    assert iris["versions"][0]["classes"] == ["setosa", "versicolor", "virginica"]


def test_under_concurrent_calls_every_answered_instance_is_logged(served):
    answered, errors = [], []

    def caller(seed: int) -> None:
        client = served.server.test_client()
        for batch in range(8):
            start = (seed * 7 + batch) % 140
            response = client.post(
                "/api/v1/models/iris/predict",
                json={"instances": instances("iris", slice(start, start + 5))},
                headers=bearer(served.tokens["service"]),
            )
            if response.status_code == 200:
                answered.extend(p["id"] for p in response.get_json()["predictions"])
            else:
                errors.append(response.status_code)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(answered) == 6 * 8 * 5 == rows_logged(served, "ok")


def test_activating_a_version_while_traffic_runs_switches_answers_without_an_error(served):
    services = served.server.extensions["dashhub"]
    second = deploy(services, "iris", IRIS.replace("n_estimators=20", "n_estimators=40"), activate=False)
    versions, errors, stop = [], [], threading.Event()

    def caller() -> None:
        client = served.server.test_client()
        while not stop.is_set():
            response = client.post(
                "/api/v1/models/iris/predict",
                json={"instances": [ONE]},
                headers=bearer(served.tokens["service"]),
            )
            if response.status_code != 200:
                errors.append(response.status_code)
            else:
                versions.append(response.get_json()["model"]["version"])

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    while len(versions) < 20:
        pass
    services.models.activate("iris", second.version)
    switched_at = len(versions)
    while len(versions) < switched_at + 40:
        pass
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(versions[:10]) == {1} and set(versions[-10:]) == {2}, "answers switch to the new version"
    assert rows_logged(served, "ok") == len(versions)


@SQLITE_ONLY
def test_rate_limits_count_per_token_across_workers(served, tmp_path, settings):
    """Two app instances on one data folder (two workers of a host): one count per token."""
    overrides = {"DASHHUB_API__RATE_LIMIT": "5 per minute"}
    first = create_app(make_settings(tmp_path / "shared", settings.database_url, **overrides))
    second = create_app(make_settings(tmp_path / "shared", settings.database_url, **overrides))
    calls = [
        (first if i % 2 else second)
        .server.test_client()
        .get("/api/v1/models", headers=bearer(served.tokens["analyst"]))
        .status_code
        for i in range(7)
    ]
    assert calls[:5] == [200] * 5 and calls[5:] == [429, 429]
    other = first.server.test_client().get("/api/v1/models", headers=bearer(served.tokens["service"]))
    assert other.status_code == 200, "another token has its own count"


def test_metrics_count_what_was_sent_and_are_protected(served):
    client = served.server.test_client()

    def sample(name: str, **labels) -> float:
        text = client.get("/metrics").get_data(as_text=True)
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return s.value
        return 0.0

    before = sample("dashhub_predictions_total", model="iris", version="1", label="setosa")
    answer = client.post(
        "/api/v1/models/iris/predict",
        json={"instances": instances("iris", slice(0, 7))},
        headers=bearer(served.tokens["service"]),
    ).get_json()
    setosa = sum(p["label"] == "setosa" for p in answer["predictions"])
    assert sample("dashhub_predictions_total", model="iris", version="1", label="setosa") == before + setosa
    assert (
        sample("dashhub_request_duration_seconds_bucket", endpoint="/api/v1/models/<name>/predict", le="0.1")
        >= 1
    )
    assert sample("dashhub_requests_total", endpoint="/api/v1/models/<name>/predict", status="200") >= 1
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outside).status_code == 403
    assert (
        client.get("/metrics", environ_base=outside, headers=bearer(served.tokens["analyst"])).status_code
        == 403
    )
    assert (
        client.get("/metrics", environ_base=outside, headers=bearer(served.tokens["service"])).status_code
        == 200
    )


def test_old_predictions_are_rolled_up_then_deleted(served):
    client = served.server.test_client()
    headers = bearer(served.tokens["service"])
    made = client.post(
        "/api/v1/models/iris/predict", json={"instances": instances("iris", slice(0, 6))}, headers=headers
    ).get_json()["predictions"]
    client.post(
        "/api/v1/feedback",
        json={"feedback": [{"id": p["id"], "label": "setosa"} for p in made[:4]]},
        headers=headers,
    )
    client.post("/api/v1/models/iris/predict", json={"instances": [{"x": 1}]}, headers=headers)  # one refusal
    engine = make_engine(served.server.extensions["dashhub"].settings.database_url)
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=40)).date()
    long_ago = dt.datetime(day.year, day.month, day.day, 10, 30, 15, tzinfo=dt.UTC)  # past the retention
    with engine.begin() as conn:
        conn.execute(update(predictions).values(at=long_ago))
        expected_correct = conn.scalar(select(func.count()).select_from(feedback).where(feedback.c.correct))
    report = prune(engine, retention_days=30)
    assert report.rolled_up == 7
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(predictions)) == 0
        assert conn.scalar(select(func.count()).select_from(feedback)) == 0
        rollups = conn.execute(select(prediction_rollups)).all()
    engine.dispose()
    for granularity in ("minute", "hour", "day"):
        mine = [r for r in rollups if r.granularity == granularity]
        assert sum(r.count for r in mine) == 7
        ok = next(r for r in mine if r.status == "ok")
        assert (ok.count, ok.labelled, ok.correct) == (6, 4, expected_correct)
        assert next(r for r in mine if r.status == "rejected").count == 1
    periods = {
        r.granularity: r.period.replace(tzinfo=dt.UTC) if r.period.tzinfo is None else r.period
        for r in rollups
    }
    assert periods["minute"] == long_ago.replace(second=0)
    assert periods["hour"] == long_ago.replace(minute=0, second=0)
    assert periods["day"] == long_ago.replace(hour=0, minute=0, second=0)
    assert prune(engine, retention_days=30).rolled_up == 0, "nothing counted twice"
    assert np.isfinite(sum(r.latency_sum for r in rollups))


@SQLITE_ONLY
def test_the_api_holds_to_its_description_under_fuzzing(served):
    """schemathesis from /api/v1/openapi.json, every operation: no 5xx, every answer as described."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", served.server)
    headers = bearer(served.tokens["service"])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 4

    for operation in operations:

        @hypothesis_settings(
            max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(case=operation.as_strategy())
        def fuzz(case):
            # Every check but « schema-valid data is accepted »: the description cannot say which
            # features a model needs (they change with the served version; GET /models lists
            # them), so a schema-valid instance of made-up features gets the documented 422.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        fuzz()


@SQLITE_ONLY
def test_the_readable_page_shows_every_route_and_its_fields_without_a_token(served):
    anonymous = served.server.test_client()
    spec = anonymous.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    page = anonymous.get("/api/v1/docs/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for path in spec["paths"]:
        assert f"<code>{path}</code>" in html
    # every field of what is sent and answered, named in a table row, with its meaning
    for field in ("instances", "feedback", "probabilities", "duplicates", "active_version"):
        assert f"<td><code>{field}</code></td>" in html
    assert "ids of no logged prediction" in html

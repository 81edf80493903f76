"""Explorateur ML through the Flask test client: the page from its address, numbers against
scikit-learn, training as a job (progress, cancel), forged inputs, roles, deployment and versions."""

from __future__ import annotations

import json
import threading

import numpy as np
import psutil
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from dashhub.db import audit_events, make_engine, models
from dashhub.domain.ml import SEED_SCREEN, config_from_query, query_for
from dashhub.domain.query import parse_search
from dashhub.i18n import fmt_number
from dashhub.layouts.ml_explorer import IDS
from dashhub.services.models import LoadedModel, reference_sample
from dashhub.services.training import bundled_dataset, evaluate, split
from dashhub.shell import PAGE_CONTENT
from tests.conftest import logged_in, session_of
from tests.support.dash_requests import callback_body, find_prop, page_body
from tests.support.ml_requests import (
    PATH,
    cancel_job,
    configure,
    configure_body,
    poll_job,
    render,
    start_job,
    train_body,
)

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
HEAVY = "?dataset=wine&model=random_forest&n_estimators=200&max_depth=5&test_size=30&seed=7&cv=5"


def cfg(query: str):
    return config_from_query(parse_search(query))[0]


def ticket_of(client, search: str = "") -> str:
    page = client.post(PATH, json=page_body("/ml/explorer", search)).get_json()
    return find_prop(page, IDS.TICKET, "data")


@SQLITE_ONLY
def test_the_page_is_drawn_from_its_address_and_says_what_it_corrected(app):
    client = session_of(app, "analyst")
    page = client.post(PATH, json=page_body("/ml/explorer", HEAVY)).get_json()["response"][PAGE_CONTENT]
    assert find_prop(page, IDS.DATASET, "value") == "wine"
    assert find_prop(page, IDS.MODEL, "value") == "random_forest"
    assert find_prop(page, IDS.TEST_SIZE, "value") == 30
    trees = {"type": "ml-param", "model": "random_forest", "name": "n_estimators"}
    assert find_prop(page, trees, "value") == 200
    bad = client.post(
        PATH, json=page_body("/ml/explorer", "?model=svm&C=-3&test_size=100&dataset=x")
    ).get_json()
    text = json.dumps(bad, ensure_ascii=False)
    assert "L’adresse demandait des valeurs inutilisables" in text
    assert "C = -3 est hors des limites : 0,001 est utilisé." in text.replace("0.001", "0,001")


@SQLITE_ONLY
def test_the_course_screen_shows_the_seeds_numbers(app):
    client = session_of(app, "analyst")
    out = configure(client, SEED_SCREEN)
    assert out["run"]["ready"] is True and out["queue"] is None
    assert out["view"]["search"] == query_for(SEED_SCREEN)
    shown = render(client, out["run"])
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    accuracy = np.mean(SVC(random_state=42).fit(X_train, y_train).predict(X_test) == y_test)
    assert shown[IDS.KPI_ACCURACY] == fmt_number(accuracy, 3, "fr") == "0,947"
    assert [shown[IDS.KPI_TRAIN], shown[IDS.KPI_TEST], shown[IDS.KPI_FEATURES]] == ["455", "114", "30"]
    confusion = shown[IDS.CONFUSION]["data"][0]["z"]
    assert sum(map(sum, confusion)) == 114


@SQLITE_ONLY
def test_a_heavy_setting_trains_as_a_job_with_progress_then_shows_exact_numbers(app):
    client = session_of(app, "analyst")
    config = cfg(HEAVY)
    out = configure(client, config)
    assert out["run"]["ready"] is False and out["queue"] == {"query": query_for(config)}
    waiting = render(client, out["run"])
    assert waiting[IDS.KPI_ACCURACY] == "…"
    body = train_body(out["queue"], ticket_of(client))
    progress: list = []
    done = poll_job(client, body, start_job(client, body), progress=progress)[IDS.DONE]["data"]
    assert done == {"query": query_for(config)}
    assert progress and all(0 <= p[f"{IDS.BAR}.value"] <= 100 for p in progress)
    shown = render(client, out["run"], done)
    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=7, stratify=y)
    forest = make_pipeline(
        StandardScaler(), RandomForestClassifier(200, max_depth=5, random_state=7, n_jobs=1)
    )
    accuracy = np.mean(forest.fit(X_train, y_train).predict(X_test) == y_test)
    folds = StratifiedKFold(5, shuffle=True, random_state=7)
    cv = cross_val_score(forest, X_train, y_train, cv=folds)
    assert shown[IDS.KPI_ACCURACY] == fmt_number(accuracy, 3, "fr")
    assert shown[IDS.KPI_CV] == f"{fmt_number(cv.mean(), 3, 'fr')} ± {fmt_number(cv.std(), 3, 'fr')}"
    again = configure(client, config)  # the same configuration: from the shared cache, at once
    assert again["run"]["ready"] is True


@SQLITE_ONLY
def test_a_long_training_can_be_cancelled(app):
    client = session_of(app, "analyst")
    config = cfg("?dataset=breast_cancer&model=gradient_boosting&n_estimators=500&max_depth=10&cv=10&seed=3")
    out = configure(client, config)
    body = train_body(out["queue"], ticket_of(client))
    handles = start_job(client, body)
    progress: list = []
    for _ in range(200):  # the first progress report: the job is running
        response = client.post(PATH, json=body, query_string=handles).get_json()
        if response.get("progress"):
            progress.append(response["progress"])
            break
    assert progress, "no progress reported"
    pid = int(handles["job"].split("~")[0])
    assert psutil.pid_exists(pid)
    assert cancel_job(client, handles).status_code in (200, 204)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert poll_job(client, body, handles) is None, "a cancelled job gives no result"


@SQLITE_ONLY
@pytest.mark.parametrize(
    "forged",
    [
        {"model": "rm -rf"},
        {"dataset": "../etc/passwd"},
        {"test_size": 0},
        {"test_size": 100},
        {"cv": 1000},
        {"values": "C=1"},
        {"words": [1, 2]},
    ],
)
def test_forged_controls_get_a_clean_400(app, forged):
    client = session_of(app, "analyst")
    response = client.post(PATH, json=configure_body(SEED_SCREEN, **forged))
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@SQLITE_ONLY
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(["dataset", "model", "values", "words", "test_size", "scale", "seed", "cv"]),
    value=json_values,
)
def test_crafted_explorer_inputs_never_cause_a_500(app, name, value):
    client = session_of(app, "analyst")
    response = client.post(PATH, json=configure_body(SEED_SCREEN, **{name: value}))
    assert response.status_code in (200, 204, 400), response.get_data(as_text=True)[:300]
    run = {"query": "?" + "&".join(f"{k}={v}" for k, v in [(name, value)]), "ready": True}
    assert render(client, run)[IDS.KPI_FEATURES] in ("4", "13", "30")  # any address is read safely


@SQLITE_ONLY
def test_only_analysts_and_admins_open_the_explorer(app):
    for role in ("viewer", "hr"):
        client = session_of(app, role)
        assert client.post(PATH, json=configure_body(SEED_SCREEN)).status_code == 403
        page = json.dumps(client.post(PATH, json=page_body("/ml/explorer")).get_json(), ensure_ascii=False)
        assert "Accès refusé" in page
    for role in ("analyst", "admin"):
        assert session_of(app, role).post(PATH, json=configure_body(SEED_SCREEN)).status_code == 200


# --- deployment and versions (both databases) ---


def deploy(client, run: dict, name: str, activate: bool = True):
    body = callback_body(
        [(IDS.DEPLOY_RESULT, "children"), (IDS.DEPLOYED, "data")],
        [(IDS.DEPLOY, "n_clicks", 1)],
        [
            (IDS.RUN, "data", run),
            (IDS.DEPLOY_NAME, "value", name),
            (IDS.DEPLOY_ACTIVATE, "value", activate),
            (IDS.TICKET, "data", ticket_of(client)),
        ],
    )
    return poll_job(client, body, start_job(client, body))


def versions(client) -> list[dict]:
    body = callback_body(
        [(IDS.VERSIONS, "rowData")],
        [(IDS.TABS, "active_tab", "versions"), (IDS.DEPLOYED, "data", None), (IDS.ACTIVATED, "data", None)],
    )
    return client.post(PATH, json=body).get_json()["response"][IDS.VERSIONS]["rowData"]


def activate(client, rows: list[dict]):
    body = callback_body(
        [(IDS.ACTIVATED, "data"), (IDS.REGISTRY_MESSAGE, "children")],
        [(IDS.ACTIVATE, "n_clicks", 1)],
        [(IDS.VERSIONS, "selectedRows", rows)],
    )
    return client.post(PATH, json=body)


def test_deploying_saves_a_version_that_loads_back_exactly_and_is_audited(demo_app, settings):
    client = logged_in(demo_app, "analyst")
    run = configure(client, SEED_SCREEN)["run"]
    answer = deploy(client, run, "cancer-svm")
    assert "cancer-svm version 1 déployée (précision 0,947). Elle est maintenant servie." in json.dumps(
        answer, ensure_ascii=False
    )
    registry = demo_app.server.extensions["dashhub"].models
    saved = registry.active("cancer-svm")
    assert (saved.version, saved.algorithm, saved.dataset, saved.created_by) == (
        1,
        "svm",
        "breast_cancer",
        "analyst",
    )
    assert saved.metrics["accuracy"] == pytest.approx(108 / 114)
    assert saved.params == {"C": 1.0, "kernel": "rbf", "gamma": "scale"}
    assert [f["name"] for f in saved.features] == list(load_breast_cancer().feature_names)
    assert saved.classes == ["malignant", "benign"]
    data = bundled_dataset("breast_cancer")
    X_train, X_test, y_train, _y_test = split(SEED_SCREEN, data)
    loaded = registry.load(saved)
    independent = SVC(random_state=42).fit(X_train, y_train)
    assert (loaded.model.predict(X_test) == independent.predict(X_test)).all()
    # an SVM gives no probabilities itself: a sigmoid calibration on its test rows is saved with it
    probabilities = loaded.probabilities(X_test)
    assert probabilities.shape == (114, 2) and np.allclose(probabilities.sum(axis=1), 1)
    reference = registry.reference(saved)
    assert reference.rows == reference_sample(X_train, data.features, 42).rows and len(reference.rows) == 455
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        events = [json.loads(r.detail) | {"event": r.event} for r in conn.execute(select(audit_events))]
    engine.dispose()
    deployed = [e for e in events if e["event"] == "model_deploy"]
    assert (
        deployed and deployed[0]["model"] == "cancer-svm" and deployed[0]["sha256"] == saved.artifact_sha256
    )


def test_versions_are_listed_served_one_at_a_time_rolled_back_and_compared(demo_app, settings):
    client = logged_in(demo_app, "analyst")
    first = configure(client, SEED_SCREEN)["run"]
    deploy(client, first, "cancer")
    other = cfg("?dataset=breast_cancer&model=knn&n_neighbors=9&seed=42&cv=0")
    deploy(client, configure(client, other)["run"], "cancer", activate=False)
    rows = versions(client)
    assert [(r["name"], r["version"], r["active"]) for r in rows] == [
        ("cancer", 2, False),
        ("cancer", 1, True),
    ]
    assert activate(client, [rows[0]]).status_code == 200  # serve version 2
    rows = versions(client)
    assert [(r["version"], r["active"]) for r in rows] == [(2, True), (1, False)]
    assert activate(client, [rows[1]]).status_code == 200  # and roll back to 1
    assert [(r["version"], r["active"]) for r in versions(client)] == [(2, False), (1, True)]
    compare = callback_body([(IDS.COMPARE, "children")], [(IDS.VERSIONS, "selectedRows", rows)])
    table = json.dumps(client.post(PATH, json=compare).get_json(), ensure_ascii=False)
    assert "cancer v2" in table and "cancer v1" in table and "n_neighbors" in table
    for forged in ([{"id": "1; DROP TABLE models"}], [{"id": 99999}], "all", [{"name": "cancer"}] * 60):
        assert activate(client, forged).status_code == 400
    assert activate(client, []).status_code == 200  # nothing selected: says so
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        actions = [r.event for r in conn.execute(select(audit_events).order_by(audit_events.c.id))]
    engine.dispose()
    assert actions.count("model_activate") == 2 and actions.count("model_deploy") == 2


def test_the_database_itself_refuses_two_served_versions_of_one_name(demo_app, settings):
    client = logged_in(demo_app, "analyst")
    run = configure(client, SEED_SCREEN)["run"]
    deploy(client, run, "twice")
    deploy(client, run, "twice", activate=False)
    engine = make_engine(settings.database_url)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(models).where(models.c.name == "twice").values(active=True))
    engine.dispose()


def test_concurrent_deployments_of_one_name_get_distinct_versions(demo_app):
    registry = demo_app.server.extensions["dashhub"].models
    data = bundled_dataset("iris")
    config = cfg("?dataset=iris&model=logistic_regression&cv=0")
    result, estimator = evaluate(config, data)
    reference = reference_sample(split(config, data)[0], data.features, 1)
    saved, errors = [], []

    def register() -> None:
        try:
            saved.append(
                registry.register(
                    "iris-lr", result, LoadedModel(estimator), reference, "test", query_for(config), True
                )
            )
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(m.version for m in saved) == [1, 2, 3, 4]
    assert len([m for m in registry.versions("iris-lr") if m.active]) == 1


def test_a_model_name_is_checked_before_anything_is_trained(demo_app):
    client = logged_in(demo_app, "analyst")
    run = configure(client, SEED_SCREEN)["run"]
    for name in ("", "Has Spaces", "../../x", "x" * 80, None):
        answer = json.dumps(deploy(client, run, name), ensure_ascii=False)
        assert "Donnez un nom au modèle" in answer
    assert demo_app.server.extensions["dashhub"].models.versions() == []

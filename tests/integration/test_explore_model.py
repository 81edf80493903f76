"""« Model it » through the app: the owner models a dataset on /explore, it opens in the Explorateur
ML for them (and for the role it is shared with), with numbers computed on its rows; anyone else
who names it, in the address or in a forged callback, reaches nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dashhub.domain.ml import ExplorerConfig, applicable, default_params
from dashhub.layouts.explore import IDS as EXPLORE
from dashhub.layouts.ml_explorer import IDS as ML
from dashhub.shell import PAGE_CONTENT
from tests.conftest import logged_in
from tests.integration.test_explore import share, upload
from tests.integration.test_ml_explorer import deploy
from tests.support.api import bearer
from tests.support.dash_requests import callback_body, find_prop, page_body
from tests.support.ml_requests import PATH, configure, configure_body, render

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def flowers_csv(rows: int = 120) -> bytes:
    rng = np.random.default_rng(3)
    species = np.array(["setosa", "versicolor", "virginica"])[np.arange(rows) % 3]
    centre = {"setosa": 1.0, "versicolor": 3.0, "virginica": 5.0}
    frame = pd.DataFrame(
        {
            "longueur": (np.array([centre[s] for s in species]) + rng.normal(0, 0.8, rows)).round(2),
            "largeur": (np.array([centre[s] for s in species]) / 2 + rng.normal(0, 0.8, rows)).round(2),
            "espèce": species,
            "commentaire": "rien",
        }
    )
    return frame.to_csv(index=False).encode()


def model_card(client, dataset, target=None, features=None, clicks=None):
    """The « Model it » card's callback: on choosing the dataset, or on its button (clicks)."""
    body = callback_body(
        [
            (EXPLORE.MODEL_TARGET, "options"),
            (EXPLORE.MODEL_TARGET, "value"),
            (EXPLORE.MODEL_FEATURES, "options"),
            (EXPLORE.MODEL_FEATURES, "value"),
            (EXPLORE.MODEL_IT, "disabled"),
            (EXPLORE.MODEL_STATUS, "children"),
        ],
        [
            (EXPLORE.DATASET, "value", dataset),
            (EXPLORE.RETYPED, "data", None),
            (EXPLORE.MODEL_IT, "n_clicks", clicks),
        ],
        [(EXPLORE.MODEL_TARGET, "value", target), (EXPLORE.MODEL_FEATURES, "value", features)],
    )
    if clicks:
        body["changedPropIds"] = [f"{EXPLORE.MODEL_IT}.n_clicks"]
    return client.post(PATH, json=body)


def explorer_page(client, search: str):
    page = client.post(PATH, json=page_body("/ml/explorer", search)).get_json()
    return page["response"][PAGE_CONTENT]


def knn(dataset: str) -> ExplorerConfig:
    return ExplorerConfig(dataset=dataset, model="knn", params=applicable("knn", default_params("knn")), cv=0)


def test_the_owner_models_a_dataset_and_explores_it_with_numbers_of_its_rows(demo_app):
    owner = logged_in(demo_app, "analyst")
    sent = upload(owner, flowers_csv(), "fleurs.csv").get_json()
    chosen = model_card(owner, sent["id"]).get_json()["response"]
    assert chosen[EXPLORE.MODEL_TARGET]["value"] == "espèce"
    assert chosen[EXPLORE.MODEL_FEATURES]["value"] == ["longueur", "largeur"]
    assert chosen[EXPLORE.MODEL_IT]["disabled"] is False
    refused = model_card(owner, sent["id"], "espèce", ["longueur"], clicks=1).get_json()["response"]
    assert "au moins deux colonnes numériques" in json.dumps(refused, ensure_ascii=False)
    done = model_card(owner, sent["id"], "espèce", ["longueur", "largeur"], clicks=2).get_json()
    name = f"user-{sent['id']}"
    assert f"/ml/explorer?dataset={name}" in json.dumps(done)

    page = explorer_page(owner, f"?dataset={name}&model=knn&cv=0")
    assert find_prop(page, ML.DATASET, "value") == name
    options = find_prop(page, ML.DATASET, "options")
    assert {"label": "Vos données : fleurs", "value": name} in options

    out = configure(owner, knn(name))
    assert out["run"]["ready"] is True and f"dataset={name}" in out["view"]["search"]
    drawn = render(owner, out["run"])
    # the same split and model on the same rows, computed here by scikit-learn
    frame = pd.read_csv(pd.io.common.BytesIO(flowers_csv()))
    X, y = frame[["longueur", "largeur"]].to_numpy(), frame["espèce"].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42, stratify=y)
    model = make_pipeline(StandardScaler(), KNeighborsClassifier()).fit(X_train, y_train)
    expected = float(np.mean(model.predict(X_test) == y_test))
    assert f"{expected:.3f}".replace(".", ",") in json.dumps(drawn[ML.KPI_ACCURACY], ensure_ascii=False)
    assert "120" in json.dumps(drawn[ML.INFO], ensure_ascii=False)


def test_no_one_else_reaches_a_modelled_dataset_until_it_is_shared_with_their_role(demo_app):
    owner, other = logged_in(demo_app, "analyst"), logged_in(demo_app, "admin")
    sent = upload(owner, flowers_csv(), "fleurs.csv").get_json()
    model_card(owner, sent["id"], "espèce", ["longueur", "largeur"], clicks=1)
    name = f"user-{sent['id']}"
    # the address names it: the other user is given Iris, and told
    page = explorer_page(other, f"?dataset={name}")
    assert find_prop(page, ML.DATASET, "value") == "iris"
    assert name not in json.dumps(find_prop(page, ML.DATASET, "options"))
    # forged callbacks naming it: refused
    assert other.post(PATH, json=configure_body(knn(name))).status_code == 400
    forged_run = {"query": f"?dataset={name}&model=knn", "ready": True}
    rendered = other.post(
        PATH,
        json=callback_body([(ML.INFO, "children")], [(ML.RUN, "data", forged_run), (ML.DONE, "data", None)]),
    )
    assert rendered.status_code == 400
    # nor can they model it, or see how it is modelled
    assert model_card(other, sent["id"]).status_code == 204
    forged = model_card(other, sent["id"], "espèce", ["longueur", "largeur"], clicks=1)
    assert "user-" not in forged.get_data(as_text=True)
    # shared with their role: it is theirs to explore (read-only: not to model)
    share(owner, sent["id"], "admin")
    page = explorer_page(other, f"?dataset={name}")
    assert find_prop(page, ML.DATASET, "value") == name
    assert configure(other, knn(name))["run"]["ready"] is True
    card = model_card(other, sent["id"]).get_json()["response"]
    assert card[EXPLORE.MODEL_IT]["disabled"] is True
    refused = model_card(other, sent["id"], "espèce", ["longueur", "largeur"], clicks=1).get_json()
    assert "Seul le propriétaire" in json.dumps(refused, ensure_ascii=False)


def test_a_model_of_ones_own_data_is_deployed_and_answers_the_api(demo_app):
    owner = logged_in(demo_app, "analyst")
    sent = upload(owner, flowers_csv(), "fleurs.csv").get_json()
    model_card(owner, sent["id"], "espèce", ["longueur", "largeur"], clicks=1)
    run = configure(owner, knn(f"user-{sent['id']}"))["run"]
    answer = json.dumps(deploy(owner, run, "fleurs"), ensure_ascii=False)
    assert "fleurs version 1 déployée" in answer
    services = demo_app.server.extensions["dashhub"]
    token = services.tokens.create("analyst", "fleurs test")[1]
    response = demo_app.server.test_client().post(
        "/api/v1/models/fleurs/predict",
        json={"instances": [{"longueur": 1.0, "largeur": 0.5}, {"longueur": 5.2, "largeur": 2.4}]},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert [p["label"] for p in response.get_json()["predictions"]] == ["setosa", "virginica"]


HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True),
    st.text(max_size=300),
    st.lists(st.one_of(st.text(max_size=200), st.integers(), st.none()), max_size=600),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@given(dataset=HOSTILE, target=HOSTILE, features=HOSTILE, clicks=st.one_of(st.none(), st.integers(1, 3)))
@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_forged_model_card_values_never_cause_a_500(demo_app, dataset, target, features, clicks):
    owner = logged_in(demo_app, "analyst")
    response = model_card(owner, dataset, target, features, clicks)
    assert response.status_code in (200, 204, 400), response.get_data(as_text=True)[:300]
    assert "Traceback" not in response.get_data(as_text=True)

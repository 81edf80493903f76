"""Explorateur ML without a server: every number against scikit-learn used directly, the URL codec,
the checks on what the controls send, the figures, and the artifacts' safety."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import plotly.graph_objects as go
import pytest
import skops.io as sio
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, confusion_matrix, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVC

from dashhub.callbacks.ml_explorer import config_from_inputs, kpis, report_table, seed_is_valid
from dashhub.domain.ml import (
    MODEL_PARAMS,
    MODELS,
    SEED_SCREEN,
    ExplorerConfig,
    applicable,
    config_from_query,
    default_params,
    param_value,
    query_for,
    slider_position,
)
from dashhub.domain.query import parse_search
from dashhub.figures import ml as figures
from dashhub.services.models import LoadedModel, RegistryError, deserialise, serialise
from dashhub.services.training import (
    boundary,
    bundled_dataset,
    calibration,
    distribution,
    evaluate,
    permutation,
    split,
    trains_inline,
)
from dashhub.validation import BadInput

LOADERS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer}


def config(query: str) -> ExplorerConfig:
    found, notes = config_from_query(parse_search(query))
    assert notes == [], notes
    return found


def independent(cfg: ExplorerConfig):
    """The same configuration written directly with scikit-learn (not through dashhub)."""
    p = cfg.param_dict
    model = {
        "svm": lambda: SVC(
            C=p["C"],
            kernel=p["kernel"],
            gamma=p.get("gamma", "scale"),
            degree=p.get("degree", 3),
            random_state=cfg.seed,
        ),
        "random_forest": lambda: RandomForestClassifier(
            n_estimators=p["n_estimators"],
            max_depth=None if p["max_depth"] == "none" else p["max_depth"],
            min_samples_leaf=p["min_samples_leaf"],
            random_state=cfg.seed,
            n_jobs=1,
        ),
        "logistic_regression": lambda: LogisticRegression(
            C=p["C"], max_iter=p["max_iter"], random_state=cfg.seed
        ),
        "knn": lambda: KNeighborsClassifier(
            n_neighbors=p["n_neighbors"], weights=p["weights"], p=int(p["p"])
        ),
        "gradient_boosting": lambda: GradientBoostingClassifier(
            n_estimators=p["n_estimators"],
            learning_rate=p["learning_rate"],
            max_depth=p["max_depth"],
            random_state=cfg.seed,
        ),
    }[cfg.model]()
    return make_pipeline(StandardScaler(), model) if cfg.scale else make_pipeline(model)


CASES = [
    SEED_SCREEN,
    config("?dataset=iris&model=svm&C=10&kernel=linear&test_size=30&scale=true&stratify=true&seed=1&cv=3"),
    config(
        "?dataset=wine&model=random_forest&n_estimators=40&max_depth=5&min_samples_leaf=2&test_size=30"
        "&scale=true&stratify=true&seed=7&cv=4"
    ),
    config("?dataset=breast_cancer&model=logistic_regression&C=0.5&max_iter=500&scale=true&seed=3&cv=0"),
    config("?dataset=wine&model=knn&n_neighbors=7&weights=distance&p=1&scale=true&stratify=false&seed=11"),
    config("?dataset=iris&model=gradient_boosting&n_estimators=30&learning_rate=0.2&max_depth=2&seed=5&cv=3"),
    config("?dataset=breast_cancer&model=svm&C=2&kernel=poly&gamma=0.01&degree=2&test_size=25&seed=9&cv=2"),
]


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: f"{c.dataset}-{c.model}")
def test_every_number_equals_scikit_learn_used_directly(cfg):
    result, _estimator = evaluate(cfg, bundled_dataset(cfg.dataset))
    X, y = LOADERS[cfg.dataset](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=cfg.test_size / 100, random_state=cfg.seed, stratify=y if cfg.stratify else None
    )
    model = independent(cfg).fit(X_train, y_train)
    predicted = model.predict(X_test)
    assert result.accuracy == pytest.approx(np.mean(predicted == y_test), abs=1e-12)
    assert (result.n_train, result.n_test) == (len(y_train), len(y_test))
    assert result.confusion == confusion_matrix(y_test, predicted).tolist()
    report = classification_report(y_test, predicted, output_dict=True, zero_division=0)
    for row in result.report:
        key = row.label if row.label in report else str(result.info.classes.index(row.label))
        expected = report[key]
        if row.label == "accuracy":
            assert row.f1 == pytest.approx(expected)
            continue
        assert (row.precision, row.recall, row.f1) == (
            pytest.approx(expected["precision"]),
            pytest.approx(expected["recall"]),
            pytest.approx(expected["f1-score"]),
        )
        assert row.support == expected["support"]
    scores = (
        model.predict_proba(X_test) if hasattr(model, "predict_proba") else model.decision_function(X_test)
    )
    for curve in result.roc:
        index = result.info.classes.index(curve.label)
        column = scores[:, index] if scores.ndim == 2 else (scores if index == 1 else -scores)
        assert curve.auc == pytest.approx(roc_auc_score(y_test == index, column))
    if cfg.cv:
        # the split's choice holds for the folds too: stratified folds when the split is
        folds = (StratifiedKFold if cfg.stratify else KFold)(cfg.cv, shuffle=True, random_state=cfg.seed)
        expected_cv = cross_val_score(independent(cfg), X_train, y_train, cv=folds)
        assert result.cv_scores == pytest.approx(list(expected_cv))
    else:
        assert result.cv_scores == []
    assert result.info.class_counts == np.bincount(y).tolist()


def test_the_course_screen_gives_the_seeds_numbers():
    result, _ = evaluate(SEED_SCREEN, bundled_dataset("breast_cancer"))
    assert f"{result.accuracy:.3f}" == "0.947"
    assert (result.n_train, result.n_test, len(result.info.features)) == (455, 114, 30)
    assert result.info.class_counts == [212, 357]  # malignant 37.3 %, benign 62.7 %
    rows = {row.label: row for row in result.report}
    assert [rows["malignant"].support, rows["benign"].support] == [43, 71]
    macro, weighted = rows["macro avg"], rows["weighted avg"]
    assert (f"{macro.precision:.3f}", f"{macro.recall:.3f}") == ("0.961", "0.930")
    assert (f"{weighted.precision:.3f}", f"{weighted.recall:.3f}") == ("0.951", "0.947")


def test_the_same_configuration_gives_the_same_numbers_in_another_process():
    cfg = CASES[2]
    here, _ = evaluate(cfg, bundled_dataset(cfg.dataset))
    probe = (
        "import json\nfrom dashhub.domain.ml import config_from_query\n"
        "from dashhub.domain.query import parse_search\n"
        "from dashhub.services.training import evaluate, bundled_dataset\n"
        f"c, _ = config_from_query(parse_search({query_for(cfg)!r}))\n"
        "r, _ = evaluate(c, bundled_dataset(c.dataset))\n"
        "print(json.dumps([r.accuracy, r.cv_scores, r.confusion, [x.auc for x in r.roc]]))\n"
    )
    other = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout) == [
        here.accuracy,
        here.cv_scores,
        here.confusion,
        [c.auc for c in here.roc],
    ]


def test_heavy_settings_train_as_a_job_and_light_ones_at_once():
    data = bundled_dataset("breast_cancer")
    assert trains_inline(SEED_SCREEN, data)
    assert not trains_inline(config("?dataset=breast_cancer&model=random_forest&n_estimators=100&cv=5"), data)
    assert not trains_inline(config("?dataset=breast_cancer&model=gradient_boosting&n_estimators=500"), data)
    assert trains_inline(
        config("?dataset=iris&model=random_forest&n_estimators=10&cv=0"), bundled_dataset("iris")
    )


# --- the address ---


def test_the_issues_example_address_is_read_exactly():
    cfg = config(
        "?dataset=wine&model=random_forest&n_estimators=200&max_depth=5&test_size=30&scale=true"
        "&stratify=true&seed=7"
    )
    assert (cfg.dataset, cfg.model, cfg.test_size, cfg.scale, cfg.stratify, cfg.seed) == (
        "wine",
        "random_forest",
        30,
        True,
        True,
        7,
    )
    assert cfg.param_dict == {"n_estimators": 200, "max_depth": 5, "min_samples_leaf": 1}


@st.composite
def configurations(draw) -> ExplorerConfig:
    model = draw(st.sampled_from(MODELS))
    params = default_params(model)
    for spec in MODEL_PARAMS[model]:
        if spec.kind == "choice":
            params[spec.name] = draw(st.sampled_from(spec.choices))
        elif spec.words and draw(st.booleans()):
            params[spec.name] = draw(st.sampled_from(spec.words))
        elif spec.kind == "float":
            params[spec.name] = float(f"{draw(st.floats(spec.low, spec.high)):.3g}")
        else:
            params[spec.name] = draw(st.integers(int(spec.low), int(spec.high)))
    return ExplorerConfig(
        dataset=draw(st.sampled_from(("iris", "wine", "breast_cancer"))),
        model=model,
        params=applicable(model, params),
        test_size=draw(st.integers(10, 50)),
        scale=draw(st.booleans()),
        stratify=draw(st.booleans()),
        seed=draw(st.integers(0, 2**31 - 1)),
        cv=draw(st.sampled_from((0, *range(2, 11)))),
    )


@settings(max_examples=200, deadline=None)
@given(cfg=configurations())
def test_every_configuration_survives_its_address(cfg):
    found, notes = config_from_query(parse_search(query_for(cfg)))
    assert (found, notes) == (cfg, [])
    assert found.fingerprint() == cfg.fingerprint()


def test_an_address_with_bad_values_is_corrected_and_says_how():
    found, notes = config_from_query(
        parse_search(
            "?dataset=titanic&model=svm&C=-5&gamma=abc&kernel=linear&degree=9&test_size=0"
            "&seed=x&cv=99&scale=maybe&colour=red"
        )
    )
    assert found == ExplorerConfig(
        "iris", "svm", (("C", 0.001), ("kernel", "linear")), 10, True, True, 42, 10
    )
    assert [(n.key, n.kind) for n in notes] == [
        ("dataset", "unknown_value"),
        ("C", "clamped"),
        ("gamma", "not_applicable"),
        ("degree", "not_applicable"),
        ("test_size", "clamped"),
        ("scale", "unknown_value"),
        ("seed", "not_a_number"),
        ("cv", "clamped"),
    ]


@pytest.mark.parametrize(
    ("name", "raw", "word"),
    [
        ("C", -4.0, None),  # C = 10^-4 < 0.001: below the slider
        ("C", 3.5, None),
        ("C", "1", None),
        ("C", float("nan"), None),
        ("C", True, None),
        ("gamma", 0.0, "abc"),
        ("gamma", "scale", "value"),
        ("kernel", "rbf; rm -rf /", None),
        ("degree", 2.5, None),
        ("degree", 60, None),
    ],
)
def test_a_value_no_svm_control_can_send_is_refused(name, raw, word):
    spec = next(s for s in MODEL_PARAMS["svm"] if s.name == name)
    with pytest.raises(ValueError):
        param_value(spec, raw, word)


def test_controls_send_log_positions_and_words():
    c, gamma = (next(s for s in MODEL_PARAMS["svm"] if s.name == n) for n in ("C", "gamma"))
    assert param_value(c, 1.0) == 10.0 and param_value(c, slider_position(c, 0.37)) == 0.37
    assert param_value(gamma, 0.0, "scale") == "scale" and param_value(gamma, -2.0, "value") == 0.01


def _inputs(**changes):
    """What the controls of the default SVM page send (pattern-matching lists included)."""
    ids, values, word_ids, words = [], [], [], []
    for model in MODELS:
        for spec in MODEL_PARAMS[model]:
            ids.append({"type": "ml-param", "model": model, "name": spec.name})
            value = spec.default if spec.default not in spec.words else spec.low
            values.append(slider_position(spec, value) if spec.kind == "float" else value)
            if spec.words:
                word_ids.append({"type": "ml-word", "model": model, "name": spec.name})
                words.append(spec.default if spec.default in spec.words else "value")
    args = {
        "dataset": "iris",
        "model": "svm",
        "values": values,
        "value_ids": ids,
        "words": words,
        "word_ids": word_ids,
        "test_size": 20,
        "scale": True,
        "stratify": True,
        "seed": 42,
        "cv": 5,
    }
    args.update(changes)
    return args


def test_the_default_controls_make_the_default_configuration():
    assert config_from_inputs(**_inputs()) == config("?dataset=iris&model=svm&C=1&kernel=rbf&gamma=scale")


@pytest.mark.parametrize(
    "changes",
    [
        {"model": "evil"},
        {"dataset": "titanic"},
        {"test_size": 0},
        {"test_size": 100},
        {"test_size": "20"},
        {"scale": "yes"},
        {"cv": 1},
        {"seed": -1},
        {"values": [1.0]},
        {"value_ids": ["x"] * 15},
        {"model": "random_forest", "values": [10**9] * 15},
        {"words": ["abc"] * 2},
    ],
)
def test_forged_control_values_are_refused(changes):
    with pytest.raises(BadInput):
        config_from_inputs(**_inputs(**changes))


def test_a_seed_being_typed_waits_instead_of_failing():
    assert seed_is_valid(42) and seed_is_valid(0)
    assert not any(seed_is_valid(s) for s in (None, -1, 1.5, True, "7", 2**40))


# --- the page's numbers and figures ---


def test_kpis_and_report_are_written_in_the_users_language():
    result, _ = evaluate(SEED_SCREEN, bundled_dataset("breast_cancer"))
    assert kpis(result, "fr")[0] == "0,947" and kpis(result, "en")[0] == "0.947"
    assert kpis(result, "fr")[2:] == ["455", "114", "30"]
    table = json.dumps(report_table(result, "fr"), ensure_ascii=False)
    assert "0,961" in table and "macro" in table


@pytest.mark.parametrize("cfg", CASES[:4], ids=lambda c: f"{c.dataset}-{c.model}")
def test_every_figure_is_valid_and_counts_the_test_rows(cfg):
    data = bundled_dataset(cfg.dataset)
    result, estimator = evaluate(cfg, data)
    confusion = figures.confusion_figure(result, "fr")
    go.Figure(confusion)
    assert sum(int(a["text"]) for a in confusion["layout"]["annotations"]) == result.n_test
    roc = figures.roc_figure(result, "en")
    go.Figure(roc)
    assert len(roc["data"]) == len(result.roc) + 1
    go.Figure(figures.cv_figure(result, "fr"))
    go.Figure(figures.classes_figure(result, "fr"))
    found = result.importance or permutation(cfg, data, estimator)
    importance = figures.importance_figure(found, "fr")
    go.Figure(importance)
    assert len(importance["data"][0]["y"]) == min(15, len(data.features))
    shown = distribution(data, data.features[0])
    go.Figure(figures.distribution_figure(shown, "fr"))
    assert sum(sum(c) for c in shown.counts.values()) == len(data.y)


def test_the_decision_boundary_is_the_model_on_two_axes():
    cfg = CASES[1]
    data = bundled_dataset(cfg.dataset)
    found = boundary(cfg, data, (data.features[2], data.features[3]))
    X_train, X_test, y_train, y_test = split(cfg, data)
    model = independent(cfg).fit(X_train[:, [2, 3]], y_train)
    assert found.accuracy == pytest.approx(np.mean(model.predict(X_test[:, [2, 3]]) == y_test))
    assert len(found.z) == len(found.y) and len(found.z[0]) == len(found.x)
    assert sum(len(found.points[p][2]) for p in ("train", "test")) == len(data.y)
    go.Figure(figures.boundary_figure(found, data.classes, "fr"))
    pca = boundary(cfg, data, None)
    assert pca.x_label.startswith("PC1")


# --- artifacts ---


def test_an_artifact_loads_back_only_with_its_hash_and_trusted_types():
    cfg = CASES[2]
    data = bundled_dataset(cfg.dataset)
    _result, estimator = evaluate(cfg, data)
    content, sha256 = serialise(LoadedModel(estimator))
    loaded = deserialise(content, sha256)
    assert (loaded.model.predict(data.X) == estimator.predict(data.X)).all()
    assert loaded.calibration is None and loaded.probabilities(data.X).shape == (len(data.y), 3)
    altered = bytearray(content)
    altered[len(altered) // 2] ^= 0xFF
    with pytest.raises(RegistryError, match="hash"):
        deserialise(bytes(altered), sha256)
    # a pipeline whose first step would call os.system on the inputs: refused before loading
    sneaky = Pipeline([("run", FunctionTransformer(os.system)), ("model", estimator.named_steps["model"])])
    hostile = sio.dumps({"model": sneaky, "calibration": None}, compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(RegistryError, match=r"posix\.system"):
        deserialise(hostile, hashlib.sha256(hostile).hexdigest())


@pytest.mark.parametrize(
    "query",
    [
        "?dataset=breast_cancer&model=svm&C=1&kernel=rbf&gamma=scale&scale=true&seed=42&cv=0",
        "?dataset=breast_cancer&model=svm&C=10&kernel=linear&scale=false&seed=7&cv=0",
        "?dataset=iris&model=svm&C=1&kernel=rbf&gamma=scale&seed=3&cv=0",
        "?dataset=wine&model=random_forest&n_estimators=20&seed=3&cv=0",
    ],
)
def test_served_predictions_are_scikit_learns_own_labels_and_calibrated_probabilities(query):
    """The API's one-pass shortcut for a binary SVM gives exactly what the two library calls give."""
    cfg = config(query)
    data = bundled_dataset(cfg.dataset)
    _result, estimator = evaluate(cfg, data)
    model = LoadedModel(estimator, calibration(cfg, data, estimator))
    labels, probabilities = model.predict(data.X)
    assert (labels == estimator.predict(data.X)).all()
    expected = (model.calibration or estimator).predict_proba(data.X)
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-12)
    one_row = model.predict(data.X[:1])
    assert one_row[0].tolist() == labels[:1].tolist()

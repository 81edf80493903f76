"""Explorateur ML value types: datasets, models and their hyper-parameters, the configuration (and
its URL codec), the results the page shows. Standard library only."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from dashhub.domain.query import encode_search

DATASETS = ("iris", "wine", "breast_cancer")
MODELS = ("svm", "random_forest", "logistic_regression", "knn", "gradient_boosting")

TEST_SIZE_RANGE = (10, 50)  # percent of the rows kept for the test
CV_RANGE = (2, 10)  # folds; 0 switches cross-validation off
SEED_RANGE = (0, 2**31 - 1)
MAX_SEARCH_FIELDS = 40


@dataclass(frozen=True)
class ParamSpec:
    """One hyper-parameter, under its scikit-learn name, and what values it may take.

    kind: "float" (a log-scale slider between low and high), "int" (a slider), "choice" (one of
    choices, as text). words: named values the parameter may take instead of a number ("scale" for
    gamma, "none" — unlimited — for a depth). only_if: shown and used only when another parameter
    has one of the values.
    """

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    step: int = 1
    only_if: tuple[str, tuple[str, ...]] | None = None

    def applies(self, params: dict[str, Any]) -> bool:
        if self.only_if is None:
            return True
        other, values = self.only_if
        return params.get(other) in values


MODEL_PARAMS: dict[str, tuple[ParamSpec, ...]] = {
    "svm": (
        ParamSpec("C", "float", 1.0, 1e-3, 1e3),
        ParamSpec("kernel", "choice", "rbf", choices=("rbf", "linear", "poly", "sigmoid")),
        ParamSpec(
            "gamma",
            "float",
            "scale",
            1e-4,
            1e2,
            words=("scale", "auto"),
            only_if=("kernel", ("rbf", "poly", "sigmoid")),
        ),
        ParamSpec("degree", "int", 3, 2, 6, only_if=("kernel", ("poly",))),
    ),
    "random_forest": (
        ParamSpec("n_estimators", "int", 100, 10, 500, step=10),
        ParamSpec("max_depth", "int", "none", 1, 50, words=("none",)),
        ParamSpec("min_samples_leaf", "int", 1, 1, 20),
    ),
    "logistic_regression": (
        ParamSpec("C", "float", 1.0, 1e-3, 1e3),
        ParamSpec("max_iter", "int", 1000, 100, 5000, step=100),
    ),
    "knn": (
        ParamSpec("n_neighbors", "int", 5, 1, 50),
        ParamSpec("weights", "choice", "uniform", choices=("uniform", "distance")),
        ParamSpec("p", "choice", "2", choices=("1", "2")),
    ),
    "gradient_boosting": (
        ParamSpec("n_estimators", "int", 100, 10, 500, step=10),
        ParamSpec("learning_rate", "float", 0.1, 1e-3, 1.0),
        ParamSpec("max_depth", "int", 3, 1, 10),
    ),
}


@dataclass(frozen=True)
class ExplorerConfig:
    """Everything that decides a result: same configuration, same numbers, on any host."""

    dataset: str = "iris"
    model: str = "svm"
    params: tuple[tuple[str, Any], ...] = ()  # the model's applicable hyper-parameters, by name
    test_size: int = 20  # percent
    scale: bool = True
    stratify: bool = True
    seed: int = 42
    cv: int = 5  # folds; 0: no cross-validation

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)

    def fingerprint(self) -> str:
        """A short stable hash of the configuration (cache keys, job names)."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def default_params(model: str) -> dict[str, Any]:
    return {spec.name: spec.default for spec in MODEL_PARAMS[model]}


def applicable(model: str, params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The parameters that apply to model (gamma only for kernels that use it...), in spec order."""
    return tuple((s.name, params[s.name]) for s in MODEL_PARAMS[model] if s.applies(params))


def param_value(spec: ParamSpec, raw: Any, word: Any = None) -> Any:
    """The value a control sends for spec, checked (ValueError with the reason when it is not
    one the control can send). Log sliders send log10 of the value; a parameter with words has a
    switch that sends one of them, or "value" to use the slider."""
    if spec.words:
        if word not in (*spec.words, "value"):
            raise ValueError(f"{spec.name}: expected one of {', '.join((*spec.words, 'value'))}")
        if word != "value":
            return word
    if spec.kind == "choice":
        if raw not in spec.choices:
            raise ValueError(f"{spec.name}: expected one of {', '.join(spec.choices)}")
        return raw
    if not isinstance(raw, int | float) or isinstance(raw, bool) or not math.isfinite(raw):
        raise ValueError(f"{spec.name}: expected a number")
    if spec.kind == "float":
        if not math.log10(spec.low) - 1e-9 <= raw <= math.log10(spec.high) + 1e-9:
            raise ValueError(f"{spec.name}: outside {spec.low:g}–{spec.high:g}")
        return float(f"{10**raw:.3g}")
    if raw != int(raw) or not spec.low <= raw <= spec.high:
        raise ValueError(f"{spec.name}: expected a whole number in {spec.low:g}–{spec.high:g}")
    return int(raw)


def slider_position(spec: ParamSpec, value: Any) -> float | int | str:
    """Where the control of spec stands for value (log10 for log sliders)."""
    if spec.kind == "float" and isinstance(value, int | float):
        return round(math.log10(value), 3)
    return value


# The seed's screen (« Écran du cours »): Breast Cancer, SVM with scikit-learn's defaults (C=1, rbf,
# gamma "scale"), 20 % test, raw features, plain split, random_state 42: accuracy 0.947, 455 train /
# 114 test, 30 features, 43 malignant / 71 benign in the test set — the seed's numbers.
SEED_SCREEN = ExplorerConfig(
    dataset="breast_cancer",
    model="svm",
    params=applicable("svm", default_params("svm")),
    test_size=20,
    scale=False,
    stratify=False,
    seed=42,
    cv=5,
)


# --- URL ⇄ configuration ---


@dataclass(frozen=True)
class Note:
    """Something the URL asked for that was changed or ignored; shown to the user, translated by
    the page from its kind ("unknown_value", "clamped", "not_a_number", "not_applicable")."""

    key: str
    kind: str
    given: str
    used: str = ""


def config_from_query(
    query: dict[str, list[str]], datasets: tuple[str, ...] = DATASETS
) -> tuple[ExplorerConfig, list[Note]]:
    """The configuration an address asks for: unknown keys ignored, bad values replaced by the
    default and out-of-range numbers clamped, each change reported as a Note. datasets: the ones
    the user may open (the bundled ones, and their own modelled datasets)."""
    notes: list[Note] = []
    dataset = _choice(query, "dataset", datasets, "iris", notes)
    model = _choice(query, "model", MODELS, "svm", notes)
    params = default_params(model)
    for spec in MODEL_PARAMS[model]:  # in spec order: a kernel is read before its gamma
        if spec.name not in query:
            continue
        if spec.applies(params):
            params[spec.name] = _param_from_text(spec, query[spec.name][-1], notes)
        else:
            notes.append(Note(spec.name, "not_applicable", query[spec.name][-1][:40]))
    config = ExplorerConfig(
        dataset=dataset,
        model=model,
        params=applicable(model, params),
        test_size=_int(query, "test_size", 20, TEST_SIZE_RANGE, notes),
        scale=_bool(query, "scale", True, notes),
        stratify=_bool(query, "stratify", True, notes),
        seed=_int(query, "seed", 42, SEED_RANGE, notes),
        cv=_cv(query, notes),
    )
    return config, notes


def query_for(config: ExplorerConfig) -> str:
    """The address of a configuration: every key, so that a shared link never depends on defaults."""
    params = {name: _param_text(value) for name, value in config.params}
    return encode_search(
        {
            "dataset": config.dataset,
            "model": config.model,
            **params,
            "test_size": str(config.test_size),
            "scale": _bool_text(config.scale),
            "stratify": _bool_text(config.stratify),
            "seed": str(config.seed),
            "cv": str(config.cv),
        }
    )


def _choice(query, key: str, allowed: tuple[str, ...], default: str, notes: list[Note]) -> str:
    if key not in query:
        return default
    value = query[key][-1]
    if value in allowed:
        return value
    notes.append(Note(key, "unknown_value", value[:40], default))
    return default


def _param_from_text(spec: ParamSpec, text: str, notes: list[Note]) -> Any:
    text = text.strip()
    if spec.kind == "choice":
        if text in spec.choices:
            return text
        notes.append(Note(spec.name, "unknown_value", text[:40], str(spec.default)))
        return spec.default
    if text.lower() in spec.words:
        return text.lower()
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        notes.append(Note(spec.name, "not_a_number", text[:40], _param_text(spec.default)))
        return spec.default
    clamped = min(max(number, spec.low), spec.high)
    if spec.kind == "int":
        clamped = round(clamped)
    if clamped != number:
        notes.append(Note(spec.name, "clamped", text[:40], _param_text(clamped)))
    return clamped


def _int(query, key: str, default: int, bounds: tuple[int, int], notes: list[Note]) -> int:
    if key not in query:
        return default
    text = query[key][-1]
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        notes.append(Note(key, "not_a_number", text[:40], str(default)))
        return default
    clamped = int(min(max(round(number), bounds[0]), bounds[1]))
    if clamped != number:
        notes.append(Note(key, "clamped", text[:40], str(clamped)))
    return clamped


def _cv(query, notes: list[Note]) -> int:
    if query.get("cv", [""])[-1] in ("0", "off", "false"):
        return 0
    return _int(query, "cv", 5, CV_RANGE, notes)


def _bool(query, key: str, default: bool, notes: list[Note]) -> bool:
    if key not in query:
        return default
    text = query[key][-1].lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    notes.append(Note(key, "unknown_value", text[:40], _bool_text(default)))
    return default


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _param_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --- results ---


@dataclass(frozen=True)
class ClassRow:
    """One line of the classification report."""

    label: str  # a class name, or "accuracy", "macro avg", "weighted avg"
    precision: float | None
    recall: float | None
    f1: float
    support: int


@dataclass(frozen=True)
class RocCurve:
    label: str
    fpr: list[float]
    tpr: list[float]
    auc: float


@dataclass(frozen=True)
class Importance:
    kind: str  # "impurity", "coefficients" or "permutation"
    features: list[str]  # most important first
    values: list[float]
    spread: list[float] | None = None  # std over permutation repeats


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    samples: int
    features: list[str]
    classes: list[str]
    class_counts: list[int]  # per class, whole dataset
    train_counts: list[int]
    test_counts: list[int]
    complete_rows: int | None = None  # sampled from this many complete rows (a user's large dataset)


@dataclass(frozen=True)
class ExplorerResult:
    """What the page shows for a configuration, as plain data (cached, drawn by pure builders)."""

    config: ExplorerConfig
    info: DatasetInfo
    accuracy: float
    report: list[ClassRow]
    confusion: list[list[int]]  # [true class][predicted class]
    roc: list[RocCurve]
    cv_scores: list[float]  # empty when cross-validation is off
    importance: Importance | None  # None: permutation importance, computed on demand
    fit_seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def n_train(self) -> int:
        return sum(self.info.train_counts)

    @property
    def n_test(self) -> int:
        return sum(self.info.test_counts)

    @property
    def cv_mean(self) -> float | None:
        return sum(self.cv_scores) / len(self.cv_scores) if self.cv_scores else None

    @property
    def cv_std(self) -> float | None:
        if not self.cv_scores:
            return None
        mean = self.cv_mean
        return math.sqrt(sum((s - mean) ** 2 for s in self.cv_scores) / len(self.cv_scores))


@dataclass(frozen=True)
class Boundary:
    """The model trained on two axes (two features, or the first two principal components), its
    predicted class over a grid, and the rows it was trained and tested on."""

    x_label: str
    y_label: str
    x: list[float]  # grid columns
    y: list[float]  # grid rows
    z: list[list[int]]  # predicted class index per grid cell [row][column]
    points: dict[str, tuple[list[float], list[float], list[int]]]  # "train"/"test": xs, ys, classes
    accuracy: float  # of the two-axis model on its test rows


@dataclass(frozen=True)
class Distribution:
    """One feature's histogram per class (shared bins)."""

    feature: str
    edges: list[float]
    counts: dict[str, list[int]]  # class → count per bin


# --- the model registry ---

MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


@dataclass(frozen=True)
class ModelVersion:
    """One deployed version of a named model (a row of the models table, without its artifact)."""

    id: int
    name: str
    version: int
    dataset: str
    algorithm: str
    params: dict[str, Any]
    config: str  # the explorer address of the configuration it was trained with
    metrics: dict[str, Any]  # accuracy, cv_mean, cv_std, n_train, n_test
    features: list[dict[str, str]]  # [{"name", "type"}]
    classes: list[str]
    artifact_sha256: str
    created_at: str  # ISO 8601, UTC
    created_by: str
    active: bool

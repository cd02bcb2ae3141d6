"""Site adaptation: refit the reading head (ml.heads) on a site's labelled reference cases.

The network stays frozen; a case is its logit, its embedding, its label, its patient and a weight (the
inverse of its chance of having been reviewed, so quality-control samples stand for every cleared
reading). Candidates are compared by patient-grouped cross-validation:

- ``temperature``: a new temperature and bias on the logit (two numbers: safe with few cases);
- ``logistic``: a logistic regression on the logit and the embedding's leading principal components
  (of the standardised embedding, at most EMBEDDING_COMPONENTS), their weights shrunk towards zero by
  an L2 penalty whose strength is itself chosen by cross-validation (a strong penalty gives back the
  temperature head). The components keep the fit fast and stable; the stored head folds them back
  into one weight per embedding feature.

Every figure reported for the adapted head is **nested** out-of-fold: each outer fold chooses its
method, strength and operating point on the other folds only, then reads its own cases. The shipped
head is read on the same cases. The guardrails refuse a head that has too few cases, one that does
not beat the shipped head on that log-loss, and one whose out-of-fold flagged sensitivity is under
99 %. NumPy, SciPy and scikit-learn only: the web and the worker have no TensorFlow.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.optimize import minimize
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from ml.constants import REVIEW_BAND_SENSITIVITY, SCREENING_SENSITIVITY
from ml.heads import Head, sigmoid

MIN_CASES = 200
MIN_PER_CLASS = 50
FOLDS = 5
# L2 penalties on the embedding's weights, in units of cases: 1000 is a temperature head in practice.
LOGISTIC_STRENGTHS = (3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
EMBEDDING_COMPONENTS = 64
# How many cases' worth of evidence hold the slope and intercept to the shipped head's.
ANCHOR_STRENGTH = 2.0
RELIABILITY_BINS = 10
BOOTSTRAP_ROUNDS = 500
METRICS = (
    "auc", "accuracy", "sensitivity", "specificity", "ece", "flagged_sensitivity", "normals_flagged", "log_loss",
)  # fmt: skip


@dataclass
class ReferenceSet:
    labels: np.ndarray  # 0 normal, 1 pneumonia
    logits: np.ndarray  # (n,)
    embeddings: np.ndarray  # (n, d)
    groups: np.ndarray  # patient keys: a patient's films stay in one fold
    weights: np.ndarray  # 1 / chance of having been reviewed; 1 for imported films

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        self.logits = np.asarray(self.logits, dtype=np.float64).reshape(-1)
        embeddings = np.asarray(self.embeddings, dtype=np.float64)
        # reshape cannot infer -1 from an empty array: a site with no cases yet has width 0
        self.embeddings = embeddings.reshape(len(self.labels), -1 if embeddings.size else 0)
        self.groups = np.asarray(self.groups).astype(str).reshape(-1)
        self.weights = np.asarray(self.weights, dtype=np.float64).reshape(-1)

    def __len__(self):
        return len(self.labels)

    def subset(self, index) -> ReferenceSet:
        return ReferenceSet(
            self.labels[index], self.logits[index], self.embeddings[index], self.groups[index], self.weights[index]
        )

    @property
    def counts(self) -> tuple[int, int]:
        return int((self.labels == 0).sum()), int((self.labels == 1).sum())


def too_few_cases(cases: ReferenceSet) -> str | None:
    normal, pneumonia = cases.counts
    if len(cases) < MIN_CASES:
        return f"Only {len(cases)} reference cases; adaptation needs at least {MIN_CASES}."
    if min(normal, pneumonia) < MIN_PER_CLASS:
        return f"{normal} normal and {pneumonia} pneumonia cases; adaptation needs at least {MIN_PER_CLASS} of each."
    return None


# Fitting ------------------------------------------------------------------------------------------


def weighted_log_loss(labels, scores, weights) -> float:
    scores = np.asarray(scores, dtype=np.float64)
    losses = np.maximum(scores, 0) - scores * labels + np.log1p(np.exp(-np.abs(scores)))
    return float(np.sum(weights * losses) / np.sum(weights))


def _fit_linear(features, labels, weights, penalised: int, strength: float, shipped: np.ndarray, warm=None):
    """Weighted logistic regression from the shipped head's slope and intercept (`shipped`, the first two
    coefficients): the last `penalised` coefficients carry an L2 penalty of `strength` cases towards
    zero, and the slope and intercept one of ANCHOR_STRENGTH cases towards the shipped head's, so that
    films a site's cases separate perfectly cannot drive them to infinity. The log-loss and its
    gradient are exact, so L-BFGS converges in a few dozen steps."""
    total = weights.sum()
    pull = np.zeros(features.shape[1])
    pull[:2] = ANCHOR_STRENGTH
    if penalised:
        pull[-penalised:] = strength
    target = np.zeros(features.shape[1])
    target[:2] = shipped[:2]

    def loss_and_gradient(coefficients):
        scores = features @ coefficients
        away = coefficients - target
        loss = weighted_log_loss(labels, scores, weights) + 0.5 * np.sum(pull * away**2) / total
        gradient = features.T @ (weights * (sigmoid(scores) - labels)) / total + pull * away / total
        return loss, gradient

    start = np.concatenate([shipped[:2], np.zeros(features.shape[1] - 2)]) if warm is None else warm
    return minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B", options={"maxiter": 300}).x


def principal_axes(centred: np.ndarray, count: int) -> np.ndarray:
    """The `count` leading principal axes (rows, unit length) of already-centred features, from the
    d x d covariance: much cheaper than an SVD of the cases when there are thousands of them."""
    _, vectors = np.linalg.eigh(centred.T @ centred)
    return vectors[:, ::-1][:, : max(1, count)].T


@dataclass(frozen=True)
class Candidate:
    method: str  # "temperature" or "logistic"
    strength: float | None = None

    def fit(self, cases: ReferenceSet, shipped: Head) -> Head:
        """The head fitted on these cases, with a placeholder operating point (set from OOF later)."""
        return fit_candidates(cases, shipped, (self,))[self]

    @property
    def name(self) -> str:
        return self.method if self.strength is None else f"{self.method} (L2 {self.strength:g})"


CANDIDATES = (Candidate("temperature"), *(Candidate("logistic", s) for s in LOGISTIC_STRENGTHS))


def fit_candidates(cases: ReferenceSet, shipped: Head, candidates=CANDIDATES) -> dict[Candidate, Head]:
    """Each candidate's head fitted on these cases (placeholder operating points). The logistic ones
    share one embedding basis and warm-start from the next stronger penalty."""
    ones = np.ones((len(cases), 1))
    shipped_start = np.array([1.0 / shipped.params["temperature"], shipped.params["bias"]])
    heads = {}
    if Candidate("temperature") in candidates:
        a, c = _fit_linear(np.hstack([cases.logits[:, None], ones]), cases.labels, cases.weights, 0, 0.0, shipped_start)
        heads[Candidate("temperature")] = Head(
            "temperature", {"temperature": float(1.0 / a), "bias": float(c)}, 0.5, 0.5
        )
    logistic = sorted((c for c in candidates if c.method == "logistic"), key=lambda c: -c.strength)
    if not logistic:
        return heads
    mean = cases.embeddings.mean(axis=0)
    scale = cases.embeddings.std(axis=0) + 1e-6
    standardised = (cases.embeddings - mean) / scale
    axes = principal_axes(standardised, min(EMBEDDING_COMPONENTS, len(cases) // 4))
    projected = standardised @ axes.T
    features = np.hstack([cases.logits[:, None], ones, projected])
    coefficients = None
    for candidate in logistic:
        coefficients = _fit_linear(
            features, cases.labels, cases.weights, projected.shape[1], candidate.strength, shipped_start, coefficients
        )
        params = {
            "logit_weight": float(coefficients[0]),
            "intercept": float(coefficients[1]),
            "weights": (axes.T @ coefficients[2:]).tolist(),
            "mean": mean.tolist(),
            "scale": scale.tolist(),
            "strength": float(candidate.strength),
        }
        heads[candidate] = Head("logistic", params, 0.5, 0.5)
    return heads


def grouped_folds(cases: ReferenceSet, folds: int, seed: int) -> list[np.ndarray]:
    """Index arrays of `folds` class-stratified parts, each patient's films in one part only."""
    folds = min(folds, len(set(cases.groups[cases.labels == 0])), len(set(cases.groups[cases.labels == 1])))
    splitter = StratifiedGroupKFold(n_splits=max(2, folds), shuffle=True, random_state=seed)
    return [held for _, held in splitter.split(np.zeros(len(cases)), cases.labels, cases.groups)]


def out_of_fold(cases: ReferenceSet, shipped: Head, parts: list[np.ndarray]) -> dict[Candidate, np.ndarray]:
    """Every candidate's out-of-fold probabilities: each part read by heads fitted on the others."""
    probabilities = {candidate: np.empty(len(cases)) for candidate in CANDIDATES}
    for held in parts:
        training = np.setdiff1d(np.arange(len(cases)), held)
        for candidate, head in fit_candidates(cases.subset(training), shipped).items():
            probabilities[candidate][held] = head.probabilities(cases.logits[held], cases.embeddings[held])
    return probabilities


def operating_point(labels, probabilities, weights) -> tuple[float, float]:
    """(threshold, review_from) from out-of-fold probabilities: the threshold with the best weighted
    balanced accuracy, and the highest review start keeping REVIEW_BAND_SENSITIVITY of the weighted
    pneumonia flagged (half a point over the 99 % promised: the margin for films not yet seen)."""
    order = np.unique(probabilities)
    candidates = (order[:-1] + order[1:]) / 2 if len(order) > 1 else order
    positive, negative = labels == 1, labels == 0
    predicted = probabilities[None, :] >= candidates[:, None]
    sensitivity = (predicted[:, positive] * weights[positive]).sum(axis=1) / weights[positive].sum()
    specificity = (~predicted[:, negative] * weights[negative]).sum(axis=1) / weights[negative].sum()
    threshold = float(candidates[int(np.argmax(sensitivity + specificity))])
    ranked = np.argsort(probabilities[positive])
    kept_share = 1.0 - np.cumsum(weights[positive][ranked]) / weights[positive].sum()  # share above each film
    allowed = np.searchsorted(-kept_share, -REVIEW_BAND_SENSITIVITY, side="right")
    review_from = float(probabilities[positive][ranked][min(allowed, len(ranked) - 1)])
    return threshold, min(review_from, threshold)


def with_operating_point(head: Head, threshold: float, review_from: float) -> Head:
    return Head(head.method, head.params, threshold, review_from)


def choose(cases: ReferenceSet, shipped: Head, seed: int) -> tuple[Head, list[dict]]:
    """The candidate with the lowest grouped cross-validated log-loss, fitted on every case, with its
    operating point from its out-of-fold probabilities; and the comparison table."""
    table, best = [], None
    for candidate, probabilities in out_of_fold(cases, shipped, grouped_folds(cases, FOLDS, seed)).items():
        loss = weighted_log_loss(cases.labels, _logit(probabilities), cases.weights)
        table.append({"method": candidate.method, "strength": candidate.strength, "log_loss": loss})
        if best is None or loss < best[0]:
            best = (loss, candidate, probabilities)
    _, candidate, probabilities = best
    threshold, review_from = operating_point(cases.labels, probabilities, cases.weights)
    return with_operating_point(candidate.fit(cases, shipped), threshold, review_from), table


def _logit(probabilities):
    clipped = np.clip(probabilities, 1e-12, 1 - 1e-12)
    return np.log(clipped / (1 - clipped))


# Figures ------------------------------------------------------------------------------------------


def weighted_ece(labels, probabilities, weights, bins: int = 15) -> float:
    which = np.clip(np.digitize(probabilities, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    error = 0.0
    for index in range(bins):
        members = which == index
        if members.any():
            w = weights[members]
            error += w.sum() * abs(
                np.average(labels[members], weights=w) - np.average(probabilities[members], weights=w)
            )
    return float(error / weights.sum())


def figures(labels, probabilities, flagged, positive_call, weights) -> dict:
    """Weighted figures of one head's readings: probabilities, its calls and what it flags."""
    pos, neg = labels == 1, labels == 0
    both = pos.any() and neg.any()
    correct = positive_call == pos
    return {
        "auc": float(roc_auc_score(labels, probabilities, sample_weight=weights)) if both else float("nan"),
        "accuracy": float(np.average(correct, weights=weights)),
        "sensitivity": float(np.average(positive_call[pos], weights=weights[pos])) if pos.any() else float("nan"),
        "specificity": float(np.average(~positive_call[neg], weights=weights[neg])) if neg.any() else float("nan"),
        "ece": weighted_ece(labels, probabilities, weights),
        "flagged_sensitivity": float(np.average(flagged[pos], weights=weights[pos])) if pos.any() else float("nan"),
        "normals_flagged": float(np.average(flagged[neg], weights=weights[neg])) if neg.any() else float("nan"),
        "log_loss": weighted_log_loss(labels, _logit(probabilities), weights),
    }


def with_intervals(cases: ReferenceSet, readings: dict, seed: int) -> dict:
    """Each head's figures with 95 % percentile intervals, resampling patients (not films)."""
    rng = np.random.default_rng(seed)
    patients, inverse = np.unique(cases.groups, return_inverse=True)
    members = [np.flatnonzero(inverse == i) for i in range(len(patients))]
    draws = {name: {m: [] for m in METRICS} for name in readings}
    for _ in range(BOOTSTRAP_ROUNDS):
        index = np.concatenate([members[i] for i in rng.integers(0, len(patients), len(patients))])
        if cases.labels[index].min() == cases.labels[index].max():
            continue
        for name, (p, flagged, call) in readings.items():
            drawn = figures(cases.labels[index], p[index], flagged[index], call[index], cases.weights[index])
            for metric, value in drawn.items():
                draws[name][metric].append(value)
    result = {}
    for name, (p, flagged, call) in readings.items():
        point = figures(cases.labels, p, flagged, call, cases.weights)
        result[name] = {
            m: {"value": point[m], "ci": [float(np.nanquantile(draws[name][m], q)) for q in (0.025, 0.975)]}
            for m in METRICS
        }
    return result


def reliability(labels, probabilities, weights, bins: int = RELIABILITY_BINS) -> list[dict]:
    which = np.clip(np.digitize(probabilities, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    result = []
    for index in range(bins):
        members = which == index
        if members.any():
            w = weights[members]
            result.append(
                {
                    "confidence": float(np.average(probabilities[members], weights=w)),
                    "observed": float(np.average(labels[members], weights=w)),
                    "count": int(members.sum()),
                }
            )
    return result


# The whole adaptation -----------------------------------------------------------------------------


@dataclass
class AdaptationReport:
    head: Head | None
    refusal: str | None
    cases: int
    normal: int
    pneumonia: int
    candidates: list[dict] = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    reliability: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def may_activate(self) -> bool:
        return self.refusal is None and self.head is not None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["head"] = None if self.head is None else self.head.as_dict()
        return _json_safe(data)

    @classmethod
    def from_dict(cls, data: dict) -> AdaptationReport:
        values = dict(data)
        values["head"] = None if data.get("head") is None else Head.from_dict(data["head"])
        return cls(**values)

    def text(self) -> str:
        lines = [f"Reference cases: {self.cases} ({self.normal} normal, {self.pneumonia} pneumonia)."]
        if self.candidates:
            lines.append("Candidates, patient-grouped cross-validated log-loss:")
            lines += [
                f"  {Candidate(c['method'], c['strength']).name:<24} {c['log_loss']:.4f}" for c in self.candidates
            ]
        if self.figures:
            lines.append("Nested cross-validated figures (95 % CI), the same cases for both heads:")
            lines.append(f"  {'':<22}{'shipped':>24}{'adapted':>24}")
            for metric in METRICS:
                cells = []
                for name in ("shipped", "adapted"):
                    f = self.figures[name][metric]
                    cells.append(f"{f['value']:.3f} ({f['ci'][0]:.3f}-{f['ci'][1]:.3f})")
                lines.append(f"  {metric.replace('_', ' '):<22}{cells[0]:>24}{cells[1]:>24}")
        if self.head is not None:
            lines.append(
                f"Adapted head: {self.head.method}, pneumonia from {self.head.threshold:.3f}, "
                f"review from {self.head.review_from:.3f}."
            )
        lines.append(f"Refused: {self.refusal}" if self.refusal else "It passes the guardrails and may be activated.")
        lines.append(f"({self.seconds:.1f} s)")
        return "\n".join(lines)


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.floating | np.integer):
        return _json_safe(value.item())
    return value


def nested_readings(cases: ReferenceSet, shipped: Head, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities, flagged, called pneumonia) of the whole adaptation procedure, each outer fold's
    cases read by a head chosen and fitted without them."""
    probabilities = np.empty(len(cases))
    flagged = np.zeros(len(cases), dtype=bool)
    called = np.zeros(len(cases), dtype=bool)
    for held in grouped_folds(cases, FOLDS, seed + 1):
        training = np.setdiff1d(np.arange(len(cases)), held)
        head, _ = choose(cases.subset(training), shipped, seed)
        probabilities[held] = head.probabilities(cases.logits[held], cases.embeddings[held])
        flagged[held] = probabilities[held] >= head.review_from
        called[held] = probabilities[held] >= head.threshold
    return probabilities, flagged, called


def adapt(cases: ReferenceSet, shipped: Head, seed: int = 0) -> AdaptationReport:
    started = time.perf_counter()
    normal, pneumonia = cases.counts
    report = AdaptationReport(None, too_few_cases(cases), len(cases), normal, pneumonia)
    if min(len(set(cases.groups[cases.labels == c])) for c in (0, 1)) < 2 * FOLDS:
        report.refusal = report.refusal or "Too few patients of each class to cross-validate."
        report.seconds = time.perf_counter() - started
        return report
    report.head, report.candidates = choose(cases, shipped, seed)
    shipped_p = shipped.probabilities(cases.logits, cases.embeddings)
    adapted_p, adapted_flagged, adapted_called = nested_readings(cases, shipped, seed)
    readings = {
        "shipped": (shipped_p, shipped_p >= shipped.review_from, shipped_p >= shipped.threshold),
        "adapted": (adapted_p, adapted_flagged, adapted_called),
    }
    report.figures = with_intervals(cases, readings, seed)
    report.reliability = {name: reliability(cases.labels, r[0], cases.weights) for name, r in readings.items()}
    report.refusal = report.refusal or guardrail_refusal(report.figures)
    report.seconds = time.perf_counter() - started
    return report


def guardrail_refusal(figures: dict) -> str | None:
    shipped, adapted = figures["shipped"], figures["adapted"]
    if adapted["log_loss"]["value"] >= shipped["log_loss"]["value"]:
        return (
            f"The adapted head does not beat the shipped one on cross-validated log-loss "
            f"({adapted['log_loss']['value']:.4f} against {shipped['log_loss']['value']:.4f})."
        )
    if adapted["flagged_sensitivity"]["value"] < SCREENING_SENSITIVITY:
        return (
            f"Out of fold, the adapted head flags {adapted['flagged_sensitivity']['value']:.1%} of pneumonia "
            f"for review; at least {SCREENING_SENSITIVITY:.0%} is required."
        )
    return None

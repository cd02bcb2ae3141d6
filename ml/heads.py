"""Reading heads: how the frozen network's logit and embedding become a probability and a triage.

The network (the LiteRT model) is the same everywhere; what differs between the shipped model and a
site's adaptation is only this head, a few numbers stored as JSON:

- ``shipped`` and ``temperature``: ``p = sigmoid(logit / temperature + bias)``. The shipped head's
  numbers come from the manifest; an adapted one is refitted on a site's reference films.
- ``logistic``: ``p = sigmoid(a * logit + w . standardised(embedding) + c)``, a regularised logistic
  regression on the embedding that starts from the network's own logit.

Every head carries its operating point: pneumonia from ``threshold``, "indeterminate, a radiologist
will look" from ``review_from`` up to it. Plain NumPy, so the web and the worker need no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

METHODS = ("shipped", "temperature", "logistic")


def sigmoid(values):
    """1 / (1 + e^-x) without overflow for scores far from zero (a shifted site's logits can be)."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(values, dtype=np.float64)))


@dataclass(frozen=True)
class Head:
    method: str
    params: dict = field(repr=False)
    threshold: float
    review_from: float

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown head method {self.method!r}")
        if not 0.0 <= self.review_from <= self.threshold <= 1.0:
            raise ValueError("a head needs 0 <= review_from <= threshold <= 1")

    def scores(self, logits, embeddings=None) -> np.ndarray:
        """The calibrated log-odds of pneumonia for a batch of logits (and embeddings, shape (n, d))."""
        logits = np.asarray(logits, dtype=np.float64).reshape(-1)
        if self.method in ("shipped", "temperature"):
            return logits / self.params["temperature"] + self.params["bias"]
        embeddings = np.atleast_2d(np.asarray(embeddings, dtype=np.float64))
        standardised = (embeddings - np.asarray(self.params["mean"])) / np.asarray(self.params["scale"])
        return (
            self.params["logit_weight"] * logits
            + standardised @ np.asarray(self.params["weights"])
            + self.params["intercept"]
        )

    def probabilities(self, logits, embeddings=None) -> np.ndarray:
        return sigmoid(self.scores(logits, embeddings))

    def probability(self, logit: float, embedding=None) -> float:
        return float(self.probabilities([logit], None if embedding is None else [embedding])[0])

    def label(self, probability: float) -> str:
        return "pneumonia" if probability >= self.threshold else "normal"

    def indeterminate(self, probability: float) -> bool:
        return self.review_from <= probability < self.threshold

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "params": self.params,
            "threshold": float(self.threshold),
            "review_from": float(self.review_from),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Head:
        return cls(data["method"], data["params"], float(data["threshold"]), float(data["review_from"]))

    @classmethod
    def from_manifest(cls, manifest: dict) -> Head:
        calibration = manifest["calibration"]
        return cls(
            "shipped",
            {"temperature": float(calibration["temperature"]), "bias": float(calibration["bias"])},
            float(calibration["threshold"]),
            float(calibration["review_band"][0]),
        )

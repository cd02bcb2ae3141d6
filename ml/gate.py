"""Out-of-distribution gate: refuse what is not a frontal chest X-ray, with a reason a person can act on.

Three layers, cheapest first: the decoded image itself (colour, blank), its grey-level statistics
(documents and screenshots are dominated by a flat background), and the CNN's pooled features, whose
Mahalanobis distance to the training X-rays flags everything else the model has never seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.preprocessing import DecodedImage, squash

COLOUR_PHOTO = (
    "This looks like a colour photograph or picture, not an X-ray. Upload the X-ray image file itself "
    "(exported from the X-ray system or viewer), not a photo of it."
)
BLANK = "The image is blank or almost uniform. Check that you chose the right file and upload the X-ray again."
DOCUMENT = "This looks like a document, screenshot or drawing, not an X-ray. Upload the X-ray image file itself."
NOT_A_CHEST_XRAY = (
    "This does not look like a frontal chest X-ray. This tool only reads front-view chest X-rays; "
    "photographs, other body parts and other kinds of scans (CT, MRI, ultrasound) cannot be read."
)


@dataclass(frozen=True)
class GateParameters:
    """Fitted on training X-rays by ml.export; stored in the artefacts as gate.npz."""

    mean: np.ndarray  # (D,) mean embedding of training X-rays
    precision: np.ndarray  # (D, D) inverse of the shrunk covariance
    max_distance: float  # Mahalanobis distance above which an image is refused
    max_colourfulness: float = 0.04
    min_contrast: float = 0.02
    max_flat_fraction: float = 0.35

    def save(self, path) -> None:
        np.savez_compressed(
            path,
            mean=self.mean.astype(np.float32),
            precision=self.precision.astype(np.float32),
            scalars=np.array([self.max_distance, self.max_colourfulness, self.min_contrast, self.max_flat_fraction]),
        )

    @classmethod
    def load(cls, path) -> GateParameters:
        with np.load(path) as stored:
            distance, colour, contrast, flat = stored["scalars"].tolist()
            return cls(stored["mean"], stored["precision"], distance, colour, contrast, flat)


def flat_fraction(grey: np.ndarray) -> float:
    """Share of pixels on the single most common of 64 grey levels: documents and UIs are mostly flat."""
    levels = np.clip((grey * 63).round().astype(np.int64), 0, 63)
    return float(np.bincount(levels.ravel(), minlength=64).max() / levels.size)


def image_reason(decoded: DecodedImage, parameters: GateParameters) -> str | None:
    """Refusal reason from the pixels alone (no model needed), or None."""
    if decoded.colourfulness > parameters.max_colourfulness:
        return COLOUR_PHOTO
    small = squash(decoded.grey)
    if float(small.std()) < parameters.min_contrast:
        return BLANK
    if flat_fraction(small) > parameters.max_flat_fraction:
        return DOCUMENT
    return None


def mahalanobis(embeddings: np.ndarray, parameters: GateParameters) -> np.ndarray:
    centred = np.atleast_2d(embeddings) - parameters.mean
    return np.sqrt(np.einsum("ij,jk,ik->i", centred, parameters.precision, centred))


def embedding_reason(embedding: np.ndarray, parameters: GateParameters) -> str | None:
    if float(mahalanobis(embedding, parameters)[0]) > parameters.max_distance:
        return NOT_A_CHEST_XRAY
    return None


def fit(
    train_embeddings: np.ndarray, validation_embeddings: np.ndarray, false_rejection: float, shrinkage: float = 0.1
) -> GateParameters:
    """Gaussian fit on training embeddings; the distance threshold keeps 1 - false_rejection of validation."""
    mean = train_embeddings.mean(axis=0)
    covariance = np.cov(train_embeddings, rowvar=False)
    covariance = (1 - shrinkage) * covariance + shrinkage * np.eye(len(mean)) * np.trace(covariance) / len(mean)
    provisional = GateParameters(mean, np.linalg.inv(covariance), np.inf)
    distances = mahalanobis(validation_embeddings, provisional)
    # A 10 % margin over the quantile: genuine X-rays from other hospitals sit a little further out.
    threshold = float(np.quantile(distances, 1 - false_rejection) * 1.1)
    return GateParameters(mean, provisional.precision, threshold)

"""Serving: `Predictor.load()` once, then `predictor.predict(bytes_or_path) -> Reading`.

Runs the exported LiteRT model (no TensorFlow needed), applies the out-of-distribution gate and a
reading head (`ml.heads`: the shipped calibration and thresholds from the artefacts' manifest, or a
site's adaptation), and returns the class activation map as a heatmap aligned with the (squashed)
input image. Each reading keeps the network's raw logit and embedding, so a site can adapt the head
later without reading the film again.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ml import gate
from ml.constants import ARTIFACTS_DIR, IMAGE_SIZE, MANIFEST_NAME
from ml.errors import UnreadableImage
from ml.heads import Head
from ml.preprocessing import decode, squash, to_model_input


@dataclass(frozen=True)
class Reading:
    """The model's reading of one image; `rejected` readings carry only a reason."""

    model_version: str
    reason: str | None = None
    probability: float | None = None  # calibrated probability of pneumonia
    label: str | None = None  # "normal" or "pneumonia"
    indeterminate: bool = False  # inside the review band: neither reading is safe without a radiologist
    heatmap: np.ndarray | None = field(default=None, repr=False)  # (IMAGE_SIZE, IMAGE_SIZE) in [0, 1]
    timings_ms: dict = field(default_factory=dict)
    logit: float | None = None  # the network's raw output, before any head
    embedding: np.ndarray | None = field(default=None, repr=False)  # its pooled features (float32)
    embedding_distance: float | None = None  # Mahalanobis distance to the training films' features
    threshold: float | None = None  # the head's operating point: pneumonia from here...
    review_from: float | None = None  # ...indeterminate (a radiologist looks) from here up to it

    @property
    def rejected(self) -> bool:
        return self.reason is not None

    @property
    def status(self) -> str:
        return "rejected" if self.rejected else "ok"

    @property
    def needs_review(self) -> bool:
        return not self.rejected and (self.label == "pneumonia" or self.indeterminate)


class Predictor:
    def __init__(self, manifest: dict, directory: Path, num_threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self.manifest = manifest
        self.version = manifest["version"]
        self.model_path = directory / manifest["serving_model"]
        self.shipped_head = Head.from_manifest(manifest)
        self.threshold = self.shipped_head.threshold
        self.review_from = self.shipped_head.review_from
        # Which class activation map draws the heatmap: chosen by the deletion test at export.
        self.heatmap_source = manifest.get("heatmap", {}).get("source", "cam")
        self.gate = gate.GateParameters.load(directory / manifest["gate"]["file"])
        self._interpreter = Interpreter(model_path=str(self.model_path), num_threads=num_threads)
        self._runner = self._interpreter.get_signature_runner()
        self._lock = threading.Lock()  # one interpreter is not safe to invoke from two threads at once

    @classmethod
    def load(cls, path: str | Path | None = None, num_threads: int = 1) -> Predictor:
        """Load the artefacts in `path` (a directory or its manifest); default: the shipped model."""
        path = Path(path) if path else ARTIFACTS_DIR
        manifest_path = path / MANIFEST_NAME if path.is_dir() else path
        manifest = json.loads(manifest_path.read_text())
        return cls(manifest, manifest_path.parent, num_threads=num_threads)

    def run_model(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Raw outputs (logit, cam, embedding) for a batch of model inputs of shape (1, S, S, 1)."""
        with self._lock:
            return self._runner(image=batch.astype(np.float32))

    def predict(self, source: bytes | str | Path, head: Head | None = None, head_label: str = "") -> Reading:
        """Read one film. `head` (default: the shipped one) turns the network's outputs into the
        probability and triage; `head_label` names it in the reading's version (`+site-3.2`)."""
        version = self.version + head_label
        started = time.perf_counter()
        try:
            decoded = decode(source)
        except UnreadableImage as error:
            return Reading(version, reason=str(error))
        small = squash(decoded.grey)  # once: the gate and the model input both start from it
        reason = gate.image_reason(decoded, self.gate, small)
        if reason:
            return Reading(version, reason=reason)
        model_input = to_model_input(small)[np.newaxis]  # the training path; squash of `small` is a no-op
        prepared = time.perf_counter()
        outputs = self.run_model(model_input)
        ran = time.perf_counter()
        embedding = outputs["embedding"][0]
        distance = float(self.gate.embedding.distances(embedding)[0])
        reason = gate.model_reason(model_input[0], distance, self.gate)
        if reason:
            return Reading(version, reason=reason)
        return self.reading_from_logits(
            float(outputs["logit"][0, 0]),
            outputs[self.heatmap_source][0],
            {"preprocess": (prepared - started) * 1000, "model": (ran - prepared) * 1000},
            embedding=embedding,
            embedding_distance=distance,
            head=head,
            version=version,
        )

    def calibrate(self, logits):
        """The shipped head's calibrated pneumonia probability for raw logits."""
        return self.shipped_head.probabilities(logits)

    def reading_from_logits(
        self,
        logit: float,
        cam: np.ndarray,
        timings_ms: dict,
        embedding: np.ndarray | None = None,
        embedding_distance: float | None = None,
        head: Head | None = None,
        version: str | None = None,
    ) -> Reading:
        head = head or self.shipped_head
        probability = head.probability(logit, embedding)
        return Reading(
            version or self.version,
            probability=probability,
            label=head.label(probability),
            indeterminate=head.indeterminate(probability),
            heatmap=self.heatmap(cam, probability),
            timings_ms=timings_ms,
            logit=float(logit),
            embedding=None if embedding is None else np.asarray(embedding, dtype=np.float32),
            embedding_distance=embedding_distance,
            threshold=head.threshold,
            review_from=head.review_from,
        )

    def heatmap(self, cam: np.ndarray, probability: float) -> np.ndarray:
        """Where the evidence sits, scaled by how strong the reading is, upsampled to the input size.

        Each CAM cell is ranked against the image's other cells (0 weakest, 1 strongest), then scaled
        by the calibrated probability: a confident pneumonia shows its strongest regions hot, while a
        normal reading stays almost transparent instead of showing noise at full colour.
        """
        cam = np.asarray(cam, dtype=np.float32)
        spread = float(cam.max() - cam.min())
        relative = (cam - cam.min()) / spread if spread > 1e-6 else np.zeros_like(cam)
        scaled = (relative * probability).astype(np.float32)
        resized = Image.fromarray(scaled, mode="F").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
        return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)

"""Hyperparameters and fixed paths of the pneumonia classifier, in one place.

Serving imports this module too, so it must not import TensorFlow.
"""

from pathlib import Path

ML_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = ML_DIR / "artifacts"
MANIFEST_NAME = "manifest.json"
SERVING_MODEL_NAME = "model.tflite"

# The shared training set sits beside the repository; only training and tests read it.
DEFAULT_DATA_DIR = ML_DIR.parent.parent / "shared" / "data" / "chest_xray" / "train"
CLASS_NAMES = ("NORMAL", "PNEUMONIA")

IMAGE_SIZE = 224
# Histogram equalisation is computed on this many grey levels so 8- and 16-bit inputs land on the
# same scale as the 8-bit JPEGs the model was trained on.
GREY_LEVELS = 256

SEED = 1337
VALIDATION_FRACTION = 1 / 7  # one fold of a 7-fold patient-grouped split, about 14 %

BATCH_SIZE = 32
EPOCHS = 24
LEARNING_RATE = 2e-3
WEIGHT_DECAY = 1e-4
WARMUP_EPOCHS = 1
DROPOUT = 0.25

# Decompression-bomb guard: a real chest radiograph is at most about 4300 x 4300 pixels.
MAX_IMAGE_PIXELS = 30_000_000

# The flagged set (pneumonia or indeterminate) must catch this share of validation pneumonia.
SCREENING_SENSITIVITY = 0.99
# Genuine validation X-rays the out-of-distribution gate may reject at most.
GATE_FALSE_REJECTION = 0.005

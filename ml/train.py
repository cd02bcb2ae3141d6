"""Train the pneumonia CNN from scratch: `python -m ml.train [--epochs N] [--out DIR]`.

Splits the shared training images by patient, trains with class weights and augmentation, keeps the
checkpoint with the best AUC on the harder (perturbed) validation set, then builds the serving
artefacts (calibration, thresholds, gate, LiteRT export, manifest) with ml.export from every
model*.keras checkpoint in the output folder (several seeds make an ensemble).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from ml import constants  # noqa: E402
from ml.augment import make_augmenter  # noqa: E402
from ml.data import describe_split, list_examples, load_squashed, split_by_patient  # noqa: E402
from ml.model import build_model, training_view  # noqa: E402
from ml.preprocessing import equalise  # noqa: E402
from ml.shift import harder_copies  # noqa: E402

log = logging.getLogger("ml.train")
CACHE_DIR = constants.ML_DIR.parent / ".cache" / "ml"


def equalised_batch(greys: np.ndarray) -> np.ndarray:
    """Model inputs for a stack of squashed grey images (uint8 or float in [0, 1])."""
    scale = 255.0 if greys.dtype == np.uint8 else 1.0
    return np.stack([equalise(grey / scale) for grey in greys])[..., np.newaxis]


def class_weights(labels: np.ndarray) -> dict[int, float]:
    counts = np.bincount(labels, minlength=2)
    return {label: float(len(labels) / (2 * count)) for label, count in enumerate(counts)}


def training_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    augment = make_augmenter(seed)
    return (
        tf.data.Dataset.from_tensor_slices((images, labels.astype(np.float32)))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .map(augment, num_parallel_calls=1)
        .prefetch(2)
    )


def learning_rate_schedule(steps_per_epoch: int, epochs: int, peak: float):
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / 20,
        decay_steps=max(1, steps_per_epoch * (epochs - constants.WARMUP_EPOCHS)),
        warmup_target=peak,
        warmup_steps=steps_per_epoch * constants.WARMUP_EPOCHS,
        alpha=0.01,
    )


class KeepBestByHardAUC(keras.callbacks.Callback):
    """Score both validation sets each epoch and save the full model when the harder one improves."""

    def __init__(self, full_model, validation, hard_validation, checkpoint_path: Path):
        super().__init__()
        self.full_model = full_model
        self.validation = validation
        self.hard_validation = hard_validation
        self.checkpoint_path = checkpoint_path
        self.best = -1.0
        self.best_epoch = -1
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        scores = {
            name: self._auc(*data) for name, data in (("val", self.validation), ("hard_val", self.hard_validation))
        }
        elapsed = time.monotonic() - self.started
        log.info(
            "epoch %d loss %.4f val_auc %.4f hard_val_auc %.4f elapsed %.0fs",
            epoch + 1,
            (logs or {}).get("loss", float("nan")),
            scores["val"],
            scores["hard_val"],
            elapsed,
        )
        if scores["hard_val"] > self.best:
            self.best, self.best_epoch = scores["hard_val"], epoch + 1
            self.full_model.save(self.checkpoint_path)
            log.info("saved checkpoint (hard_val_auc %.4f) to %s", self.best, self.checkpoint_path)

    def _auc(self, images, labels) -> float:
        logits = self.model.predict(images, batch_size=64, verbose=0).ravel()
        return float(roc_auc_score(labels, logits))


def prepare_data(data_dir: Path, limit: int | None):
    examples = list_examples(data_dir)
    train, validation = split_by_patient(examples)
    if limit:
        train = _first_per_class(train, limit)
        validation = _first_per_class(validation, max(4, limit // 2))
    split = describe_split(train, validation)
    log.info("split: %s", json.dumps(split))
    train_grey = load_squashed(train, CACHE_DIR)
    validation_grey = load_squashed(validation, CACHE_DIR)
    hard_grey = harder_copies(validation_grey.astype(np.float32) / 255.0)
    labels = {
        "train": np.array([e.label for e in train]),
        "validation": np.array([e.label for e in validation]),
    }
    labels["hard_validation"] = np.repeat(labels["validation"], len(hard_grey) // len(validation_grey))
    images = {
        "train": equalised_batch(train_grey),
        "validation": equalised_batch(validation_grey),
        "hard_validation": equalised_batch(hard_grey),
    }
    return images, labels, split


def _first_per_class(examples, count):
    return [e for label in (0, 1) for e in [x for x in examples if x.label == label][:count]]


def train(data_dir: Path, out_dir: Path, epochs: int, batch_size: int, limit: int | None, seed: int, name: str) -> dict:
    keras.utils.set_random_seed(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    images, labels, split = prepare_data(data_dir, limit)
    model = build_model()
    trainable = training_view(model)
    steps = len(images["train"]) // batch_size
    trainable.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate_schedule(steps, epochs, constants.LEARNING_RATE), weight_decay=constants.WEIGHT_DECAY
        ),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    checkpoint_path = out_dir / f"{name}.keras"
    keeper = KeepBestByHardAUC(
        model,
        (images["validation"], labels["validation"]),
        (images["hard_validation"], labels["hard_validation"]),
        checkpoint_path,
    )
    started = time.monotonic()
    trainable.fit(
        training_dataset(images["train"], labels["train"], batch_size, seed),
        epochs=epochs,
        class_weight=class_weights(labels["train"]),
        callbacks=[keeper, keras.callbacks.CSVLogger(str(out_dir / f"{name}-history.csv"))],
        verbose=2,
    )
    seconds = time.monotonic() - started
    log.info("training took %.0f s (%.1f s/epoch); best epoch %d", seconds, seconds / epochs, keeper.best_epoch)
    return {
        "split": split,
        "epochs": epochs,
        "best_epoch": keeper.best_epoch,
        "training_seconds": round(seconds, 1),
        "seconds_per_epoch": round(seconds / epochs, 1),
        "batch_size": batch_size,
        "seed": seed,
        "checkpoint": checkpoint_path.name,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=constants.DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=constants.ARTIFACTS_DIR)
    parser.add_argument("--epochs", type=int, default=constants.EPOCHS)
    parser.add_argument("--batch-size", type=int, default=constants.BATCH_SIZE)
    parser.add_argument("--limit", type=int, default=None, help="images per class (smoke runs)")
    parser.add_argument("--seed", type=int, default=constants.SEED)
    parser.add_argument("--log", type=Path, default=None, help="also write the log to this file")
    parser.add_argument("--name", default="model", help="checkpoint NAME.keras; ensemble members are model*.keras")
    parser.add_argument("--skip-export", action="store_true", help="only train and save the checkpoint")
    args = parser.parse_args(argv)
    handlers = [logging.StreamHandler()] + ([logging.FileHandler(args.log)] if args.log else [])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", handlers=handlers)
    run = train(args.data, args.out, args.epochs, args.batch_size, args.limit, args.seed, args.name)
    (args.out / f"{args.name}-run.json").write_text(json.dumps(run, indent=2) + "\n")
    if not args.skip_export:
        from ml.export import build_artifacts

        build_artifacts(args.out, data_dir=args.data, limit=args.limit)


if __name__ == "__main__":
    main()

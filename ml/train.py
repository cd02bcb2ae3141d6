"""Train the pneumonia CNN from scratch: `python -m ml.train [--epochs N] [--out DIR]`.

Reads the locked patient-grouped splits (artifacts/split.json, made on first use), trains on the
training split with augmentation (random erasing, mixup and an exponential moving average of the
weights by default, each switchable), and saves the weights of the last step (the averaged ones
when averaging): no checkpoint is picked by a validation score, so the
selection split stays free for calibration and thresholds and the report split for the figures.
Then builds the serving artefacts with ml.export from every model*.keras checkpoint in the output
folder (several seeds make an ensemble).
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
from ml.data import describe, load_model_inputs, locked_splits, smoke_subset  # noqa: E402
from ml.model import build_model, training_view  # noqa: E402

log = logging.getLogger("ml.train")
MONITORED_SPLITS = ("selection", "proxy_selection")
MONITOR_EVERY = 3  # epochs; scoring is only logged, never used to pick weights


def training_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, recipe: dict):
    augment = make_augmenter(seed, mixup_alpha=recipe["mixup_alpha"], erasing=recipe["erasing"])

    def both_heads(batch_images, batch_labels):
        batch_images, batch_labels = augment(batch_images, batch_labels)
        return batch_images, (batch_labels, batch_labels)

    return (
        tf.data.Dataset.from_tensor_slices((images, labels.astype(np.float32)[:, np.newaxis]))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .map(both_heads, num_parallel_calls=1)
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


class LogProgress(keras.callbacks.Callback):
    """Log the loss every epoch and the monitored splits' AUC every few epochs (for the record only)."""

    def __init__(self, monitored: dict[str, tuple[np.ndarray, np.ndarray]], every: int):
        super().__init__()
        self.monitored = monitored
        self.every = every
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        scores = ""
        if (epoch + 1) % self.every == 0:
            scores = " ".join(f"{name}_auc {self.auc(*data):.4f}" for name, data in self.monitored.items())
        log.info(
            "epoch %d loss %.4f %s elapsed %.0fs",
            epoch + 1,
            (logs or {}).get("loss", float("nan")),
            scores,
            time.monotonic() - self.started,
        )

    def auc(self, images, labels) -> float:
        return split_auc(self.model, images, labels)


def split_auc(trainable: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    """AUC of the main logit of a training view; NaN when a (smoke-sized) split has one class."""
    logits = trainable.predict(images, batch_size=64, verbose=0)[0].ravel()
    return float(roc_auc_score(labels, logits)) if len(set(labels)) == 2 else float("nan")


def renew_batch_statistics(model: keras.Model, images: np.ndarray, batch_size: int, batches: int = 60) -> None:
    """Re-estimate batch-norm statistics for the averaged weights, which the running means never saw."""
    rng = np.random.default_rng(0)
    for _ in range(batches):
        batch = images[rng.choice(len(images), batch_size, replace=False)]
        model(batch, training=True)


def prepare_data(data_dir: Path, limit: int | None, split_path: Path):
    splits = locked_splits(data_dir, split_path)
    if limit:
        splits = smoke_subset(splits, limit)
    wanted = ("train", *MONITORED_SPLITS)
    images = {name: load_model_inputs(splits[name], constants.ML_CACHE_DIR) for name in wanted}
    labels = {name: np.array([e.label for e in splits[name]]) for name in wanted}
    return images, labels, describe(splits)


def recipe_from(args) -> dict:
    return {
        "mixup_alpha": args.mixup,
        "erasing": args.erasing,
        "ema_momentum": args.ema,
        "fine_head_loss_weight": constants.FINE_HEAD_LOSS_WEIGHT,
        "learning_rate": constants.LEARNING_RATE,
        "weight_decay": constants.WEIGHT_DECAY,
        "monitor_every": args.monitor_every,
    }


def train(
    data_dir: Path,
    out_dir: Path,
    epochs: int,
    batch_size: int,
    limit: int | None,
    seed: int,
    name: str,
    recipe: dict,
    split_path: Path = constants.ARTIFACTS_DIR / constants.SPLIT_NAME,
) -> dict:
    keras.utils.set_random_seed(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    images, labels, split = prepare_data(data_dir, limit, split_path)
    log.info("split: %s", json.dumps(split))
    model = build_model()
    trainable = training_view(model)
    steps = len(images["train"]) // batch_size
    trainable.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate_schedule(steps, epochs, recipe["learning_rate"]),
            weight_decay=recipe["weight_decay"],
            use_ema=bool(recipe["ema_momentum"]),
            ema_momentum=recipe["ema_momentum"] or 0.99,
        ),
        loss=[keras.losses.BinaryCrossentropy(from_logits=True)] * 2,
        loss_weights=[1.0, recipe["fine_head_loss_weight"]],
    )
    monitored = {n: (images[n], labels[n]) for n in MONITORED_SPLITS}
    started = time.monotonic()
    trainable.fit(
        training_dataset(images["train"], labels["train"], batch_size, seed, recipe),
        epochs=epochs,
        callbacks=[
            LogProgress(monitored, recipe["monitor_every"]),
            keras.callbacks.CSVLogger(str(out_dir / f"{name}-history.csv")),
        ],
        verbose=2,
    )
    if recipe["ema_momentum"]:  # fit has swapped the averaged weights in
        renew_batch_statistics(model, images["train"], batch_size)
    seconds = time.monotonic() - started
    checkpoint_path = out_dir / f"{name}.keras"
    model.save(checkpoint_path)
    final = {n: split_auc(training_view(model), *monitored[n]) for n in MONITORED_SPLITS}
    log.info("training took %.0f s (%.1f s/epoch); final %s", seconds, seconds / epochs, final)
    return {
        "split": split,
        "epochs": epochs,
        "training_seconds": round(seconds, 1),
        "seconds_per_epoch": round(seconds / epochs, 1),
        "batch_size": batch_size,
        "seed": seed,
        "recipe": recipe,
        "final_auc": final,
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
    parser.add_argument("--mixup", type=float, default=constants.MIXUP_ALPHA, help="mixup alpha; 0 turns it off")
    parser.add_argument("--erasing", type=float, default=constants.ERASING_PROBABILITY, help="random erasing share")
    parser.add_argument("--ema", type=float, default=constants.EMA_MOMENTUM, help="weight EMA momentum; 0: off")
    parser.add_argument("--monitor-every", type=int, default=MONITOR_EVERY, help="epochs between logged AUCs")
    parser.add_argument("--log", type=Path, default=None, help="also write the log to this file")
    parser.add_argument(
        "--split",
        type=Path,
        default=constants.ARTIFACTS_DIR / constants.SPLIT_NAME,
        help="the recorded splits (made there on first use)",
    )
    parser.add_argument("--name", default="model", help="checkpoint NAME.keras; ensemble members are model*.keras")
    parser.add_argument("--skip-export", action="store_true", help="only train and save the checkpoint")
    args = parser.parse_args(argv)
    handlers = [logging.StreamHandler()] + ([logging.FileHandler(args.log)] if args.log else [])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", handlers=handlers)
    run = train(
        args.data,
        args.out,
        args.epochs,
        args.batch_size,
        args.limit,
        args.seed,
        args.name,
        recipe_from(args),
        args.split,
    )
    (args.out / f"{args.name}-run.json").write_text(json.dumps(run, indent=2) + "\n")
    if not args.skip_export:
        from ml.export import build_artifacts

        build_artifacts(args.out, data_dir=args.data, limit=args.limit)


if __name__ == "__main__":
    main()

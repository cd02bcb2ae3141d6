"""Training-time augmentation (TensorFlow ops on batches of equalised images).

Geometric changes a technician's positioning produces (small rotation, zoom, shift: never flips, which
move the heart) and the acquisition differences between machines and hospitals that survive
equalisation (gamma and contrast residue, blur, noise, lower native resolution).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ml.constants import SEED


def build_geometric(seed: int = SEED) -> keras.Sequential:
    return keras.Sequential(
        [
            keras.layers.RandomRotation(10 / 360, fill_mode="constant", seed=seed),
            keras.layers.RandomZoom((-0.15, 0.15), fill_mode="constant", seed=seed + 1),
            keras.layers.RandomTranslation(0.06, 0.06, fill_mode="constant", seed=seed + 2),
        ],
        name="geometric_augmentation",
    )


def _gaussian_kernel(sigma: tf.Tensor, radius: int = 3) -> tf.Tensor:
    offsets = tf.range(-radius, radius + 1, dtype=tf.float32)
    weights = tf.exp(-0.5 * tf.square(offsets / sigma))
    weights /= tf.reduce_sum(weights)
    return tf.tensordot(weights, weights, axes=0)[:, :, tf.newaxis, tf.newaxis]


def random_blur(images: tf.Tensor, probability: float = 0.5) -> tf.Tensor:
    sigma = tf.random.uniform([], 0.3, 1.6)
    blurred = tf.nn.conv2d(images, _gaussian_kernel(sigma), strides=1, padding="SAME")
    return tf.cond(tf.random.uniform([]) < probability, lambda: blurred, lambda: images)


def random_resolution(images: tf.Tensor, probability: float = 0.3) -> tf.Tensor:
    """Downscale and upscale the batch, as a lower-resolution detector or a heavier resize would."""
    size = tf.shape(images)[1]
    low = tf.cast(tf.cast(size, tf.float32) * tf.random.uniform([], 0.45, 0.85), tf.int32)
    degraded = tf.image.resize(tf.image.resize(images, [low, low], antialias=True), [size, size])
    return tf.cond(tf.random.uniform([]) < probability, lambda: degraded, lambda: images)


def random_intensity(images: tf.Tensor) -> tf.Tensor:
    batch = tf.shape(images)[0]
    per_image = [batch, 1, 1, 1]
    gamma = tf.exp(tf.random.uniform(per_image, -0.35, 0.35))
    images = tf.pow(tf.clip_by_value(images, 1e-6, 1.0), gamma)
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    contrast = tf.random.uniform(per_image, 0.75, 1.25)
    brightness = tf.random.uniform(per_image, -0.08, 0.08)
    images = (images - mean) * contrast + mean + brightness
    noise_level = tf.random.uniform(per_image, 0.0, 0.04)
    images = images + tf.random.normal(tf.shape(images)) * noise_level
    return tf.clip_by_value(images, 0.0, 1.0)


def random_erasing(images: tf.Tensor, probability: float = 0.5, largest: float = 0.3) -> tf.Tensor:
    """Grey out one random rectangle per image (up to `largest` of each side), so that no single
    region, a burnt-in marker or one lung field, can carry the reading alone."""
    batch, size = tf.shape(images)[0], tf.shape(images)[1]
    sizef = tf.cast(size, tf.float32)
    heights = tf.cast(tf.random.uniform([batch], 0.1, largest) * sizef, tf.int32)
    widths = tf.cast(tf.random.uniform([batch], 0.1, largest) * sizef, tf.int32)
    tops = tf.cast(tf.random.uniform([batch]) * tf.cast(size - heights, tf.float32), tf.int32)
    lefts = tf.cast(tf.random.uniform([batch]) * tf.cast(size - widths, tf.float32), tf.int32)
    rows = tf.range(size)[tf.newaxis, :, tf.newaxis]
    columns = tf.range(size)[tf.newaxis, tf.newaxis, :]
    inside = (
        (rows >= tops[:, None, None])
        & (rows < (tops + heights)[:, None, None])
        & (columns >= lefts[:, None, None])
        & (columns < (lefts + widths)[:, None, None])
    )
    applied = tf.random.uniform([batch, 1, 1]) < probability
    fill = tf.random.uniform([batch, 1, 1, 1])
    return tf.where((inside & applied)[..., tf.newaxis], fill, images)


def mixup(images: tf.Tensor, labels: tf.Tensor, alpha: float) -> tuple[tf.Tensor, tf.Tensor]:
    """Blend each image and its label with another of the batch (Zhang et al. 2018): softer targets,
    better-calibrated outputs and smoother decisions between the classes."""
    first = tf.random.gamma([tf.shape(images)[0]], alpha)
    second = tf.random.gamma([tf.shape(images)[0]], alpha)
    weight = first / (first + second)
    order = tf.random.shuffle(tf.range(tf.shape(images)[0]))
    image_weight = weight[:, tf.newaxis, tf.newaxis, tf.newaxis]
    label_weight = tf.reshape(weight, [-1] + [1] * (len(labels.shape) - 1))
    mixed = images * image_weight + tf.gather(images, order) * (1 - image_weight)
    return mixed, labels * label_weight + tf.gather(labels, order) * (1 - label_weight)


def make_augmenter(seed: int = SEED, mixup_alpha: float = 0.0, erasing: float = 0.0):
    geometric = build_geometric(seed)

    def augment(images: tf.Tensor, labels: tf.Tensor):
        images = geometric(images, training=True)
        images = random_intensity(random_resolution(random_blur(images)))
        if erasing:
            images = random_erasing(images, erasing)
        if mixup_alpha:
            images, labels = mixup(images, labels, mixup_alpha)
        return images, labels

    return augment

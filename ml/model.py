"""The pneumonia CNN: a small VGG/ResNet-style network sized for training on two CPU cores.

The head is a 1x1 convolution applied before global average pooling. Because pooling and the head are
both linear, this computes exactly the usual "pool then dense" logit, while also exposing the
per-location logits: the class activation map (CAM) comes out of every forward pass for free.
"""

from __future__ import annotations

import keras
from keras import layers

from ml.constants import DROPOUT, IMAGE_SIZE

STAGE_WIDTHS = (32, 64, 128, 256)
EMBEDDING_LAYER = "embedding"
CAM_LAYER = "cam"
LOGIT_LAYER = "logit"
FINE_CAM_LAYER = "cam_fine"
FINE_LOGIT_LAYER = "logit_fine"


def conv_bn_relu(x, filters: int, strides: int = 1, name: str = ""):
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def residual_stage(x, filters: int, strides: int, name: str):
    """Two 3x3 convolutions with a projection shortcut when the shape changes."""
    shortcut = x
    x = conv_bn_relu(x, filters, strides, name=f"{name}a")
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}b_conv")(x)
    x = layers.BatchNormalization(name=f"{name}b_bn")(x)
    if strides != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False, name=f"{name}_proj")(shortcut)
        shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    x = layers.Add(name=f"{name}_add")([x, shortcut])
    return layers.ReLU(name=f"{name}_out")(x)


def build_model(image_size: int = IMAGE_SIZE, dropout: float = DROPOUT) -> keras.Model:
    """A ~0.4 GFLOP CNN: (image_size, image_size, 1) equalised image -> pneumonia logit.

    Outputs are named: `logit` (N, 1), `cam` (N, h, w) per-location logits at 1/32 resolution, and
    `embedding` (N, 256) pooled features for the out-of-distribution gate. A second 1x1 head on the
    third stage gives `logit_fine` and `cam_fine` at 1/16 resolution: trained on the same label, it is
    a heatmap twice as fine as the last stage can draw, for the cost of one 1x1 convolution.
    """
    inputs = keras.Input((image_size, image_size, 1), name="image")
    x = layers.Rescaling(2.0, offset=-1.0, name="centre")(inputs)
    x = conv_bn_relu(x, 24, strides=2, name="stem1")
    x = conv_bn_relu(x, STAGE_WIDTHS[0], strides=2, name="stem2")
    fine_cam_map = None
    for index, filters in enumerate(STAGE_WIDTHS):
        x = residual_stage(x, filters, strides=1 if index == 0 else 2, name=f"stage{index + 1}")
        if index == len(STAGE_WIDTHS) - 2:
            fine = layers.SpatialDropout2D(dropout, name="fine_dropout")(x)
            fine_cam_map = layers.Conv2D(1, 1, name="fine_head")(fine)
    embedding = layers.GlobalAveragePooling2D(name=EMBEDDING_LAYER)(x)
    x = layers.SpatialDropout2D(dropout, name="dropout")(x)
    cam_map = layers.Conv2D(1, 1, name="head")(x)
    logit = layers.GlobalAveragePooling2D(name=LOGIT_LAYER)(cam_map)
    cam = layers.Reshape(cam_map.shape[1:3], name=CAM_LAYER)(cam_map)
    fine_logit = layers.GlobalAveragePooling2D(name=FINE_LOGIT_LAYER)(fine_cam_map)
    fine_cam = layers.Reshape(fine_cam_map.shape[1:3], name=FINE_CAM_LAYER)(fine_cam_map)
    return keras.Model(
        inputs,
        {
            LOGIT_LAYER: logit,
            CAM_LAYER: cam,
            EMBEDDING_LAYER: embedding,
            FINE_LOGIT_LAYER: fine_logit,
            FINE_CAM_LAYER: fine_cam,
        },
    )


def training_view(model: keras.Model) -> keras.Model:
    """The same layers with the two logit outputs (main, fine head), for compile/fit."""
    return keras.Model(model.inputs, [model.get_layer(LOGIT_LAYER).output, model.get_layer(FINE_LOGIT_LAYER).output])

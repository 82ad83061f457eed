"""The digits data set and a mini-batch iterator that makes epochs and steps visible.

The digits are scikit-learn's bundled copy (1,797 images of 8x8 pixels, no download).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from course_utils._validation import as_array, flag, fraction, integer


class Split(NamedTuple):
    x_train: np.ndarray  # (n_train, 64) float32 in [0, 1]
    y_train: np.ndarray  # (n_train,) int64 labels 0-9
    x_val: np.ndarray
    y_val: np.ndarray


def load_digits(val_fraction=0.2, seed=0) -> Split:
    """Load the 8x8 digits, scale pixels to [0, 1], and split them, stratified by label.

    Args:
        val_fraction: share of the images held out for validation, in (0, 1), leaving at least
            one image of each of the 10 digits on both sides (above 9/1797, at most 1787/1797).
        seed: the split's random seed, an integer in [0, 2**32 - 1] (the same seed gives the same split).

    Example:
        >>> split = load_digits()
        >>> split.x_train.shape, split.x_val.shape, float(split.x_train.max())
        ((1437, 64), (360, 64), 1.0)
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    share = fraction(val_fraction, "val_fraction", low_open=True, high_open=True)
    seed = integer(seed, "seed", maximum=2**32 - 1)
    digits = sklearn_digits()
    count, classes = len(digits.target), len(np.unique(digits.target))
    held_out = math.ceil(share * count)  # what train_test_split holds out
    if min(held_out, count - held_out) < classes:
        raise ValueError(
            f"val_fraction={share} holds out {held_out} of {count} images; a split stratified by the {classes} "
            f"digits needs at least {classes} images on each side: expected {classes - 1}/{count} < val_fraction <= "
            f"{count - classes}/{count} (about {(classes - 1) / count:.4f} to {(count - classes) / count:.4f})"
        )
    x = (digits.data / 16.0).astype(np.float32)  # pixels are 0..16
    y = digits.target.astype(np.int64)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=share, random_state=seed, stratify=y)
    return Split(x_train, y_train, x_val, y_val)


def steps_per_epoch(num_examples, batch_size, drop_remainder=False) -> int:
    """How many updates one pass over the data makes: ``ceil(n / batch_size)``.

    Example:
        >>> steps_per_epoch(100, 10), steps_per_epoch(1437, 32), steps_per_epoch(1437, 32, drop_remainder=True)
        (10, 45, 44)
    """
    n = integer(num_examples, "num_examples", minimum=1)
    size = integer(batch_size, "batch_size", minimum=1)
    return n // size if flag(drop_remainder, "drop_remainder") else math.ceil(n / size)


def batches(x, y, batch_size, *, shuffle=True, seed=0, drop_remainder=False) -> Iterator[tuple]:
    """Yield ``(x_batch, y_batch)`` pairs covering the data once (one epoch).

    Like ``model.fit``: shuffled every epoch (pass a different ``seed`` per epoch) and the
    last batch is smaller when ``batch_size`` does not divide ``n`` (unless ``drop_remainder``).

    Example:
        >>> x, y = np.arange(10.0).reshape(5, 2), np.arange(5)
        >>> [len(yb) for _, yb in batches(x, y, batch_size=2)]
        [2, 2, 1]
        >>> [yb.tolist() for _, yb in batches(x, y, 2, shuffle=False)]
        [[0, 1], [2, 3], [4]]
    """
    x = as_array(x, "x", dtype=None)
    y = as_array(y, "y", dtype=None)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of examples, got len(x)={len(x)} and len(y)={len(y)}")
    count = steps_per_epoch(len(x), batch_size, drop_remainder)
    size = int(batch_size)
    seed = integer(seed, "seed")
    order = np.random.default_rng(seed).permutation(len(x)) if flag(shuffle, "shuffle") else np.arange(len(x))
    for step in range(count):
        index = order[step * size : (step + 1) * size]
        yield x[index], y[index]

"""Every loss in course_utils.losses agrees with Keras 3 / TensorFlow in float32.

Tolerance: 1e-6 relative, plus an absolute 2.5e-7 for values near 0. The absolute part
is two float32 ulps of 1.0: cross-entropies are computed as ``log(s)`` of a sum
``s >= 1`` of exponentials, and numpy and TensorFlow add those terms in a different
order (and their exp/log may differ by one ulp), so ``s`` can differ by an ulp or two
and ``log(s)`` by the same absolute amount, however small the loss itself is.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import losses

SEEDS = range(5)
SHAPES = [(1,), (7,), (1, 1), (1, 5), (16, 3), (4, 2, 6)]


def agree(ours, theirs):
    theirs = np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=2.5e-7)


def regression_pair(seed, shape):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.integers(-3, 4)
    return (rng.normal(size=shape) * scale).astype(np.float32), (rng.normal(size=shape) * scale).astype(np.float32)


def probabilities(rng, shape, edges=True):
    p = rng.uniform(size=shape).astype(np.float32)
    if edges and p.size > 2:  # exactly 0 and exactly 1 must be handled by clipping
        flat = p.reshape(-1)
        flat[0], flat[-1] = 0.0, 1.0
    return p


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (losses.mse, keras.losses.mean_squared_error),
        (losses.mae, keras.losses.mean_absolute_error),
        (losses.huber, keras.losses.huber),
    ],
    ids=["mse", "mae", "huber"],
)
def test_regression_losses(ours, theirs, shape, seed):
    y_true, y_pred = regression_pair(seed, shape)
    agree(ours(y_true, y_pred), theirs(y_true, y_pred))


@pytest.mark.parametrize("delta", [0.1, 1.0, 3.5])
@pytest.mark.parametrize("seed", SEEDS)
def test_huber_delta(delta, seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.normal(size=(8, 4)).astype(np.float32), (3 * rng.normal(size=(8, 4))).astype(np.float32)
    agree(losses.huber(y_true, y_pred, delta), keras.losses.huber(y_true, y_pred, delta))


def test_huber_at_exactly_delta():
    y_true = np.zeros(3, np.float32)
    y_pred = np.array([-1.0, 1.0, 0.5], np.float32)
    agree(losses.huber(y_true, y_pred, 1.0), keras.losses.huber(y_true, y_pred, 1.0))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
def test_binary_crossentropy(shape, seed, soft):
    rng = np.random.default_rng(seed)
    y_true = rng.uniform(size=shape) if soft else rng.integers(0, 2, size=shape)
    y_true = y_true.astype(np.float32)
    y_pred = probabilities(rng, shape)
    agree(losses.binary_crossentropy(y_true, y_pred), keras.losses.binary_crossentropy(y_true, y_pred))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_binary_crossentropy_from_logits(shape, seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, size=shape).astype(np.float32)
    logits = (rng.normal(size=shape) * 5).astype(np.float32)
    ours = losses.binary_crossentropy(y_true, logits, from_logits=True)
    agree(ours, keras.losses.binary_crossentropy(y_true, logits, from_logits=True))


def test_extreme_logits_stay_finite_and_agree():
    labels = np.array([[1, 0, 1, 0, 0.5, 0.5]], np.float32)
    logits = np.array([[1000, 1000, -1000, -1000, 1000, -1000]], np.float32)
    ours = losses.sigmoid_cross_entropy_with_logits(labels, logits)
    agree(ours, tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    assert np.all(np.isfinite(ours))
    agree(losses.binary_crossentropy(labels, logits, True), keras.losses.binary_crossentropy(labels, logits, True))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_sigmoid_cross_entropy_with_logits(shape, seed):
    rng = np.random.default_rng(seed)
    labels = rng.uniform(size=shape).astype(np.float32)
    logits = (rng.normal(size=shape) * 10).astype(np.float32)
    ours = losses.sigmoid_cross_entropy_with_logits(labels, logits)
    agree(ours, tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


CLASS_SHAPES = [(3,), (1, 3), (1, 2), (16, 10), (4, 5, 3)]


def one_hot(rng, shape):
    return np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], size=shape[:-1])]


def softmax_rows(rng, shape):
    z = rng.normal(size=shape) * 3
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", CLASS_SHAPES)
def test_categorical_crossentropy(shape, seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = one_hot(rng, shape), softmax_rows(rng, shape)
    agree(losses.categorical_crossentropy(y_true, y_pred), keras.losses.categorical_crossentropy(y_true, y_pred))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", CLASS_SHAPES)
def test_categorical_crossentropy_unnormalised_and_soft(shape, seed):
    rng = np.random.default_rng(seed)
    y_true = softmax_rows(rng, shape)  # soft labels
    y_pred = probabilities(rng, shape, edges=False)  # rows that do not sum to 1: Keras renormalises
    agree(losses.categorical_crossentropy(y_true, y_pred), keras.losses.categorical_crossentropy(y_true, y_pred))


def test_categorical_crossentropy_exact_zero_and_one():
    y_true = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], np.float32)
    y_pred = np.array([[0, 1, 0], [0, 1, 0], [0.5, 0.5, 0]], np.float32)
    agree(losses.categorical_crossentropy(y_true, y_pred), keras.losses.categorical_crossentropy(y_true, y_pred))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", CLASS_SHAPES)
def test_categorical_crossentropy_from_logits(shape, seed):
    rng = np.random.default_rng(seed)
    y_true = one_hot(rng, shape)
    logits = (rng.normal(size=shape) * 5).astype(np.float32)
    ours = losses.categorical_crossentropy(y_true, logits, from_logits=True)
    agree(ours, keras.losses.categorical_crossentropy(y_true, logits, from_logits=True))


def test_categorical_from_huge_logits():
    y_true = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
    logits = np.array([[1000, -1000, 0], [1000, -1000, 0]], np.float32)
    ours = losses.categorical_crossentropy(y_true, logits, from_logits=True)
    agree(ours, keras.losses.categorical_crossentropy(y_true, logits, from_logits=True))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy(shape, seed, from_logits):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, shape[-1], size=shape[:-1])
    y_pred = (rng.normal(size=shape) * 5).astype(np.float32) if from_logits else softmax_rows(rng, shape)
    ours = losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=from_logits)
    agree(ours, keras.losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=from_logits))


def test_sparse_accepts_column_labels_and_edge_probabilities():
    labels = np.array([[0], [2], [1]])
    y_pred = np.array([[1, 0, 0], [0.2, 0.8, 0], [0.3, 0.3, 0.3]], np.float32)
    agree(losses.sparse_categorical_crossentropy(labels, y_pred), keras.losses.sparse_categorical_crossentropy(labels, y_pred))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("zero_one", [False, True], ids=["pm1", "01"])
def test_hinge(shape, seed, zero_one):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, size=shape).astype(np.float32)
    if not zero_one:
        y_true = 2 * y_true - 1
    y_pred = (rng.normal(size=shape) * 2).astype(np.float32)
    agree(losses.hinge(y_true, y_pred), keras.losses.hinge(y_true, y_pred))


def keras_asymmetric(y_true, y_pred, over_weight):
    """The sources' custom loss written with tf.where, averaged over the last axis like a Keras loss."""
    error = y_true - y_pred
    return tf.reduce_mean(tf.where(error < 0, over_weight * tf.square(error), tf.square(error)), axis=-1)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("weight", [2.0, 0.5])
def test_asymmetric_mse(shape, seed, weight):
    y_true, y_pred = regression_pair(seed, shape)
    agree(losses.asymmetric_mse(y_true, y_pred, weight), keras_asymmetric(y_true, y_pred, weight))


def test_asymmetric_mse_trains_through_keras_compile():
    """The custom loss, written the sources' way, works as a `model.compile` loss."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=lambda t, p: keras_asymmetric(t, p, 2.0))
    x = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]
    first = model.evaluate(x, 3 * x, verbose=0)
    model.fit(x, 3 * x, epochs=20, verbose=0)
    assert model.evaluate(x, 3 * x, verbose=0) < first / 10

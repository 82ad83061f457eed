"""Numerical gradients, the demo surfaces and the digits data."""

import numpy as np
import pytest
import tensorflow as tf

from course_utils import data, gradients, surfaces

ALL = [surfaces.parabola, surfaces.bowl, surfaces.ravine, surfaces.rosenbrock]


@pytest.mark.parametrize("surface", ALL, ids=lambda s: s.name)
def test_numerical_gradient_agrees_with_the_exact_one(surface):
    rng = np.random.default_rng(0)
    dim = len(surface.minimum)
    for point in [surface.start, surface.minimum, *rng.uniform(-2, 2, size=(10, dim))]:
        check = gradients.gradient_check(surface.loss, surface.grad, point)
        assert check.relative_error < 1e-6 or np.linalg.norm(check.analytic) < 1e-9, (point, check)


def tf_loss(surface, w):
    """The same surface written with TensorFlow ops, so GradientTape can differentiate it."""
    if surface.curvatures is not None:
        return 0.5 * tf.reduce_sum(surface.curvatures * (w - surface.minimum) ** 2)
    return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2


@pytest.mark.parametrize("surface", ALL, ids=lambda s: s.name)
def test_exact_gradient_agrees_with_gradient_tape(surface):
    rng = np.random.default_rng(1)
    for point in rng.uniform(-2, 2, size=(5, len(surface.minimum))):
        w = tf.Variable(point)
        with tf.GradientTape() as tape:
            loss = tf_loss(surface, w)
        np.testing.assert_allclose(surface.grad(point), tape.gradient(loss, w).numpy(), rtol=1e-12)


def test_surfaces_have_their_minimum_where_they_say():
    for surface in ALL:
        assert np.allclose(surface.grad(surface.minimum), 0)
        assert surface.loss(surface.minimum) == pytest.approx(0)
        assert surface.loss(surface.start) > 0


def test_surfaces_evaluate_whole_grids():
    xs, ys = np.meshgrid(np.linspace(-2, 2, 7), np.linspace(-1, 3, 5))
    grid = np.stack([xs, ys], axis=-1)
    for surface in (surfaces.bowl, surfaces.ravine, surfaces.rosenbrock):
        assert surface.loss(grid).shape == (5, 7) and surface.grad(grid).shape == (5, 7, 2)
        assert surface.loss(grid)[2, 3] == pytest.approx(surface.loss(grid[2, 3]))


def test_critical_learning_rate_is_where_gradient_descent_stops_converging():
    from course_utils import optimizers

    for surface in (surfaces.parabola, surfaces.bowl, surfaces.ravine):
        critical = surfaces.critical_learning_rate(surface)
        below = optimizers.trajectory(optimizers.sgd(0.95 * critical), surface.loss, surface.grad, surface.start, 400)
        above = optimizers.trajectory(optimizers.sgd(1.05 * critical), surface.loss, surface.grad, surface.start, 400)
        assert below.losses[-1] < below.losses[0] * 1e-3
        assert above.losses[-1] > above.losses[0]
    with pytest.raises(ValueError, match="not a quadratic"):
        surfaces.critical_learning_rate(surfaces.rosenbrock)


def test_gradient_check_catches_a_wrong_gradient():
    check = gradients.gradient_check(surfaces.rosenbrock.loss, lambda w: 0.5 * surfaces.rosenbrock.grad(w), [0.3, 0.2])
    assert not check.ok and check.relative_error > 0.1


def test_digits_split_is_scaled_stratified_and_repeatable():
    first, again, other = data.load_digits(), data.load_digits(), data.load_digits(seed=1)
    assert first.x_train.dtype == np.float32 and first.x_train.min() == 0.0 and first.x_train.max() == 1.0
    assert len(first.x_train) + len(first.x_val) == 1797 and first.x_train.shape[1] == 64
    assert np.array_equal(first.x_train, again.x_train) and not np.array_equal(first.y_val, other.y_val)
    train_share = np.bincount(first.y_train) / len(first.y_train)
    val_share = np.bincount(first.y_val) / len(first.y_val)
    assert np.abs(train_share - val_share).max() < 0.01


@pytest.mark.parametrize("n, size, drop", [(100, 10, False), (101, 10, False), (101, 10, True), (7, 32, False)])
def test_batches_cover_every_example_once(n, size, drop):
    x, y = np.arange(n * 2.0).reshape(n, 2), np.arange(n)
    seen = [yb for _, yb in data.batches(x, y, size, seed=3, drop_remainder=drop)]
    assert len(seen) == data.steps_per_epoch(n, size, drop)
    flat = np.concatenate(seen)
    assert len(set(flat.tolist())) == len(flat) == (n // size * size if drop else n)
    for xb, yb in data.batches(x, y, size, seed=3):
        assert np.array_equal(xb[:, 0], 2 * yb)  # rows stay paired with their labels


def test_each_seed_gives_a_different_shuffle():
    x, y = np.zeros((50, 1)), np.arange(50)
    first = next(data.batches(x, y, 50, seed=0))[1]
    second = next(data.batches(x, y, 50, seed=1))[1]
    assert sorted(first) == sorted(second) and not np.array_equal(first, second)

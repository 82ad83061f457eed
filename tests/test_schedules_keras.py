"""Every schedule agrees with keras.optimizers.schedules, boundary steps included."""

import keras
import numpy as np
import pytest

from course_utils import schedules

KS = keras.optimizers.schedules


def keras_values(schedule, steps):
    return np.array([float(schedule(int(s))) for s in steps], dtype=np.float32)


def agree(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-6, atol=0)


def steps_around(*points, upto):
    near = {p + d for p in points for d in (-1, 0, 1)}
    return np.array(sorted({0, 1, 2, upto} | {s for s in near if 0 <= s}), dtype=np.int64)


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize(
    "initial, decay_steps, rate", [(0.1, 1000, 0.9), (0.01, 1000, 0.9), (0.5, 7, 0.3), (1e-3, 1, 1.5)]
)
def test_exponential_decay(initial, decay_steps, rate, staircase):
    steps = steps_around(decay_steps, 2 * decay_steps, 10 * decay_steps, upto=25 * decay_steps)
    ours = schedules.exponential_decay(initial, decay_steps, rate, staircase)(steps)
    agree(ours, keras_values(KS.ExponentialDecay(initial, decay_steps, rate, staircase), steps))


def test_exponential_decay_sources_numbers():
    lr = schedules.exponential_decay(0.1, 1000, 0.9, staircase=True)
    np.testing.assert_allclose(lr([0, 1000, 2000]), [0.1, 0.09, 0.081], rtol=1e-6)


@pytest.mark.parametrize(
    "boundaries, values",
    [([1000, 2000, 3000], [0.1, 0.01, 0.001, 0.0001]), ([5], [1.0, 0.5]), ([1, 2, 3, 4], [5, 4, 3, 2, 1])],
)
def test_piecewise_constant(boundaries, values):
    steps = steps_around(*boundaries, upto=boundaries[-1] * 3)
    ours = schedules.piecewise_constant(boundaries, values)(steps)
    agree(ours, keras_values(KS.PiecewiseConstantDecay(boundaries, values), steps))


def test_piecewise_boundary_step_keeps_the_earlier_value():
    lr = schedules.piecewise_constant([1000, 2000, 3000], [0.1, 0.01, 0.001, 0.0001])
    assert float(lr(1000)) == pytest.approx(0.1) and float(lr(1001)) == pytest.approx(0.01)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("initial, decay_steps", [(0.1, 10000), (0.05, 37), (1.0, 1)])
def test_cosine_decay(initial, decay_steps, alpha):
    steps = steps_around(decay_steps // 2, decay_steps, upto=2 * decay_steps + 5)
    ours = schedules.cosine_decay(initial, decay_steps, alpha)(steps)
    agree(ours, keras_values(KS.CosineDecay(initial, decay_steps, alpha), steps))


@pytest.mark.parametrize("alpha", [0.0, 0.2])
@pytest.mark.parametrize("initial, target, warmup, decay", [(0.0, 0.1, 100, 1000), (0.01, 0.1, 50, 200),
                                                             (0.05, 0.02, 10, 30), (0.01, 0.1, 0, 100)])
def test_cosine_decay_with_warmup(initial, target, warmup, decay, alpha):
    steps = steps_around(warmup, warmup + decay // 2, warmup + decay, upto=2 * (warmup + decay))
    ours = schedules.cosine_decay(initial, decay, alpha, warmup_target=target, warmup_steps=warmup)(steps)
    expected = keras_values(KS.CosineDecay(initial, decay, alpha, warmup_target=target, warmup_steps=warmup), steps)
    agree(ours, expected)


class SourcesWarmup(KS.LearningRateSchedule):
    """The sources' WarmupSchedule, written as a Keras 3 LearningRateSchedule subclass."""

    def __init__(self, warmup_steps, target_lr):
        self.warmup_steps = warmup_steps
        self.target_lr = target_lr

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warmup_lr = self.target_lr * (step / self.warmup_steps)
        return keras.ops.where(step < self.warmup_steps, warmup_lr, self.target_lr)


@pytest.mark.parametrize("warmup, target", [(100, 0.1), (7, 3e-4), (1, 0.5)])
def test_linear_warmup_matches_the_sources_subclass(warmup, target):
    steps = steps_around(warmup, upto=3 * warmup + 2)
    agree(schedules.linear_warmup(target, warmup)(steps), keras_values(SourcesWarmup(warmup, target), steps))


def test_joined_warmup_and_cosine_is_keras_cosine_with_warmup():
    joined = schedules.join_schedules(
        [schedules.linear_warmup(0.1, 100, initial_learning_rate=0.01), schedules.cosine_decay(0.1, 500, 0.1)], [100]
    )
    steps = np.arange(0, 800)
    agree(joined(steps), keras_values(KS.CosineDecay(0.01, 500, 0.1, warmup_target=0.1, warmup_steps=100), steps))


def test_scalar_step_gives_a_scalar_and_arrays_give_arrays():
    lr = schedules.exponential_decay(0.1, 10, 0.5)
    assert np.ndim(lr(3)) == 0 and lr(np.arange(4)).shape == (4,)
    assert lr(np.arange(4)).dtype == np.float32

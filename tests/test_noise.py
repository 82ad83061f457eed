"""Mini-batch gradient noise (course_utils.noise) and lesson 03's mini-batch explorer.

The noise must be honest: a batch's gradient is the true gradient of those examples, its mean over an epoch's
batches is the full gradient, its spread falls like 1 / batch size (checked by sampling, not by the formula
alone), and the whole data set as the batch reproduces plain gradient descent to the bit.
"""

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils import gradients, noise, optimizers, schedules  # noqa: E402
from course_utils.widgets import noise as noise_widgets  # noqa: E402
from tests.plot_audit import audit_figure  # noqa: E402

PROBLEM = noise.line_fit()
N = PROBLEM.num_examples
BEST = noise.minimum(PROBLEM)


def test_the_problem_is_a_line_fit_with_lesson_01s_mse():
    x, y = PROBLEM.features[:, 0], PROBLEM.targets
    assert PROBLEM.features.shape == (256, 2) and np.all(PROBLEM.features[:, 1] == 1.0)
    w, b = 1.7, -0.3
    assert noise.loss(PROBLEM, [w, b]) == pytest.approx(np.mean((w * x + b - y) ** 2), rel=1e-12)
    assert np.allclose(BEST, np.polyfit(x, y, 1), atol=1e-10)  # numpy's own line fit: slope, intercept
    assert np.allclose(BEST, [2.0, 1.0], atol=0.15)  # the data lie around y = 2x + 1
    assert noise.loss(PROBLEM, BEST) == pytest.approx(1.0, abs=0.1)  # what is left: the points' own noise
    grid = np.stack(np.meshgrid(np.linspace(0, 3, 4), np.linspace(-1, 1, 3)), axis=-1)
    assert noise.loss(PROBLEM, grid).shape == (3, 4)
    assert noise.loss(PROBLEM, grid)[1, 2] == pytest.approx(noise.loss(PROBLEM, grid[1, 2]))


@pytest.mark.parametrize("batch", [None, [0], [3, 17, 200], list(range(0, 256, 2))])
def test_gradients_match_the_numerical_gradient(batch):
    rng = np.random.default_rng(1)
    index = slice(None) if batch is None else np.array(batch)
    f, t = PROBLEM.features[index], PROBLEM.targets[index]
    for point in rng.normal(0, 2, (3, 2)):
        check = gradients.gradient_check(lambda p: np.mean((f @ p - t) ** 2),
                                         lambda p: noise.gradient(PROBLEM, p, batch), point)
        assert check.ok, check
    assert np.allclose(noise.gradient(PROBLEM, BEST), 0.0, atol=1e-12)  # flat at the minimum
    assert not np.allclose(noise.gradient(PROBLEM, BEST, [0, 1, 2]), 0.0, atol=1e-3)  # but not for a batch


def test_batches_are_shuffled_epochs_like_fit():
    order = noise.batch_indices(N, 32, num_steps=20, seed=0)
    assert order.shape == (20, 32) and np.all(np.diff(order, axis=1) > 0)  # sorted, no repeats in a batch
    for epoch in (order[:8], order[8:16]):  # 256 / 32 = 8 batches per epoch: every example exactly once
        assert sorted(epoch.ravel().tolist()) == list(range(N))
    assert not np.array_equal(order[:8], order[8:16])  # each epoch reshuffles
    assert np.array_equal(order, noise.batch_indices(N, 32, 20, seed=0))  # fixed seed: the same batches
    assert not np.array_equal(order, noise.batch_indices(N, 32, 20, seed=1))
    assert np.array_equal(noise.batch_indices(N, N, 3), np.tile(np.arange(N), (3, 1)))
    rest = noise.batch_indices(10, 3, num_steps=6, seed=0)  # 3 batches per epoch, one example left out
    for epoch in (rest[:3], rest[3:]):
        assert len(set(epoch.ravel().tolist())) == 9
    assert noise.batch_indices(N, 8, 0).shape == (0, 8)


@pytest.mark.parametrize("batch_size", [1, 4, 16, 64])
def test_the_mean_of_an_epochs_batch_gradients_is_the_full_gradient(batch_size):
    point = np.array([0.5, -1.0])
    order = noise.batch_indices(N, batch_size, num_steps=N // batch_size, seed=3)  # one epoch
    batch_grads = np.array([noise.gradient(PROBLEM, point, index) for index in order])
    assert np.allclose(batch_grads.mean(axis=0), noise.gradient(PROBLEM, point), rtol=1e-12, atol=1e-12)
    if batch_size < 64:
        assert batch_grads.std(axis=0).min() > 0.1  # the single batches really differ


def sampled_noise(batch_size, point, epochs=400):
    """E ||g_B - g||^2 measured by drawing the batches of many epochs."""
    steps = epochs * (N // batch_size)
    order = noise.batch_indices(N, batch_size, steps, seed=7)
    f, t = PROBLEM.features[order], PROBLEM.targets[order]  # (steps, b, 2), (steps, b)
    errors = np.einsum("sbd,d->sb", f, point) - t
    batch_grads = 2.0 * np.einsum("sb,sbd->sd", errors, f) / batch_size
    return float(np.mean(np.sum((batch_grads - noise.gradient(PROBLEM, point)) ** 2, axis=1)))


@pytest.mark.parametrize("point", [BEST, np.array([-1.0, -1.0])])
def test_the_noise_falls_like_one_over_the_batch_size(point):
    measured = {b: sampled_noise(b, point) for b in (1, 4, 16, 64)}
    for b, value in measured.items():
        assert value == pytest.approx(noise.gradient_noise(PROBLEM, point, b), rel=0.08), b
    # 1/b, with the finite-population factor (n - b) / (n - 1): without it the ratios would be 4, 4, 4
    assert measured[1] / measured[4] == pytest.approx(4 * (N - 1) / (N - 4), rel=0.1)
    assert measured[4] / measured[16] == pytest.approx(4 * (N - 4) / (N - 16), rel=0.1)
    assert measured[16] / measured[64] == pytest.approx(4 * (N - 16) / (N - 64), rel=0.1)
    assert noise.gradient_noise(PROBLEM, point, N) == 0.0 and sampled_noise(N, point, epochs=3) < 1e-20


@pytest.mark.parametrize("learning_rate", [0.1, 0.37, 0.5, schedules.exponential_decay(0.3, 50, 0.5)])
def test_the_full_batch_reproduces_plain_gradient_descent_exactly(learning_rate):
    surface = noise.as_surface(PROBLEM)
    plain = optimizers.trajectory(optimizers.sgd(learning_rate), surface.loss, surface.grad, surface.start, 300)
    run = noise.noisy_trajectory(PROBLEM, learning_rate, N, 300)
    assert run.diverged == plain.diverged and run.points.dtype == np.float32
    assert np.array_equal(run.points, plain.points) and np.array_equal(run.losses, plain.losses)
    assert run.diverged == (learning_rate == 0.5)  # above the critical rate 2 / 5.28 = 0.379


def test_small_batches_are_noisy_and_reproducible():
    run = noise.noisy_trajectory(PROBLEM, 0.1, 8, 300, seed=0)
    assert np.array_equal(run.points, noise.noisy_trajectory(PROBLEM, 0.1, 8, 300, seed=0).points)
    other = noise.noisy_trajectory(PROBLEM, 0.1, 8, 300, seed=1)
    assert not np.allclose(run.points[-1], other.points[-1])
    full = noise.noisy_trajectory(PROBLEM, 0.1, N, 300)
    assert noise.distance_to_minimum(PROBLEM, full)[-1] < 1e-5 < noise.distance_to_minimum(PROBLEM, run)[-1]
    assert run.losses[-1] == pytest.approx(float(noise.loss(PROBLEM, run.points[-1])))  # the loss on all the data


def test_a_constant_rate_stalls_in_a_ball_that_grows_with_lr_and_shrinks_with_the_batch():
    ball = {(lr, b): noise.noise_ball(PROBLEM, noise.noisy_trajectory(PROBLEM, lr, b, 300))
            for lr in (0.03, 0.1, 0.3) for b in (1, 4, 16, 64)}
    for b in (1, 4, 16, 64):
        assert ball[(0.03, b)] < ball[(0.1, b)] < ball[(0.3, b)]
    for lr in (0.03, 0.1, 0.3):
        assert ball[(lr, 1)] > ball[(lr, 4)] > ball[(lr, 16)] > ball[(lr, 64)]
    # From a large enough rate, a decaying rate on the same batches gets much closer, whatever the batch.
    for lr in (0.1, 0.3):
        for b in (1, 4, 16, 64):
            runs = noise_widgets.compare_runs(PROBLEM, lr, b)
            assert runs.constant.points.shape == runs.decay.points.shape == (301, 2)
            assert noise.noise_ball(PROBLEM, runs.decay) < 0.25 * noise.noise_ball(PROBLEM, runs.constant), (lr, b)
    # From a small rate, halving every 50 steps runs out of steps first: it stops short of the minimum.
    for b in (4, 16, 64):
        runs = noise_widgets.compare_runs(PROBLEM, 0.01, b)
        assert noise.noise_ball(PROBLEM, runs.decay) > max(0.07, noise.noise_ball(PROBLEM, runs.constant))


def test_without_noise_decay_only_slows_down():
    runs = noise_widgets.compare_runs(PROBLEM, 0.1, N)
    assert noise.noise_ball(PROBLEM, runs.decay) > noise.noise_ball(PROBLEM, runs.constant)


def test_noise_ball_of_a_diverged_run_is_infinite():
    run = noise.noisy_trajectory(PROBLEM, 0.5, N, 100)
    assert run.diverged and noise.noise_ball(PROBLEM, run, last=5) == float("inf")


@pytest.mark.parametrize("call, kind, words", [
    (lambda: noise.line_fit(num_examples=1), ValueError, "num_examples must be >= 2"),
    (lambda: noise.line_fit(noise=-1.0), ValueError, "noise must be >= 0"),
    (lambda: noise.loss(PROBLEM, [1.0, 2.0, 3.0]), ValueError, r"params must have shape \(..., 2\)"),
    (lambda: noise.loss("line", [1.0, 2.0]), TypeError, "problem must be a LeastSquares"),
    (lambda: noise.gradient(PROBLEM, [1.0, 2.0], batch=[0, 256]), ValueError, "batch must hold indices from 0 to 255"),
    (lambda: noise.gradient(PROBLEM, [1.0, 2.0], batch=[0.5]), ValueError, "batch must be a 1-D array of example"),
    (lambda: noise.batch_indices(N, 0, 5), ValueError, "batch_size must be >= 1"),
    (lambda: noise.batch_indices(N, 257, 5), ValueError, "batch_size must be <= 256"),
    (lambda: noise.batch_indices(N, 8.0, 5), TypeError, "batch_size must be an integer"),
    (lambda: noise.gradient_noise(PROBLEM, [[1.0, 2.0]], 4), ValueError, "params must be one point"),
    (lambda: noise.noisy_trajectory(PROBLEM, -0.1, 8, 10), ValueError, "learning_rate must be > 0"),
    (lambda: noise.noisy_trajectory(PROBLEM, 0.1, 8, 10, start=[1.0]), ValueError, "start must have shape"),
    (lambda: noise.noisy_trajectory(PROBLEM, 0.1, 8, 10, start=[1.0, np.nan]), ValueError, "start must be one finite"),
    (lambda: noise.noisy_trajectory(PROBLEM, lambda s: -s, 8, 10), ValueError, "learning rate >= 0"),
    (lambda: noise.noise_ball(PROBLEM, (1, 2)), TypeError, "run must be a Trajectory"),
    (lambda: noise.noise_ball(PROBLEM, noise.noisy_trajectory(PROBLEM, 0.1, 8, 10), last=20), ValueError,
     "last must be at most the run's 11 points"),
    (lambda: noise_widgets.minibatch_explorer(batch_size=3), ValueError, r"batch_size must be one of \[1, 2, 4"),
    (lambda: noise_widgets.describe_runs(PROBLEM, (1, 2), 0.1, 8), TypeError, "runs must be the RunPair"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, kind, words):
    with pytest.raises(kind, match=words):
        call()


def test_static_picture_is_colour_blind_safe():
    fig = Figure(figsize=(12, 3.8))
    drawn = noise_widgets.plot_noise_runs(PROBLEM, noise_widgets.compare_runs(PROBLEM, 0.1, 8), axes=fig.subplots(1, 3))
    assert audit_figure(fig) == []
    assert drawn["constant_distance"].get_linestyle() != drawn["decay_distance"].get_linestyle()
    assert drawn["constant_tail"].get_marker() != drawn["decay_tail"].get_marker()
    assert len(drawn["constant_tail"].get_xdata()) == noise_widgets.LAST


def test_minibatch_explorer():
    before = plt.get_fignums()
    demo = noise_widgets.minibatch_explorer(batch_size=8, learning_rate=0.1)
    assert plt.get_fignums() == before  # no pyplot figure leaks
    bundle, metadata = demo._repr_mimebundle_()
    assert len(bundle["image/png"]) > 1000 and metadata["image/png"]["alt"] == demo.summary()
    assert 'role="status"' in demo.readout.value and audit_figure(demo.live.figure) == []
    assert "batch 8 of 256, learning rate 0.1" in demo.summary()
    assert "stay 0.17 from the minimum with the constant rate, 0.0069 with the rate halved" in demo.summary()
    draws = demo.live.full_draws

    def move(name, value):
        png = demo.live.png
        start = time.perf_counter()
        demo.controls[name].value = value
        seconds = time.perf_counter() - start
        assert demo.live.png != png, f"{name} = {value} did not change the picture"
        return seconds

    move("batch_size", 64)
    assert "stay 0.031 from the minimum with the constant rate, 0.0008 with" in demo.summary()
    move("batch_size", 256)
    assert "no noise" in demo.summary()
    distance = demo.artists["constant_distance"].get_ydata()
    assert distance[-1] == noise_widgets.DISTANCE_RANGE[0]  # converged: drawn at the floor
    move("learning_rate", 10 ** -0.6)  # 0.25
    move("batch_size", 1)
    assert "with the constant rate" in demo.summary() and demo.live.full_draws == draws  # only blits
    times = [move("batch_size", b) for b in (2, 4, 8, 16, 32)]  # each computes two new 300-step runs
    times += [move("learning_rate", lr) for lr in (10 ** -1.5, 10 ** -1.2, 10 ** -2, 10 ** -0.8)]
    assert np.median(times) < 0.25  # typically 20-40 ms; generous for a busy test machine

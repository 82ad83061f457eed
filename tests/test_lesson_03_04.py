"""Lessons 03 (gradient descent) and 04 (optimizers): every number the lessons print, and the three explorers
driven headlessly (the figure and the readout must change the way the lesson says they do)."""

import inspect
import json

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils import gradients, optimizers, surfaces  # noqa: E402
from course_utils.widgets import descent, race  # noqa: E402
from tests.nbrun import ROOT  # noqa: E402

parabola, ravine, rosenbrock = surfaces.parabola, surfaces.ravine, surfaces.rosenbrock


def sgd_run(surface, lr, steps):
    return optimizers.trajectory(optimizers.sgd(lr), surface.loss, surface.grad, surface.start, num_steps=steps)


# ------------------------------------------------------------------------------------------------
# Lesson 03: numbers
# ------------------------------------------------------------------------------------------------


def test_first_step_on_the_parabola():
    w = parabola.start
    assert float(parabola.loss(w)) == 16.0 and parabola.grad(w)[0] == -8.0
    updates, _ = optimizers.sgd(0.1).update(parabola.grad(w), optimizers.sgd(0.1).init(w))
    assert optimizers.apply_updates(w, updates)[0] == pytest.approx(-0.2)


def test_twenty_steps_with_lr_0_1():
    run = sgd_run(parabola, 0.1, 20)
    assert [round(float(run.points[k, 0]), 4) for k in (1, 2, 5, 10, 20)] == [-0.2, 0.44, 1.6893, 2.5705, 2.9539]
    assert round(float(run.losses[20]), 6) == 0.002127


@pytest.mark.parametrize("lr", [0.001, 0.01, 0.1, 0.3, 0.75, 0.95, 1.0, 1.1, 1.5])
def test_each_step_multiplies_the_error_by_one_minus_lr_c(lr):
    run = sgd_run(parabola, lr, 8)
    errors = run.points[:, 0] - 3.0
    np.testing.assert_allclose(errors[1:], errors[:-1] * descent.contraction_factor(lr, 2.0), rtol=1e-5, atol=1e-5)


def test_critical_learning_rate_and_regimes_table():
    assert surfaces.critical_learning_rate(parabola) == 1.0
    table = {lr: (descent.parabola_regime(lr), sgd_run(parabola, lr, 20).losses[-1])
             for lr in (0.001, 0.01, 0.1, 0.5, 0.75, 1.0, 1.1)}
    assert [v[0] for v in table.values()] == [
        "converges smoothly", "converges smoothly", "converges smoothly", "lands on the minimum in one step",
        "oscillates but converges", "bounces forever", "diverges"]
    assert f"{table[0.001][1]:.4g}" == "14.77" and f"{table[0.01][1]:.4g}" == "7.131"
    assert table[0.5][1] == 0.0 and table[1.0][1] == 16.0 and f"{table[1.1][1]:.4g}" == "2.352e+04"


def test_typical_learning_rates_all_make_progress_on_the_parabola():
    for lr in (0.001, 0.01, 0.1):
        run = sgd_run(parabola, lr, 20)
        assert run.losses[-1] < run.losses[0] and not run.diverged


def tape_gradient(params, x, y):
    p = tf.Variable(params)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((p[0] * x + p[1] - y) ** 2)
    return tape.gradient(loss, p).numpy()


def test_gradient_tape_matches_the_numerical_gradient():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = 2 * x + 1
    loss = lambda p: np.mean((p[0] * x + p[1] - y) ** 2)
    params = np.array([0.5, 0.0])
    assert loss(params) == 25.375
    np.testing.assert_allclose(tape_gradient(params, x, y), [-27.5, -9.5], rtol=1e-12)
    check = gradients.gradient_check(loss, lambda p: tape_gradient(p, x, y), params)
    assert check.ok and check.relative_error < 1e-8
    bad = gradients.gradient_check(loss, lambda p: tape_gradient(p, x, y) / 2, params)
    assert not bad.ok and round(bad.relative_error, 2) == 0.5


def test_ravine_zigzags_or_crawls():
    assert surfaces.critical_learning_rate(ravine) == pytest.approx(0.1)
    fast, slow = sgd_run(ravine, 0.095, 100), sgd_run(ravine, 0.01, 100)
    assert descent.describe_run(fast) == "reached loss < 1e-06 after 81 steps"
    assert f"{slow.losses[-1]:.2e}" == "8.21e-01"
    assert np.all(np.diff(np.sign(fast.points[:12, 1])) != 0)  # the steep coordinate flips sign every step
    assert np.all(np.diff(slow.points[:, 0]) > 0) and slow.points[-1, 0] < -1.2  # creeps one way, far from 0
    assert descent.describe_run(sgd_run(ravine, 0.2, 100)).startswith("diverged")


def test_condition_number_steps():
    for kappa, expected in ((20, 70), (1000, 3454)):
        factor = (kappa - 1) / (kappa + 1)
        steps = int(np.ceil(np.log(1e-3) / np.log(factor)))
        assert steps == expected
        valley = surfaces.quadratic([1.0, float(kappa)])
        run = sgd_run(valley, 2 / (1 + kappa), steps)
        assert run.losses[-1] < 1.01e-6 * run.losses[0]


def test_rosenbrock_knife_edge():
    results = {lr: sgd_run(rosenbrock, lr, 1000) for lr in (1e-4, 1e-3, 2e-3, 3e-3)}
    assert f"{results[1e-3].losses[-1]:.3g}" == "2.76" and f"{results[2e-3].losses[-1]:.3g}" == "0.000232"
    assert results[3e-3].diverged and len(results[3e-3].losses) == 4  # steps 0-3, the 4th blew up
    assert descent.describe_run(results[3e-3]) == "diverged: the loss blew up at step 4"


# The sweep runs every learning rate at once by giving the optimizer a column of rates; it must
# equal optimizers.trajectory row by row (this also guards the trick against library changes).
@pytest.mark.parametrize("key", list(race.OPTIMIZERS))
@pytest.mark.parametrize("surface", [parabola, ravine, rosenbrock], ids=lambda s: s.name)
def test_batched_sweep_equals_one_trajectory_per_rate(key, surface):
    make = race.OPTIMIZERS[key][1]
    grid = descent.log_grid(1e-4, 2.0, steps_per_decade=4)
    sweep = descent.Sweep(make, surface, grid, 120)
    diverged = 0
    for lr in grid:
        ours, reference = sweep.run(lr), optimizers.trajectory(make(float(lr)), surface.loss, surface.grad,
                                                                surface.start, 120)
        assert ours.diverged == reference.diverged and ours.points.shape == reference.points.shape
        np.testing.assert_array_equal(ours.points, reference.points)
        np.testing.assert_allclose(ours.losses, reference.losses, rtol=1e-14)  # float64 losses of equal points
        diverged += ours.diverged
    if key in ("sgd", "momentum") and surface is not parabola:
        assert diverged > 0  # the grid includes blow-ups, so the stopping logic is exercised


def test_sweep_off_grid_rate_is_computed_exactly():
    sweep = descent.Sweep(optimizers.sgd, ravine, descent.log_grid(0.01, 0.1), 50)
    run = sweep.run(0.0123)
    np.testing.assert_array_equal(run.points, sgd_run(ravine, 0.0123, 50).points)


def test_clipping_helpers():
    clipped = descent.clip_points([[1e9, -1e9], [0.0, 0.0]], ravine.bounds)
    assert clipped[0].tolist() == [4.4, -4.4] and clipped[1].tolist() == [0.0, 0.0]
    assert descent.clip_losses([np.inf, 1e-30, 1.0]).tolist() == [2e4, 5e-11, 1.0]


def test_static_plots_draw_what_they_say():
    fig = Figure()
    ax1, ax2, ax3 = fig.subplots(1, 3)
    picture = descent.plot_slope_step(-1.0, 0.1, ax=ax1)
    assert picture["next_w"] == pytest.approx(-0.2)
    np.testing.assert_allclose(np.diff(picture["tangent"].get_ydata()) / np.diff(picture["tangent"].get_xdata()), -8)
    line = descent.plot_parabola_path(sgd_run(parabola, 1.5, 10), ax=ax2)
    assert line.get_xdata().max() == pytest.approx(12.9)  # the diverging path is clipped just past the view
    factor = descent.plot_contraction(2.0, ax=ax3)
    assert factor.get_ydata().min() == pytest.approx(0.0) and ax3.get_xlim() == (0.0, 2.0)


def test_minibatch_section_numbers():
    """Section 7's numbers, as its text quotes them (the full checks of course_utils.noise: tests/test_noise.py)."""
    from course_utils import noise
    from course_utils.widgets import noise as noise_widgets

    problem = noise.line_fit()
    best = noise.minimum(problem)
    assert [f"{v:.3f}" for v in best] == ["2.040", "0.910"] and f"{float(noise.loss(problem, best)):.3f}" == "1.012"
    sizes = [f"{np.sqrt(noise.gradient_noise(problem, best, b)):.3f}" for b in (1, 8, 64, 256)]
    assert sizes == ["3.579", "1.248", "0.388", "0.000"]
    table = {(lr, b): noise.noise_ball(problem, noise.noisy_trajectory(problem, lr, b, num_steps=300))
             for lr in (0.03, 0.1, 0.2) for b in (1, 8, 64, 256)}
    for lr in (0.03, 0.1, 0.2):  # the noise ball shrinks with the batch, and the whole data set arrives
        assert table[(lr, 1)] > table[(lr, 8)] > table[(lr, 64)] > 10 * table[(lr, 256)] and table[(lr, 256)] < 1e-4
    for b in (1, 8, 64):  # and grows with the learning rate
        assert table[(0.03, b)] < table[(0.1, b)] < table[(0.2, b)]
    longer = noise.noise_ball(problem, noise.noisy_trajectory(problem, 0.1, 8, num_steps=3000))
    assert f"{longer:.2g}" == "0.13" and longer > 0.5 * table[(0.1, 8)]  # "running ten times longer hardly changes it"
    runs = noise_widgets.compare_runs(problem, 0.1, batch_size=8)
    constant, decay = (noise.distance_to_minimum(problem, run) for run in runs)
    assert np.argmax(constant < 0.3) <= 5  # "near the minimum after a handful of steps"
    assert 0.005 < constant[50:].min() and constant[50:].max() < 0.42  # "anywhere from 0.007 to 0.4 away"
    ball = [noise.noise_ball(problem, run) for run in runs]
    assert [f"{v:.2g}" for v in ball] == ["0.17", "0.0069"] and round(ball[0] / ball[1]) == 25
    assert 0.0005 < decay[-50:].min() and decay[-50:].max() < 0.015  # the figure's alt text
    # "Halving every 50 steps from 0.01 ... stops short", the explorer's last suggestion (batch 64)
    short = noise_widgets.compare_runs(problem, 0.01, batch_size=64)
    assert noise.noise_ball(problem, short.decay) > 5 * noise.noise_ball(problem, short.constant)


# ------------------------------------------------------------------------------------------------
# Lesson 04: numbers
# ------------------------------------------------------------------------------------------------


def test_defaults_match_keras_and_the_sources():
    ours = {f.__name__: inspect.signature(f).parameters for f in
            (optimizers.sgd, optimizers.rmsprop, optimizers.adagrad, optimizers.adam)}
    assert ours["sgd"]["learning_rate"].default == 0.01 == pytest.approx(float(keras.optimizers.SGD().learning_rate))
    assert ours["adam"]["learning_rate"].default == 0.001 == pytest.approx(
        float(keras.optimizers.Adam().learning_rate))
    assert ours["rmsprop"]["learning_rate"].default == pytest.approx(float(keras.optimizers.RMSprop().learning_rate))
    assert ours["adagrad"]["initial_accumulator_value"].default == 0.1 == \
        keras.optimizers.Adagrad().initial_accumulator_value


def test_momentum_velocity_builds_up():
    opt = optimizers.sgd(0.01, momentum=0.9)
    state = opt.init(np.zeros(1))
    velocities = []
    for _ in range(5):
        _, state = opt.update(np.array([1.0]), state)
        velocities.append(round(float(state.velocity[0]), 5))
    assert velocities == [-0.01, -0.019, -0.0271, -0.03439, -0.04095]


def test_rmsprop_first_step_ignores_the_gradient_scale():
    steps = []
    for g in (0.01, 100.0):
        opt = optimizers.rmsprop(0.001)
        updates, _ = opt.update(np.array([g]), opt.init(np.zeros(1)))
        steps.append(round(float(updates[0]), 6))
    assert steps == [-0.003147, -0.003162]


def test_adagrad_accumulator_and_shrinking_steps():
    opt = optimizers.adagrad(0.01)
    state = opt.init(np.zeros(2))
    rows = []
    for step in range(1, 4):
        updates, state = opt.update(np.array([1.0, 0.0 if step > 1 else 1.0]), state)
        rows.append(([round(float(a), 4) for a in state.accumulator], [round(float(u), 5) for u in updates]))
    assert [r[0] for r in rows] == [[1.1, 1.1], [2.1, 1.1], [3.1, 1.1]]
    assert [r[1][0] for r in rows] == [-0.00953, -0.0069, -0.00568] and rows[2][1][1] == 0.0
    sizes = race.step_sizes(optimizers.adagrad(0.01), np.ones(100))
    assert np.all(np.diff(sizes) < 0) and sizes[-1] < 0.11 * sizes[0]


def test_adam_state_after_two_steps():
    opt = optimizers.adam()
    params = np.array([1.0, -2.0, 0.5])
    state = opt.init(params)
    first, state = opt.update(np.array([0.1, -0.2, 3.0]), state)
    second, state = opt.update(np.array([0.1, 0.2, 3.0]), state)
    np.testing.assert_allclose(first, [-0.001, 0.001, -0.001], rtol=1e-3)
    np.testing.assert_allclose(state.m, [0.019, 0.002, 0.57], rtol=1e-5)
    np.testing.assert_allclose(state.v, [1.999e-5, 7.996e-5, 0.017991], rtol=1e-4)
    assert abs(second[1]) < 0.1 * abs(second[0])  # the sign flip cancels most of weight 2's momentum


def test_step_sizes_follow_the_gradient_only_for_sgd():
    for key, (_, make) in race.OPTIMIZERS.items():
        small = race.step_sizes(make(0.01), np.full(50, 1.0))
        large = race.step_sizes(make(0.01), np.full(50, 100.0))
        ratio = large[-1] / small[-1]
        if key in ("sgd", "momentum"):
            assert ratio == pytest.approx(100, rel=1e-4)
        else:
            assert ratio == pytest.approx(1, rel=0.05)
    np.testing.assert_allclose(race.step_sizes(optimizers.adam(0.01), np.full(20, 7.0)), 0.01, rtol=1e-4)


def test_race_on_the_ravine_as_printed():
    runs = race.race(ravine, 0.04)
    verdicts = {k: descent.describe_run(r) for k, r in runs.items()}
    assert verdicts == {
        "sgd": "not there after 150 steps: loss 2.94e-05",
        "momentum": "reached loss < 1e-06 after 120 steps",
        "rmsprop": "not there after 150 steps: loss 0.00645",
        "adagrad": "not there after 150 steps: loss 3.64",
        "adam": "not there after 150 steps: loss 0.00693",
    }


def test_at_0_04_sgd_does_not_zigzag_on_the_ravine_and_momentum_swings():
    """The numbers of lesson 04's cell starting `lr, mu = 0.04, 0.9`, derived independently here."""
    runs = race.race(ravine, 0.04, ["sgd", "momentum"])
    sgd_w2 = runs["sgd"].points[:, 1]
    assert np.all(sgd_w2 >= 0) and np.all(np.diff(sgd_w2) <= 0)  # straight down to the floor: factor +0.2
    assert [1 - 0.04 * c for c in ravine.curvatures] == pytest.approx([0.96, 0.2])
    momentum_w2 = runs["momentum"].points[:, 1]
    signs = np.sign(momentum_w2[momentum_w2 != 0])
    assert int(np.sum(signs[1:] != signs[:-1])) == 46  # it crosses the valley floor again and again
    # momentum's error per direction: a damped oscillation with |rate| = sqrt(0.9) (complex roots of
    # z^2 - (1 + mu - lr c) z + mu), whatever the curvature, as long as (1 + mu - lr c)^2 < 4 mu
    for c in ravine.curvatures:
        roots = np.roots([1.0, -(1 + 0.9 - 0.04 * c), 0.9])
        assert np.iscomplex(roots).all() and np.abs(roots) == pytest.approx(np.sqrt(0.9))
    assert 0.96**150 == pytest.approx(2.2e-3, rel=0.05) and np.sqrt(0.9) ** 150 == pytest.approx(3.7e-4, rel=0.05)


def test_momentum_theory_numbers_of_sections_3_and_8():
    """Sections 3.1 to 3.3 and the cell starting `lr, mu = 0.04, 0.9`: the numbers their text quotes (the theory
    itself is checked against real runs in tests/test_momentum.py)."""
    from course_utils import momentum as theory
    from course_utils.widgets import momentum as momentum_widgets

    c = ravine.curvatures
    best_gd, best = theory.optimal_gd(c), theory.optimal_momentum(c)
    assert theory.condition_number(c) == 20 and f"{best_gd.learning_rate:.3f} {best_gd.rate:.3f}" == "0.095 0.905"
    assert f"{best.learning_rate:.3f} {best.momentum:.3f} {best.rate:.3f}" == "0.134 0.403 0.635"
    assert [f"{r:.3f}" for r in theory.direction_rates(0.04, 0.9, c)] == ["0.949", "0.949"]
    assert [theory.regime(0.04, 0.9, ci) for ci in c] == ["swings", "swings"]
    steps = {k: [round(theory.steps_per_tenfold(float(r))) for r in theory.best_rates(k)] for k in (20, 10000)}
    assert steps == {20: [23, 5], 10000: [11513, 115]}
    verdicts = {(lr, mu): descent.describe_run(optimizers.trajectory(optimizers.sgd(lr, momentum=mu), ravine.loss,
                                                                     ravine.grad, ravine.start, 150))
                for lr, mu in [(best_gd.learning_rate, 0.0), (best.learning_rate, best.momentum)]}
    assert list(verdicts.values()) == ["reached loss < 1e-06 after 82 steps", "reached loss < 1e-06 after 26 steps"]
    assert f"{theory.max_learning_rate(0.9, c):.3g}" == "0.19"
    # with momentum mu no learning rate beats sqrt(mu): the two eigenvalues multiply to mu
    assert min(theory.convergence_rate(lr, 0.9, c) for lr in np.linspace(0.001, 0.189, 200)) >= np.sqrt(0.9) - 1e-12
    # the explorer's things to try
    demo = momentum_widgets.momentum_explorer(0.04, 0.9, curvatures=c)
    for lr, mu, rate in [(0.04, 0.64, "0.800"), (0.134, 0.41, "0.640"), (0.134, 0.40, "0.738")]:
        demo.controls["learning_rate"].value, demo.controls["momentum"].value = lr, mu
        assert f"Overall rate {rate}" in demo.summary()
    assert "curvature 20: x0.738 per step (flips sign)" in demo.summary()
    demo.controls["momentum"].value, demo.controls["learning_rate"].value = 0.9, 0.2
    assert "(diverges)" in demo.summary()


def test_paper_forms_table_of_section_6():
    """Section 6.1's table: the papers' forms next to Keras', on the ravine and on the ravine times 1e-6."""
    from course_utils import paper_forms

    matched = paper_forms.paper_epsilon_for_keras(1e-7, beta_2=0.999)
    pairs = [(paper_forms.rmsprop_paper(0.01), optimizers.rmsprop(0.01)),
             (paper_forms.adam_paper(0.01, epsilon=1e-7), optimizers.adam(0.01)),
             (paper_forms.adam_paper(0.01, epsilon=matched), optimizers.adam(0.01))]
    table = [[f"{paper_forms.largest_difference(p, k, lambda w, s=scale: s * ravine.grad(w), ravine.start, 20):.1e}"
              for scale in (1.0, 1e-6)] for p, k in pairs]
    assert table == [["0.0e+00", "2.8e-01"], ["0.0e+00", "4.4e-02"], ["0.0e+00", "2.4e-07"]]
    assert f"{np.spacing(np.float32(3.5)):.1e}" == "2.4e-07"


def test_working_rates_show_adam_is_forgiving():
    sgd_ravine, sgd_rosen = race.working_rates("sgd", ravine), race.working_rates("sgd", rosenbrock)
    adam_ravine, adam_rosen = race.working_rates("adam", ravine), race.working_rates("adam", rosenbrock)
    assert len(sgd_ravine) == 6 and sgd_ravine.max() < 0.1  # never past the critical rate
    assert len(sgd_rosen) == 1 and np.intersect1d(sgd_ravine, sgd_rosen).size == 0
    assert len(adam_ravine) == 15 and len(adam_rosen) == 11
    assert np.intersect1d(adam_ravine, adam_rosen).size == 11  # every rate that works on Rosenbrock works on both
    assert race.working_rates("rmsprop", rosenbrock).size == 0 and race.working_rates("adagrad", rosenbrock).size == 0


def test_state_table_counts_floats_per_weight_like_keras():
    rows = race.state_table(race.DIGITS_SHAPES)
    assert {r.parameters for r in rows} == {38_410}
    assert [(r.label, r.ours, r.keras) for r in rows] == [(r.label, r.keras, r.keras) for r in rows]
    assert [r.per_parameter for r in rows] == [0, 1, 1, 2, 2, 3, 1, 2]
    assert [r.sources_say for r in rows if r.sources_say] == ["Low", "Medium", "Medium", "Medium"]
    text = race.format_state_table(rows)
    assert "76,820" in text and "300.1 KB" in text and len(text.splitlines()) == 2 + len(rows)


@pytest.mark.parametrize("name, kwargs", [("sgd", {}), ("sgd", {"momentum": 0.9}), ("rmsprop", {}),
                                          ("adagrad", {}), ("adam", {})])
def test_our_optimizers_match_keras_for_five_steps(name, kwargs):
    assert race.compare_with_keras(name, num_steps=5, learning_rate=0.01, **kwargs) < 1e-6


def test_compare_with_keras_can_fail():
    # a different learning rate on one side must show up as a difference
    ours, theirs = optimizers.adam(0.01), keras.optimizers.Adam(0.02)
    var = keras.Variable(np.ones(3, dtype="float32"))
    updates, _ = ours.update(np.ones(3), ours.init(np.ones(3)))
    theirs.apply_gradients([(np.ones(3, dtype="float32"), var)])
    assert np.max(np.abs(optimizers.apply_updates(np.ones(3), updates) - var.numpy())) > 1e-3


# ------------------------------------------------------------------------------------------------
# Widgets, driven headlessly
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def no_figure_leak():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "a widget registered a pyplot figure"


def change(demo, name, value):
    png = demo.live.png
    demo.controls[name].value = value
    assert demo.live.png != png, f"setting {name} = {value} did not change the picture"
    return demo.readout.value


def has_static_fallback(demo):
    bundle, metadata = demo._repr_mimebundle_()
    return "image/png" in bundle and len(bundle["image/png"]) > 1000 and metadata["image/png"]["alt"] == demo.summary()


def test_parabola_explorer(no_figure_leak):
    demo = descent.parabola_explorer(learning_rate=0.1)
    live = demo.live
    path, loss_line, marker, status = live._animated
    assert has_static_fallback(demo) and "converges smoothly" in demo.readout.value
    assert "Critical learning rate 2/c = 1" in demo.readout.value
    draws = live.full_draws

    text = change(demo, "learning_rate", 10 ** -0.2)  # 0.631: past 1/c, below 2/c
    assert "oscillates but converges" in text and status.get_text() == "oscillates but converges"
    xs = path.get_xdata()
    assert np.all(np.sign(xs[1:6] - 3) != np.sign(xs[:5] - 3))  # jumps across the minimum every step
    assert marker.get_ydata()[0] == pytest.approx(abs(1 - 2 * 10 ** -0.2))

    text = change(demo, "learning_rate", 1.0)
    assert "bounces forever" in text and set(np.round(path.get_xdata(), 6)) == {-1.0, 7.0}

    text = change(demo, "learning_rate", 10 ** 0.1)  # 1.26 > critical
    assert "diverges" in text and marker.get_ydata()[0] > 1
    assert path.get_xdata().min() == pytest.approx(-6.9) or path.get_xdata().max() == pytest.approx(12.9)
    assert loss_line.get_ydata()[-1] > loss_line.get_ydata()[0]

    text = change(demo, "learning_rate", 0.001)
    assert "crawls" in text and loss_line.get_ydata()[-1] < loss_line.get_ydata()[0]
    assert live.full_draws == draws  # slider ticks only blit: the axes never change
    assert live.axes[1].get_ylim() == descent.LOSS_RANGE


def test_descent_explorer(no_figure_leak):
    demo = descent.descent_explorer("ravine", learning_rate=0.08)
    live = demo.live
    path, start, end, loss_line, status = live._animated
    contour_ax, loss_ax = live.axes
    assert has_static_fallback(demo)
    assert "reached loss &lt; 1e-06" in demo.readout.value or "reached loss < 1e-06" in demo.readout.value
    assert "zig-zags" in demo.readout.value and "Critical lr = 2 / 20 = 0.1" in demo.readout.value
    losses = loss_line.get_ydata()
    assert losses[-1] < 1e-6 < losses[0]
    draws, limits = live.full_draws, contour_ax.get_xlim()

    text = change(demo, "learning_rate", 10 ** -0.7)  # 0.2: twice the critical rate
    assert "diverged" in text and status.get_text().startswith("diverged at step")
    ys = path.get_ydata()
    assert np.abs(ys).max() == pytest.approx(4.4)  # left the plot, clipped just past its edge
    assert contour_ax.get_xlim() == limits and live.full_draws == draws

    text = change(demo, "learning_rate", 0.01)
    assert "not there after 100 steps" in text and "crawls" not in status.get_text()
    assert loss_line.get_ydata()[-1] < loss_line.get_ydata()[0]

    text = change(demo, "learning_rate", 0.1)
    assert "bounces forever" in text

    text = change(demo, "surface", "rosenbrock")  # still lr 0.1: far too large here
    assert "Not a quadratic" in text and "diverged" in text and loss_ax.get_xlim() == (0.0, 1000.0)
    assert "rosenbrock" in contour_ax.get_title() and live.full_draws == draws + 1
    text = change(demo, "learning_rate", 10 ** -2.7)
    assert "not there after 1000 steps: loss 8.86e-05" in text
    assert len(path.get_xdata()) == 1001 and path.get_marker() == "" and live.full_draws == draws + 1


def test_race_explorer(no_figure_leak):
    demo = race.race_explorer("ravine", learning_rate=0.04, chosen=("sgd", "momentum", "adam"))
    live = demo.live
    contour_ax, loss_ax = live.axes
    lines = {key: (live._animated[3 * i], live._animated[3 * i + 2]) for i, key in enumerate(race.OPTIMIZERS)}
    assert has_static_fallback(demo)
    readout = demo.readout.value
    assert "SGD + momentum 0.9" in readout and "reached loss < 1e-06 after 120 steps" in readout
    assert "RMSprop" not in readout and not lines["rmsprop"][0].get_visible()
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["SGD", "SGD + momentum 0.9", "Adam"]

    text = change(demo, "rmsprop", True)
    assert "RMSprop" in text and lines["rmsprop"][0].get_visible()
    assert "RMSprop" in [t.get_text() for t in loss_ax.get_legend().get_texts()]
    draws = live.full_draws

    text = change(demo, "learning_rate", 10 ** -0.6)  # 0.25: SGD and momentum diverge, Adam carries on
    assert text.count("diverged") == 2 and live.full_draws == draws
    adam_path = lines["adam"][0]
    assert np.hypot(adam_path.get_xdata()[-1], adam_path.get_ydata()[-1]) < 0.1
    assert np.abs(lines["sgd"][0].get_ydata()).max() == pytest.approx(4.4)

    text = change(demo, "sgd", False)
    assert not lines["sgd"][0].get_visible() and f"<td style='color:{race.COLORS['sgd'].lower()}" not in text

    text = change(demo, "surface", "rosenbrock")
    assert "rosenbrock" in text and loss_ax.get_xlim() == (0.0, 500.0)
    for key in ("sgd", "momentum", "rmsprop", "adagrad", "adam"):
        demo.controls[key].value = False
    assert demo.summary() == "Tick at least one optimizer."
    assert 'role="status"' in demo.readout.value  # screen readers announce each new summary

    with pytest.raises(ValueError, match="nesterov"):
        race.race_explorer(chosen=("nesterov",))


def test_lessons_link_their_exercises_and_neighbours():
    for name, links in [("03_gradient_descent", ["../exercises/03_gradient_descent.ipynb", "02_cross_entropy.ipynb",
                                                 "04_optimizers.ipynb"]),
                        ("04_optimizers", ["../exercises/04_optimizers.ipynb", "03_gradient_descent.ipynb",
                                           "05_learning_rate_schedules.ipynb"])]:
        nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
        text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        for link in links:
            assert link in text, f"{name} does not link {link}"
        first_code = next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        assert first_code.lstrip().startswith("import course_utils")

"""Colour-blind safe pictures: every plotting helper and explorer of course_utils, called as the lessons call
them, draws only the course palette's colours (course_utils.plots.PALETTE, plus greys and colour maps), and
no two labelled series in one axes differ in colour alone (they also differ in line style or marker).

The lessons' own figures (cells that plot directly) get the same check in tests/test_notebooks.py, on the
lesson run that test already makes (tests.nbrun.execute(..., audit=True)); the checker is tests/plot_audit.py.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils import noise, optimizers, plots, schedules, surfaces  # noqa: E402
from course_utils.training import History  # noqa: E402
from course_utils.widgets import descent, race  # noqa: E402
from course_utils.widgets import losses as loss_widgets  # noqa: E402
from course_utils.widgets import momentum as momentum_widgets  # noqa: E402
from course_utils.widgets import noise as noise_widgets  # noqa: E402
from course_utils.widgets import schedules as schedule_widgets  # noqa: E402
from course_utils.widgets import training as training_widgets  # noqa: E402
from tests.plot_audit import audit_figure, style_key  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def axes(n=1):
    fig = Figure(figsize=(6, 3.5))
    return fig.subplots(1, n) if n > 1 else fig.subplots()


# ---------------------------------------------------------------------------------------------
# The checker itself
# ---------------------------------------------------------------------------------------------


def test_the_checker_flags_series_that_differ_only_in_colour():
    ax = axes()
    ax.plot([0, 1], [0, 1], color=plots.PALETTE["blue"], label="a")
    ax.plot([0, 1], [1, 0], color=plots.PALETTE["vermillion"], label="b")
    ax.legend()
    found = audit_figure(ax.figure)
    assert any("'a' and 'b' differ only in colour" in p for p in found)

    ok = axes()
    ok.plot([0, 1], [0, 1], **plots.series_style(0, label="a"))
    ok.plot([0, 1], [1, 0], **plots.series_style(1, label="b"))
    ok.plot([0, 1], [0.5, 0.5], color=plots.PALETTE["green"], marker="o", label="c")  # solid, but a marker
    ok.plot([0, 1], [0.2, 0.2], color="0.5", linewidth=1)  # unlabelled: not a series
    ok.legend()
    assert audit_figure(ok.figure) == []


def test_the_checker_tells_dash_patterns_apart_and_flags_colours_outside_the_palette():
    ax = axes()
    a = ax.plot([0, 1], [0, 1], linestyle=plots.LINESTYLES[4], label="a")[0]
    b = ax.plot([0, 1], [0, 1], linestyle=plots.LINESTYLES[5], label="b")[0]
    assert style_key(a) != style_key(b)  # both report "--" as their linestyle; their dashes differ
    ax.plot([0, 1], [1, 1], color="tab:red", linestyle=":")
    found = audit_figure(ax.figure)
    assert [p for p in found if "differ only in colour" in p] == []
    assert any("#d62728" in p for p in found) and any("#1f77b4" in p for p in found)  # tab:red, and C0


def test_series_styles_differ_in_more_than_colour():
    keys = {(s["linestyle"], s["marker"]) for s in (plots.series_style(i, marker=True) for i in range(6))}
    assert len(keys) == 6
    assert all(plots.series_style(i)["color"] in plots.PALETTE.values() for i in range(10))


# ---------------------------------------------------------------------------------------------
# Every helper, with the lessons' arguments
# ---------------------------------------------------------------------------------------------


def fake_run(step_loss, epochs, val_loss=None, batch_size=32):
    step_loss = np.asarray(step_loss, dtype=float)
    loss = step_loss.reshape(epochs, -1).mean(axis=1)
    val_loss = np.full(epochs, np.nan) if val_loss is None else np.asarray(val_loss, dtype=float)
    return History(loss, val_loss, np.full(epochs, 0.5), step_loss, np.full(len(step_loss), 1e-3, np.float32),
                   batch_size, 0.1)


def loss_figures():
    a, b, c, d, e, f = (axes() for _ in range(6))
    loss_widgets.plot_error_losses(ax=a, delta=1.0)
    loss_widgets.plot_squared_errors([8, 7, 3], [10, 5, 3], ax=b, labels=["guess 1", "guess 2", "guess 3"])
    x = np.linspace(-2, 2, 50)
    loss_widgets.plot_fits(x, 7 + 1.5 * x, {"MSE": 7 + 1.5 * x, "over_penalty": 6.7 + 1.5 * x,
                                            "under_penalty (blood sugar)": 7.3 + 1.5 * x}, ax=c)
    loss_widgets.plot_log_loss(ax=d, points=[(0.9, 1, "dog, 90%"), (0.1, 1, "dog, 10%"), (0.51, 1, "51%"),
                                             (0.8, 1, "cat, 80%", (-8, 12))])
    loss_widgets.plot_right_or_wrong(ax=e)
    loss_widgets.plot_hinge(ax=f, examples=([1.0, -1.0, 1.0], [0.8, -0.5, 0.3]))
    demos = [loss_widgets.outlier_explorer(outlier=14.0), loss_widgets.robust_fit_explorer(outlier=20.0),
             loss_widgets.asymmetric_loss_explorer(over_weight=2.0), loss_widgets.binary_ce_explorer(probability=0.9),
             loss_widgets.logit_stability_explorer(logit=20.0, label=1.0)]
    return [ax.figure for ax in (a, b, c, d, e, f)] + [demo.live.figure for demo in demos]


def descent_figures():
    parabola = surfaces.parabola
    run = optimizers.trajectory(optimizers.sgd(0.1), parabola.loss, parabola.grad, parabola.start, num_steps=15)
    a, b = axes(), axes(2)
    descent.plot_slope_step(0.5, 0.1, ax=a)
    descent.plot_parabola_path(run, ax=a, color=plots.PALETTE["blue"])
    ravine = surfaces.ravine
    walk = optimizers.trajectory(optimizers.sgd(0.095), ravine.loss, ravine.grad, ravine.start, num_steps=100)
    descent.plot_descent(ravine, walk, axes=b)
    c = axes()
    plots.plot_surface(ravine, ax=c)
    plots.plot_path(walk.points, ax=c, color=plots.PALETTE["vermillion"])
    demos = [descent.parabola_explorer(), descent.descent_explorer(surface="ravine", learning_rate=0.08)]
    return [a.figure, b[0].figure, c.figure] + [demo.live.figure for demo in demos]


def race_figures():
    a, b = axes(2), axes(2)
    for ax, gradient in zip(a, (1.0, 100.0)):
        race.plot_step_sizes(gradient=gradient, learning_rate=0.01, num_steps=100, ax=ax)
    race.plot_race(surfaces.ravine, race.race(surfaces.ravine, learning_rate=0.04), axes=b)
    demo = race.race_explorer(surface="ravine", learning_rate=0.04, chosen=tuple(race.OPTIMIZERS))
    return [a[0].figure, b[0].figure, demo.live.figure]


def momentum_figures():
    a, b = axes(), axes()
    momentum_widgets.plot_rates_vs_condition(ax=a)
    momentum_widgets.plot_direction_errors(0.04, 0.9, ax=b)
    return [a.figure, b.figure, momentum_widgets.momentum_explorer().live.figure]


def noise_figures():
    problem = noise.line_fit()
    three = axes(3)
    noise_widgets.plot_noise_runs(problem, noise_widgets.compare_runs(problem, 0.1, 8), axes=three)
    return [three[0].figure, noise_widgets.minibatch_explorer().live.figure]


def schedule_figures():
    ax = axes()
    for i, kind in enumerate(schedule_widgets.RUN_KINDS):
        plots.plot_schedule(schedule_widgets.run_schedule(kind, 0.1, 225, 45), 225, ax=ax,
                            **plots.series_style(i, label=kind))
    plots.plot_schedule(schedules.cosine_decay(0.1, 100), 100, ax=ax, **plots.series_style(5, label="cosine"))
    ax.legend()
    falling = np.geomspace(2.3, 0.1, 15)
    runs = {lr: fake_run(falling * k, 3) for k, lr in enumerate((1.0, 0.1, 0.001), start=1)}
    demos = [schedule_widgets.schedule_explorer(), schedule_widgets.lr_run_explorer(runs),
             schedule_widgets.schedule_training_lab(None, np.zeros((75, 64)), np.zeros(75, int), epochs=3,
                                                    batch_size=15, runs={("constant", 0.1): runs[0.1],
                                                                         ("cosine", 0.1): runs[1.0]})]
    return [ax.figure] + [demo.live.figure for demo in demos]


def training_figures():
    ax = axes()
    training_widgets.plot_batch_assignment(training_widgets.batch_of_each_example(100, 10, epochs=3), ax=ax)
    falling = np.geomspace(2.3, 0.05, 12)
    good, bad = fake_run(falling, 3, val_loss=[1.0, 0.5, 0.3]), fake_run(np.full(12, 2.3), 3, [2.3, 2.3, 2.3])
    curve = training_widgets.live_training_curve(4)
    curve.callback.on_epoch_end(0, {"loss": 1.5, "val_loss": 1.2, "accuracy": 0.6, "val_accuracy": 0.7})
    demos = [training_widgets.epochs_batches_explorer(), curve,
             training_widgets.batch_size_explorer({8: fake_run(falling, 3, batch_size=8), 32: good}),
             training_widgets.troubleshooting_gallery({"stuck": training_widgets.Case(bad, good, "stuck", "fixed")},
                                                      show_fix=True)]
    return [ax.figure] + [demo.live.figure for demo in demos]


@pytest.mark.parametrize("make", [loss_figures, descent_figures, race_figures, momentum_figures, noise_figures,
                                  schedule_figures, training_figures],
                         ids=lambda f: f.__name__)
def test_every_helper_draws_series_apart_without_colour_and_in_the_palette(make):
    found = {i: audit_figure(fig) for i, fig in enumerate(make())}
    assert {i: problems for i, problems in found.items() if problems} == {}


# ---------------------------------------------------------------------------------------------
# Pictures whose shape is the point
# ---------------------------------------------------------------------------------------------


def test_squared_errors_are_drawn_as_squares_on_screen():
    fig, ax = plt.subplots(figsize=(6, 3.6))  # the lesson's figure size
    squares = loss_widgets.plot_squared_errors([8, 7, 3], [10, 5, 3], ax=ax)
    fig.canvas.draw()
    for square in squares:
        box = square.get_window_extent()
        assert box.width == pytest.approx(box.height, rel=1e-3)


def test_the_logit_explorer_has_no_kinks_at_plus_minus_one():
    """The asinh scale is smooth: the screen slope of the smooth loss curve changes gradually through +-1."""
    demo = loss_widgets.logit_stability_explorer(logit=20.0, label=1.0)
    ax = demo.live.axes
    assert ax.get_xscale() == ax.get_yscale() == "asinh"
    xs = np.linspace(-3, 3, 601)
    ys = np.asarray(loss_widgets.losses.sigmoid_cross_entropy_with_logits(np.ones_like(xs), xs))
    screen = ax.transData.transform(np.column_stack([xs, ys]))
    slopes = np.diff(screen[:, 1]) / np.diff(screen[:, 0])
    assert np.max(np.abs(np.diff(slopes))) < 0.05  # a kink would be a jump in slope between neighbours

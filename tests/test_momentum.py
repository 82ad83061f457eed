"""course_utils.momentum (momentum's theory on a quadratic), course_utils.paper_forms (Adam and RMSprop as
published) and course_utils.widgets.momentum, checked against real runs of course_utils.optimizers and,
where Keras defines the answer, against keras.optimizers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from course_utils import momentum as theory
from course_utils import optimizers, paper_forms
from course_utils.surfaces import quadratic
from course_utils.widgets import momentum as momentum_widgets
from tests.plot_audit import audit_figure

RAVINE = (1.0, 20.0)


def run_errors(learning_rate, mu, curvatures, num_steps):
    """The iterates of the real optimizer on 1/2 sum c w**2 from w = 1 (the minimum is at 0)."""
    c = np.asarray(curvatures, dtype=np.float64)
    surface = quadratic(c, start=np.ones_like(c))
    run = optimizers.trajectory(optimizers.sgd(learning_rate, momentum=mu), surface.loss, surface.grad,
                                surface.start, num_steps)
    assert not run.diverged
    return run.points.astype(np.float64)


def measured_rate(learning_rate, mu, curvatures, num_steps, start=1e15):
    """The asymptotic rate measured from a real run (infinite when it blows up).

    The map is linear, so a start far from the minimum (1e15) leaves room for ~40 decades of float32 before its
    floor: long runs are needed when the best pair's repeated root adds a factor k to rho**k."""
    c = np.asarray(curvatures, dtype=np.float32)
    opt = optimizers.sgd(learning_rate, momentum=mu)
    w = np.full(c.shape, start, np.float32)
    state, norms = opt.init(w), [float(np.linalg.norm(w))]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            updates, state = opt.update(c * w, state)
            w = optimizers.apply_updates(w, updates)
            norms.append(float(np.linalg.norm(w.astype(np.float64))))
            if not np.isfinite(norms[-1]) or norms[-1] > 1e3 * start:
                return np.inf
    return theory.empirical_rate(norms)


# ---------------------------------------------------------------------------------------------
# The 2 x 2 map is what the optimizer does
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lr, mu, c", [(0.04, 0.9, 20.0), (0.1, 0.5, 3.0), (0.3, 0.0, 2.0)])
def test_iteration_matrix_is_one_step_of_keras_momentum(lr, mu, c):
    opt = optimizers.sgd(lr, momentum=mu)
    w = np.array([0.7])
    state = opt.init(w)
    for _ in range(3):  # a few steps, so the velocity is not zero
        updates, state = opt.update(c * w, state)
        w = optimizers.apply_updates(w, updates)
    v = state.velocity[0] if mu else updates[0]  # without momentum, the last step plays the velocity's part
    expected = theory.iteration_matrix(lr, mu, c) @ np.array([w[0], v])
    updates, state = opt.update(c * w, state)
    assert float(optimizers.apply_updates(w, updates)[0]) == pytest.approx(expected[0], rel=1e-5)
    if mu:
        assert float(state.velocity[0]) == pytest.approx(expected[1], rel=1e-5)


@pytest.mark.parametrize("lr, mu, c", [(0.04, 0.9, 1.0), (0.04, 0.9, 20.0), (0.19, 0.9, 20.0), (0.001, 0.5, 2.0)])
def test_eigenvalues_are_distills_and_numpys(lr, mu, c):
    ours = theory.eigenvalues(lr, mu, c)
    # Distill's R acts on (z, w) with z = -v / lr: a change of variables, so the same eigenvalues.
    distill = np.linalg.eigvals(np.array([[mu, c], [-lr * mu, 1 - lr * c]]))
    numpy = np.linalg.eigvals(theory.iteration_matrix(lr, mu, c))
    for other in (distill, numpy):
        assert sorted(ours, key=lambda z: (z.real, z.imag)) == pytest.approx(
            sorted(other.astype(complex), key=lambda z: (z.real, z.imag)), abs=1e-12)
    assert np.prod(ours) == pytest.approx(mu, abs=1e-12)  # determinant mu: complex roots have modulus sqrt(mu)


def test_complex_exactly_when_the_discriminant_is_negative_and_then_the_rate_is_sqrt_mu():
    for mu in (0.1, 0.5, 0.9):
        for x in np.linspace(0.001, 2 + 2 * mu - 1e-3, 400):
            roots = theory.eigenvalues(x, mu, 1.0)
            complex_roots = abs(roots[0].imag) > 1e-12
            assert complex_roots == ((1 + mu - x) ** 2 < 4 * mu)
            assert complex_roots == ((1 - np.sqrt(mu)) ** 2 < x < (1 + np.sqrt(mu)) ** 2)
            if complex_roots:
                assert np.abs(roots).max() == pytest.approx(np.sqrt(mu))
                assert theory.regime(x, mu, 1.0) == "swings"


# ---------------------------------------------------------------------------------------------
# The predicted rate is the measured one
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lr, mu, curvatures", [
    (0.04, 0.0, RAVINE),       # SGD in the race: 0.96 along the floor
    (0.08, 0.0, RAVINE),       # SGD zig-zags across: |1 - 1.6| = 0.6, but 0.92 along
    (0.04, 0.9, RAVINE),       # momentum in the race: sqrt(0.9) in both directions
    (0.005, 0.5, RAVINE),      # no overshoot along the floor: a real root near 1
    (0.1475, 0.5, (1.0, 20.0)),  # lr c = 2.95 in (2.914, 3): the fast direction flips sign
    (0.02, 0.3, (1.0, 4.0, 9.0)),
])
def test_empirical_rate_of_the_real_optimizer_matches_the_spectral_radius(lr, mu, curvatures):
    predicted = theory.convergence_rate(lr, mu, curvatures)
    steps = int(min(400, max(60, 12 / -np.log(predicted))))
    errors = run_errors(lr, mu, curvatures, steps)
    measured = theory.empirical_rate(np.linalg.norm(errors, axis=1), window=20)
    assert measured == pytest.approx(predicted, rel=0.02)
    for i, c in enumerate(curvatures):  # and direction by direction
        direction = theory.direction_rates(lr, mu, [c])[0]
        if direction ** steps > 1e-25:  # far above float32's floor
            assert theory.empirical_rate(errors[:, i]) == pytest.approx(direction, rel=0.03)


def test_flips_sign_regime_flips_the_sign_every_step():
    lr, mu, c = 0.1475, 0.5, 20.0
    assert theory.regime(lr, mu, c) == "flips sign"
    w = run_errors(lr, mu, [c], 80)[40:, 0]
    assert np.all(np.sign(w[1:]) != np.sign(w[:-1]))
    assert theory.regime(0.005, 0.5, 1.0) == "no overshoot"
    tail = run_errors(0.005, 0.5, [1.0], 80)[:, 0]
    assert np.all(tail > 0)


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9])
def test_max_learning_rate_is_the_edge_of_divergence(mu):
    edge = theory.max_learning_rate(mu, RAVINE)
    assert edge == pytest.approx((2 + 2 * mu) / 20)
    surface = quadratic(list(RAVINE), start=[1.0, 1.0])
    for lr, diverges in ((0.97 * edge, False), (1.03 * edge, True)):
        run = optimizers.trajectory(optimizers.sgd(lr, momentum=mu), surface.loss, surface.grad, surface.start,
                                    3000, blow_up=1e6)
        assert (run.diverged or run.losses[-1] > 1.0) == diverges
        assert (theory.convergence_rate(lr, mu, RAVINE) >= 1) == diverges


# ---------------------------------------------------------------------------------------------
# The best pair
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("curvatures", [RAVINE, (0.5, 2.0, 50.0), (1.0, 1000.0)])
def test_optimal_momentum_beats_its_neighbours_in_theory_and_in_real_runs(curvatures):
    best = theory.optimal_momentum(curvatures)
    kappa = theory.condition_number(curvatures)
    assert best.rate == pytest.approx((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1))
    assert theory.convergence_rate(best.learning_rate, best.momentum, curvatures) == pytest.approx(best.rate, rel=1e-6)
    neighbours = [(best.learning_rate * f, best.momentum + d) for f in (0.85, 1.0, 1.15) for d in (-0.05, 0.0, 0.05)
                  if (f, d) != (1.0, 0.0)]
    for lr, mu in neighbours:
        assert theory.convergence_rate(lr, mu, curvatures) > best.rate
    steps = int(38 / -np.log10(best.rate))  # 38 decades: from 1e15 down to 1e-23, above float32's floor
    measured = {pair: measured_rate(*pair, curvatures, steps) for pair in [(best.learning_rate, best.momentum),
                                                                          *neighbours]}
    assert min(measured, key=measured.get) == (best.learning_rate, best.momentum)
    # within 4%: at the best pair both extreme directions have a repeated root, so their error is k * rate**k,
    # and the factor k slows the measured shrink over a finite run a little
    assert measured[best.learning_rate, best.momentum] == pytest.approx(best.rate, rel=0.04)


def test_optimal_gd_beats_its_neighbours_and_best_rates_agree():
    best = theory.optimal_gd(RAVINE)
    assert best.learning_rate == pytest.approx(2 / 21) and best.rate == pytest.approx(19 / 21)
    for lr in (0.9 * best.learning_rate, 1.1 * best.learning_rate):
        assert theory.convergence_rate(lr, 0.0, RAVINE) > best.rate
    gd, mom = theory.best_rates([20.0, 100.0])
    assert gd.tolist() == pytest.approx([19 / 21, 99 / 101])
    assert mom.tolist() == pytest.approx([theory.optimal_momentum(RAVINE).rate, 9 / 11])
    assert np.all(mom < gd)
    measured = theory.empirical_rate(np.linalg.norm(run_errors(best.learning_rate, 0.0, RAVINE, 200), axis=1))
    assert measured == pytest.approx(best.rate, rel=0.01)


def test_critical_damping_is_named():
    best = theory.optimal_momentum(RAVINE)
    assert [theory.regime(best.learning_rate, best.momentum, c) for c in RAVINE] == ["critically damped"] * 2


def test_steps_per_tenfold():
    assert theory.steps_per_tenfold(0.1) == pytest.approx(1.0)
    assert theory.steps_per_tenfold(np.array([0.9, 0.99])).tolist() == pytest.approx([21.85, 229.1], rel=1e-3)


@pytest.mark.parametrize("call, words", [
    (lambda: theory.iteration_matrix(0.0, 0.9, 1.0), "learning_rate must be > 0"),
    (lambda: theory.iteration_matrix(0.1, 1.0, 1.0), "momentum must be in [0, 1)"),
    (lambda: theory.eigenvalues(0.1, 0.5, -2.0), "curvature must be > 0"),
    (lambda: theory.convergence_rate(0.1, 0.5, []), "curvatures is empty"),
    (lambda: theory.optimal_momentum([1.0, 0.0]), "curvatures must be a non-empty list of numbers > 0"),
    (lambda: theory.best_rates(0.5), "condition_number must be >= 1"),
    (lambda: theory.steps_per_tenfold(1.0), "rate must be in (0, 1)"),
    (lambda: theory.empirical_rate([1.0, 0.5], window=5), "at least 2 * window = 10"),
    (lambda: theory.empirical_rate(np.zeros(10), window=2), "must not be all zero"),
    (lambda: momentum_widgets.direction_errors(0.2, 0.9, RAVINE), "largest stable rate is 0.19"),
    (lambda: paper_forms.adam_paper(0.1, beta_1=1.0), "beta_1 must be in [0, 1)"),
    (lambda: paper_forms.adam_paper(0.1, epsilon=-1e-8), "epsilon must be >= 0"),
    (lambda: paper_forms.rmsprop_paper(0.1, decay=1.5), "decay must be in [0, 1)"),
    (lambda: paper_forms.paper_epsilon_for_keras(0.0), "epsilon must be > 0"),
])
def test_bad_input_names_the_argument(call, words):
    with pytest.raises(ValueError) as info:
        call()
    assert words in str(info.value)


def test_paper_form_rejects_a_state_of_another_optimizer():
    with pytest.raises(TypeError, match="state must be the AdamState"):
        paper_forms.adam_paper().update(np.ones(1), optimizers.sgd().init(np.ones(1)))
    with pytest.raises(ValueError, match="has a momentum slot"):
        paper_forms.rmsprop_paper().update(np.ones(1), optimizers.rmsprop(momentum=0.9).init(np.ones(1)))


# ---------------------------------------------------------------------------------------------
# Adam and RMSprop: the papers' forms and Keras' folded forms
# ---------------------------------------------------------------------------------------------


CURVATURES = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 16.0])
TARGET = np.array([1.0, -2.0, 0.5, 3.0, -1.0, 0.25])


def grad_fn(scale):
    """The gradient of scale * 1/2 sum c (w - target)**2: the same problem, its loss measured in other units."""
    return lambda w: scale * CURVATURES * (np.asarray(w, np.float64) - TARGET)


def gradients(scale, num_steps=30, seed=0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.normal(size=6)).astype(np.float32) for _ in range(num_steps)]


def test_adam_paper_follows_algorithm_1_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    gs = gradients(1.0, 5)
    m = v = np.zeros(6)
    w = np.zeros(6)
    opt = paper_forms.adam_paper(lr, b1, b2, eps)
    state, ours = opt.init(w), w.astype(np.float32)
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g.astype(np.float64) ** 2
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        updates, state = opt.update(g, state)
        ours = optimizers.apply_updates(ours, updates)
    assert np.max(np.abs(ours - w)) < 1e-6


def test_adam_forms_agree_when_epsilon_is_negligible():
    diff = paper_forms.largest_difference(paper_forms.adam_paper(0.01, epsilon=1e-20),
                                          optimizers.adam(0.01, epsilon=1e-20), grad_fn(1.0), np.zeros(6), 30)
    assert diff < 1e-6  # float32 rounding on weights of size about 0.3


def test_adam_forms_differ_exactly_by_where_epsilon_sits():
    gs = grad_fn(1e-6)  # gradients this small make epsilon matter
    keras_form = optimizers.adam(0.01, epsilon=1e-7)
    same_eps = paper_forms.largest_difference(paper_forms.adam_paper(0.01, epsilon=1e-7), keras_form, gs, np.zeros(6), 30)
    mapped = paper_forms.largest_difference(
        paper_forms.adam_paper(0.01, epsilon=paper_forms.paper_epsilon_for_keras(1e-7, 0.999)), keras_form, gs,
        np.zeros(6), 30)
    wrong_map = paper_forms.largest_difference(
        paper_forms.adam_paper(0.01, epsilon=paper_forms.paper_epsilon_for_keras(1e-7, 0.99)), keras_form, gs,
        np.zeros(6), 30)
    assert same_eps > 1e-3 and wrong_map > 1e-4  # the placement matters, and the map must use the right beta_2
    assert mapped < 1e-6


def test_paper_forms_match_keras_itself():
    import keras

    gs = gradients(1e-5, 20)
    for ours, theirs in [
        (paper_forms.adam_paper(0.01, epsilon=paper_forms.paper_epsilon_for_keras(1e-7, 0.999)),
         keras.optimizers.Adam(0.01, epsilon=1e-7)),
        (paper_forms.rmsprop_paper(0.01, decay=0.9, epsilon=1e-7), keras.optimizers.RMSprop(0.01, rho=0.9, epsilon=1e-7)),
    ]:
        variable = keras.Variable(np.zeros(6, np.float32))
        w, state = np.zeros(6, np.float32), ours.init(np.zeros(6))
        for g in gs:
            theirs.apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
            updates, state = ours.update(g, state)
            w = optimizers.apply_updates(w, updates)
        assert np.max(np.abs(w - np.asarray(variable.numpy()))) < 1e-6 * max(1.0, float(np.max(np.abs(w))))


def test_rmsprop_lecture_form_is_keras_without_epsilon():
    assert paper_forms.largest_difference(paper_forms.rmsprop_paper(0.01, 0.9, epsilon=1e-7),
                                          optimizers.rmsprop(0.01, rho=0.9, epsilon=1e-7), grad_fn(1.0),
                                          np.zeros(6), 30) < 1e-6
    tiny = grad_fn(1e-6)
    no_eps = paper_forms.largest_difference(paper_forms.rmsprop_paper(0.01), optimizers.rmsprop(0.01), tiny,
                                            np.zeros(6), 30)
    assert no_eps > 1e-3  # Keras' epsilon inside the root matters when the mean square is near it
    updates, _ = paper_forms.rmsprop_paper(0.1).update(np.zeros(2), paper_forms.rmsprop_paper(0.1).init(np.zeros(2)))
    assert updates.tolist() == [0.0, 0.0]  # no 0 / 0


# ---------------------------------------------------------------------------------------------
# Pictures and explorer
# ---------------------------------------------------------------------------------------------


def test_plots_draw_what_the_theory_says_and_pass_the_audit():
    import matplotlib.pyplot as plt

    fig, (a, b, c) = plt.subplots(1, 3)
    lines = momentum_widgets.plot_rates_vs_condition(kappas=[1.0, 20.0, 100.0], ax=a)
    assert lines["momentum"].get_ydata().tolist() == pytest.approx(theory.best_rates([1.0, 20.0, 100.0])[1].tolist())
    momentum_widgets.plot_rates_vs_condition(steps=True, mark=20, ax=b)
    drawn = momentum_widgets.plot_direction_errors(0.04, 0.9, RAVINE, num_steps=50, ax=c)
    assert drawn[1].get_ydata()[:3].tolist() == pytest.approx(run_errors(0.04, 0.9, RAVINE, 2)[:, 1].tolist())
    assert "x0.949/step, swings" in drawn[0].get_label()
    assert audit_figure(fig) == []
    plt.close(fig)


def test_momentum_explorer_readout_follows_the_sliders():
    demo = momentum_widgets.momentum_explorer(0.04, 0.9)
    assert "curvature 1: x0.949 per step (swings); curvature 20: x0.949 per step (swings)" in demo.summary()
    assert "learning rate 0.134, momentum 0.40, rate 0.635" in demo.summary()
    before = demo.live.png
    demo.controls["momentum"].value = 0.0
    assert "curvature 1: x0.960 per step (no overshoot)" in demo.summary() and demo.live.png != before
    demo.controls["learning_rate"].value = 0.5
    assert "it does not converge" in demo.summary() and "(diverges)" in demo.summary()
    assert audit_figure(demo.live.figure) == []

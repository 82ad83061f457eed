"""Checks of exercises 03-04: the case tables (reference, typical wrong answers) that test_check_honesty.py
runs, and the tests specific to these checks (wrong types, edge cases never revealed, ...)."""

import numpy as np
import pytest

from course_utils import gradients, optimizers, surfaces
from course_utils.checks import CheckFailed, descent
from course_utils.checks.definition import Code
from course_utils.checks.descent import (
    check_adam_update,
    check_best_learning_rate,
    check_final_loss,
    check_fit_linear,
    check_gradient_descent,
    check_mse_gradient,
    check_numerical_gradient,
    check_rmsprop_update,
    check_sgd_momentum_update,
)
from course_utils.grade.rubric import judge, rubric_for
from tests.test_checks_01_02 import as_learners

# ---- model answers: each definition's numpy reference, as a learner would type it (course_utils.checks.descent) -

numerical_gradient = as_learners(descent.NUMERICAL_GRADIENT.reference)
mse_gradient = as_learners(descent.MSE_GRADIENT.reference)
gradient_descent = as_learners(descent.GRADIENT_DESCENT.reference)
fit_linear = as_learners(descent.FIT_LINEAR.reference)
sgd_momentum_update = as_learners(descent.SGD_MOMENTUM_UPDATE.reference)
rmsprop_update = as_learners(descent.RMSPROP_UPDATE.reference)
adam_update = as_learners(descent.ADAM_UPDATE.reference)
final_loss = as_learners(descent.FINAL_LOSS.reference)
best_learning_rate = as_learners(descent.BEST_LEARNING_RATE.reference)


def numerical_gradient_in_place_restored(f, x, eps=1e-6):
    """cs231n's pattern: change x in place but put every entry back exactly: fine."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


# ---- typical wrong answers -----------------------------------------------------------------------------------

def ng_forward(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus = x.copy()
        plus[i] += eps
        grad[i] = (f(plus) - f(x)) / eps
    return grad


def ng_no_two(f, x, eps=1e-6):
    return numerical_gradient(f, x, eps) * 2


def ng_all_at_once(f, x, eps=1e-6):
    return np.full(x.shape, (f(x + eps) - f(x - eps)) / (2 * eps))


def ng_not_restored(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        plus = f(x)
        x[i] -= 2 * eps
        minus = f(x)
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def ng_aliased(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x = x.copy()
        plus = x
        plus[i] += eps
        minus = x
        minus[i] -= eps
        grad[i] = (f(plus) - f(minus)) / (2 * eps)
    return grad


def ng_rows_only(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in range(len(x)):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def ng_one_dimensional(f, x, eps=1e-6):
    """Written for a vector only: one entry per row of a matrix."""
    grad = np.zeros(len(x))
    for i in range(len(x)):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        grad[i] = (f(plus) - f(minus)) / (2 * eps)
    return grad


def ng_fixed_eps(f, x, eps=1e-6):
    return numerical_gradient(f, x)


def gd_uphill(grad_fn, w0, learning_rate, num_steps):
    return gradient_descent(lambda w: -grad_fn(w), w0, learning_rate, num_steps)


def gd_short(grad_fn, w0, learning_rate, num_steps):
    return gradient_descent(grad_fn, w0, learning_rate, num_steps)[1:]


def gd_last(grad_fn, w0, learning_rate, num_steps):
    return gradient_descent(grad_fn, w0, learning_rate, num_steps)[-1]


def gd_mutates_w0(grad_fn, w0, learning_rate, num_steps):
    w = w0
    points = [w.copy()]
    for _ in range(num_steps):
        w -= learning_rate * grad_fn(w)
        points.append(w.copy())
    return np.array(points)


def gd_same_array(grad_fn, w0, learning_rate, num_steps):
    w = w0.copy()
    points = [w]
    for _ in range(num_steps):
        w -= learning_rate * grad_fn(w)
        points.append(w)
    return np.array(points)


def gd_one_step_early(grad_fn, w0, learning_rate, num_steps):
    return gradient_descent(grad_fn, w0, learning_rate, num_steps + 1)[1:]


def fit_no_b(x, y, learning_rate, num_steps):
    w = np.zeros(x.shape[1])
    for _ in range(num_steps):
        w = w - learning_rate * mse_gradient(w, 0.0, x, y)[0]
    return w, 0.0


def fit_short(x, y, learning_rate, num_steps):
    return fit_linear(x, y, learning_rate, max(num_steps - 1, 0))


def fit_sequential(x, y, learning_rate, num_steps):
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(num_steps):
        w = w - learning_rate * mse_gradient(w, b, x, y)[0]
        b = b - learning_rate * mse_gradient(w, b, x, y)[1]
    return w, b


def momentum_pytorch(grad, velocity, learning_rate, momentum):
    velocity = momentum * velocity + grad
    return -learning_rate * velocity, velocity


def momentum_pytorch_hidden_buffer():
    """PyTorch's form kept in a hidden buffer, returning its update as the 'velocity': right for a constant
    learning rate, wrong once the rate changes from call to call (as under a schedule)."""
    state = {}

    def update(grad, velocity, learning_rate, momentum):
        if not np.any(velocity):  # a new run
            state["buffer"] = np.zeros_like(grad)
        state["buffer"] = momentum * state["buffer"] + grad
        step = -learning_rate * state["buffer"]
        return step, step

    return update


def adam_paper(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    t = step + 1
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
    return -learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), m, v


def adam_t0(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    return adam_update(grad, m, v, step - 1, learning_rate, beta_1, beta_2, epsilon)


def adam_no_correction(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    return -learning_rate * m / (np.sqrt(v) + epsilon), m, v


def adam_eps_inside(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    update, m, v = adam_update(grad, m, v, step, learning_rate, beta_1, beta_2, epsilon)
    alpha = learning_rate * np.sqrt(1 - beta_2 ** (step + 1)) / (1 - beta_1 ** (step + 1))
    return -alpha * m / np.sqrt(v + epsilon), m, v


def rms_with(v_new=None, divide_by_old=False, root=True):
    """RMSprop with one typical mistake."""
    def update(grad, velocity, learning_rate, rho=0.9, epsilon=1e-7):
        new = v_new(grad, velocity, rho) if v_new else rho * velocity + (1 - rho) * grad**2
        under = velocity if divide_by_old else new
        scale = np.sqrt(under + epsilon) if root else under + epsilon
        return -learning_rate * grad / scale, new
    return update


def adam_with(m_new=None, v_new=None, alpha=None, use_old=False):
    """Adam with one typical mistake."""
    def update(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        t = step + 1
        m1 = m_new(grad, m, beta_1) if m_new else beta_1 * m + (1 - beta_1) * grad
        v1 = v_new(grad, v, beta_1, beta_2) if v_new else beta_2 * v + (1 - beta_2) * grad**2
        a = alpha(learning_rate, beta_1, beta_2, t) if alpha else learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        mu, nu = (m, v) if use_old else (m1, v1)
        return -a * mu / (np.sqrt(nu) + epsilon), m1, v1
    return update


def final_loss_diverged_ignored(optimizer, surface, num_steps):
    return float(optimizers.trajectory(optimizer, surface.loss, surface.grad, surface.start, num_steps).losses[-1])


def final_loss_first(optimizer, surface, num_steps):
    return float(optimizers.trajectory(optimizer, surface.loss, surface.grad, surface.start, num_steps).losses[0])


def final_loss_extra_step(optimizer, surface, num_steps):
    return final_loss(optimizer, surface, num_steps + 1)


def final_loss_minus_inf(optimizer, surface, num_steps):
    loss = final_loss(optimizer, surface, num_steps)
    return -loss if loss == float("inf") else loss


def best_lr_loss(make_optimizer, surface, candidates, num_steps):
    return min(final_loss(make_optimizer(lr), surface, num_steps) for lr in candidates)


def best_lr_index(make_optimizer, surface, candidates, num_steps):
    return int(np.argmin([final_loss(make_optimizer(lr), surface, num_steps) for lr in candidates]))


def best_lr_max(make_optimizer, surface, candidates, num_steps):
    return max(candidates, key=lambda lr: min(final_loss(make_optimizer(lr), surface, num_steps), 1e300))


CASES = {
    # check: (reference, [(mutant, words in the message), ...])
    "numerical_gradient": (check_numerical_gradient, numerical_gradient, [
        (ng_forward, "forward difference"),
        (ng_no_two, "2 * eps"),
        (ng_all_at_once, "every coordinate at once"),
        (ng_not_restored, "in place"),
        (ng_aliased, "does not copy"),
        (ng_rows_only, "np.ndindex"),
        (ng_fixed_eps, "eps argument"),
        (ng_one_dimensional, "only range(len(x))"),
        (lambda f, x, eps=1e-6: numerical_gradient(f, x, eps)[..., None], "shape"),
    ]),
    "mse_gradient": (check_mse_gradient, mse_gradient, [
        (lambda w, b, x, y: (x.T @ (x @ w + b - y) / len(y), np.mean(x @ w + b - y)), "factor 2"),
        (lambda w, b, x, y: (2 * x.T @ (y - x @ w - b) / len(y), 2 * np.mean(y - x @ w - b)), "sign"),
        (lambda w, b, x, y: (2 * x.T @ (x @ w + b - y), 2 * np.sum(x @ w + b - y)), "MEAN"),
        (lambda w, b, x, y: (mse_gradient(w, b, x, y)[0], 0.0), "forgot db"),
        (lambda w, b, x, y: mse_gradient(w, b, x, y)[0], "2 values"),
        (lambda w, b, x, y: (2 * (x @ w + b - y) / len(y), 2 * np.mean(x @ w + b - y)), "one number per weight"),
        (lambda w, b, x, y: (x.T @ (x @ w + b - y), np.mean(x @ w + b - y)), "summed over the samples and forgot"),
        (lambda w, b, x, y: (mse_gradient(w, b, x, y)[0], 2 * np.sum(x @ w + b - y)), "db is a sum"),
        (lambda w, b, x, y: (mse_gradient(w, b, x, y)[0], -mse_gradient(w, b, x, y)[1]), "sign of db"),
        (lambda w, b, x, y: (mse_gradient(w, b, x, y)[0], np.mean(x @ w + b - y)), "factor 2 from the square in db"),
    ]),
    "gradient_descent": (check_gradient_descent, gradient_descent, [
        (gd_uphill, "UPHILL"),
        (gd_short, "one row short"),
        (gd_last, "only one point"),
        (gd_mutates_w0, "w = w0"),
        (gd_same_array, "same array"),
        (gd_one_step_early, "first row must be w0"),
        (lambda g, w0, lr, n: gradient_descent(g, w0, 1.0, n), "learning rate"),
    ]),
    "fit_linear": (check_fit_linear, fit_linear, [
        (fit_no_b, "update the bias"),
        (fit_short, "one step too few"),
        (fit_sequential, "same point"),
        (lambda x, y, lr, n: fit_linear(x, y, -lr, n), "uphill"),
        (lambda x, y, lr, n: fit_linear(x, y, lr, n)[0], "2 values"),
        (lambda x, y, lr, n: fit_linear(x, y, lr, n + 1), "one step too many"),
        (lambda x, y, lr, n: (np.zeros(x.shape[1]), fit_linear(x, y, lr, n)[1]), "w did not move"),
    ]),
    "sgd_momentum_update": (check_sgd_momentum_update, sgd_momentum_update, [
        (momentum_pytorch, "PyTorch"),
        (momentum_pytorch_hidden_buffer(), "changes from call to call"),
        (lambda g, v, lr, mu: (mu * v + lr * g, mu * v + lr * g), "sign"),
        (lambda g, v, lr, mu: (mu * v - lr * g, v), "old velocity"),
        (lambda g, v, lr, mu: mu * v - lr * g, "2 values"),
        (lambda g, v, lr, mu: (v, mu * v - lr * g), "OLD velocity"),
        (lambda g, v, lr, mu: (-lr * (mu * v + g), mu * v - lr * g), "PyTorch's form, -learning_rate"),
        (lambda g, v, lr, mu: (mu * v - lr * g, mu * v - g), "PyTorch's velocity with a minus sign"),
        (lambda g, v, lr, mu: (mu * v - lr * g, mu * v + lr * g), "sign is flipped: velocity ="),
        (lambda g, v, lr, mu: (-lr * g, mu * v - lr * g), "ignores the velocity"),
    ]),
    "rmsprop_update": (check_rmsprop_update, rmsprop_update, [
        (lambda g, v, lr, rho=0.9, epsilon=1e-7: (
            -lr * g / (np.sqrt(rho * v + (1 - rho) * g**2) + epsilon), rho * v + (1 - rho) * g**2), "INSIDE"),
        (lambda g, v, lr, rho=0.9, epsilon=1e-7: (
            -lr * g / np.sqrt(rho * v + g**2 + epsilon), rho * v + g**2), "(1 - rho)"),
        (lambda g, v, lr, rho=0.9, epsilon=1e-7: (
            -lr * g / np.sqrt(rho * v + (1 - rho) * g + epsilon), rho * v + (1 - rho) * g), "squared"),
        (lambda g, v, lr, rho=0.9, epsilon=1e-7: tuple(-u if i == 0 else u for i, u in enumerate(
            rmsprop_update(g, v, lr, rho, epsilon))), "sign"),
        (lambda g, v, lr, rho=0.9, epsilon=1e-7: rmsprop_update(g, v, lr)
         if (rho, epsilon) != (0.9, 1e-7) else rmsprop_update(g, v, lr, rho, epsilon), "ignored"),
        (rms_with(v_new=lambda g, v, rho: (1 - rho) * v + rho * g**2), "swapped"),
        (rms_with(divide_by_old=True), "OLD velocity"),
        (rms_with(root=False), "square root"),
        (lambda g, v, lr, rho=0.9, epsilon=1e-7: (rmsprop_update(g, v, lr, rho, epsilon)[0], v), "old velocity unchanged"),
    ]),
    "adam_update": (check_adam_update, adam_update, [
        (adam_no_correction, "bias correction"),
        (adam_t0, "t = step + 1"),
        (adam_eps_inside, "OUTSIDE"),
        (adam_paper, "paper"),
        (lambda *a, **k: (-adam_update(*a, **k)[0], *adam_update(*a, **k)[1:]), "sign"),
        (lambda g, m, v, step, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7: (
            adam_update(g, m, v, step, lr, beta_1, beta_2, epsilon)[0], m, v), "old m"),
        (lambda *a, **k: adam_update(*a, **k)[:2], "3 values"),
        (lambda g, m, v, step, lr, **k: adam_update(g, m, v, step, lr), "ignored"),
        (adam_with(m_new=lambda g, m, b1: (1 - b1) * m + b1 * g), "beta_1 and (1 - beta_1) are swapped"),
        (adam_with(m_new=lambda g, m, b1: b1 * m + g), "forgot (1 - beta_1)"),
        (adam_with(v_new=lambda g, v, b1, b2: b2 * v + g**2), "forgot (1 - beta_2)"),
        (adam_with(v_new=lambda g, v, b1, b2: b2 * v + (1 - b2) * g), "SQUARED"),
        (adam_with(v_new=lambda g, v, b1, b2: b1 * v + (1 - b1) * g**2), "used beta_1 for v"),
        (adam_with(alpha=lambda lr, b1, b2, t: lr / (1 - b1**t)), "needs both parts"),
        (adam_with(use_old=True), "OLD m and v"),
        (lambda g, m, v, step, lr, **k: (adam_update(g, m, v, step, lr, **k)[0], adam_update(g, m, v, step, lr, **k)[1],
                                          v), "old v unchanged"),
    ]),
    "final_loss": (check_final_loss, final_loss, [
        (final_loss_diverged_ignored, "diverged"),
        (final_loss_first, "START"),
        (final_loss_extra_step, "one step too many"),
        (lambda opt, s, n: float("inf"), "did not diverge"),
        (lambda opt, s, n: final_loss(opt, s, max(n - 1, 0)), "one step too few"),
        (final_loss_minus_inf, "has no final loss"),
    ]),
    "best_learning_rate": (check_best_learning_rate, best_learning_rate, [
        (best_lr_loss, "LOSS"),
        (best_lr_index, "position"),
        (best_lr_max, "HIGHEST"),
    ]),
}


def test_in_place_changes_that_are_put_back_are_accepted(capsys):
    check_numerical_gradient(numerical_gradient_in_place_restored)
    assert capsys.readouterr().out.startswith("✓")


def test_float32_learner_math_is_accepted(capsys):
    """A learner who computes in float32 (like Keras) passes the optimizer checks too."""
    f32 = np.float32
    check_adam_update(lambda g, m, v, step, lr, **k: adam_update(
        g.astype(f32), m.astype(f32), v.astype(f32), step, f32(lr), **{n: f32(x) for n, x in k.items()}))
    check_rmsprop_update(lambda g, v, lr, **k: rmsprop_update(
        g.astype(f32), v.astype(f32), f32(lr), **{n: f32(x) for n, x in k.items()}))
    assert capsys.readouterr().out.count("✓") == 2


def test_the_float64_references_agree_with_course_utils():
    """The numpy answers above follow Keras' order of operations: over 50 steps they match the library."""
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=3) for _ in range(50)]
    lrs = rng.uniform(0.01, 0.2, size=50)
    for opt, step_fn, state in [
        (optimizers.sgd(lambda k: lrs[k], momentum=0.9),
         lambda g, s, k: sgd_momentum_update(g, s[0], lrs[k], 0.9), [np.zeros(3)]),
        (optimizers.rmsprop(0.01), lambda g, s, k: rmsprop_update(g, s[0], 0.01), [np.zeros(3)]),
        (optimizers.adam(0.01), lambda g, s, k: adam_update(g, s[0], s[1], k, 0.01), [np.zeros(3), np.zeros(3)]),
    ]:
        lib_state = opt.init(np.zeros(3))
        for k, g in enumerate(grads):
            lib_update, lib_state = opt.update(g, lib_state)
            update, *state = step_fn(g, state, k)
            np.testing.assert_allclose(update, lib_update, rtol=1e-4, atol=1e-7)
    x = np.random.default_rng(1).normal(size=(7, 3))
    y, w = x @ [1.0, -2.0, 0.5] + 0.3, np.array([0.2, 0.1, -0.4])
    dw, db = mse_gradient(w, 0.7, x, y)
    numeric = gradients.numerical_gradient(lambda p: np.mean((x @ p[:3] + p[3] - y) ** 2), np.append(w, 0.7))
    np.testing.assert_allclose(np.append(dw, db), numeric, rtol=1e-6)


@pytest.mark.parametrize("check, bad, words", [
    (check_numerical_gradient, lambda f, x, eps=1e-6: None, "return"),
    (check_numerical_gradient, lambda f, x, eps=1e-6: "0.5", "str"),
    (check_numerical_gradient, lambda f, x: x, "TypeError"),
    (check_numerical_gradient, 42, "should be a function"),
    (check_mse_gradient, lambda w, b, x, y: (mse_gradient(w, b, x, y)[0], None), "None"),
    (check_mse_gradient, lambda w, b, x, y: (mse_gradient(w, b, x, y)[0], np.ones(2)), "one number"),
    (check_gradient_descent, lambda g, w0, lr, n: [[w0]], "shape"),
    (check_sgd_momentum_update, lambda g, v, lr, mu: None, "return"),
    (check_rmsprop_update, lambda g, v, lr: rmsprop_update(g, v, lr), "rho"),  # no rho / epsilon parameters
    (check_adam_update, lambda g, m, v, step, lr, **k: (g[:1], m, v), "shape"),
    (check_final_loss, lambda opt, s, n: [1.0, 2.0], "shape"),
    (check_best_learning_rate, lambda make, s, c, n: {"lr": c[0]}, "dict"),
])
def test_wrong_types_get_a_clear_message(check, bad, words):
    with pytest.raises(CheckFailed) as info:
        check(bad)
    assert words in str(info.value)


def test_expected_values_of_fixed_edge_cases_are_never_shown():
    """Only fresh random inputs reveal their expected value; fixed edge cases never do."""
    calls = []
    randoms = sum(not case.edge for case in check_gradient_descent.definition.cases(np.random.default_rng()))
    assert randoms >= 3

    def wrong_on_edges(grad_fn, w0, learning_rate, num_steps):
        calls.append(1)
        result = gradient_descent(grad_fn, w0, learning_rate, num_steps)
        return result if len(calls) <= randoms else result + 1.0  # right on the random cases, wrong afterwards

    with pytest.raises(CheckFailed) as info:
        check_gradient_descent(wrong_on_edges)
    assert "expected" not in str(info.value) and "got" in str(info.value)


def test_failure_messages_show_formulas_not_memory_addresses():
    with pytest.raises(CheckFailed) as info:
        check_final_loss(final_loss_first)
    text = str(info.value)
    assert "0x" not in text and "quadratic(curvatures=" in text and "sgd(" in text
    with pytest.raises(CheckFailed) as info:
        check_numerical_gradient(ng_forward)
    assert "0x" not in str(info.value) and "f(x) = sum(a * x**3)" in str(info.value)


def test_every_check_is_fast():
    import time

    for name, (check, reference, _) in CASES.items():
        start = time.perf_counter()
        check(reference)
        assert time.perf_counter() - start < 5, name


def test_objects_handed_over_are_course_objects_shown_as_formulas():
    """Surfaces, optimizers and functions are Code: the grader sends the expression, messages show the formula."""
    for exercise in (descent.FINAL_LOSS, descent.BEST_LEARNING_RATE):
        for case in exercise.cases(np.random.default_rng()):
            surface = case.args[1]
            assert isinstance(surface, Code) and isinstance(surface.build(), surfaces.Surface)
            assert "0x" not in repr(case.args[0]) and "<" not in repr(surface)
    assert isinstance(check_final_loss.definition.cases(np.random.default_rng())[0].args[0].build(),
                      optimizers.Optimizer)


def test_the_grader_runs_these_definitions():
    """One definition per exercise: the rubric of 03 and 04 lists the very Exercise objects the checks run."""
    for lesson, exercises in [("03", descent.LESSON_03), ("04", descent.LESSON_04)]:
        graded = rubric_for(lesson)
        for exercise in exercises:
            assert graded[f"{exercise.function}-check"] is exercise
            assert getattr(descent, f"check_{exercise.function}").definition is exercise


def test_momentum_runs_change_the_learning_rate_from_call_to_call():
    """PyTorch's form is only told apart from Keras' when the rate changes: every run's rate decays."""
    cases = descent.SGD_MOMENTUM_UPDATE.cases(np.random.default_rng())
    rates = [case.args[2] for case in cases[:30]]
    assert len(set(rates)) == 30


def test_in_place_changes_fail_in_the_self_check():
    message = str(pytest.raises(CheckFailed, check_gradient_descent, gd_mutates_w0).value)
    assert "changed the caller's array `w0` in place" in message and "\nbefore    w0 = " in message


@pytest.mark.parametrize("name, mutant, words", [
    ("sgd_momentum_update", momentum_pytorch_hidden_buffer(), "changes from call to call"),
    ("adam_update", adam_t0, "t = step + 1"),
    ("final_loss", final_loss_diverged_ignored, "diverged"),
    ("gradient_descent", gd_uphill, "UPHILL"),
])
def test_the_graders_feedback_names_the_same_mistake(name, mutant, words):
    """The grader calls the cases in order, one call each (as the kernel does); its feedback has the check's hint."""
    exercise = rubric_for("03" if name == "gradient_descent" else "04")[f"{name}-check"]
    for case in exercise.cases(np.random.default_rng()):
        args, kwargs = case.learner_args()
        with np.errstate(all="ignore"):  # as in the kernel
            value = mutant(*args, **kwargs)
        leaves = [{"shape": list(np.shape(v)), "data": np.ravel(v).astype(float)}
                  for v in (value if exercise.returns else [value])]
        got = {"items": leaves} if exercise.returns else {"value": leaves[0]}
        feedback = judge(exercise, case, exercise.expected(case), got)
        if feedback:
            break
    assert feedback and words.lower() in feedback.partition(" Hint: ")[2].lower(), feedback

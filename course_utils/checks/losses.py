"""Checks for the exercises of lessons 01 (loss as error) and 02 (cross-entropy)."""

from __future__ import annotations

import numpy as np

from course_utils import losses
from course_utils.checks.engine import CheckFailed, call, compare, exercise, fresh_rng, numbers, passed

EPS = losses.EPSILON


def _regression_cases():
    """(inputs, show_expected): random 1-D and 2-D pairs first, then fixed edge cases."""
    rng = fresh_rng()
    cases = []
    for shape in [(3,), (4,), (2, 3), (5, 2), (1, 4)]:
        scale = float(rng.choice([1.0, 10.0, 0.1]))
        y_true, y_pred = rng.normal(size=shape) * scale, rng.normal(size=shape) * scale
        if shape == (5, 2):  # one sample predicted all too high, one all too low (their mean errors differ in
            # sign), both by more than any delta huber is checked with
            y_pred[0] = y_true[0] + np.abs(y_pred[0]) + 4.0
            y_pred[1] = y_true[1] - np.abs(y_pred[1]) - 4.0
        cases.append(((y_true, y_pred), True))
    cases.append(((np.array([2.0]), np.array([2.0])), False))  # a perfect prediction
    cases.append(((np.array([1.0, -1.0]), np.array([-1.0, 1.0])), False))  # errors that would cancel
    cases.append(((np.array([[0.0, 0.0]]), np.array([[3.0, -4.0]])), False))  # one-sample batch
    return cases


def _run_regression(fn, name, reference, mistakes, cases, **kwargs) -> int:
    """Compare ``fn(y_true, y_pred, **kwargs)`` with ``reference`` on every case; return how many ran."""
    for (y_true, y_pred), show_expected in cases:
        got = numbers(call(fn, name, y_true, y_pred, **kwargs), name, y_true.shape[:-1])
        compare(
            name,
            got,
            reference(y_true, y_pred),
            {"y_true": y_true, "y_pred": y_pred, **kwargs},
            mistakes(y_true, y_pred),
            show_expected=show_expected,
        )
    return len(cases)


def _check_regression(fn, name, reference, mistakes):
    passed(name, _run_regression(fn, name, reference, mistakes, _regression_cases()))


@exercise("mse")
def check_mse(mse):
    """Check a learner's ``mse(y_true, y_pred)``: mean of squared errors over the last axis."""

    def mistakes(t, p):
        e = t - p
        return [
            ("you took absolute values instead of squaring: that is the MAE.", np.mean(np.abs(e), -1)),
            ("you summed the squared errors; average them instead (np.mean, axis=-1).", np.sum(e**2, -1)),
            ("you took a square root at the end: that is the RMSE, not the MSE.", np.sqrt(np.mean(e**2, -1))),
            ("you squared the mean error; square each error first, then average.", np.mean(e, -1) ** 2),
            ("you forgot to square: positive and negative errors cancel out.", np.mean(e, -1)),
            ("you forgot to square: positive and negative errors cancel out.", np.mean(-e, -1)),
        ]

    _check_regression(mse, "mse", losses.mse, mistakes)


@exercise("mae")
def check_mae(mae):
    """Check a learner's ``mae(y_true, y_pred)``: mean of absolute errors over the last axis."""

    def mistakes(t, p):
        e = t - p
        return [
            ("you squared the errors: that is the MSE.", np.mean(e**2, -1)),
            ("you summed the absolute errors; average them instead (np.mean, axis=-1).", np.sum(np.abs(e), -1)),
            (
                "you took the absolute value of the mean error; take each error's absolute value first.",
                np.abs(np.mean(e, -1)),
            ),
            ("you forgot the absolute value: positive and negative errors cancel out.", np.mean(e, -1)),
            ("you forgot the absolute value: positive and negative errors cancel out.", np.mean(-e, -1)),
        ]

    _check_regression(mae, "mae", losses.mae, mistakes)


@exercise("huber")
def check_huber(huber):
    """Check a learner's ``huber(y_true, y_pred, delta=1.0)`` for several deltas."""
    rng = fresh_rng()
    count = 0
    for delta in [1.0, float(rng.uniform(0.2, 3.0))]:

        def mistakes(t, p, delta=delta):
            a = np.abs(p - t)
            found = [
                (
                    "the linear part should be delta * |e| - 0.5 * delta**2 (you left out the -0.5 * delta**2).",
                    np.mean(np.where(a <= delta, 0.5 * a**2, delta * a), -1),
                ),
                (
                    "you forgot the 0.5 in the quadratic part.",
                    np.mean(np.where(a <= delta, a**2, delta * a - 0.5 * delta**2), -1),
                ),
                (
                    "you summed instead of averaging over the last axis.",
                    np.sum(np.where(a <= delta, 0.5 * a**2, delta * a - 0.5 * delta**2), -1),
                ),
                ("that is half the MSE: the loss must turn linear beyond delta.", np.mean(0.5 * a**2, -1)),
                *[
                    (
                        "use the size of the error, |y_pred - y_true| (np.abs), both in the test against delta and in "
                        "the linear part: a large NEGATIVE error is large too.",
                        np.mean(np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2), -1),
                    )
                    for e in (p - t, t - p)
                ],
            ]
            if delta != 1.0:
                found.append((
                    "you ignored the delta argument: your result is the Huber loss with delta = 1. Use the delta "
                    "you are given.",
                    losses.huber(t, p, 1.0),
                ))
            return found

        def reference(t, p, delta=delta):
            return losses.huber(t, p, delta)

        count += _run_regression(huber, "huber", reference, mistakes, _regression_cases(), delta=delta)
    passed("huber", count)


def _mixed_sides(y_true, y_pred):
    """Make the first value of each sample an under-prediction and the second an over-prediction."""
    y_pred = y_pred.copy()
    if y_true.shape[-1] >= 2:
        gap = np.abs(y_true - y_pred) + 0.1
        y_pred[..., 0] = y_true[..., 0] - gap[..., 0]
        y_pred[..., 1] = y_true[..., 1] + gap[..., 1]
    return y_pred


@exercise("under_penalty_mse")
def check_under_penalty_mse(under_penalty_mse):
    """Check a learner's ``under_penalty_mse(y_true, y_pred, under_weight=3.0)``.

    The blood-sugar loss: an *under*-prediction (``y_pred < y_true``) costs ``under_weight``
    times its squared error, an over-prediction costs its plain squared error.
    """
    rng = fresh_rng()
    count = 0
    for weight in [3.0, float(rng.uniform(1.5, 5.0))]:

        def reference(t, p, weight=weight):
            e = t - p
            return np.mean(np.where(p < t, weight * e**2, e**2), -1)

        def mistakes(t, p, weight=weight):
            e = t - p
            return [
                (
                    "you punished OVER-prediction; the dangerous side here is predicting too LOW (y_pred < y_true).",
                    np.mean(np.where(p > t, weight * e**2, e**2), -1),
                ),
                ("you applied the weight to every error; only under-predictions get it.", np.mean(weight * e**2, -1)),
                ("you forgot the weight: this is the plain MSE.", np.mean(e**2, -1)),
                (
                    "you summed instead of averaging over the last axis.",
                    np.sum(np.where(p < t, weight * e**2, e**2), -1),
                ),
            ]

        cases = [((t, _mixed_sides(t, p)), shown) for (t, p), shown in _regression_cases()]
        cases.append(((np.array([5.0, 5.0]), np.array([4.0, 6.0])), False))  # one under, one over
        name = "under_penalty_mse"
        count += _run_regression(under_penalty_mse, name, reference, mistakes, cases, under_weight=weight)
    passed("under_penalty_mse", count)


def _probability_cases(rng, shape, one_hot=False):
    if one_hot:
        z = rng.normal(size=shape) * 2
        p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        return np.eye(shape[-1])[rng.integers(0, shape[-1], size=shape[:-1])], p
    return rng.integers(0, 2, size=shape).astype(float), rng.uniform(0.01, 0.99, size=shape)


@exercise("binary_crossentropy")
def check_binary_crossentropy(binary_crossentropy):
    """Check a learner's ``binary_crossentropy(y_true, y_pred)`` (probabilities, clipped like Keras)."""
    rng = fresh_rng()
    cases = [(_probability_cases(rng, shape), True) for shape in [(4,), (3, 2), (2, 5)]]
    certain = _probability_cases(rng, (3, 4))  # some probabilities exactly 0 or 1: the clip decides the answer
    certain[1][:, 0] = 1.0 - certain[0][:, 0]  # certain and wrong
    certain[1][:, 1] = certain[0][:, 1]  # certain and right
    cases.append((certain, True))
    cases += [
        ((np.array([1.0, 0.0]), np.array([1.0, 0.0])), False),  # exactly right: loss about 0
        ((np.array([1.0, 0.0]), np.array([0.0, 1.0])), False),  # certain and wrong: log(0) without clipping
        ((np.array([[1.0, 0.0, 1.0]]), np.array([[0.9, 0.1, 0.51]])), False),
    ]
    for (y_true, y_pred), show_expected in cases:
        got = numbers(
            call(binary_crossentropy, "binary_crossentropy", y_true, y_pred), "binary_crossentropy", y_true.shape[:-1]
        )
        clipped = np.clip(y_pred, EPS, 1 - EPS)
        terms = -(y_true * np.log(clipped) + (1 - y_true) * np.log(1 - clipped))
        mistakes = [
            (
                "you left out the (1 - y) * log(1 - p) term, so label-0 samples cost nothing.",
                np.mean(-(y_true * np.log(clipped)), -1),
            ),
            ("you summed over the last axis; average instead.", np.sum(terms, -1)),
            ("the sign is flipped: cross-entropy is MINUS the log-likelihood.", -np.mean(terms, -1)),
            ("you used log base 10; use the natural log (np.log).", np.mean(terms, -1) / np.log(10)),
            *[
                (
                    "you clipped at a smaller number than Keras: clip to [EPSILON, 1 - EPSILON] with EPSILON = 1e-7 "
                    "(a probability of exactly 0 or 1 then costs -log(1e-7) = 16.1, as in Keras).",
                    np.mean(-(y_true * np.log(np.clip(y_pred, eps, 1 - eps))
                              + (1 - y_true) * np.log(1 - np.clip(y_pred, eps, 1 - eps))), -1),
                )
                for eps in (1e-15, 1e-12, 1e-10, 1e-8)
            ],
        ]
        compare(
            "binary_crossentropy",
            got,
            np.mean(terms, -1),
            {"y_true": y_true, "y_pred": y_pred},
            mistakes,
            show_expected=show_expected,
            atol=1e-5,
            also_accept=[losses.binary_crossentropy(y_true, y_pred)],  # float32: 1 - 1e-7 rounds to 0.99999988
        )
    passed("binary_crossentropy", len(cases))


@exercise("categorical_crossentropy")
def check_categorical_crossentropy(categorical_crossentropy):
    """Check a learner's ``categorical_crossentropy(y_true, y_pred)`` (one-hot labels, probability rows)."""
    rng = fresh_rng()
    cases = [(_probability_cases(rng, shape, one_hot=True), True) for shape in [(3,), (4, 3), (2, 5)]]
    labels, _ = _probability_cases(rng, (3, 4), one_hot=True)
    certain = np.roll(labels, 1, axis=-1)  # certain and wrong: probability exactly 0 for the true class ...
    certain[0] = labels[0]  # ... and certain and right for the first sample
    cases.append(((labels, certain), True))
    cases += [
        ((np.array([0.0, 1.0, 0.0]), np.array([0.1, 0.8, 0.1])), False),
        ((np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 0.5, 0.5]])), False),  # probability 0 for the true class
    ]
    for (y_true, y_pred), show_expected in cases:
        got = numbers(
            call(categorical_crossentropy, "categorical_crossentropy", y_true, y_pred),
            "categorical_crossentropy",
            y_true.shape[:-1],
        )
        logs = np.log(np.clip(y_pred, EPS, 1 - EPS))
        mistakes = [
            (
                "you averaged over the classes; cross-entropy SUMS over the classes (axis=-1).",
                np.mean(-y_true * logs, -1),
            ),
            ("the sign is flipped: the loss is -sum(y * log(p)).", np.sum(y_true * logs, -1)),
            (
                "you used every class's probability; only the true class's log-probability counts (multiply by y).",
                -np.sum(logs, -1),
            ),
            *[
                (
                    "you clipped at a smaller number than Keras: clip to [EPSILON, 1 - EPSILON] with EPSILON = 1e-7 "
                    "(a probability of exactly 0 for the true class then costs -log(1e-7) = 16.1, as in Keras).",
                    -np.sum(y_true * np.log(np.clip(y_pred, eps, 1 - eps)), -1),
                )
                for eps in (1e-15, 1e-12, 1e-10, 1e-8)
            ],
        ]
        compare(
            "categorical_crossentropy",
            got,
            -np.sum(y_true * logs, -1),
            {"y_true": y_true, "y_pred": y_pred},
            mistakes,
            show_expected=show_expected,
            atol=1e-5,
            also_accept=[losses.categorical_crossentropy(y_true, y_pred)],  # Keras' float32 value
        )
    passed("categorical_crossentropy", len(cases))


@exercise("hinge")
def check_hinge(hinge):
    """Check a learner's ``hinge(y_true, y_pred)`` with labels in {-1, +1}."""
    rng = fresh_rng()
    cases = []
    for shape in [(3,), (4,), (2, 3)]:
        y_true, y_pred = rng.choice([-1.0, 1.0], size=shape), rng.normal(size=shape) * 1.5
        y_pred[..., 0] = y_true[..., 0] * rng.uniform(1.5, 3.0, size=shape[:-1])  # beyond the margin: costs 0
        cases.append(((y_true, y_pred), True))
    cases += [
        ((np.array([1.0, -1.0]), np.array([3.0, -2.0])), False),  # beyond the margin: zero loss
        ((np.array([[1.0, -1.0, 1.0]]), np.array([[-0.5, 0.5, 1.0]])), False),
    ]
    for (y_true, y_pred), show_expected in cases:
        got = numbers(call(hinge, "hinge", y_true, y_pred), "hinge", y_true.shape[:-1])
        margin = 1 - y_true * y_pred
        mistakes = [
            (
                "you forgot max(0, ...): samples beyond the margin must cost 0, not a negative amount.",
                np.mean(margin, -1),
            ),
            ("you summed over the last axis; average instead.", np.sum(np.maximum(margin, 0), -1)),
            (
                "the margin is 1 - y * prediction (you used 1 + y * prediction).",
                np.mean(np.maximum(1 + y_true * y_pred, 0), -1),
            ),
            (
                "the margin is 1 - y * prediction (you used y * prediction without the 1).",
                np.mean(np.maximum(-y_true * y_pred, 0), -1),
            ),
        ]
        compare(
            "hinge",
            got,
            losses.hinge(y_true, y_pred),
            {"y_true": y_true, "y_pred": y_pred},
            mistakes,
            show_expected=show_expected,
        )
    passed("hinge", len(cases))


_NAIVE_LOGITS = (
    "you computed sigmoid then log yourself; use tf.nn.sigmoid_cross_entropy_with_logits (it stays finite for "
    "large logits, where sigmoid rounds to exactly 0 or 1 and its log is infinite)."
)


@exercise("logits_objective")
def check_logits_objective(logits_objective):
    """Check a learner's TensorFlow ``logits_objective(labels, logits)``.

    It must cast integer labels to float32, compute ``tf.nn.sigmoid_cross_entropy_with_logits``
    and average over the whole batch with ``tf.reduce_mean``, returning a scalar tensor that
    stays finite for logits of +-1000.
    """
    import tensorflow as tf

    rng = fresh_rng()
    cases = [
        # moderate logits, where even sigmoid-then-log is accurate in float32; the large ones come next
        ((rng.integers(0, 2, size=(n, 1)), rng.uniform(-2.5, 2.5, size=(n, 1)).astype(np.float32)), True)
        for n in (3, 6)
    ]
    big = (rng.uniform(200, 1000, size=(4, 1)) * np.array([[1], [1], [-1], [-1]])).astype(np.float32)
    cases.append(((np.array([[1], [0], [1], [0]])[rng.permutation(4)], big), True))  # sigmoid rounds to 0 or 1
    cases += [
        ((np.array([[1], [0], [1], [0]]), np.array([[1000.0], [1000.0], [-1000.0], [-1000.0]], np.float32)), False),
        ((np.array([[1]]), np.array([[0.0]], np.float32)), False),
    ]
    for (labels, logits), show_expected in cases:
        result = call(logits_objective, "logits_objective", tf.constant(labels, tf.int32), tf.constant(logits))
        if not isinstance(result, tf.Tensor):
            raise CheckFailed(
                f"logits_objective returned {type(result).__name__}; expected a TensorFlow tensor "
                "(the result of tf.reduce_mean)."
            )
        if result.shape != ():
            raise CheckFailed(
                f"logits_objective returned a tensor of shape {tuple(result.shape)}; expected one number "
                "(shape ()): average over the whole batch with tf.reduce_mean."
            )
        got = float(result.numpy())
        per_sample = losses.sigmoid_cross_entropy_with_logits(labels.astype(np.float32), logits)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            naive = -np.mean(
                labels * np.log(1 / (1 + np.exp(-logits.astype(np.float64))))
                + (1 - labels) * np.log(1 - 1 / (1 + np.exp(-logits.astype(np.float64))))
            )
        mistakes = [
            ("you summed over the batch; the objective is the MEAN (tf.reduce_mean).", np.sum(per_sample)),
            (_NAIVE_LOGITS, naive),
        ]
        compare(
            "logits_objective",
            got,
            np.mean(per_sample),
            {"labels": labels, "logits": logits},
            mistakes,
            show_expected=show_expected,
            nonfinite_hint=_NAIVE_LOGITS,
        )
    passed("logits_objective", len(cases))

"""The exercises of lessons 01 (loss as error) and 02 (cross-entropy): one definition each.

Each :class:`~course_utils.checks.definition.Exercise` here is the whole exercise: its inputs (fresh random
ones and fixed edge cases), its numpy reference, and its typical mistakes with their one hint each. The
learner's ``check_mse(mse)`` runs it in the kernel; the grader runs the same definition
(:mod:`course_utils.grade.rubric`).
"""

from __future__ import annotations

import numpy as np

from course_utils import losses
from course_utils.checks.definition import Case, Exercise, Mistake, Tensor, check_for
from course_utils.checks.engine import CheckFailed

EPS = losses.EPSILON  # Keras' probability clip, 1e-7

# ---- lesson 01: regression losses -------------------------------------------------------------------------------


def _regression_cases(rng, extra=lambda rng: {}, sides=lambda t, p: p):
    """Random pairs of several shapes (1-D, 2-D, 3-D) first, then fixed edge cases; ``extra`` draws keyword
    arguments, ``sides`` may move the predictions (under_penalty_mse needs both sides in every sample)."""
    cases = []
    for shape in [(3,), (4,), (2, 3), (5, 2), (1, 4), (3, 2, 4)]:
        scale = float(rng.choice([1.0, 10.0, 0.1]))
        y_true, y_pred = rng.normal(size=shape) * scale, rng.normal(size=shape) * scale
        if shape == (5, 2):  # one sample predicted all too high, one all too low (their mean errors differ in
            # sign), both by more than any delta huber is checked with
            y_pred[0] = y_true[0] + np.abs(y_pred[0]) + 4.0
            y_pred[1] = y_true[1] - np.abs(y_pred[1]) - 4.0
        cases.append(Case((y_true, sides(y_true, y_pred)), extra(rng), f"a random input of shape {shape}"))
    edges = [([2.0], [2.0], "a perfect prediction"), ([1.0, -1.0], [-1.0, 1.0], "errors that cancel"),
             ([[0.0, 0.0]], [[3.0, -4.0]], "a one-sample batch"), ([5.0, 5.0], [4.0, 6.0], "one under, one over")]
    return cases + [Case((np.array(t), np.array(p)), extra(rng), label, edge=True) for t, p, label in edges]


def _mse(y_true, y_pred):
    return np.mean((y_true - y_pred) ** 2, -1)


def _mse_mistakes(t, p):
    e = t - p
    cancel = "you forgot to square: positive and negative errors cancel out."
    return [
        Mistake("you took absolute values instead of squaring: that is the MAE.", np.mean(np.abs(e), -1)),
        Mistake("you summed the squared errors; average them instead (np.mean, axis=-1).", np.sum(e**2, -1)),
        Mistake("you took a square root at the end: that is the RMSE, not the MSE.", np.sqrt(np.mean(e**2, -1))),
        Mistake("you squared the mean error; square each error first, then average.", np.mean(e, -1) ** 2),
        Mistake(cancel, np.mean(e, -1)),
        Mistake(cancel, np.mean(-e, -1)),
    ]


MSE = Exercise("mse", _regression_cases, _mse, ("y_true", "y_pred"), _mse_mistakes, per_sample=True, points=2)


def _mae_mistakes(t, p):
    e = t - p
    cancel = "you forgot the absolute value: positive and negative errors cancel out."
    return [
        Mistake("you squared the errors: that is the MSE.", np.mean(e**2, -1)),
        Mistake("you summed the absolute errors; average them instead (np.mean, axis=-1).", np.sum(np.abs(e), -1)),
        Mistake("you took the absolute value of the mean error; take each error's absolute value first.",
                np.abs(np.mean(e, -1))),
        Mistake(cancel, np.mean(e, -1)),
        Mistake(cancel, np.mean(-e, -1)),
    ]


MAE = Exercise("mae", lambda rng: _regression_cases(rng), lambda t, p: np.mean(np.abs(t - p), -1),
               ("y_true", "y_pred"), _mae_mistakes, per_sample=True, points=2)


def _huber(y_true, y_pred, delta=1.0):
    a = np.abs(y_pred - y_true)
    return np.mean(np.where(a <= delta, 0.5 * a**2, delta * a - 0.5 * delta**2), -1)


def _huber_cases(rng):
    """Every regression case with the default delta (1.0), then again with a random delta."""
    return _regression_cases(rng) + _regression_cases(rng, lambda r: {"delta": float(r.uniform(0.2, 3.0))})


def _huber_mistakes(t, p, delta=1.0):
    a = np.abs(p - t)
    found = [
        Mistake("the linear part should be delta * |e| - 0.5 * delta**2 (you left out the -0.5 * delta**2).",
                np.mean(np.where(a <= delta, 0.5 * a**2, delta * a), -1)),
        Mistake("you forgot the 0.5 in the quadratic part.",
                np.mean(np.where(a <= delta, a**2, delta * a - 0.5 * delta**2), -1)),
        Mistake("you summed instead of averaging over the last axis.",
                np.sum(np.where(a <= delta, 0.5 * a**2, delta * a - 0.5 * delta**2), -1)),
        Mistake("that is half the MSE: the loss must turn linear beyond delta.", np.mean(0.5 * a**2, -1)),
        *[Mistake("use the size of the error, |y_pred - y_true| (np.abs), both in the test against delta and in the "
                  "linear part: a large NEGATIVE error is large too.",
                  np.mean(np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2), -1))
          for e in (p - t, t - p)],
    ]
    if delta != 1.0:  # with delta = 1, delta and delta**2 are the same number
        found.append(Mistake("the linear part subtracts half of delta SQUARED, 0.5 * delta**2, not half of delta.",
                             np.mean(np.where(a <= delta, 0.5 * a**2, delta * a - 0.5 * delta), -1)))
        found.append(Mistake("you ignored the delta argument: your result is the Huber loss with delta = 1. Use the "
                             "delta you are given.", _huber(t, p, 1.0)))
    return found


HUBER = Exercise("huber", _huber_cases, _huber, ("y_true", "y_pred"), _huber_mistakes, per_sample=True, points=2)


def _mixed_sides(y_true, y_pred):
    """Make the first value of each sample an under-prediction and the second an over-prediction."""
    y_pred = y_pred.copy()
    if y_true.shape[-1] >= 2:
        gap = np.abs(y_true - y_pred) + 0.1
        y_pred[..., 0] = y_true[..., 0] - gap[..., 0]
        y_pred[..., 1] = y_true[..., 1] + gap[..., 1]
    return y_pred


def _under(y_true, y_pred, under_weight=3.0):
    e2 = (y_true - y_pred) ** 2
    return np.mean(np.where(y_pred < y_true, under_weight * e2, e2), -1)


def _under_cases(rng):
    """Every regression case, both sides in each sample, with the default weight (3.0) and a random one."""
    return (_regression_cases(rng, sides=_mixed_sides)
            + _regression_cases(rng, lambda r: {"under_weight": float(r.uniform(1.5, 5.0))}, _mixed_sides))


def _under_mistakes(t, p, under_weight=3.0):
    e2 = (t - p) ** 2
    return [
        Mistake("you punished OVER-prediction; the dangerous side here is predicting too LOW (y_pred < y_true).",
                np.mean(np.where(p > t, under_weight * e2, e2), -1)),
        Mistake("you applied the weight to every error; only under-predictions get it.",
                np.mean(under_weight * e2, -1)),
        Mistake("you forgot the weight: this is the plain MSE.", np.mean(e2, -1)),
        Mistake("you summed instead of averaging over the last axis.",
                np.sum(np.where(p < t, under_weight * e2, e2), -1)),
    ]


UNDER_PENALTY_MSE = Exercise("under_penalty_mse", _under_cases, _under, ("y_true", "y_pred"), _under_mistakes,
                             per_sample=True, points=3)

LESSON_01 = (MSE, MAE, HUBER, UNDER_PENALTY_MSE)

# ---- lesson 02: cross-entropy -----------------------------------------------------------------------------------


def _probabilities(rng, shape, one_hot=False):
    if one_hot:
        z = rng.normal(size=shape) * 2
        p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        return np.eye(shape[-1])[rng.integers(0, shape[-1], size=shape[:-1])], p
    return rng.integers(0, 2, size=shape).astype(float), rng.uniform(0.01, 0.99, size=shape)


def _binary_cases(rng):
    cases = [Case(_probabilities(rng, shape), {}, f"a random input of shape {shape}")
             for shape in [(4,), (3, 2), (2, 5)]]
    labels, certain = _probabilities(rng, (3, 4))  # some probabilities exactly 0 or 1: the clip decides the answer
    certain[:, 0] = 1.0 - labels[:, 0]  # certain and wrong
    certain[:, 1] = labels[:, 1]  # certain and right
    cases.append(Case((labels, certain), {}, "random labels, some predictions certain"))
    edges = [([1.0, 0.0], [1.0, 0.0], "exactly right"), ([1.0, 0.0], [0.0, 1.0], "certain and wrong"),
             ([[1.0, 0.0, 1.0]], [[0.9, 0.1, 0.51]], "a one-sample batch")]
    return cases + [Case((np.array(t), np.array(p)), {}, label, edge=True) for t, p, label in edges]


def _bce(y_true, y_pred, eps=EPS):
    p = np.clip(y_pred, eps, 1 - eps)
    return np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)), -1)


def _smaller_clip(what):
    return (f"you clipped at a smaller number than Keras: clip to [EPSILON, 1 - EPSILON] with EPSILON = 1e-7 (a "
            f"probability of exactly {what} then costs -log(1e-7) = 16.1, as in Keras).")


def _bce_mistakes(t, p):
    clipped = np.clip(p, EPS, 1 - EPS)
    terms = -(t * np.log(clipped) + (1 - t) * np.log(1 - clipped))
    return [
        Mistake("you left out the (1 - y) * log(1 - p) term, so label-0 samples cost nothing.",
                np.mean(-(t * np.log(clipped)), -1)),
        Mistake("you summed over the last axis; average instead.", np.sum(terms, -1)),
        Mistake("the sign is flipped: cross-entropy is MINUS the log-likelihood.", -np.mean(terms, -1)),
        Mistake("you used log base 10; use the natural log (np.log).", np.mean(terms, -1) / np.log(10)),
        *[Mistake(_smaller_clip("0 or 1"), _bce(t, p, eps)) for eps in (1e-15, 1e-12, 1e-10, 1e-8)],
    ]


BINARY_CROSSENTROPY = Exercise(
    "binary_crossentropy", _binary_cases, _bce, ("y_true", "y_pred"), _bce_mistakes,
    accept=lambda t, p: [losses.binary_crossentropy(t, p)],  # float32: 1 - 1e-7 rounds to 0.99999988
    per_sample=True, rtol=1e-5, atol=1e-5, points=3)


def _categorical_cases(rng):
    cases = [Case(_probabilities(rng, shape, one_hot=True), {}, f"a random input of shape {shape}")
             for shape in [(3,), (4, 3), (2, 5)]]
    labels, _ = _probabilities(rng, (3, 4), one_hot=True)
    certain = np.roll(labels, 1, axis=-1)  # certain and wrong: probability exactly 0 for the true class ...
    certain[0] = labels[0]  # ... and certain and right for the first sample
    cases.append(Case((labels, certain), {}, "random labels, certain predictions"))
    edges = [([0.0, 1.0, 0.0], [0.1, 0.8, 0.1], "a confident right answer"),
             ([[1.0, 0.0, 0.0]], [[0.0, 0.5, 0.5]], "probability 0 for the true class")]
    return cases + [Case((np.array(t), np.array(p)), {}, label, edge=True) for t, p, label in edges]


def _cce(y_true, y_pred, eps=EPS):
    return -np.sum(y_true * np.log(np.clip(y_pred, eps, 1 - eps)), -1)


def _cce_mistakes(t, p):
    logs = np.log(np.clip(p, EPS, 1 - EPS))
    return [
        Mistake("you averaged over the classes; cross-entropy SUMS over the classes (axis=-1).",
                np.mean(-t * logs, -1)),
        Mistake("the sign is flipped: the loss is -sum(y * log(p)).", np.sum(t * logs, -1)),
        Mistake("you used every class's probability; only the true class's log-probability counts (multiply by y).",
                -np.sum(logs, -1)),
        *[Mistake(_smaller_clip("0 for the true class"), _cce(t, p, eps)) for eps in (1e-15, 1e-12, 1e-10, 1e-8)],
    ]


CATEGORICAL_CROSSENTROPY = Exercise(
    "categorical_crossentropy", _categorical_cases, _cce, ("y_true", "y_pred"), _cce_mistakes,
    accept=lambda t, p: [losses.categorical_crossentropy(t, p)],  # Keras' float32 value
    per_sample=True, rtol=1e-5, atol=1e-5, points=3)


def _hinge_cases(rng):
    cases = []
    for shape in [(3,), (4,), (2, 3)]:
        y_true, y_pred = rng.choice([-1.0, 1.0], size=shape), rng.normal(size=shape) * 1.5
        y_pred[..., 0] = y_true[..., 0] * rng.uniform(1.5, 3.0, size=shape[:-1])  # beyond the margin: costs 0
        cases.append(Case((y_true, y_pred), {}, f"a random input of shape {shape}"))
    edges = [([1.0, -1.0], [3.0, -2.0], "beyond the margin"), ([[1.0, -1.0, 1.0]], [[-0.5, 0.5, 1.0]], "a batch")]
    return cases + [Case((np.array(t), np.array(p)), {}, label, edge=True) for t, p, label in edges]


def _hinge_mistakes(t, p):
    margin = 1 - t * p
    return [
        Mistake("you forgot max(0, ...): samples beyond the margin must cost 0, not a negative amount.",
                np.mean(margin, -1)),
        Mistake("you summed over the last axis; average instead.", np.sum(np.maximum(margin, 0), -1)),
        Mistake("the margin is 1 - y * prediction (you used 1 + y * prediction).",
                np.mean(np.maximum(1 + t * p, 0), -1)),
        Mistake("the margin is 1 - y * prediction (you used y * prediction without the 1).",
                np.mean(np.maximum(-t * p, 0), -1)),
    ]


HINGE = Exercise("hinge", _hinge_cases, lambda t, p: np.mean(np.maximum(0.0, 1.0 - t * p), -1),
                 ("y_true", "y_pred"), _hinge_mistakes, per_sample=True, points=2)

_NAIVE_LOGITS = (
    "you computed sigmoid then log yourself; use tf.nn.sigmoid_cross_entropy_with_logits (it stays finite for "
    "large logits, where sigmoid rounds to exactly 0 or 1 and its log is infinite)."
)


def _logits_cases(rng):
    def case(labels, logits, label, edge=False):
        return Case((Tensor(np.asarray(labels), "int32"), Tensor(np.asarray(logits, np.float32), "float32")), {},
                    label, edge)

    # moderate logits, where even sigmoid-then-log is accurate in float32; the large ones come next
    cases = [case(rng.integers(0, 2, size=(n, 1)), rng.uniform(-2.5, 2.5, size=(n, 1)), f"a random batch of {n}")
             for n in (3, 6)]
    big = rng.uniform(200, 1000, size=(4, 1)) * np.array([[1], [1], [-1], [-1]])
    cases.append(case(np.array([[1], [0], [1], [0]])[rng.permutation(4)], big, "large random logits"))
    return cases + [case([[1], [0], [1], [0]], [[1000.0], [1000.0], [-1000.0], [-1000.0]], "logits of +-1000", True),
                    case([[1]], [[0.0]], "a logit of 0", True)]


def _logits_objective(labels, logits):
    z, x = labels.astype(np.float64), logits.astype(np.float64)
    return np.mean(np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x))))


def _logits_mistakes(labels, logits):
    z, x = labels.astype(np.float64), logits.astype(np.float64)
    per_sample = np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))
    sigmoid = 1 / (1 + np.exp(-x))
    return [Mistake("you summed over the batch; the objective is the MEAN (tf.reduce_mean).", np.sum(per_sample)),
            Mistake(_NAIVE_LOGITS, -np.mean(z * np.log(sigmoid) + (1 - z) * np.log(1 - sigmoid)))]


def _a_scalar_tensor(result):
    """logits_objective must return what tf.reduce_mean returns: a TensorFlow tensor holding one number."""
    import tensorflow as tf

    if result is not None and not isinstance(result, tf.Tensor):
        raise CheckFailed(f"logits_objective returned {type(result).__name__}; expected a TensorFlow tensor "
                          "(the result of tf.reduce_mean).")
    if result is not None and result.shape != ():
        raise CheckFailed(f"logits_objective returned a tensor of shape {tuple(result.shape)}; expected one number "
                          "(shape ()): average over the whole batch with tf.reduce_mean.")
    return None if result is None else result.numpy()


LOGITS_OBJECTIVE = Exercise(
    "logits_objective", _logits_cases, _logits_objective, ("labels", "logits"), _logits_mistakes,
    returned=_a_scalar_tensor, nonfinite_hint=_NAIVE_LOGITS, rtol=1e-4, atol=1e-5, points=3)

LESSON_02 = (BINARY_CROSSENTROPY, CATEGORICAL_CROSSENTROPY, HINGE, LOGITS_OBJECTIVE)

# ---- the learner's checks ---------------------------------------------------------------------------------------

check_mse = check_for(MSE, "Check a learner's ``mse(y_true, y_pred)``: mean of squared errors over the last axis.")
check_mae = check_for(MAE, "Check a learner's ``mae(y_true, y_pred)``: mean of absolute errors over the last axis.")
check_huber = check_for(HUBER, "Check a learner's ``huber(y_true, y_pred, delta=1.0)`` for several deltas.")
check_under_penalty_mse = check_for(
    UNDER_PENALTY_MSE,
    "Check a learner's ``under_penalty_mse(y_true, y_pred, under_weight=3.0)``: an under-prediction "
    "(``y_pred < y_true``) costs ``under_weight`` times its squared error, an over-prediction its plain squared error.")
check_binary_crossentropy = check_for(
    BINARY_CROSSENTROPY,
    "Check a learner's ``binary_crossentropy(y_true, y_pred)`` (probabilities, clipped like Keras).")
check_categorical_crossentropy = check_for(
    CATEGORICAL_CROSSENTROPY,
    "Check a learner's ``categorical_crossentropy(y_true, y_pred)`` (one-hot labels, probability rows).")
check_hinge = check_for(HINGE, "Check a learner's ``hinge(y_true, y_pred)`` with labels in {-1, +1}.")
check_logits_objective = check_for(
    LOGITS_OBJECTIVE,
    "Check a learner's TensorFlow ``logits_objective(labels, logits)``: integer labels cast to float32, "
    "``tf.nn.sigmoid_cross_entropy_with_logits``, averaged over the batch with ``tf.reduce_mean``; a scalar tensor "
    "that stays finite for logits of +-1000.")

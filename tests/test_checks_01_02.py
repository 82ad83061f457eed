"""Checks of exercises 01-02: the case tables (reference, typical wrong answers) that test_check_honesty.py
runs, and the tests specific to these checks (wrong types, edge cases never revealed, ...)."""

import types

import numpy as np
import pytest
import tensorflow as tf

from course_utils.checks import (
    CheckFailed,
    check_binary_crossentropy,
    check_categorical_crossentropy,
    check_hinge,
    check_huber,
    check_logits_objective,
    check_mae,
    check_mse,
    check_under_penalty_mse,
)
from course_utils.grade.rubric import rubric_for

EPS = 1e-7



# The model answers are the grader's numpy references (an answer that calls course_utils.losses fails as delegating).
REFERENCE = {**rubric_for("01"), **rubric_for("02")}


def as_learners(fn):
    """``fn`` as if a learner had typed it in a notebook: the same code, in a module of its own.

    The references live in course_utils.checks, a package an answer may not call (it would score 0 as
    delegating); a copy of their code in the notebook's namespace is what a learner's right answer is.
    """
    scope = {**fn.__globals__, "__name__": "__main__"}
    return types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)


def reference(name):
    return as_learners(REFERENCE[f"{name}-check"].reference)


def under_reference(y_true, y_pred, under_weight=3.0):
    squared = (np.asarray(y_true) - y_pred) ** 2
    return np.mean(np.where(y_pred < y_true, under_weight * squared, squared), -1)


def logits_reference(labels, logits):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(labels, tf.float32), logits=logits))


def clip(p, eps=EPS):
    return np.clip(p, eps, 1 - eps)


def huber_python_if(y_true, y_pred, delta=1.0):
    """Works on one number only: a Python `if` on an array."""
    e = abs(y_pred - y_true)
    return np.mean(0.5 * e**2 if e <= delta else delta * e - 0.5 * delta**2, -1)


def huber_signed(y_true, y_pred, delta=1.0):
    """Huber without the absolute value: a large negative error is treated as a small one."""
    e = y_pred - y_true
    return np.mean(np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2), -1)


CASES = {
    # check: (reference, [(mutant, words in the message), ...])
    "mse": (check_mse, reference("mse"), [
        (lambda t, p: np.mean(np.abs(t - p), -1), "MAE"),
        (lambda t, p: np.sum((t - p) ** 2, -1), "summed"),
        (lambda t, p: np.mean((t - p) ** 2), "per sample"),
        (lambda t, p: np.sqrt(np.mean((t - p) ** 2, -1)), "RMSE"),
        (lambda t, p: np.mean(t - p, -1), "cancel"),
        (lambda t, p: np.mean((t - p) ** 2, 0), "shape"),
        (lambda t, p: np.mean(t - p, -1) ** 2, "squared the mean"),
    ]),
    "mae": (check_mae, reference("mae"), [
        (lambda t, p: np.mean((t - p) ** 2, -1), "MSE"),
        (lambda t, p: np.sum(np.abs(t - p), -1), "summed"),
        (lambda t, p: np.abs(np.mean(t - p, -1)), "absolute value of the mean"),
        (lambda t, p: np.mean(t - p, -1), "forgot the absolute value"),
        (lambda t, p: np.mean(p - t, -1), "forgot the absolute value"),
    ]),
    "huber": (check_huber, reference("huber"), [
        (lambda t, p, delta=1.0: np.mean(np.where(np.abs(p - t) <= delta, 0.5 * (p - t) ** 2, delta * np.abs(p - t)), -1),
         "0.5 * delta**2"),
        (lambda t, p, delta=1.0: np.mean(0.5 * (p - t) ** 2, -1), "linear"),
        (lambda t, p, delta=1.0: reference("huber")(t, p, 1.0), "ignored the delta"),
        (huber_signed, "NEGATIVE error"),
        (huber_python_if, "must accept arrays"),
        (lambda t, p, delta=1.0: np.mean(np.where(np.abs(p - t) <= delta, (p - t) ** 2,
                                                  delta * np.abs(p - t) - 0.5 * delta**2), -1), "forgot the 0.5"),
        (lambda t, p, delta=1.0: np.mean(np.where(np.abs(p - t) <= delta, 0.5 * (p - t) ** 2,
                                                  delta * np.abs(p - t) - 0.5 * delta), -1), "delta SQUARED"),
        (lambda t, p, delta=1.0: np.sum(np.where(np.abs(p - t) <= delta, 0.5 * (p - t) ** 2,
                                                 delta * np.abs(p - t) - 0.5 * delta**2), -1), "summed"),
    ]),
    "under_penalty_mse": (check_under_penalty_mse, under_reference, [
        (lambda t, p, under_weight=3.0: np.mean(np.where(p > t, under_weight, 1.0) * (t - p) ** 2, -1), "OVER"),
        (lambda t, p, under_weight=3.0: np.mean((t - p) ** 2, -1), "plain MSE"),
        (lambda t, p, under_weight=3.0: np.mean(under_weight * (t - p) ** 2, -1), "every error"),
        (lambda t, p, under_weight=3.0: np.sum(np.where(p < t, under_weight, 1.0) * (t - p) ** 2, -1), "summed"),
    ]),
    "binary_crossentropy": (check_binary_crossentropy, reference("binary_crossentropy"), [
        (lambda t, p: np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), -1), "NaN or inf"),  # no clipping
        (lambda t, p: np.mean(-(t * np.log(clip(p))), -1), "(1 - y)"),
        (lambda t, p: np.sum(-(t * np.log(clip(p)) + (1 - t) * np.log(1 - clip(p))), -1), "summed"),
        (lambda t, p: np.mean(t * np.log(clip(p)) + (1 - t) * np.log(1 - clip(p)), -1), "sign"),
        (lambda t, p: np.mean(-(t * np.log(clip(p, 1e-15)) + (1 - t) * np.log(1 - clip(p, 1e-15))), -1),
         "smaller number than Keras"),
        (lambda t, p: np.mean(-(t * np.log10(clip(p)) + (1 - t) * np.log10(1 - clip(p))), -1), "log base 10"),
    ]),
    "categorical_crossentropy": (check_categorical_crossentropy, reference("categorical_crossentropy"), [
        (lambda t, p: -np.sum(t * np.log(p), -1), "NaN or inf"),  # no clipping
        (lambda t, p: np.mean(-t * np.log(clip(p)), -1), "SUMS"),
        (lambda t, p: -np.sum(np.log(clip(p)), -1), "true class"),
        (lambda t, p: np.sum(t * np.log(clip(p)), -1), "sign is flipped"),
        (lambda t, p: -np.sum(t * np.log(clip(p, 1e-15)), -1), "smaller number than Keras"),
    ]),
    "hinge": (check_hinge, reference("hinge"), [
        (lambda t, p: np.mean(1 - t * p, -1), "max(0"),
        (lambda t, p: np.sum(np.maximum(0, 1 - t * p), -1), "summed"),
        (lambda t, p: np.mean(np.maximum(0, 1 + t * p), -1), "1 - y"),
        (lambda t, p: np.mean(np.maximum(0, -t * p), -1), "without the 1"),
    ]),
    "logits_objective": (check_logits_objective, logits_reference, [
        (lambda labels, z: tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(labels, tf.float32), logits=z)),
         "MEAN"),
        (lambda labels, z: tf.reduce_mean(-(tf.cast(labels, tf.float32) * tf.math.log(tf.sigmoid(z))
                                       + (1 - tf.cast(labels, tf.float32)) * tf.math.log(1 - tf.sigmoid(z)))), "sigmoid then log"),
        (lambda labels, z: tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(labels, tf.float32), logits=z), "shape"),
        (lambda labels, z: logits_reference(labels, z).numpy(), "TensorFlow tensor"),
    ]),
}


@pytest.mark.parametrize("bad, words", [
    (lambda t, p: None, "return"),
    (lambda t, p: "0.5", "str"),
    (lambda t, p: tf.reduce_mean((t - p) ** 2, -1), "an existing implementation"),  # numpy only
    (lambda t, p: [object()], "object"),
    (lambda t: t, "TypeError"),
    (42, "should be a function"),
])
def test_wrong_types_get_a_clear_message(bad, words):
    with pytest.raises(CheckFailed) as info:
        check_mse(bad)
    assert words in str(info.value)


def test_expected_values_of_fixed_edge_cases_are_never_shown():
    """Only fresh random inputs reveal their expected value; fixed edge cases never do."""
    calls = []
    randoms = sum(not case.edge for case in check_mse.definition.cases(np.random.default_rng()))
    assert randoms >= 3

    def wrong_on_edges(t, p):
        calls.append(1)
        result = reference("mse")(t, p)
        return result if len(calls) <= randoms else result + 1.0  # right on the random cases, wrong afterwards

    with pytest.raises(CheckFailed) as info:
        check_mse(wrong_on_edges)
    assert "expected" not in str(info.value) and "got" in str(info.value)

"""Bad input raises a ValueError/TypeError whose message names the argument and what was received."""

import numpy as np
import pytest

from course_utils import data, gradients, losses, optimizers, schedules

P3 = [0.2, 0.3, 0.5]

BAD = [
    # (call, exception, words the message must contain)
    (lambda: losses.mse([1, 2, 3], [1, 2]), ValueError, ["y_true", "y_pred", "(3,)", "(2,)"]),
    (lambda: losses.mse(np.ones(3), np.ones((3, 1))), ValueError, ["same shape", "(3, 1)", "reshape"]),
    (lambda: losses.mae([], []), ValueError, ["y_true", "empty"]),
    (lambda: losses.mse([1.0, np.nan], [1.0, 2.0]), ValueError, ["y_true", "nan", "(1,)"]),
    (lambda: losses.mse([1.0, 2.0], [np.inf, 2.0]), ValueError, ["y_pred", "inf"]),
    (lambda: losses.mse(3.0, 2.0), ValueError, ["y_true", "scalar"]),
    (lambda: losses.mse("abc", [1]), TypeError, ["y_true", "str"]),
    (lambda: losses.mse([[1, 2], [3]], [1, 2]), TypeError, ["y_true", "rectangular"]),
    (lambda: losses.mse(None, [1]), TypeError, ["y_true", "NoneType"]),
    (lambda: losses.huber([1.0], [2.0], delta=0), ValueError, ["delta", "> 0", "0"]),
    (lambda: losses.huber([1.0], [2.0], delta="1"), TypeError, ["delta", "'1'"]),
    (lambda: losses.binary_crossentropy([1.0, 0.0], [1.2, 0.5]), ValueError, ["y_pred", "[0, 1]", "1.2", "from_logits"]),
    (lambda: losses.binary_crossentropy([1.0, 0.0], [-0.1, 0.5]), ValueError, ["y_pred", "[0, 1]", "-0.1"]),
    (lambda: losses.binary_crossentropy([2.0, 0.0], [0.5, 0.5]), ValueError, ["y_true", "[0, 1]", "2"]),
    (lambda: losses.sigmoid_cross_entropy_with_logits([1.0, 3.0], [0.0, 0.0]), ValueError, ["labels", "3"]),
    (lambda: losses.sigmoid_cross_entropy_with_logits([1.0], [0.0, 1.0]), ValueError, ["labels", "logits", "(1,)", "(2,)"]),
    (lambda: losses.categorical_crossentropy([0, 1, 0], [0.1, 1.8, 0.1]), ValueError, ["y_pred", "1.8"]),
    (lambda: losses.categorical_crossentropy([[0, 1, 0]], [[0.0, 0.0, 0.0]]), ValueError, ["row", "zeros"]),
    (lambda: losses.categorical_crossentropy([[1.0]], [[1.0]]), ValueError, ["class", "binary_crossentropy"]),
    (lambda: losses.sparse_categorical_crossentropy([0, 3], [P3, P3]), ValueError, ["label 3", "3 classes", "[0, 2]"]),
    (lambda: losses.sparse_categorical_crossentropy([0, -1], [P3, P3]), ValueError, ["label -1"]),
    (lambda: losses.sparse_categorical_crossentropy([0, 1.5], [P3, P3]), ValueError, ["integer", "1.5"]),
    (lambda: losses.sparse_categorical_crossentropy([0, 1, 2], [P3, P3]), ValueError, ["(2,)", "(3,)"]),
    (lambda: losses.sparse_categorical_crossentropy([[0, 1, 0]], [P3]), ValueError, ["one integer label", "categorical_crossentropy"]),
    (lambda: losses.hinge([-1, 0, 1], [0.5, 0.5, 0.5]), ValueError, ["y_true", "{-1, 1}", "{0, 1}", "[-1.0, 0.0, 1.0]"]),
    (lambda: losses.asymmetric_mse([1.0], [2.0], over_weight=-2), ValueError, ["over_weight", "-2"]),
    (lambda: schedules.exponential_decay(0.1, 0, 0.9), ValueError, ["decay_steps", "> 0", "got 0"]),
    (lambda: schedules.exponential_decay(0.1, -5, 0.9), ValueError, ["decay_steps", "-5"]),
    (lambda: schedules.exponential_decay(-0.1, 10, 0.9), ValueError, ["initial_learning_rate", "-0.1"]),
    (lambda: schedules.exponential_decay(0.1, 10, 0.0), ValueError, ["decay_rate", "0"]),
    (lambda: schedules.exponential_decay(0.1, 10, 0.9, staircase="yes"), TypeError, ["staircase", "'yes'"]),
    (lambda: schedules.piecewise_constant([2000, 1000], [0.1, 0.01, 0.001]), ValueError, ["strictly increasing", "[2000, 1000]"]),
    (lambda: schedules.piecewise_constant([1000, 1000], [0.1, 0.01, 0.001]), ValueError, ["strictly increasing"]),
    (lambda: schedules.piecewise_constant([1000, 2000], [0.1, 0.01]), ValueError, ["len(values)=2", "len(boundaries)=2", "3"]),
    (lambda: schedules.piecewise_constant([], [0.1]), ValueError, ["boundaries", "[]"]),
    (lambda: schedules.piecewise_constant([10], [0.1, -0.01]), ValueError, ["values[1]", "-0.01"]),
    (lambda: schedules.cosine_decay(0.1, 0), ValueError, ["decay_steps", "got 0"]),
    (lambda: schedules.cosine_decay(0.1, 100, alpha=1.5), ValueError, ["alpha", "[0, 1]", "1.5"]),
    (lambda: schedules.cosine_decay(0.1, 100, warmup_steps=10), ValueError, ["warmup_target", "warmup_steps=10"]),
    (lambda: schedules.cosine_decay(0.1, 100, warmup_target=0.2, warmup_steps=-1), ValueError, ["warmup_steps", "-1"]),
    (lambda: schedules.linear_warmup(0.1, 0), ValueError, ["warmup_steps", ">= 1", "0"]),
    (lambda: schedules.linear_warmup(0.1, 2.5), TypeError, ["warmup_steps", "integer", "2.5"]),
    (lambda: schedules.join_schedules([schedules.constant(0.1)], [10]), ValueError, ["len(schedules)=1", "len(boundaries)=1"]),
    (lambda: schedules.join_schedules([0.1, 0.2], [10]), TypeError, ["schedules[0]", "0.1"]),
    (lambda: schedules.exponential_decay(0.1, 10, 0.9)(-1), ValueError, ["step", ">= 0", "-1"]),
    (lambda: schedules.exponential_decay(0.1, 10, 0.9)("3"), TypeError, ["step", "'3'"]),
    (lambda: optimizers.sgd(learning_rate=-0.1), ValueError, ["learning_rate", "> 0", "-0.1"]),
    (lambda: optimizers.sgd(learning_rate=0.1, momentum=1.0), ValueError, ["momentum", "[0, 1)", "1.0"]),
    (lambda: optimizers.adam(beta_1=1.2), ValueError, ["beta_1", "1.2"]),
    (lambda: optimizers.rmsprop(epsilon=0), ValueError, ["epsilon", "0"]),
    (lambda: optimizers.adagrad(initial_accumulator_value=-1), ValueError, ["initial_accumulator_value", "-1"]),
    (lambda: optimizers.adam().update(np.ones(3), optimizers.adam().init(np.ones(2))), ValueError, ["grads", "(3,)", "(2,)"]),
    (lambda: optimizers.adam().update([np.ones(2)], optimizers.adam().init([np.ones(2), np.ones(1)])), ValueError, ["grads", "list of 2", "list of 1"]),
    (lambda: optimizers.sgd(0.1).update(np.array([np.nan]), optimizers.sgd(0.1).init(np.ones(1))), ValueError, ["grads", "nan"]),
    (lambda: optimizers.adam().init([]), ValueError, ["params", "empty"]),
    (lambda: gradients.numerical_gradient(lambda w: w * 2, np.ones(3)), TypeError, ["f", "one real number", "(3,)"]),
    (lambda: gradients.numerical_gradient(lambda w: "loss", np.ones(3)), TypeError, ["f", "str"]),
    (lambda: gradients.numerical_gradient(lambda w: w.sum(), np.ones(3), eps=0), ValueError, ["eps", "0"]),
    (lambda: gradients.gradient_check(lambda w: w.sum(), lambda w: w[:2], np.ones(3)), ValueError, ["grad_f(x)", "(3,)", "(2,)"]),
    (lambda: data.steps_per_epoch(100, 0), ValueError, ["batch_size", ">= 1", "0"]),
    (lambda: next(data.batches(np.ones((5, 2)), np.ones(4), 2)), ValueError, ["len(x)=5", "len(y)=4"]),
    (lambda: data.load_digits(val_fraction=1.0), ValueError, ["val_fraction", "(0, 1)", "1.0"]),
]


@pytest.mark.parametrize("call, error, words", BAD, ids=[f"bad{i:02d}" for i in range(len(BAD))])
def test_bad_input_is_rejected_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in message: {message}"


def test_at_least_twenty_distinct_bad_inputs():
    assert len(BAD) >= 20

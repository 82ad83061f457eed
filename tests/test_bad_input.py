"""Bad input raises a ValueError/TypeError whose message names the argument and what was received."""

import numpy as np
import pytest

from course_utils import data, gradients, losses, optimizers, schedules, surfaces
from course_utils.widgets import descent, race
from course_utils.widgets import losses as loss_widgets
from course_utils.widgets import schedules as schedule_widgets

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

# Issue 11, "bad input, round two": every example it lists, and the ones Hypothesis found (tests/test_properties.py).
ADAM_STATE = optimizers.adam().init(np.ones(2))
SGD_STATE = optimizers.sgd(0.1).init(np.ones(2))


def symbolic_call(fn):
    """Call ``fn`` on tensors inside tf.function, where they are symbolic."""
    import tensorflow as tf

    return tf.function(fn)(tf.ones(3), tf.ones(3))


ROUND_TWO = [
    # converted to float32 after validation
    (lambda: losses.mse(np.array([1e39, 0.0]), np.zeros(2)), ValueError, ["y_true", "1e+39", "float32's range"]),
    (lambda: losses.binary_crossentropy([1.0], np.array([-1e39]), from_logits=True), ValueError, ["logits", "-1e+39", "float32's range"]),
    (lambda: schedules.exponential_decay(0.1, 1e-50, 0.9), ValueError, ["decay_steps", "1e-50", "float32's range", "0.0"]),
    (lambda: schedules.cosine_decay(0.1, 1e39), ValueError, ["decay_steps", "1e+39", "float32's range", "inf"]),
    (lambda: optimizers.adam(epsilon=1e-50), ValueError, ["epsilon", "1e-50", "float32's range"]),
    (lambda: optimizers.sgd(learning_rate=10**400), ValueError, ["learning_rate", "1000", "float32's range"]),
    (lambda: losses.huber([1.0], [2.0], delta=float("nan")), ValueError, ["delta", "nan", "finite"]),
    # truthy strings taken as flags
    (lambda: losses.binary_crossentropy([1.0], [0.9], from_logits="False"), TypeError, ["from_logits", "'False'", "True or False"]),
    (lambda: losses.categorical_crossentropy([1, 0], [0.9, 0.1], from_logits="False"), TypeError, ["from_logits", "'False'", "True or False"]),
    (lambda: losses.sparse_categorical_crossentropy([0], [P3], from_logits=1), TypeError, ["from_logits", "int 1", "True or False"]),
    (lambda: next(data.batches(np.ones((4, 1)), np.ones(4), 2, shuffle="no")), TypeError, ["shuffle", "'no'", "True or False"]),
    (lambda: data.steps_per_epoch(10, 3, drop_remainder="False"), TypeError, ["drop_remainder", "'False'", "True or False"]),
    (lambda: optimizers.sgd(0.1, momentum=0.9, nesterov="False"), TypeError, ["nesterov", "'False'", "True or False"]),
    (lambda: optimizers.rmsprop(centered=0), TypeError, ["centered", "int 0", "True or False"]),
    # structure not checked
    (lambda: optimizers.apply_updates(np.ones(2), optimizers.sgd(0.1).update(np.ones(3), SGD_STATE)[0]), ValueError, ["updates", "(3,)", "(2,)"]),
    (lambda: optimizers.trajectory(optimizers.sgd(0.1), surfaces.bowl.loss, lambda w: np.ones(1), surfaces.bowl.start, 3), ValueError, ["grad_fn(w)", "(1,)", "(2,)"]),
    (lambda: optimizers.trajectory(optimizers.sgd(0.1), surfaces.bowl.loss, lambda w: np.ones((2, 2)), surfaces.bowl.start, 3), ValueError, ["grad_fn(w)", "(2, 2)", "(2,)"]),
    (lambda: optimizers.sgd(lambda step: -0.1).update(np.ones(2), SGD_STATE), ValueError, ["learning_rate(0)", "-0.1", ">= 0"]),
    (lambda: optimizers.adam(lambda step: float("nan")).update(np.ones(2), ADAM_STATE), ValueError, ["learning_rate(0)", "nan", "finite"]),
    (lambda: optimizers.adam(lambda step: "0.1").update(np.ones(2), ADAM_STATE), TypeError, ["learning_rate(0)", "'0.1'", "numbers"]),
    (lambda: optimizers.adam(lambda step: None).update(np.ones(2), ADAM_STATE), TypeError, ["learning_rate(0)", "NoneType", "numbers"]),
    (lambda: schedules.join_schedules([lambda s: -1.0, schedules.constant(0.1)], [10])(3), ValueError, ["schedules[0](3)", "-1.0", ">= 0"]),
    (lambda: gradients.numerical_gradient(lambda w: float("nan"), np.ones(2)), ValueError, ["f", "nan", "finite"]),
    (lambda: gradients.numerical_gradient(lambda w: "1.5", np.ones(2)), TypeError, ["f", "str", "'1.5'", "one real number"]),
    (lambda: gradients.numerical_gradient(lambda w: w.sum(), np.ones(2), eps=1e-20), ValueError, ["eps=1e-20", "spacing", "x=1.0", "x + eps == x"]),
    (lambda: gradients.gradient_check(lambda w: w.sum(), "2 * w", np.ones(2)), TypeError, ["grad_f", "'2 * w'", "function"]),
    (lambda: losses.mse(np.ma.masked_array([1.0, 2.0], mask=[0, 1]), [1.0, 1.0]), TypeError, ["y_true", "masked array", "compressed()"]),
    (lambda: next(data.batches(np.ma.masked_array(np.ones((4, 1))), np.ones(4), 2)), TypeError, ["x", "masked array"]),
    (lambda: descent.parabola_regime(-0.5), ValueError, ["learning_rate", "> 0", "-0.5"]),
    (lambda: surfaces.rosenbrock.loss(np.ones(3)), ValueError, ["w", "(..., 2)", "(3,)", "rosenbrock"]),
    (lambda: surfaces.ravine.grad(np.ones(1)), ValueError, ["w", "(..., 2)", "(1,)", "ravine"]),
    (lambda: surfaces.quadratic([1.0, "a"]), TypeError, ["curvatures", "dtype"]),
    # unclear errors
    (lambda: optimizers.sgd(0.1).update(np.ones(2), ADAM_STATE), TypeError, ["state", "SGDState", "AdamState"]),
    (lambda: optimizers.adam().update(np.ones(2), None), TypeError, ["state", "AdamState", "NoneType"]),
    (lambda: optimizers.sgd(0.1, momentum=0.9).update(np.ones(2), SGD_STATE), ValueError, ["state", "velocity", "init(params)"]),
    # Plain SGD keeps no state to check grads against: optax-style, update(grads, state, params) checks them.
    (lambda: optimizers.sgd(0.1).update(np.ones(3), SGD_STATE, np.ones(2)), ValueError, ["grads", "(3,)", "(2,)"]),
    (lambda: optimizers.sgd(0.1).update([np.ones(2)], SGD_STATE, [np.ones(2), np.ones(1)]), ValueError, ["grads", "list of 2", "list of 1"]),
    (lambda: optimizers.adam().update(np.ones(3), optimizers.adam().init(np.ones(2)), np.ones(3)), ValueError, ["state", "(2,)", "(3,)", "other params"]),
    (lambda: optimizers.rmsprop(centered=True).update(np.ones(2), optimizers.rmsprop().init(np.ones(2))), ValueError, ["state", "average_gradient", "init(params)"]),
    (lambda: optimizers.state_size(None), TypeError, ["state", "NoneType", "init(params)"]),
    (lambda: optimizers.apply_updates([np.ones(2)], [np.ones(2), np.ones(1)]), ValueError, ["updates", "list of 1", "list of 2"]),
    (lambda: optimizers.trajectory(optimizers.sgd, surfaces.bowl.loss, surfaces.bowl.grad, surfaces.bowl.start), TypeError, ["optimizer", "function", "sgd(0.1)"]),
    (lambda: schedules.constant(0.1)([[1, 2], [3]]), TypeError, ["step", "rectangular", "inhomogeneous"]),
    (lambda: schedules.constant(0.1)(2.5), ValueError, ["step", "2.5", "whole numbers"]),
    (lambda: schedules.constant(0.1)(True), TypeError, ["step", "True", "integer"]),
    (lambda: schedules.piecewise_constant(1000, [0.1, 0.01]), TypeError, ["boundaries", "int 1000", "list"]),
    (lambda: schedules.piecewise_constant([[1000], 2000], [0.1, 0.01, 0.001]), TypeError, ["boundaries[0]", "[1000]", "integer"]),
    (lambda: schedules.piecewise_constant([1000.5], [0.1, 0.01]), TypeError, ["boundaries[0]", "1000.5", "integer"]),
    (lambda: schedules.piecewise_constant([1000], None), TypeError, ["values", "NoneType", "list"]),
    (lambda: data.load_digits(seed=-1), ValueError, ["seed", ">= 0", "-1"]),
    (lambda: data.load_digits(seed=2**32), ValueError, ["seed", "<= 4294967295", "4294967296"]),
    (lambda: data.load_digits(seed="0"), TypeError, ["seed", "'0'", "integer"]),
    (lambda: next(data.batches(np.ones((4, 1)), np.ones(4), 2, seed=-1)), ValueError, ["seed", ">= 0", "-1"]),
    (lambda: data.load_digits(val_fraction=0.001), ValueError, ["val_fraction=0.001", "holds out 2", "9/1797 < val_fraction"]),
    (lambda: data.load_digits(val_fraction=0.999), ValueError, ["val_fraction=0.999", "1787/1797"]),
    (lambda: symbolic_call(losses.mse), TypeError, ["y_true", "symbolic", "keras.losses", "outside tf.function"]),
    (lambda: symbolic_call(lambda a, b: schedules.constant(0.1)(a)), TypeError, ["step", "symbolic", "outside tf.function"]),
    # the widget helpers a lesson calls
    (lambda: descent.log_grid(0, 1.0), ValueError, ["low", "> 0", "0"]),
    (lambda: descent.log_grid(1.0, 0.1), ValueError, ["low", "high", "1.0", "0.1"]),
    (lambda: descent.log_grid(0.01, 1.0, steps_per_decade=0), ValueError, ["steps_per_decade", ">= 1", "0"]),
    (lambda: descent.contraction_factor(0.1, 0), ValueError, ["curvature", "> 0", "0"]),
    (lambda: descent.parabola_explorer(num_steps=2.5), TypeError, ["num_steps", "integer", "2.5"]),
    (lambda: descent.parabola_explorer(lr_range=1.0), TypeError, ["lr_range", "pair", "1.0"]),
    (lambda: descent.descent_explorer("valley"), ValueError, ["surface", "'valley'", "ravine"]),
    (lambda: descent.descent_explorer(surfaces.ravine), ValueError, ["surface", "Surface(", "pass its name 'ravine'"]),
    (lambda: race.race(surfaces.ravine, 0.05, ["adamw"]), ValueError, ["names", "'adamw'", "'adam'"]),
    (lambda: race.race(surfaces.ravine, 0.05, "adam"), TypeError, ["names", "str 'adam'", "['adam']"]),
    (lambda: race.race("ravine", 0.05), TypeError, ["surface", "str 'ravine'", "SURFACES['ravine']"]),
    (lambda: race.race(surfaces.ravine, -0.05), ValueError, ["learning_rate", "> 0", "-0.05"]),
    (lambda: race.race_explorer(surfaces.ravine), ValueError, ["surface", "pass its name 'ravine'"]),
    (lambda: race.race_explorer(lr_range=(1.0, 1e-4)), ValueError, ["lr_range[0]", "lr_range[1]", "1.0", "0.0001"]),
    (lambda: race.working_rates("adamw", surfaces.ravine), ValueError, ["key", "'adamw'", "'adam'"]),
    (lambda: race.working_rates("sgd", surfaces.ravine, learning_rates=[0.1, -1.0]), ValueError, ["learning_rates", "-1.0", "> 0"]),
    (lambda: schedule_widgets.make_schedule("linear"), ValueError, ["kind", "'linear'", "'cosine'"]),
    (lambda: schedule_widgets.make_schedule("cosine", decay_steps=2.5), TypeError, ["decay_steps", "2.5", "integer"]),
    (lambda: schedule_widgets.make_schedule("constant", learning_rate="0.1"), TypeError, ["learning_rate", "'0.1'", "real number"]),
    (lambda: schedule_widgets.schedule_explorer(kind="linear"), ValueError, ["kind", "'linear'", "'cosine'"]),
    (lambda: schedule_widgets.schedule_explorer(alpha=2.0), ValueError, ["alpha", "[0, 1]", "2.0"]),
    (lambda: loss_widgets.outlier_explorer(outlier=100), ValueError, ["outlier", "-6", "24", "100"]),
    (lambda: loss_widgets.robust_fit_explorer(delta=0), ValueError, ["delta", "0.25", "5", "0"]),
    (lambda: loss_widgets.asymmetric_loss_explorer(over_weight=100.0), ValueError, ["over_weight", "0.1", "10", "100.0"]),
    (lambda: loss_widgets.binary_ce_explorer(1.5), ValueError, ["probability", "[0, 1]", "1.5"]),
    (lambda: loss_widgets.logit_stability_explorer(logit=3.0), ValueError, ["logit", "LOGIT_STOPS", "3.0"]),
    (lambda: loss_widgets.logit_stability_explorer(label=2), ValueError, ["label", "1.0 or 0.0", "2"]),
    (lambda: descent.describe_run(surfaces.ravine), TypeError, ["run", "Trajectory", "Surface"]),
    (lambda: descent.plot_descent("ravine", None), TypeError, ["surface", "str 'ravine'", "Surface"]),
    (lambda: race.plot_race(surfaces.ravine, {"nadam": None}), ValueError, ["runs' keys", "'nadam'", "'adam'"]),
    (lambda: race.race_table_html([1, 2]), TypeError, ["runs", "list", "dict"]),
    (lambda: race.compare_with_keras("nadam"), ValueError, ["name", "'nadam'", "'adam'"]),
    (lambda: race.step_sizes("adam", [1.0]), TypeError, ["optimizer", "'adam'", "Optimizer"]),
    (lambda: race.plot_step_sizes(learning_rate=0), ValueError, ["learning_rate", "> 0", "0"]),
    (lambda: schedule_widgets.run_schedule("linear", 0.1, 225, 45), ValueError, ["kind", "'linear'", "'cosine'"]),
    (lambda: schedule_widgets.run_schedule("cosine", 0.1, 225, 225), ValueError, ["steps_per_epoch", "<= 224", "225"]),
    # found by Hypothesis (tests/test_properties.py keeps each as an @example too)
    (lambda: losses.categorical_crossentropy([[1.0, 0.0]], np.full((1, 2), 1e-38, np.float32)), ValueError, ["y_pred row (0,)", "1e-38", "smallest normal"]),
    (lambda: schedules.exponential_decay(1.0, 1, 1.5)(219), ValueError, ["step=219", "1.5", "float32's range", "decay_rate <= 1"]),
    (lambda: schedules.cosine_decay(0.1, 100, alpha=1e-45), ValueError, ["alpha", "1e-45", "float32's range"]),
    (lambda: optimizers.adam(lambda step: False).update(np.ones(2), ADAM_STATE), TypeError, ["learning_rate(0)", "False", "number"]),
    (lambda: optimizers.adam(lambda step: -1e-300).update(np.ones(2), ADAM_STATE), ValueError, ["learning_rate(0)", "-1e-300", ">= 0"]),
    (lambda: losses.huber([1.0], [2.0], delta=10**400), ValueError, ["delta", "1000", "float32's range"]),
    (lambda: losses.mse([10**400], [1]), ValueError, ["y_true", "1000", "float32's range"]),
]
BAD += ROUND_TWO


@pytest.mark.parametrize("call, error, words", BAD, ids=[f"bad{i:02d}" for i in range(len(BAD))])
def test_bad_input_is_rejected_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in message: {message}"


def test_at_least_twenty_distinct_bad_inputs():
    assert len(BAD) >= 20


# Silent wrong answers the issue found: steps are exact integers, never rounded through float32.
BIG = 2**24 + 1  # 16777217: the first integer float32 cannot hold (it rounds to 16777216)


def test_piecewise_constant_switches_exactly_after_a_boundary_beyond_float32():
    lr = schedules.piecewise_constant([2**24], [1.0, 0.5])
    assert float(lr(2**24)) == 1.0 and float(lr(BIG)) == 0.5
    assert lr(np.array([2**24, BIG], dtype=np.int64)).tolist() == [1.0, 0.5]
    far = schedules.piecewise_constant([2**40], [1.0, 0.5])
    assert float(far(2**40)) == 1.0 and float(far(2**40 + 1)) == 0.5


def test_join_schedules_switches_exactly_at_a_boundary_beyond_float32():
    lr = schedules.join_schedules([schedules.constant(1.0), schedules.linear_warmup(0.5, 10)], [BIG])
    assert float(lr(BIG - 1)) == 1.0 and float(lr(BIG)) == 0.0 and float(lr(BIG + 5)) == 0.25


def test_an_optimizer_reads_its_schedule_at_the_exact_step():
    seen = []
    opt = optimizers.sgd(lambda step: seen.append(step) or 0.1)
    state = opt.init(np.ones(1))._replace(step=BIG)
    opt.update(np.ones(1), state)
    assert seen == [BIG] and type(seen[0]) is int


def test_a_numpy_bool_is_a_flag_and_keras_numbers_stay():
    assert float(losses.binary_crossentropy([1.0], [0.0], from_logits=np.False_)) == pytest.approx(16.118, abs=1e-3)
    assert float(losses.binary_crossentropy([1.0], [0.0], from_logits=np.True_)) == pytest.approx(0.6931, abs=1e-4)


@pytest.mark.parametrize("make", [lambda: optimizers.sgd(0.1), lambda: optimizers.sgd(0.1, momentum=0.9),
                                  optimizers.rmsprop, optimizers.adagrad, optimizers.adam],
                         ids=["sgd", "momentum", "rmsprop", "adagrad", "adam"])
def test_passing_params_to_update_only_checks(make):
    """update(grads, state, params) returns exactly what update(grads, state) does: params are only checked."""
    opt, params, grads = make(), [np.ones(2), np.full(3, -2.0)], [np.array([0.5, -1.0]), np.array([3.0, 0.0, 1.0])]
    plain, with_params = opt.update(grads, opt.init(params)), opt.update(grads, opt.init(params), params)
    for a, b in zip(plain[0] + [x for s in plain[1][1:] if s is not None for x in s],
                    with_params[0] + [x for s in with_params[1][1:] if s is not None for x in s]):
        np.testing.assert_array_equal(a, b)

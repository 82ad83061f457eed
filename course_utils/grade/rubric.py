"""What each graded exercise is: the learner's function, inputs made at grading time, the reference.

A rubric maps a graded cell id (``"mse-check"``) to an :class:`Exercise`. Inputs are made fresh for
every submission (an unseeded generator) and include fixed edge cases. Arguments that are objects
rather than arrays (an optimizer, a surface, a function) are :class:`Code`: one Python expression
evaluated by the grader for its reference and by the kernel for the learner, so both get the same
object without anything being pickled. References are plain numpy formulas or the grader's own
:mod:`course_utils`, always evaluated in the grader's process. Each notebook's concept questions
(:mod:`course_utils.checks.questions`) join its rubric as ``"q1-check"``, ..., judged by the same definition
the in-notebook check uses.
"""

from __future__ import annotations

import numpy as np

from course_utils import optimizers
from course_utils.checks import losses
from course_utils.checks.definition import Case, Code, Exercise, Tensor
from course_utils.checks.questions import QUESTIONS, Question
from course_utils.checks.uses import delegation_message

__all__ = ["Case", "Code", "Exercise", "Tensor", "NoRubric", "RUBRICS", "judge", "rubric_for"]

EPS = 1e-7  # Keras' probability clip

# What each exercise may call while the grader calls it is defined once, in course_utils.checks.uses (USES):
# the self-check enforces the same rule. A call into a forbidden package (found by the module of each Python
# frame, and of each C function, entered during the call) scores 0 with the line delegation_message gives.


def _table(exercises) -> dict[str, Exercise]:
    """A rubric: each exercise's definition under its graded cell's id."""
    return {f"{exercise.function}-check": exercise for exercise in exercises}


LESSON_01 = _table(losses.LESSON_01)
LESSON_02 = _table(losses.LESSON_02)

# --- lesson 03 -----------------------------------------------------------------------------------------------
# References of 03 and 04 are named after their exercises: tests/test_checks_03_04.py uses them as model answers.

_SMOOTH = "lambda x: float(np.sum(np.sin(x) * x**2 + 0.3 * x**3))"


def numerical_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        grad[i] = (f(plus) - f(minus)) / (2 * eps)
    return grad


def _gradient_cases(rng):
    cases = [Case((Code(_SMOOTH), rng.normal(size=s)), {"eps": e}, f"a random point of shape {s}, eps={e:.3g}")
             for s, e in [((4,), 0.1), ((2, 3), float(rng.uniform(0.01, 0.2)))]]
    return cases + [Case((Code(_SMOOTH), rng.normal(size=s)), {}, f"a random point of shape {s}")
                    for s in [(3,), (2, 2)]]


def _mse_gradient_cases(rng):
    cases = []
    for n, d in [(8, 3), (int(rng.integers(5, 15)), 2), (6, 1)]:
        cases.append(Case((rng.normal(size=d), float(rng.normal()), rng.normal(size=(n, d)), rng.normal(size=n)), {},
                          f"random data of {n} samples and {d} features"))
    return cases


def mse_gradient(w, b, x, y):
    error = x @ w + b - y
    return 2 * x.T @ error / len(y), 2 * np.mean(error)


def _quadratic_grad(rng, d):
    c, centre = np.round(rng.uniform(0.5, 3.0, size=d), 3), np.round(rng.normal(size=d), 3)
    return Code(f"lambda w: np.array({c.tolist()}) * (w - np.array({centre.tolist()}))")


def _descent_cases(rng):
    return [Case((_quadratic_grad(rng, d), rng.normal(size=d), float(rng.uniform(0.05, 0.4)), n), {},
                 f"a random bowl in {d}-D, {n} steps") for d, n in [(2, 5), (3, 12), (1, 0)]]


def gradient_descent(grad_fn, w0, learning_rate, num_steps):
    points = [np.array(w0, dtype=float)]
    for _ in range(num_steps):
        points.append(points[-1] - learning_rate * grad_fn(points[-1]))
    return np.array(points)


def _fit_cases(rng):
    cases = []
    for n, d, steps in [(30, 2, 50), (20, 3, 20)]:
        x = rng.normal(size=(n, d))
        y = x @ (rng.normal(size=d) * 2) + float(rng.normal()) + rng.normal(size=n) * 0.3
        label = f"random data of {n} samples, {d} features"
        cases.append(Case((x, y, float(rng.uniform(0.02, 0.1)), steps), {}, label))
    return cases


def fit_linear(x, y, learning_rate, num_steps):
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(num_steps):
        dw, db = mse_gradient(w, b, x, y)
        w, b = w - learning_rate * dw, b - learning_rate * db
    return w, b


LESSON_03 = {
    "numerical_gradient-check": Exercise("numerical_gradient", _gradient_cases, numerical_gradient, rtol=1e-5,
                                         atol=1e-6),
    "mse_gradient-check": Exercise("mse_gradient", _mse_gradient_cases, mse_gradient, returns=2),
    "gradient_descent-check": Exercise("gradient_descent", _descent_cases, gradient_descent),
    "fit_linear-check": Exercise("fit_linear", _fit_cases, fit_linear, rtol=1e-5, atol=1e-7, returns=2),
}

# --- lesson 04 -----------------------------------------------------------------------------------------------


def _state_cases(rng, extra):
    cases = []
    for s in [(3,), (2, 2)]:
        cases.append(Case(extra(rng, s), {}, f"a random state of shape {s}"))
    return cases


def sgd_momentum_update(grad, velocity, learning_rate, momentum):
    v = momentum * velocity - learning_rate * grad
    return v, v


def rmsprop_update(grad, velocity, learning_rate, rho=0.9, epsilon=1e-7):
    v = rho * velocity + (1 - rho) * grad**2
    return -learning_rate * grad / np.sqrt(v + epsilon), v


def adam_update(grad, m, v, step, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    t = step + 1
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad**2
    alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return -alpha * m / (np.sqrt(v) + epsilon), m, v


def _momentum_cases(rng):
    return _state_cases(rng, lambda r, s: (r.normal(size=s), r.normal(size=s), float(r.uniform(0.01, 0.5)),
                                          float(r.uniform(0.5, 0.99)))) + [
        Case((np.zeros(2), np.zeros(2), 0.1, 0.9), {}, "a zero gradient")]


def _rmsprop_cases(rng):
    return _state_cases(rng, lambda r, s: (r.normal(size=s), r.uniform(0, 2, size=s), float(r.uniform(0.01, 0.5)))) + [
        Case((rng.normal(size=3), rng.uniform(0, 2, size=3), 0.1), {"rho": 0.5, "epsilon": 1e-3}, "rho=0.5")]


def _adam_cases(rng):
    return _state_cases(rng, lambda r, s: (r.normal(size=s), r.normal(size=s), r.uniform(0, 2, size=s),
                                          int(r.integers(0, 20)), float(r.uniform(0.001, 0.1)))) + [
        Case((rng.normal(size=2), np.zeros(2), np.zeros(2), 0, 0.01), {"beta_1": 0.5, "beta_2": 0.9},
             "the first step, other betas")]


def final_loss(optimizer, surface, num_steps):
    run = optimizers.trajectory(optimizer, surface.loss, surface.grad, surface.start, num_steps)
    return float("inf") if run.diverged else float(run.losses[-1])


def _final_loss_cases(rng):
    lr = float(np.round(rng.uniform(0.01, 0.05), 4))
    return [Case((Code(f"optimizers.sgd({lr})"), Code("surfaces.ravine"), int(rng.integers(5, 40))), {}, "SGD"),
            Case((Code(f"optimizers.adam({lr * 2})"), Code("surfaces.rosenbrock"), 30), {}, "Adam"),
            Case((Code("optimizers.sgd(0.5)"), Code("surfaces.ravine"), 40), {}, "a run that diverges")]


def best_learning_rate(make_optimizer, surface, candidates, num_steps):
    return min(candidates, key=lambda lr: final_loss(make_optimizer(lr), surface, num_steps))


def _best_lr_cases(rng):
    candidates = sorted(float(c) for c in rng.choice([0.001, 0.003, 0.01, 0.03, 0.05, 0.09, 0.2, 0.5], 5, False))
    return [Case((Code("optimizers.sgd"), Code("surfaces.ravine"), candidates, 30), {}, "SGD on the ravine"),
            Case((Code("optimizers.adam"), Code("surfaces.bowl"), candidates, 20), {}, "Adam on the bowl")]


LESSON_04 = {
    "sgd_momentum_update-check": Exercise("sgd_momentum_update", _momentum_cases, sgd_momentum_update, returns=2),
    "rmsprop_update-check": Exercise("rmsprop_update", _rmsprop_cases, rmsprop_update, returns=2),
    "adam_update-check": Exercise("adam_update", _adam_cases, adam_update, returns=3),
    "final_loss-check": Exercise("final_loss", _final_loss_cases, final_loss, rtol=1e-6),
    "best_learning_rate-check": Exercise("best_learning_rate", _best_lr_cases, best_learning_rate),
}

# --- lesson 05 -----------------------------------------------------------------------------------------------


def _steps(rng, *special, high):
    """Sorted unique integer steps: the special ones (boundaries and their neighbours) plus random ones."""
    picked = np.concatenate([np.asarray(special, dtype=np.int64), rng.integers(0, high, size=6)])
    return np.unique(picked[picked >= 0])


def _decay_cases(rng):
    cases = []
    for staircase in (None, True, False):
        d, rate = int(rng.integers(50, 2000)), float(np.round(rng.uniform(0.3, 0.97), 4))
        lr0 = float(np.round(rng.uniform(0.001, 0.5), 5))
        kwargs = {} if staircase is None else {"staircase": staircase}
        cases.append(Case((_steps(rng, 0, d - 1, d, d + 1, 3 * d, high=6 * d), lr0, d, rate), kwargs,
                          f"random steps, decay_steps={d}" + (f", staircase={staircase}" if kwargs else "")))
    return cases + [Case((int(rng.integers(0, 5000)), 0.1, 1000, 0.9), {}, "a single integer step"),
                    Case((np.array([0, 999, 1000, 2000, 2500]), 0.1, 1000, 0.9), {"staircase": True},
                         "steps on the staircase's edges")]


def _exponential_decay(step, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    p = np.asarray(step, dtype=np.float64) / decay_steps
    return initial_learning_rate * decay_rate ** (np.floor(p) if staircase else p)


def _piecewise_cases(rng):
    cases = []
    for count in (1, 3):
        boundaries = sorted(int(b) for b in rng.choice(np.arange(10, 5000), size=count, replace=False))
        values = [float(v) for v in np.round(rng.uniform(0.0001, 0.5, size=count + 1), 5)]
        special = [0, *boundaries, *(b + 1 for b in boundaries), *(b - 1 for b in boundaries)]
        cases.append(Case((_steps(rng, *special, high=6000), boundaries, values), {},
                          f"random steps, {count} boundaries"))
    return cases + [Case((1000, [1000, 2000], [0.1, 0.01, 0.001]), {}, "a step exactly on a boundary")]


def _piecewise_constant(step, boundaries, values):
    return np.asarray(values, dtype=np.float64)[np.searchsorted(boundaries, step, side="left")]


# Keras calls a schedule with an integer tensor, inside a compiled graph, and rebuilds it from get_config.
WARMUP_ADAPTER = """
def adapt(WarmupSchedule):
    def call(warmup_steps, target_learning_rate, steps, initial_learning_rate=None):
        import keras
        import tensorflow as tf
        extra = {} if initial_learning_rate is None else {"initial_learning_rate": initial_learning_rate}
        schedule = WarmupSchedule(warmup_steps, target_learning_rate, **extra)
        rebuilt = WarmupSchedule.from_config(schedule.get_config())
        in_graph = tf.function(lambda step: schedule(step), autograph=False)
        steps = [tf.constant(int(s), tf.int64) for s in steps]
        return ([float(schedule(s)) for s in steps], [float(rebuilt(s)) for s in steps],
                [float(in_graph(s)) for s in steps],
                float(isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule)))
    return call
"""


def _warmup_cases(rng):
    cases = []
    for with_initial in (True, False, True):
        warmup = int(rng.integers(5, 300))
        target = float(np.round(rng.uniform(0.005, 0.5), 5))
        kwargs = {"initial_learning_rate": float(np.round(target * rng.uniform(0.05, 0.6), 6))} if with_initial else {}
        steps = _steps(rng, 0, 1, warmup // 2, warmup - 1, warmup, warmup + 1, 2 * warmup, high=10 * warmup)
        label = f"warmup_steps={warmup}" + ", an initial rate" * with_initial
        cases.append(Case((warmup, target, steps), kwargs, label))
    return cases + [Case((1, 0.3, np.array([0, 1, 2])), {"initial_learning_rate": 0.1}, "a one-step warmup")]


def _warmup(warmup_steps, target_learning_rate, steps, initial_learning_rate=0.0):
    ramp = np.minimum(np.asarray(steps, dtype=np.float64) / warmup_steps, 1.0)
    rates = initial_learning_rate + (target_learning_rate - initial_learning_rate) * ramp
    return rates, rates, rates, 1.0


def _cosine_cases(rng):
    cases = []
    for alpha in (None, float(np.round(rng.uniform(0.01, 0.5), 3))):
        warmup, decay = int(rng.integers(10, 500)), int(rng.integers(100, 5000))
        peak = float(np.round(rng.uniform(0.001, 0.5), 5))
        steps = _steps(rng, 0, warmup - 1, warmup, warmup + 1, warmup + decay // 2, warmup + decay,
                       warmup + decay + 7, high=warmup + 2 * decay)
        kwargs = {} if alpha is None else {"alpha": alpha}
        label = f"random steps, warmup_steps={warmup}, decay_steps={decay}" + f", alpha={alpha}" * bool(kwargs)
        cases.append(Case((steps, warmup, peak, decay), kwargs, label))
    return cases + [Case((int(rng.integers(0, 3000)), 100, 0.1, 1000), {}, "a single integer step")]


def _warmup_cosine(step, warmup_steps, peak_learning_rate, decay_steps, alpha=0.0):
    s = np.asarray(step, dtype=np.float64)
    t = np.clip(s - warmup_steps, 0, decay_steps) / decay_steps
    cosine = peak_learning_rate * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * t)) + alpha)
    return np.where(s < warmup_steps, peak_learning_rate * s / warmup_steps, cosine)


LESSON_05 = {
    "exponential_decay-check": Exercise("exponential_decay", _decay_cases, _exponential_decay, rtol=1e-6),
    "piecewise_constant-check": Exercise("piecewise_constant", _piecewise_cases, _piecewise_constant),
    "WarmupSchedule-check": Exercise(
        "WarmupSchedule", _warmup_cases, _warmup, rtol=1e-5, atol=1e-9, returns=4, adapter=WARMUP_ADAPTER,
        parts=("the rates for integer steps", "a schedule rebuilt from get_config()",
               "the rates inside a compiled graph, as model.fit calls it",
               "being a keras.optimizers.schedules.LearningRateSchedule")),
    "warmup_cosine-check": Exercise("warmup_cosine", _cosine_cases, _warmup_cosine, rtol=1e-6, atol=1e-12),
}

# --- lesson 06 -----------------------------------------------------------------------------------------------

BATCHES_ADAPTER = """
def adapt(make_batches):
    def call(x, y, batch_size):
        pairs = [tuple(pair) for pair in make_batches(x, y, batch_size)]
        if not pairs or any(len(pair) != 2 for pair in pairs):
            raise TypeError("expected a list of (x_batch, y_batch) pairs")
        sizes = [len(xb) for xb, _ in pairs]
        return (sizes, numpy.concatenate([numpy.asarray(xb) for xb, _ in pairs]),
                numpy.concatenate([numpy.asarray(yb) for _, yb in pairs]))
    return call
"""


def _batch_cases(rng):
    cases = []
    for n, size in [(int(rng.integers(20, 90)), int(rng.integers(3, 11))), (24, 8), (5, 8), (7, 1)]:
        x = np.round(rng.normal(size=(n, 3)), 3)
        cases.append(Case((x, rng.integers(0, 10, size=n), size), {}, f"{n} rows in batches of {size}"))
    return cases


def _make_batches(x, y, batch_size):
    sizes = [min(batch_size, len(x) - start) for start in range(0, len(x), batch_size)]
    return sizes, x, y


def _one_hot_cases(rng):
    cases = [Case((rng.integers(0, k, size=n), k), {}, f"{n} random labels, {k} classes")
             for n, k in [(int(rng.integers(5, 30)), 10), (int(rng.integers(2, 9)), int(rng.integers(3, 7)))]]
    return cases + [Case((np.array([2]), 5), {}, "a single label"), Case((np.array([0, 0, 1]), 4), {},
                                                                           "a class that never occurs")]


# The learner's train_step gets a small softmax model and a plain SGD optimizer built from the grader's weights.
TRAIN_STEP_ADAPTER = """
def adapt(train_step):
    def call(w1, b1, w2, b2, x, y, learning_rate):
        import keras
        import tensorflow as tf
        model = keras.Sequential([keras.Input(shape=(w1.shape[0],)), keras.layers.Dense(w1.shape[1], activation="relu"),
                                  keras.layers.Dense(w2.shape[1], activation="softmax")])
        model.set_weights([w1, b1, w2, b2])
        loss = train_step(model, keras.optimizers.SGD(learning_rate=learning_rate), tf.constant(x), tf.constant(y))
        return (float(loss), *[numpy.asarray(w) for w in model.get_weights()])
    return call
"""


def _forward(w1, b1, w2, b2, x):
    hidden = np.maximum(x @ w1 + b1, 0.0)
    logits = hidden @ w2 + b2
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return hidden, e / e.sum(-1, keepdims=True)


def _mean_sparse_crossentropy(probabilities, y):
    return float(np.mean(-np.log(np.clip(probabilities[np.arange(len(y)), y], EPS, 1 - EPS))))


def _train_step_cases(rng):
    cases = []
    for _ in range(2):
        features, classes, n = int(rng.integers(3, 7)), int(rng.integers(3, 6)), int(rng.integers(6, 12))
        shapes = [(features, 8), (8,), (8, classes), (classes,)]
        weights = [(rng.normal(size=shape) * 0.6).astype(np.float32) for shape in shapes]
        x = rng.normal(size=(n, features)).astype(np.float32)
        y = rng.integers(0, classes, size=n)
        cases.append(Case((*weights, x, y, float(np.round(rng.uniform(0.05, 0.5), 3))), {},
                          f"a batch of {n} with {features} features and {classes} classes"))
    return cases


def _train_step(w1, b1, w2, b2, x, y, learning_rate):
    """Forward, mean sparse categorical cross-entropy, backward by hand, one SGD step (float64)."""
    w1, b1, w2, b2, x = (np.asarray(a, dtype=np.float64) for a in (w1, b1, w2, b2, x))
    hidden, probabilities = _forward(w1, b1, w2, b2, x)
    d_logits = (probabilities - np.eye(w2.shape[1])[y]) / len(y)
    d_hidden = (d_logits @ w2.T) * (hidden > 0)
    grads = [x.T @ d_hidden, d_hidden.sum(0), hidden.T @ d_logits, d_logits.sum(0)]
    return (_mean_sparse_crossentropy(probabilities, y),
            *[w - learning_rate * g for w, g in zip((w1, b1, w2, b2), grads)])


# The learner's model gets the grader's weights; a wrong architecture cannot take them.
BUILD_MODEL_ADAPTER = """
def adapt(build_digits_model):
    def call(w1, b1, w2, b2, x, y):
        model = build_digits_model()
        model.set_weights([w1, b1, w2, b2])
        logs = model.evaluate(x, y, verbose=0, return_dict=True)
        return (float(model.count_params()), numpy.asarray(model.predict(x, verbose=0)), float(logs["loss"]),
                float(type(model.optimizer).__name__ == "Adam"), float(model.optimizer.learning_rate),
                float(any("accuracy" in key for key in logs)))
    return call
"""


def _build_model_cases(rng):
    shapes = [(64, 512), (512,), (512, 10), (10,)]
    weights = [(rng.normal(size=shape) * 0.08).astype(np.float32) for shape in shapes]
    x = rng.uniform(0, 1, size=(40, 64)).astype(np.float32)
    return [Case((*weights, x, rng.integers(0, 10, size=40)), {}, "the grader's weights and 40 random images")]


def _digits_model(w1, b1, w2, b2, x, y):
    _, probabilities = _forward(*(np.asarray(a, dtype=np.float64) for a in (w1, b1, w2, b2, x)))
    return 38_410, probabilities, _mean_sparse_crossentropy(probabilities, y), 1.0, 0.001, 1.0


# train_digits trains the lesson's model (built here, so a wrong build_digits_model costs nothing twice) on a
# split of the digits made with the grader's shuffle, then labels held-out images it never saw.
TRAIN_DIGITS_ADAPTER = """
def adapt(train_digits):
    def call(order, train_count, val_count):
        import keras
        from course_utils.data import Split, load_digits
        keras.utils.set_random_seed(0)
        digits = load_digits()
        x = numpy.concatenate([digits.x_train, digits.x_val])[order]
        y = numpy.concatenate([digits.y_train, digits.y_val])[order]
        end = train_count + val_count
        split = Split(x[:train_count], y[:train_count], x[train_count:end], y[train_count:end])
        model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(512, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        trained = train_digits(model, split)
        return numpy.argmax(numpy.asarray(trained.predict(x[end:], verbose=0)), axis=-1)
    return call
"""
DIGITS_REQUIRED = 0.88  # on 300 held-out images: the model answer got 0.92-0.99 on 8 shuffles; no training ~0.1


def _train_digits_cases(rng):
    return [Case((rng.permutation(1797), 1437, 60), {}, "1437 training images, 300 held-out images")]


def _held_out_accuracy(case: Case, values: list[np.ndarray]) -> str | None:
    from course_utils.data import load_digits

    order, train_count, val_count = case.args
    digits = load_digits()
    truth = np.concatenate([digits.y_train, digits.y_val])[order][train_count + val_count:]
    if values[0].shape != truth.shape:
        return f"the trained model labelled {values[0].size} held-out images, expected {truth.size}."
    accuracy = float(np.mean(values[0] == truth))
    if accuracy < DIGITS_REQUIRED:
        return (f"the trained model labels {accuracy:.1%} of {truth.size} held-out images right; at least "
                f"{DIGITS_REQUIRED:.0%} is needed.")
    return None


LESSON_06 = {
    "make_batches-check": Exercise("make_batches", _batch_cases, _make_batches, returns=3, adapter=BATCHES_ADAPTER,
                                   parts=("the batch sizes", "the x rows, batch after batch",
                                          "the labels, batch after batch")),
    "one_hot-check": Exercise("one_hot", _one_hot_cases, lambda labels, k: np.eye(k)[labels]),
    "train_step-check": Exercise(
        "train_step", _train_step_cases, _train_step, rtol=1e-4, atol=1e-6, returns=5, adapter=TRAIN_STEP_ADAPTER,
        parts=("the loss it returned", "the hidden weights after the update", "the hidden biases after the update",
               "the output weights after the update", "the output biases after the update")),
    "build_digits_model-check": Exercise(
        "build_digits_model", _build_model_cases, _digits_model, rtol=1e-4, atol=1e-6, returns=6,
        adapter=BUILD_MODEL_ADAPTER,
        parts=("the number of parameters", "the probabilities it predicts", "the loss it is compiled with",
               "the optimizer being Adam", "the optimizer's learning rate", "reporting accuracy")),
    "train_digits-check": Exercise("train_digits", _train_digits_cases, None, adapter=TRAIN_DIGITS_ADAPTER,
                                   verdict=_held_out_accuracy),
}

# --- concept questions: a view of course_utils.checks.questions ---------------------------------------------


def asked(question: Question) -> Exercise:
    """The grader's view of a concept question: read ``answer_qN`` from the kernel once, judge it here."""
    return Exercise(question.variable, lambda rng: [Case((), {}, "your answer")], None, question=question)


def _with_questions(lesson: str, exercises: dict[str, Exercise]) -> dict[str, Exercise]:
    return {**exercises, **{f"{name}-check": asked(q) for name, q in QUESTIONS.get(lesson, {}).items()}}


RUBRICS: dict[str, dict[str, Exercise]] = {
    lesson: _with_questions(lesson, exercises) for lesson, exercises in
    {"01": LESSON_01, "02": LESSON_02, "03": LESSON_03, "04": LESSON_04, "05": LESSON_05, "06": LESSON_06}.items()
}


DELEGATES = "Delegates: "  # the probe's error text when the answer called what it may not


class NoRubric(LookupError):
    """The assignment has no rubric: it cannot be graded automatically."""


def rubric_for(assignment: str) -> dict[str, Exercise]:
    """The rubric of assignment ``"NN"``; :class:`NoRubric` names the assignments that have one."""
    try:
        return RUBRICS[assignment]
    except KeyError:
        raise NoRubric(
            f"no grading rubric for assignment {assignment!r}; rubrics exist for {', '.join(sorted(RUBRICS))} "
            "(add one in course_utils/grade/rubric.py)"
        ) from None


def judge(exercise: Exercise, case: Case, expected, got: dict) -> str | None:
    """``None`` when the learner's result ``got`` (decoded probe data) matches ``expected``; else why not."""
    call = f"{exercise.function} on {case.label}"
    if "error" in got:
        if got["error"].startswith("NotImplementedError"):
            return f"{exercise.function} is not written yet."
        if got["error"].startswith(DELEGATES):
            return delegation_message(exercise.function, got["error"][len(DELEGATES):])
        return f"{call} raised {got['error']}"
    if exercise.question is not None:
        right, message = exercise.question.verdict(got["answer"])
        return None if right else message.replace("\nwhy       ", " Why: ")
    leaves = got["items"] if exercise.returns else [got["value"]]
    values = [np.asarray(leaf["data"], dtype=np.float64).reshape(leaf["shape"]) for leaf in leaves]
    if exercise.verdict is not None:
        return exercise.verdict(case, values)
    wanted = list(expected) if exercise.returns else [expected]
    accepted = exercise.accepted_on(case)
    for index, (value, want) in enumerate(zip(values, wanted)):
        if exercise.parts:
            which = f" ({exercise.parts[index]})"
        else:
            which = f" (returned value {index + 1})" if exercise.returns else ""
        want = np.asarray(want, dtype=np.float64)
        if value.shape != want.shape:
            return f"{call} returned shape {value.shape}{which}, expected shape {want.shape}."
        also = [a[index] if exercise.returns else a for a in accepted]
        if not any(np.allclose(value, ok, rtol=exercise.rtol, atol=exercise.atol) for ok in [want, *also]):
            # the self-check's hint for the typical mistake this value fits, if one does
            hints = [m.hint for m in exercise.mistakes_on(case)
                     if m.part == index and m.fits(value, exercise.rtol, exercise.atol)]
            return f"{call} gave a wrong value{which}." + (f" Hint: {hints[0]}" if hints else "")
    return None

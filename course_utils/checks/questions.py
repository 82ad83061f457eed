"""Concept questions: predict a number or pick a choice, then check, and read why.

Each exercise notebook ends with at least three questions about its lesson's explorers and numbers. The
question text is in the notebook's markdown; everything else about a question is defined once, here, as a
:class:`Question`: its answer key (numbers are *computed* with :mod:`course_utils`, never typed in), the
tolerance, the choices and the explanation. The learner writes ``answer_q1 = 2.3`` (a number) or
``answer_q2 = "b"`` (a choice) in the answer cell; ``check_question("01", "q1", answer_q1)`` in the check
cell judges it and, right or wrong, says why. The instructor grader (:mod:`course_utils.grade`) reads the
same ``answer_q1`` from the learner's kernel as plain data and judges it with the same :meth:`Question.verdict`
in its own process. ``choose("01", "q2")`` shows a keyboard-usable picker that sets ``answer_q2`` in the
running kernel (a convenience: the grader reads the answer cell, so the line goes there too).

    >>> question = QUESTIONS["02"]["q1"]
    >>> round(question.answer(), 4), question.form
    (2.3026, 'a number')
    >>> question.verdict(2.30)[0], question.verdict(1.0)[0], question.verdict(None)[0]
    (True, False, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course_utils import data, losses, optimizers, schedules, surfaces
from course_utils.checks.engine import CheckFailed, show

NOT_ANSWERED = "is not answered yet"


@dataclass(frozen=True)
class Opaque:
    """An answer the grader knows only by its type (a list, a function, ...): never right, and said so."""

    type_name: str


def _described(given) -> str:
    return f"a {given.type_name}" if isinstance(given, Opaque) else f"{type(given).__name__} {show(given)}"


@dataclass(frozen=True)
class Question:
    """One concept question: ``answer()`` is the key, ``why`` the explanation shown right or wrong.

    ``choices`` maps each letter to its text for a multiple-choice question (``None``: the answer is a
    number, right when ``np.isclose(given, answer(), rtol, atol)``).
    """

    lesson: str
    name: str  # "q1": the learner's variable is answer_q1
    answer: Callable[[], float | str]
    why: str
    choices: dict[str, str] | None = None
    rtol: float = 0.01
    atol: float = 0.0
    points: int = 1

    @property
    def variable(self) -> str:
        return f"answer_{self.name}"

    @property
    def form(self) -> str:
        """What kind of value the answer is, in words."""
        if self.choices is None:
            return "a number"
        return "one of " + ", ".join(f'"{letter}"' for letter in self.choices)

    def key(self) -> float | str:
        """The answer as the check compares it (a float, or a choice's letter)."""
        value = self.answer()
        return value if self.choices is not None else float(value)

    def problem(self, given) -> str | None:
        """Why ``given`` is not an answer of the right form (None when it is one)."""
        if given is None:
            return f"{self.variable} {NOT_ANSWERED}: set it to {self.form} in the answer cell above " \
                   "(and delete the `raise NotImplementedError()` line)."
        if self.choices is None:
            if isinstance(given, bool) or not isinstance(given, (int, float, np.integer, np.floating)):
                return f"{self.variable} should be a number, but it is {_described(given)}."
            if not math.isfinite(float(given)):
                return f"{self.variable} should be a finite number, but it is {show(given)}."
            return None
        if not isinstance(given, str):
            return f"{self.variable} should be {self.form} (a letter in quotes), but it is {_described(given)}."
        if given.strip().lower() not in self.choices:
            return f"{self.variable} should be {self.form}, but it is {given!r}."
        return None

    def verdict(self, given) -> tuple[bool, str]:
        """``(right, message)`` for the learner's ``given`` answer: the one judgement the check and the grader share."""
        problem = self.problem(given)
        if problem is not None:
            return False, problem
        key = self.key()
        if self.choices is None:
            right = bool(np.isclose(float(given), key, rtol=self.rtol, atol=self.atol))
            shown_key = f"{key:.6g}"
            shown_given = show(float(given))
        else:
            right = given.strip().lower() == key
            shown_key = f'"{key}" ({self.choices[key]})'
            shown_given = f'"{given.strip().lower()}"'
        if right:
            return True, f"{self.variable} = {shown_given} is right (the key: {shown_key}).\nwhy       {self.why}"
        return False, f"{self.variable} = {shown_given} is not right yet.\nwhy       {self.why}"


def _outlier_owner() -> str:
    """The loss in which one far point takes the biggest share: ten points, nine close to the line, one 10 off."""
    y_true = np.zeros((10, 1))
    y_pred = np.array([0.3, -0.5, 0.2, 0.4, -0.1, -0.3, 0.5, -0.2, 0.1, 10.0]).reshape(-1, 1)
    shares = {}
    for letter, loss in [("a", losses.mae), ("b", losses.mse), ("c", losses.huber)]:
        per_point = np.asarray(loss(y_true, y_pred), dtype=np.float64)
        shares[letter] = per_point[-1] / per_point.sum()
    return max(shares, key=shares.get)


def _doubled_error_factor() -> float:
    errors = np.array([0.5, -1.0, 2.0])
    return float(losses.mse(np.zeros(3), 2 * errors) / losses.mse(np.zeros(3), errors))


def _uniform_guess_loss() -> float:
    return float(losses.categorical_crossentropy(np.eye(10)[3], np.full(10, 0.1)))


def _more_confident_cat() -> str:
    confident, hesitant = losses.binary_crossentropy(np.array([1.0]), np.array([0.9])), \
        losses.binary_crossentropy(np.array([1.0]), np.array([0.51]))
    if np.isclose(confident, hesitant):
        return "c"
    return "a" if confident < hesitant else "b"


def _steepest_direction() -> str:
    return "ab"[int(np.argmax(surfaces.ravine.curvatures))]


def _most_state() -> str:
    weights = [np.zeros((64, 512)), np.zeros(512)]
    made = {"a": optimizers.sgd(0.01, momentum=0.9), "b": optimizers.rmsprop(), "c": optimizers.adagrad(),
            "d": optimizers.adam()}
    sizes = {letter: optimizers.state_size(optimizer.init(weights)) for letter, optimizer in made.items()}
    return max(sizes, key=sizes.get)


def _momentum_growth(momentum=0.9, steps=400) -> float:
    """How many plain SGD steps one momentum step becomes when the gradient never changes."""
    learning_rate, gradient = 0.01, np.array([1.0])
    optimizer = optimizers.sgd(learning_rate, momentum=momentum)
    state = optimizer.init(np.zeros(1))
    for _ in range(steps):
        update, state = optimizer.update(gradient, state)
    return float(abs(update[0]) / (learning_rate * gradient[0]))


def _one_certain_mistake(batch=100) -> float:
    """The mean cross-entropy of a batch certain and right on all samples but one, certain and wrong on that one."""
    y_true = np.tile([1.0, 0.0], (batch, 1))
    y_pred = y_true.copy()
    y_pred[0] = [0.0, 1.0]
    return float(np.mean(losses.categorical_crossentropy(y_true, y_pred)))


def _adam_first_step(gradient=30.0) -> float:
    optimizer = optimizers.adam(0.001)
    update, _ = optimizer.update(np.array([gradient]), optimizer.init(np.zeros(1)))
    return float(abs(update[0]))


def _epoch_updates(epochs=3) -> int:
    return epochs * data.steps_per_epoch(1437, 32)


QUESTIONS: dict[str, dict[str, Question]] = {
    "01": {
        "q1": Question("01", "q1", _doubled_error_factor,
                       "MSE squares every error: (2e)^2 = 4 e^2, so doubling every error multiplies the MSE by "
                       "4 (and the MAE only by 2). Big mistakes cost disproportionately more."),
        "q2": Question("01", "q2", _outlier_owner,
                       "The squared error of a point 10 off is 100, against well under 1 for each of the nine "
                       "close points, so under MSE that one point owns almost all of the loss. MAE counts it "
                       "only 10 times a typical point, and Huber is linear beyond delta like MAE.",
                       choices={"a": "MAE", "b": "MSE", "c": "Huber"}),
        "q3": Question("01", "q3", lambda: float(np.sqrt(losses.mse(np.array([200_000.0]),
                                                                     np.array([210_000.0])))),
                       "The MSE is in squared dollars (100,000,000 of them here); its square root, the RMSE, is "
                       "back in dollars: the size of the typical miss, $10,000."),
    },
    "02": {
        "q1": Question("02", "q1", _uniform_guess_loss,
                       "A uniform guess gives the true class probability 1/10, and cross-entropy is minus the log "
                       "of that probability: -ln(1/10) = ln 10. A classifier stuck at this loss has learned "
                       "nothing yet (the chance level of lessons 05 and 06)."),
        "q2": Question("02", "q2", _more_confident_cat,
                       "Both are right, but cross-entropy scores the probability, not the answer: -ln 0.9 = 0.105 "
                       "against -ln 0.51 = 0.673. Confidence in the right answer lowers the loss.",
                       choices={"a": "the one that says 90%", "b": "the one that says 51%",
                                "c": "neither: both are right, so both cost the same"}),
        "q3": Question("02", "q3", _one_certain_mistake,
                       "Keras clips probability 0 to 1e-7, so the one certain mistake costs -ln(1e-7) = 16.1, while "
                       "each of the 99 certain right answers costs -ln(1 - 1e-7), about 1e-7: the mean is about "
                       "16.1 / 100 = 0.161. One confident mistake outweighs everything else in the batch."),
    },
    "03": {
        "q1": Question("03", "q1", lambda: surfaces.critical_learning_rate(surfaces.parabola),
                       "Each step multiplies the distance to the minimum by 1 - eta * c, with curvature c = 2 for "
                       "(w - 3)^2. While |1 - 2 eta| < 1 the distance shrinks; at eta = 2/c = 1 the factor is -1 "
                       "and the weight jumps between -1 and 7 forever; beyond it, the run diverges.",
                       rtol=0.02),
        "q2": Question("03", "q2", lambda: float(1 - 0.1 * surfaces.parabola.curvatures[0]),
                       "On a quadratic of curvature c one step maps the distance d to (1 - eta * c) d; with "
                       "eta = 0.1 and c = 2 that is 0.8 d, so the loss falls by 0.8^2 = 0.64 per step: a straight "
                       "line on the log-scale plot."),
        "q3": Question("03", "q3", _steepest_direction,
                       "Each direction of the ravine is its own parabola with its own factor 1 - eta * c. The "
                       "steep one (c = 20) goes unstable first, at eta = 2/20 = 0.1; at that rate the gentle one "
                       "(c = 1) still moves only 10% of its distance per step.",
                       choices={"a": "the gentle direction, w1 (curvature 1)",
                                "b": "the steep direction, w2 (curvature 20)",
                                "c": "both equally"}),
    },
    "04": {
        "q1": Question("04", "q1", _most_state,
                       "Count the slots: SGD with momentum keeps a velocity (1 float per weight), RMSprop a moving "
                       "average of g^2 (1), Adagrad a running sum of g^2 (1), and Adam both m and v (2).",
                       choices={"a": "SGD with momentum", "b": "RMSprop", "c": "Adagrad", "d": "Adam"}),
        "q2": Question("04", "q2", _momentum_growth,
                       "With a constant gradient the velocity sums the steps eta g (1 + mu + mu^2 + ...), which "
                       "tends to eta g / (1 - mu): 10 times the plain step for mu = 0.9."),
        "q3": Question("04", "q3", _adam_first_step,
                       "In Adam's first step m = (1 - beta_1) g and v = (1 - beta_2) g^2, and the bias correction "
                       "undoes both factors: the step is eta * g / |g|, so every weight moves by about eta = 0.001, "
                       "whatever the size of its gradient."),
    },
    "05": {
        "q1": Question("05", "q1", lambda: float(schedules.piecewise_constant([1000, 2000, 3000],
                                                                             [0.1, 0.01, 0.001, 0.0001])(1000)),
                       "Keras' rule is values[i] for boundaries[i-1] < step <= boundaries[i]: a new value starts "
                       "AFTER its boundary, so step 1000 still gets 0.1 and step 1001 is the first with 0.01."),
        "q2": Question("05", "q2", lambda: float(schedules.cosine_decay(0.1, 10_000, alpha=0.1)(10_000)),
                       "alpha is a fraction of the initial rate, not a rate: the cosine ends at alpha * 0.1 = "
                       "0.01 and stays there."),
        "q3": Question("05", "q3", lambda: float(schedules.exponential_decay(0.01, 1000, 0.9)(_epoch_updates())),
                       "3 epochs of 45 updates (1437 images in batches of 32) are 135 updates, so the rate has "
                       "decayed by 0.9^(135/1000), about 1.4%: a schedule sized for thousands of steps has barely "
                       "started. Size decay_steps to your run.", rtol=0.002),
    },
    "06": {
        "q1": Question("06", "q1", lambda: float(data.steps_per_epoch(1437, 32)),
                       "One update per batch, and the last batch may be smaller: ceil(1437 / 32) = 45 "
                       "(44 full batches hold 1408 images).", rtol=0.0, atol=1e-9),
        "q2": Question("06", "q2", lambda: float(1437 - (data.steps_per_epoch(1437, 32) - 1) * 32),
                       "44 full batches of 32 hold 1408 images, so the 45th batch holds the remaining 29; that is "
                       "why fit's epoch loss weights each batch by its size.", rtol=0.0, atol=1e-9),
        "q3": Question("06", "q3", lambda: "c",
                       "At rate 1.0 a few huge updates push most ReLU units to output 0 for every image. A dead "
                       "unit passes no gradient back, so no later update at any rate revives it: lower the rate "
                       "AND start again from fresh weights.",
                       choices={"a": "lower the learning rate and keep training the same model",
                                "b": "train for more epochs", "c": "lower the learning rate and start again from "
                                                                    "freshly initialised weights"}),
    },
}


def question(lesson: str, name: str) -> Question:
    """The question ``name`` ("q1") of exercise notebook ``lesson`` ("01"), with a clear error for unknown ones."""
    try:
        return QUESTIONS[lesson][name]
    except KeyError:
        known = ", ".join(f"{lesson_} {name_}" for lesson_, qs in QUESTIONS.items() for name_ in qs)
        raise KeyError(f"no question {name!r} in lesson {lesson!r}; the questions are: {known}") from None


def check_question(lesson: str, name: str, given) -> None:
    """Judge the learner's answer to a concept question: print ✓ and why, or raise :class:`CheckFailed` with why.

    Example:
        >>> check_question("06", "q1", 45)  # doctest: +ELLIPSIS
        ✓ answer_q1 = 45 is right (the key: 45).
        why       One update per batch...
    """
    right, message = question(lesson, name).verdict(given)
    if not right:
        raise CheckFailed(message + ("" if NOT_ANSWERED in message or "should be" in message
                                     else "\nThink it through again, change your answer and run this cell again."))
    print("✓ " + message)


def choose(lesson: str, name: str):
    """A picker for a multiple-choice question: choosing sets ``answer_qN`` in the running kernel.

    A convenience only: the grader reads the answer cell, so the picker also shows the line to write there.
    Radio buttons: Tab reaches them, the arrow keys move between the choices. Outside a kernel (or for a
    question that asks for a number) it prints what to write instead and returns None.
    """
    asked = question(lesson, name)
    from course_utils.checks.hints import _in_a_kernel

    shell = _in_a_kernel()
    if asked.choices is None or shell is None:
        for letter, text in (asked.choices or {}).items():
            print(f"  {letter}) {text}")
        print(f"Write your answer in the answer cell: {asked.variable} = ... ({asked.form}).")
        return None
    import ipywidgets as widgets

    picker = widgets.RadioButtons(
        options=[(f"{letter}) {text}", letter) for letter, text in asked.choices.items()], value=None,
        description=f"{asked.variable}:", layout=widgets.Layout(width="auto"),
        style={"description_width": "initial"})
    note = widgets.Output()

    def picked(change):
        if change["new"] is None:
            return
        shell.user_ns[asked.variable] = change["new"]
        note.clear_output()
        with note:
            print(f'{asked.variable} = "{change["new"]}" is set in this kernel: run the check cell below. Write the '
                  "same line in the answer cell above too, so that it is graded.")

    picker.observe(picked, names="value")
    return widgets.VBox([picker, note])

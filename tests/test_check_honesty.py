"""Every exercise check is honest (the case tables live in tests/test_checks_NN_MM.py):

* the reference answer passes with one short line;
* the unfilled stub fails with "not written yet";
* at least two typical wrong answers fail, each with the one hint that names its mistake and no
  other (three rounds: the inputs are fresh and random, so a hint must not depend on luck), and a
  wrong value is always shown next to what was expected for the input shown;
* every typical mistake a check knows has a wrong answer in the tables that gets its hint;
* an answer replayed from an earlier run (every value a passing run returned, as constants) fails.
"""

import re

import numpy as np
import pytest

from course_utils.checks import CheckFailed, engine, training
from course_utils.checks.hints import LOG
from tests.test_checks_01_02 import CASES as CASES_01_02
from tests.test_checks_03_04 import CASES as CASES_03_04
from tests.test_checks_05_06 import CASES as CASES_05_06
from tests.test_checks_05_06 import (
    TRAIN_STEP_MUTANTS,
    WARMUP_MUTANTS,
    WarmupReference,
    check_train_step,
    check_warmup_schedule,
    train_step_reference,
)

CASES = {**CASES_01_02, **CASES_03_04, **CASES_05_06}
NAMES = list(CASES)


@pytest.fixture(autouse=True)
def fresh_hint_log():
    LOG.reset()
    yield
    LOG.reset()


def hint_lines(message: str) -> list[str]:
    return re.findall(r"^hint      (.*)$", message, re.MULTILINE)


def failure(check, answer) -> str:
    with pytest.raises(CheckFailed) as info:
        check(answer)
    return str(info.value)


def test_the_case_tables_do_not_overlap():
    assert len(CASES) == len(CASES_01_02) + len(CASES_03_04) + len(CASES_05_06)


def stub(*args, **kwargs):
    raise NotImplementedError("write your answer here")


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes(name, capsys):
    check, reference, _ = CASES[name]
    check(reference)
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("name", NAMES)
def test_unfilled_stub_fails(name):
    check, _, _ = CASES[name]
    with pytest.raises(CheckFailed, match="not written yet"):
        check(stub)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("repeat", range(3))
def test_typical_wrong_answers_fail_with_their_one_hint(name, repeat):
    check, _, mutants = CASES[name]
    assert len(mutants) >= 2
    for mutant, words in mutants:
        message = failure(check, mutant)
        assert words.lower() in message.lower(), f"{words!r} not in: {message}"
        hints = hint_lines(message)
        assert len(hints) <= 1, f"more than one hint: {message}"
        if message.splitlines()[0].endswith("is not right yet."):  # a wrong value: its hint names the mistake
            assert hints and words.lower() in hints[0].lower(), f"{words!r} not the hint in: {message}"
            assert "\nexpected  " in message, f"no expected value for the input shown: {message}"
        assert message.splitlines()[-1].startswith("stuck?") and 'hint("' in message.splitlines()[-1]


ALL_TABLES = {
    **CASES,
    "WarmupSchedule": (check_warmup_schedule, WarmupReference, WARMUP_MUTANTS),
    "train_step": (check_train_step, train_step_reference, TRAIN_STEP_MUTANTS),
}


def test_every_typical_mistake_has_a_wrong_answer_that_gets_its_hint(monkeypatch):
    """The catalogue and the tables agree: each hint a check can give for a wrong value is given to a mutant."""
    offered, current = {}, [None]
    for module in (engine, training):  # definitions call engine.compare; older checks their own name
        original = module.compare

        def recording(name, got, expected, inputs, mistakes=(), *, _original=original, **kwargs):
            offered.setdefault(current[0], set()).update(hint for hint, _ in mistakes)
            return _original(name, got, expected, inputs, mistakes, **kwargs)

        monkeypatch.setattr(module, "compare", recording)
    shown = {}
    for name, (check, reference, mutants) in ALL_TABLES.items():
        current[0] = name
        check(reference)
        for mutant, _ in mutants:
            shown.setdefault(name, set()).update(hint_lines(failure(check, mutant)))
    missing = {name: sorted(hints - shown.get(name, set())) for name, hints in offered.items()}
    assert not any(missing.values()), "hints no wrong answer gets:\n" + "\n".join(
        f"{name}: {hint}" for name, hints in missing.items() for hint in hints)


@pytest.mark.parametrize("name", NAMES)
def test_an_answer_replayed_from_an_earlier_run_fails(name):
    check, reference, _ = CASES[name]
    recorded = []

    def recorder(*args, **kwargs):
        recorded.append(reference(*args, **kwargs))
        return recorded[-1]

    check(recorder)
    replay = iter(list(recorded))
    with pytest.raises(CheckFailed):
        check(lambda *args, **kwargs: next(replay))


# ---- graduated hints: hint("name"), the count of hints used, the "next hint" button ----------------------------

def test_hint_shows_the_next_hint_and_counts_it(capsys):
    from course_utils.checks import check_mse, hint
    from course_utils.checks.hints import HINTS

    def mse(y_true, y_pred):
        return np.mean((np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)) ** 2, axis=-1)

    hint("mse")
    hint(mse)  # a function object works too (its __name__ is "mse")
    out = capsys.readouterr().out
    assert f"Hint 1 of 3 for mse: {HINTS['mse'][0]}" in out and f"Hint 2 of 3 for mse: {HINTS['mse'][1]}" in out
    assert LOG.used("mse") == 2 and LOG.used("mae") == 0
    check_mse(mse)
    assert capsys.readouterr().out.strip().endswith("(2 of 3 hints used).")
    message = failure(check_mse, lambda t, p: np.mean(np.abs(t - p), -1))
    assert message.splitlines()[-1] == 'stuck?    run hint("mse") for hint 3 of 3'
    hint("mse")
    assert "That was the last hint" in capsys.readouterr().out
    hint("mse")  # past the last: the last again, and the earlier ones
    out = capsys.readouterr().out
    assert f"Hint 3 of 3 for mse: {HINTS['mse'][2]}" in out and HINTS["mse"][0] in out
    assert failure(check_mse, lambda t, p: None).splitlines()[-1].startswith("stuck?    you have seen all 3 hints")


def test_hint_for_an_unknown_name_suggests_the_right_one(capsys):
    from course_utils.checks import hint

    hint("mean_squared_error")
    hint("adam")
    hint()
    out = capsys.readouterr().out
    assert "no hints for 'mean_squared_error'" in out and 'hint("adam_update")' in out and 'hint("mse")' in out
    assert not LOG._used


def test_a_failing_check_shows_a_next_hint_button_in_a_kernel(monkeypatch, capsys):
    """In a kernel the button is displayed after the message (post_run_cell) and does what hint() does."""
    import IPython.display
    from IPython.core.events import EventManager, available_events

    from course_utils.checks import check_mae, hints

    class Shell:
        kernel = object()

    shell = Shell()
    shell.events = EventManager(shell, available_events)
    shown = []
    monkeypatch.setattr(hints, "_in_a_kernel", lambda: shell)
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    failure(check_mae, lambda t, p: np.mean((t - p) ** 2, -1))
    assert shown == []  # not before the message ...
    shell.events.trigger("post_run_cell", None)
    assert len(shown) == 1  # ... but after it, once
    shell.events.trigger("post_run_cell", None)
    assert len(shown) == 1
    button = shown[0]
    bundle = button._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and 'hint("mae")' in bundle["text/plain"]
    for number in (1, 2, 3):
        assert not button.button.disabled
        button.button.click()
        assert LOG.used("mae") == number and f"Hint {number} of 3 for mae" in capsys.readouterr().out
    assert button.button.disabled
    assert not hints.offer_button("mae")  # no hints left: no button


def test_no_button_outside_a_kernel():
    from course_utils.checks import hints

    assert hints._in_a_kernel() is None and not hints.offer_button("mse")


# ---- concept questions: right passes, unanswered and wrong fail, and the check says why -----------------------

from course_utils.checks.questions import QUESTIONS, check_question  # noqa: E402
from tests.test_questions import model_answer  # noqa: E402

QUESTION_IDS = [(lesson, name) for lesson, asked in QUESTIONS.items() for name in asked]
#: The predictions learners typically get wrong, per number question (every other letter is wrong for a choice).
WRONG_PREDICTIONS = {
    ("01", "q1"): [2, 8], ("01", "q3"): [100_000_000, 5_000],
    ("02", "q1"): [0.1, 1.0, 10], ("02", "q3"): [7, 1e-7],
    ("03", "q1"): [2, 0.5], ("03", "q2"): [0.9, 0.64],
    ("04", "q2"): [9, 1.9], ("04", "q3"): [0.03, 0.1],
    ("05", "q1"): [0.01], ("05", "q2"): [0.1, 0.001], ("05", "q3"): [0.01, 0.009],
    ("06", "q1"): [44, 44.9, 46], ("06", "q2"): [32, 28, 0],
}


@pytest.mark.parametrize("lesson,name", QUESTION_IDS)
def test_question_right_answer_passes_and_says_why(lesson, name, capsys):
    check_question(lesson, name, model_answer(lesson, name))
    out = capsys.readouterr().out
    assert out.startswith(f"✓ answer_{name} = ") and " is right " in out and "\nwhy       " in out


@pytest.mark.parametrize("lesson,name", QUESTION_IDS)
def test_question_unanswered_fails_without_giving_it_away(lesson, name):
    message = failure(lambda given: check_question(lesson, name, given), None)
    assert f"answer_{name} is not answered yet" in message and "why" not in message


@pytest.mark.parametrize("lesson,name", QUESTION_IDS)
def test_question_wrong_answers_fail_and_say_why(lesson, name):
    asked = QUESTIONS[lesson][name]
    if asked.choices is None:
        wrong = WRONG_PREDICTIONS[(lesson, name)]
        malformed = [str(asked.key()), True, [asked.key()], float("nan")]
    else:
        wrong = [letter for letter in asked.choices if letter != asked.key()]
        malformed = [1, "z", ["a"], asked.choices[asked.key()]]
    assert wrong
    for given in wrong:
        message = failure(lambda g: check_question(lesson, name, g), given)
        assert message.startswith(f"answer_{name} = ") and "is not right yet." in message, message
        assert f"\nwhy       {asked.why}" in message
    for given in malformed:
        message = failure(lambda g: check_question(lesson, name, g), given)
        assert f"answer_{name} should be" in message and "why" not in message, message


def test_every_number_question_has_typical_wrong_predictions():
    numbers = {(lesson, name) for lesson, name in QUESTION_IDS if QUESTIONS[lesson][name].choices is None}
    assert numbers == set(WRONG_PREDICTIONS)


# ---- delegation: the self-check fails with the grader's message (course_utils.checks.uses) -----------------------

def mse_keras_object(y_true, y_pred):
    import keras

    return np.asarray(keras.losses.MeanSquaredError(reduction=None)(y_true, y_pred))


def mse_keras_ops(y_true, y_pred):
    import keras

    return np.asarray(keras.ops.mean(keras.ops.square(keras.ops.subtract(y_true, y_pred)), axis=-1))


def mse_course_utils(y_true, y_pred):
    from course_utils.losses import mse

    return mse(y_true, y_pred)


def mse_from_the_definition(y_true, y_pred):
    """The exercise's own reference is visible to the kernel (the self-check runs it): calling it is delegating."""
    from course_utils.checks.losses import MSE

    return MSE.reference(y_true, y_pred)


def categorical_tf_nn(y_true, y_pred):
    import tensorflow as tf

    logits = np.log(np.clip(y_pred, 1e-7, 1 - 1e-7))
    return tf.nn.softmax_cross_entropy_with_logits(y_true, logits).numpy()


def decay_keras(step, initial_learning_rate, decay_steps, decay_rate, staircase=False):
    import keras

    schedule = keras.optimizers.schedules.ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase)
    return np.array([float(schedule(int(s))) for s in np.atleast_1d(step)]).reshape(np.shape(step))


DELEGATING = [  # (exercise, check, answer, what the message names)
    ("mse", CASES["mse"][0], mse_keras_object, "keras"),
    ("mse", CASES["mse"][0], mse_keras_ops, "keras"),
    ("mse", CASES["mse"][0], mse_course_utils, "course_utils.losses"),
    ("mse", CASES["mse"][0], mse_from_the_definition, "course_utils.checks.losses"),
    ("categorical_crossentropy", CASES["categorical_crossentropy"][0], categorical_tf_nn, "tensorflow"),
    ("exponential_decay", CASES["exponential_decay"][0], decay_keras, "keras"),
]


@pytest.mark.parametrize("exercise,check,answer,what", DELEGATING, ids=lambda v: getattr(v, "__name__", str(v)))
def test_delegating_answer_fails_with_the_graders_message(exercise, check, answer, what):
    from course_utils.checks.uses import delegation_message
    from course_utils.grade.rubric import DELEGATES, Case, judge, rubric_for

    message = failure(check, answer)
    first = message.splitlines()[0]
    called = re.match(rf"{exercise} calls (\S+), an existing implementation", first).group(1)
    assert called.startswith(what), first
    assert first == delegation_message(exercise, called)
    assert first.endswith("write it yourself with numpy, so it scores 0.")
    graded = rubric_for("01" if exercise == "mse" else "02" if exercise.endswith("entropy") else "05")
    assert judge(graded[f"{exercise}-check"], Case(()), None, {"error": DELEGATES + called}) == first


def test_exercises_that_ask_for_tensorflow_may_use_it(capsys):
    """train_step and logits_objective must use TensorFlow: their TensorFlow model answers pass."""
    check_train_step(train_step_reference)
    CASES["logits_objective"][0](CASES["logits_objective"][1])
    assert capsys.readouterr().out.count("✓") == 2

"""Concept questions (course_utils.checks.questions): one definition, used by the notebooks, the check and the grader.

* every exercise notebook has at least three questions, and each question in course_utils has its cells: the
  markdown, a choices cell for a choice, the answer cell (stub ``answer_qN = None``) and a graded check cell;
* the model answers in solutions/ (worked out the way a learner would) agree with the keys computed from
  course_utils; unanswered, wrong and malformed answers fail (the honesty tests in test_check_honesty.py);
* the picker sets the same variable and is keyboard-usable radio buttons;
* the grader reads the answer as data through its probe and judges it with the same verdict.
"""

import base64
import json
import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_utils.checks import CheckFailed, check_question, choose
from course_utils.checks.questions import QUESTIONS, Opaque, question
from course_utils.grade import probe
from course_utils.grade.rubric import judge, rubric_for

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {p.name[:2]: p for p in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))}
ALL = [(lesson, name) for lesson, asked in QUESTIONS.items() for name in asked]


def cells(lesson: str) -> dict:
    return {c.id: c for c in nbformat.read(NOTEBOOKS[lesson], as_version=4).cells}


def model_answer(lesson: str, name: str):
    """The solution notebook's answer to a question, run the way the notebook runs it (numpy and EPSILON in scope)."""
    scope = {"np": np, "EPSILON": 1e-7}
    exec(cells(lesson)[name].source, scope)
    return scope[f"answer_{name}"]


def test_every_exercise_notebook_has_at_least_three_questions():
    assert sorted(QUESTIONS) == sorted(NOTEBOOKS) and len(NOTEBOOKS) == 6
    for lesson in NOTEBOOKS:
        in_notebook = sorted(i for i in cells(lesson) if re.fullmatch(r"q\d+", i))
        assert in_notebook == sorted(QUESTIONS[lesson]) and len(in_notebook) >= 3, lesson


@pytest.mark.parametrize("lesson,name", ALL)
def test_each_question_has_its_cells(lesson, name):
    asked, by_id = question(lesson, name), cells(lesson)
    ids = list(by_id)
    text, answer, check = by_id[f"{name}-text"], by_id[name], by_id[f"{name}-check"]
    assert text.cell_type == "markdown" and text.source.startswith(f"### Question {name[1:]} · ")
    assert answer.metadata["nbgrader"]["solution"] and not answer.metadata["nbgrader"]["locked"]
    assert check.metadata["nbgrader"]["grade"] and check.metadata["nbgrader"]["points"] == asked.points
    assert ids.index(name) + 1 == ids.index(f"{name}-check")
    assert answer.source.startswith(f"answer_{name} = None  # ")
    if asked.choices is None:
        assert f"{name}-choices" not in by_id
        assert "number" in answer.source.splitlines()[0]
    else:  # the choices are shown by the picker, from the one definition (never typed into the markdown)
        picker = by_id[f"{name}-choices"]
        assert picker.source.startswith(f'choose("{lesson}", "{name}")')
        assert ids.index(f"{name}-choices") + 1 == ids.index(name)
        assert not any(words in text.source for words in asked.choices.values())


@pytest.mark.parametrize("lesson,name", ALL)
def test_the_model_answer_agrees_with_the_computed_key(lesson, name):
    asked = question(lesson, name)
    right, message = asked.verdict(model_answer(lesson, name))
    assert right, message
    key = asked.key()
    if asked.choices is None:
        assert isinstance(key, float) and math.isfinite(key)
    else:
        assert key in asked.choices


def test_numbers_are_checked_with_a_tolerance():
    uniform = question("02", "q1")
    assert uniform.verdict(2.30)[0] and uniform.verdict(2.31)[0] and not uniform.verdict(2.4)[0]
    steps = question("06", "q1")  # an exact count
    assert steps.verdict(45)[0] and steps.verdict(45.0)[0] and not steps.verdict(44.9)[0]
    choice = question("04", "q1")
    assert choice.verdict(" D ")[0] and not choice.verdict("dd")[0]


def test_the_check_says_why_right_or_wrong(capsys):
    check_question("02", "q1", np.log(10))
    out = capsys.readouterr().out
    assert out.startswith("✓ answer_q1 = 2.30259 is right") and "\nwhy       A uniform guess" in out
    with pytest.raises(CheckFailed) as info:
        check_question("02", "q1", 0.1)
    assert "answer_q1 = 0.1 is not right yet." in str(info.value) and "\nwhy       A uniform guess" in str(info.value)


def test_unknown_question_is_a_clear_error():
    with pytest.raises(KeyError, match="no question 'q9' in lesson '01'; the questions are: 01 q1"):
        question("01", "q9")


# ---- the picker -----------------------------------------------------------------------------------------------


def test_picker_outside_a_kernel_prints_the_choices(capsys):
    assert choose("04", "q1") is None
    out = capsys.readouterr().out
    assert "  d) Adam" in out and 'answer_q1 = ... (one of "a", "b", "c", "d")' in out


def test_picker_sets_the_answer_variable_in_the_kernel(monkeypatch, capsys):
    import ipywidgets

    from course_utils.checks import hints

    class Shell:
        kernel = object()
        user_ns = {}

    monkeypatch.setattr(hints, "_in_a_kernel", lambda: Shell)
    box = choose("01", "q2")
    radio = box.children[0]
    assert isinstance(radio, ipywidgets.RadioButtons)  # native radio inputs: Tab, then the arrow keys
    assert radio.value is None and [value for _, value in radio.options] == ["a", "b", "c"]
    assert radio.options[1][0] == "b) MSE"
    radio.value = "c"
    assert Shell.user_ns["answer_q2"] == "c"
    radio.value = "b"
    assert Shell.user_ns["answer_q2"] == "b"
    capsys.readouterr()
    check_question("01", "q2", Shell.user_ns["answer_q2"])
    assert capsys.readouterr().out.startswith("✓")


# ---- the grader: the answer read as data, judged with the same verdict -----------------------------------------


def probe_answer(monkeypatch, lesson, name, namespace):
    """Run the grader's kernel code for a question against ``namespace`` (a fake kernel), then decode and judge."""
    import IPython

    class Shell:
        user_ns = namespace

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell)
    exercise = rubric_for(lesson)[f"{name}-check"]
    cases = exercise.cases(np.random.default_rng())
    scope = {}
    exec(probe.kernel_source(exercise, cases), scope)
    results = probe.decode(scope["RESULT"], exercise, len(cases))
    return judge(exercise, cases[0], exercise.expected(cases[0]), results[0])


@pytest.mark.parametrize("lesson,name", ALL)
def test_grader_judges_questions_like_the_check(monkeypatch, lesson, name):
    asked = question(lesson, name)
    variable = asked.variable
    assert probe_answer(monkeypatch, lesson, name, {variable: model_answer(lesson, name)}) is None
    assert "not answered yet" in probe_answer(monkeypatch, lesson, name, {variable: None})
    assert "no variable named" in probe_answer(monkeypatch, lesson, name, {})
    wrong = (asked.key() * 3 + 1) if asked.choices is None else next(c for c in asked.choices if c != asked.key())
    if asked.choices is None:
        wrong = np.float64(wrong)  # numpy numbers count as numbers
    verdict = probe_answer(monkeypatch, lesson, name, {variable: wrong})
    assert "is not right yet" in verdict and " Why: " in verdict and verdict == asked.verdict(wrong)[1].replace(
        "\nwhy       ", " Why: ")
    assert "should be" in probe_answer(monkeypatch, lesson, name, {variable: [1, 2]})


def test_grader_never_calls_the_learners_object(monkeypatch):
    called = []

    class Sneaky(float):
        def __float__(self):
            called.append(1)
            return 2.302585

        def __eq__(self, other):
            called.append(1)
            return True

    verdict = probe_answer(monkeypatch, "02", "q1", {"answer_q1": Sneaky(0.0)})
    assert "should be a number, but it is a Sneaky" in verdict and not called


def test_decode_of_question_answers_is_strict():
    exercise = rubric_for("02")["q1-check"]

    def encoded(value):
        return base64.b64encode(json.dumps(value).encode()).decode()

    assert probe.decode(encoded([{"answer": {"kind": "number", "value": 2.3}}]), exercise, 1) == [{"answer": 2.3}]
    assert probe.decode(encoded([{"answer": {"kind": "other", "type": "list"}}]), exercise, 1) == [
        {"answer": Opaque("list")}]
    for bad in [{"answer": {"kind": "number", "value": "2.3"}}, {"answer": {"kind": "text", "text": "x" * 101}},
                {"answer": {"kind": "code"}}, {"answer": 2.3}, {"value": {"shape": [], "data": [2.3]}}]:
        with pytest.raises(probe.BadProbeResult):
            probe.decode(encoded([bad]), exercise, 1)


def test_every_question_is_in_its_rubric_with_its_points():
    for lesson, asked in QUESTIONS.items():
        rubric = rubric_for(lesson)
        for name, q in asked.items():
            assert rubric[f"{name}-check"].question is q and rubric[f"{name}-check"].function == f"answer_{name}"
            assert rubric[f"{name}-check"].forbidden == ()
    assert sum(len(asked) for asked in QUESTIONS.values()) >= 18

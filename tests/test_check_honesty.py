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

from course_utils.checks import CheckFailed, descent, losses, training
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
    for module in (losses, descent, training):
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

    hint("mse")
    hint(losses_reference := CASES["mse"][1])  # a function object works too (its __name__ is "mse")
    out = capsys.readouterr().out
    assert losses_reference.__name__ == "mse"
    assert f"Hint 1 of 3 for mse: {HINTS['mse'][0]}" in out and f"Hint 2 of 3 for mse: {HINTS['mse'][1]}" in out
    assert LOG.used("mse") == 2 and LOG.used("mae") == 0
    check_mse(losses_reference)
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

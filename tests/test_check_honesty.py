"""Every exercise check is honest (the case tables live in tests/test_checks_NN_MM.py):

* the reference answer passes with one short line;
* the unfilled stub fails with "not written yet";
* at least two typical wrong answers fail, each with the hint that names its mistake (three
  rounds: the inputs are fresh and random, so a hint must not depend on luck);
* an answer replayed from an earlier run (every value a passing run returned, as constants) fails.
"""

import pytest

from course_utils.checks import CheckFailed
from tests.test_checks_01_02 import CASES as CASES_01_02
from tests.test_checks_03_04 import CASES as CASES_03_04
from tests.test_checks_05_06 import CASES as CASES_05_06

CASES = {**CASES_01_02, **CASES_03_04, **CASES_05_06}
NAMES = list(CASES)


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
def test_typical_wrong_answers_fail_with_a_hint(name, repeat):
    check, _, mutants = CASES[name]
    assert len(mutants) >= 2
    for mutant, words in mutants:
        with pytest.raises(CheckFailed) as info:
            check(mutant)
        assert words.lower() in str(info.value).lower(), f"{words!r} not in: {info.value}"


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

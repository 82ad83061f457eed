"""The instructor grader: ``python -m course_utils.grade SUBMISSIONS_DIR --assignment NN --out OUT_DIR``.

Modules: :mod:`~course_utils.grade.rebuild` (submission -> release with the learner's solution
cells), :mod:`~course_utils.grade.kernel` (a sandboxed kernel), :mod:`~course_utils.grade.probe`
(call the learner's function, bring back plain numbers), :mod:`~course_utils.grade.rubric` (inputs
and references per exercise), :mod:`~course_utils.grade.runner` (one submission) and
:mod:`~course_utils.grade.batch` (a folder, in parallel, with skipping and atomic writes).
"""

from course_utils.grade.batch import grade_batch
from course_utils.grade.rubric import NoRubric, rubric_for
from course_utils.grade.runner import Limits, grade_notebook

__all__ = ["Limits", "NoRubric", "grade_batch", "grade_notebook", "rubric_for"]

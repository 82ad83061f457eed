"""Exercise checks: each ``check_*`` runs the learner's code on fresh inputs and explains any mistake.

A check prints one line when it passes and raises :class:`CheckFailed` (an ``AssertionError``)
with the input, the expected and the received value, and a hint, when it does not.
"""

from course_utils.checks.engine import CheckFailed
from course_utils.checks.losses import (
    check_binary_crossentropy,
    check_categorical_crossentropy,
    check_hinge,
    check_huber,
    check_logits_objective,
    check_mae,
    check_mse,
    check_under_penalty_mse,
)

__all__ = [
    "CheckFailed",
    "check_binary_crossentropy",
    "check_categorical_crossentropy",
    "check_hinge",
    "check_huber",
    "check_logits_objective",
    "check_mae",
    "check_mse",
    "check_under_penalty_mse",
]

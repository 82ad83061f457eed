"""Exercise checks: each ``check_*`` runs the learner's code on fresh inputs and explains any mistake.

A check prints one line when it passes (with how many hints were used) and raises :class:`CheckFailed`
(an ``AssertionError``) with the input, the expected and the received value, the one hint about the
typical mistake it recognised, and how to ask for the next graduated hint, when it does not.
``hint("mse")`` shows an exercise's next hint (:mod:`course_utils.checks.hints`). Concept questions are
judged by ``check_question("01", "q1", answer_q1)``, with ``choose("01", "q2")`` as a picker for a choice
(:mod:`course_utils.checks.questions`). A numpy exercise whose answer hands the work to Keras, TensorFlow or
course_utils fails with the same message the grader gives (:mod:`course_utils.checks.uses`).
"""

from course_utils.checks.descent import (
    check_adam_update,
    check_best_learning_rate,
    check_final_loss,
    check_fit_linear,
    check_gradient_descent,
    check_mse_gradient,
    check_numerical_gradient,
    check_rmsprop_update,
    check_sgd_momentum_update,
)
from course_utils.checks.engine import CheckFailed
from course_utils.checks.hints import hint
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
from course_utils.checks.questions import check_question, choose
from course_utils.checks.training import (
    check_build_digits_model,
    check_exponential_decay,
    check_make_batches,
    check_one_hot,
    check_piecewise_constant,
    check_train_digits,
    check_train_step,
    check_warmup_cosine,
    check_warmup_schedule,
)

__all__ = [
    "CheckFailed",
    "check_adam_update",
    "check_best_learning_rate",
    "check_binary_crossentropy",
    "check_build_digits_model",
    "check_categorical_crossentropy",
    "check_exponential_decay",
    "check_final_loss",
    "check_fit_linear",
    "check_gradient_descent",
    "check_hinge",
    "check_huber",
    "check_logits_objective",
    "check_mae",
    "check_make_batches",
    "check_mse",
    "check_mse_gradient",
    "check_numerical_gradient",
    "check_one_hot",
    "check_question",
    "check_piecewise_constant",
    "check_rmsprop_update",
    "check_sgd_momentum_update",
    "check_train_digits",
    "check_train_step",
    "check_under_penalty_mse",
    "check_warmup_cosine",
    "check_warmup_schedule",
    "choose",
    "hint",
]

"""What each exercise may call: one definition, used by the self-check and by the instructor grader.

An exercise that asks the learner to write something in numpy may not hand the work to an existing
implementation of it: Keras, TensorFlow, or ``course_utils``' own reference answers. Exercises that ask for
TensorFlow or Keras may use them, but never ``course_utils``' answers; a few may use the course tools they
are handed (the optimizers and surfaces of lesson 04, the data split of lesson 06). :data:`USES` says so per
exercise (keyed by the function or class the exercise asks for). The self-check
(:func:`course_utils.checks.engine.call`) and the grader's probe (:mod:`course_utils.grade.probe`, in the
grader's own code sent to the kernel) both watch the learner's call with a profiler and name the first
function it enters that the exercise may not use; both then say :func:`delegation_message`.

    >>> USES["mse"].words, USES["train_step"].forbidden
    ('numpy', ('course_utils',))
    >>> first, second = delegation_message("mse", "keras.src.ops.numpy.mean").split(": ")
    >>> first
    'mse calls keras.src.ops.numpy.mean, an existing implementation'
    >>> second
    'this exercise asks you to write it yourself with numpy, so it scores 0.'
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

#: Packages an exercise that asks for numpy may not call: Keras, TensorFlow, and course_utils' references.
NUMPY_ONLY = ("keras", "tensorflow", "tf_keras", "course_utils")
#: Exercises that ask for TensorFlow or Keras may use them, but never course_utils' own answers.
NO_COURSE_ANSWERS = ("course_utils",)
#: Lesson 04's exercises are handed the course's optimizers and surfaces and may run them.
COURSE_TOOLS = ("course_utils.optimizers", "course_utils.surfaces", "course_utils._validation")


@dataclass(frozen=True)
class Uses:
    """``forbidden``: top-level packages the answer may not enter; ``allowed``: modules exempt from that."""

    forbidden: tuple[str, ...] = NUMPY_ONLY
    allowed: tuple[str, ...] = ()
    words: str = "numpy"  # "write it yourself with <words>"


NUMPY = Uses()
COURSE_TOOLS_TOO = Uses(NUMPY_ONLY, COURSE_TOOLS, "numpy and the course's optimizers and surfaces")
TENSORFLOW = Uses(NO_COURSE_ANSWERS, (), "TensorFlow")
KERAS = Uses(NO_COURSE_ANSWERS, (), "Keras")

USES: dict[str, Uses] = {
    # 01
    "mse": NUMPY, "mae": NUMPY, "huber": NUMPY, "under_penalty_mse": NUMPY,
    # 02
    "binary_crossentropy": NUMPY, "categorical_crossentropy": NUMPY, "hinge": NUMPY, "logits_objective": TENSORFLOW,
    # 03
    "numerical_gradient": NUMPY, "mse_gradient": NUMPY, "gradient_descent": NUMPY, "fit_linear": NUMPY,
    # 04
    "sgd_momentum_update": NUMPY, "rmsprop_update": NUMPY, "adam_update": NUMPY,
    "final_loss": COURSE_TOOLS_TOO, "best_learning_rate": COURSE_TOOLS_TOO,
    # 05
    "exponential_decay": NUMPY, "piecewise_constant": NUMPY, "WarmupSchedule": KERAS, "warmup_cosine": NUMPY,
    # 06
    "make_batches": NUMPY, "one_hot": NUMPY, "train_step": Uses(NO_COURSE_ANSWERS, (), "TensorFlow (a GradientTape)"),
    "build_digits_model": KERAS,
    "train_digits": Uses(NO_COURSE_ANSWERS,
                         ("course_utils.data", "course_utils.keras_tools", "course_utils._validation"), "Keras"),
}


def delegation_message(function: str, what: str) -> str:
    """What the self-check and the grader say when ``function`` called ``what``, which its exercise may not use."""
    return (f"{function} calls {what}, an existing implementation: this exercise asks you to write it yourself "
            f"with {USES[function].words}, so it scores 0.")


def banned(uses: Uses, module) -> bool:
    """True when code of ``module`` (a module name) is off limits under ``uses``."""
    if not isinstance(module, str) or module.split(".")[0] not in uses.forbidden:
        return False
    return not any(module == a or module.startswith(a + ".") for a in uses.allowed)


def _trusted(module) -> bool:
    """The check's own code (its glue and the inputs it hands over) is not the learner delegating."""
    return isinstance(module, str) and (module == "course_utils.checks" or module.startswith("course_utils.checks."))


def _grader(module) -> bool:
    """The grader's own package: the sandbox hides it from graded kernels, so its import already fails there."""
    return isinstance(module, str) and (module == "course_utils.grade" or module.startswith("course_utils.grade."))


class Delegation(Exception):
    """The learner's code called something its exercise may not use (``args[0]``: what)."""


def _codes(values) -> set:
    """The code objects of the functions (and callable objects) among ``values``."""
    codes = set()
    for value in values:
        for candidate in (value, vars(type(value)).get("__call__")):  # a function, or an object's own __call__
            code = getattr(candidate, "__code__", None)
            if code is not None:
                codes.add(code)
    return codes


def watched(call, uses: Uses, handed=()):
    """``call()``, failing with :class:`Delegation` when the learner's code itself calls what ``uses`` forbids.

    A profiler sees every Python and C function entered. A call counts when the code that makes it is the
    learner's (not inside a forbidden package already, and not the check's own helpers): calling
    ``keras.ops.mean`` counts; Keras calling its own internals does not. The functions the check ``handed``
    the learner (a test function ``f``, a ``grad_fn``) may be called, and whatever they call is theirs.
    """
    if not uses.forbidden:
        return call()
    seen: list[str] = []
    inputs = _codes(handed)

    def caller_is_learner(frame) -> bool:
        module = frame.f_globals.get("__name__") if frame is not None else None
        return not (banned(uses, module) or _trusted(module) or
                    (isinstance(module, str) and module.split(".")[0] in uses.forbidden))

    prefixes = tuple(uses.forbidden)  # the fast test first: the hook runs on every call of everything

    def hook(frame, event, arg):
        if seen:
            return
        if event == "call":
            module = frame.f_globals.get("__name__")
            if not isinstance(module, str) or not module.startswith(prefixes):
                return
            if banned(uses, module) and not _grader(module) and frame.f_code not in inputs and \
                    caller_is_learner(frame.f_back):
                seen.append(f"{module}.{frame.f_code.co_name}")
        elif event == "c_call":
            module = getattr(arg, "__module__", None)
            if not isinstance(module, str) or not module.startswith(prefixes):
                return
            if banned(uses, module) and caller_is_learner(frame):
                seen.append(f"{module}.{getattr(arg, '__name__', '?')}")

    previous, previous_threads = sys.getprofile(), threading.getprofile()
    sys.setprofile(hook)
    threading.setprofile(hook)
    try:
        result = call()
    except BaseException:
        if seen:  # it crashed inside what it may not use: that is the news, not the crash
            raise Delegation(seen[0]) from None
        raise
    finally:
        sys.setprofile(previous)
        threading.setprofile(previous_threads)
    if seen:
        raise Delegation(seen[0])
    return result

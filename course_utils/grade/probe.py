"""Ask the kernel to call the learner's function on the grader's inputs and bring back plain numbers.

The grader sends :data:`KERNEL_SOURCE` with a JSON payload (the function's name, the exercise's
adapter source if any, and every case's arguments); the kernel calls the function as it is *now* in
the learner's namespace and answers with JSON: per case either ``{"error": "..."}``, ``{"value": leaf}``
or ``{"items": [leaf, ...]}`` where a leaf is ``{"shape": [...], "data": [floats]}``. :func:`decode`
checks that shape strictly in the grader, so a result is only ever numbers the grader compares itself;
nothing printed in the kernel counts. For a concept question the kernel only reads the variable
``answer_qN`` and answers ``{"answer": {"kind": "none" | "text" | "number" | "other", ...}}`` (plain data,
nothing of the learner's object is called); the grader judges it with the question's own verdict.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np

from course_utils.checks.questions import Opaque
from course_utils.grade.rubric import CHANGED, DELEGATES, Case, Code, Exercise, Tensor

MAX_VALUES = 1_000_000  # per returned array

KERNEL_SOURCE = r'''
import base64, json
import numpy
from IPython import get_ipython

SPEC = json.loads(base64.b64decode(PAYLOAD))

def build(arg):
    kind = arg["kind"]
    if kind == "array":
        return numpy.array(arg["data"], dtype=arg["dtype"]).reshape(arg["shape"])
    if kind == "tensor":
        import tensorflow
        value = numpy.array(arg["data"], dtype=arg["dtype"]).reshape(arg["shape"])
        return tensorflow.constant(value, dtype=arg["dtype"])
    if kind == "code":
        from course_utils import optimizers, surfaces
        return eval(arg["source"], {"np": numpy, "optimizers": optimizers, "surfaces": surfaces})
    return arg["value"]

def leaf(value):
    array = numpy.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"returned {type(value).__name__}, not numbers")
    if array.size > MAX_VALUES:
        raise ValueError(f"returned {array.size} values")
    array = array.astype(numpy.float64)
    return {"shape": list(array.shape), "data": [float(x) for x in array.ravel()]}

def plain(value):
    count = SPEC["returns"]
    if not count:
        return {"value": leaf(value)}
    if not isinstance(value, (tuple, list)) or len(value) != count:
        raise TypeError(f"should return {count} values, returned {type(value).__name__}")
    return {"items": [leaf(v) for v in value]}

def _folder(name):
    import importlib.util, os
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return os.path.dirname(spec.origin) + os.sep if spec.submodule_search_locations else spec.origin

FORBIDDEN_FILES = [f for f in map(_folder, SPEC["forbidden"]) if f]
ALLOWED_FILES = [f for f in map(_folder, SPEC["allowed"]) if f]

def banned(module, filename):
    if isinstance(module, str) and module.split(".")[0] in SPEC["forbidden"]:
        return not any(module == a or module.startswith(a + ".") for a in SPEC["allowed"])
    if isinstance(filename, str) and any(filename.startswith(f) for f in FORBIDDEN_FILES):
        return not any(filename.startswith(f) for f in ALLOWED_FILES)
    return False

class Delegation(Exception):
    pass

def guarded(call):
    """call(), noting every Python function and C function it enters that the exercise may not use."""
    if not SPEC["forbidden"]:
        return call()
    import sys, threading
    seen = []

    def hook(frame, event, arg):
        if seen:
            return
        if event == "call":
            module = frame.f_globals.get("__name__") if isinstance(frame.f_globals, dict) else None
            if banned(module, frame.f_code.co_filename):
                seen.append(f"{module}.{frame.f_code.co_name}")
        elif event == "c_call":
            module = getattr(arg, "__module__", None)
            if banned(module, None):
                seen.append(f"{module}.{getattr(arg, '__name__', '?')}")

    sys.setprofile(hook)
    threading.setprofile(hook)
    try:
        result = call()
    finally:
        intact = sys.getprofile() is hook
        sys.setprofile(None)
        threading.setprofile(None)
    if seen:
        raise Delegation(seen[0])
    if not intact:
        raise Delegation("sys.setprofile (it switched off the grader's watch)")
    return result

def read_answer():
    """A concept question's answer_qN, as plain data: nothing of the learner's object is called."""
    namespace = get_ipython().user_ns
    if SPEC["function"] not in namespace:
        return {"error": f"NameError: no variable named {SPEC['function']}"}
    value = namespace[SPEC["function"]]
    if value is None:
        return {"answer": {"kind": "none"}}
    if type(value) is str:
        return {"answer": {"kind": "text", "text": value[:100]}}
    if type(value) in (int, float) or type(value) in (numpy.float64, numpy.float32, numpy.int64, numpy.int32):
        return {"answer": {"kind": "number", "value": float(value)}}
    return {"answer": {"kind": "other", "type": type(value).__name__[:60]}}

def run(case):
    if SPEC["variable"]:
        return read_answer()
    function = get_ipython().user_ns.get(SPEC["function"])
    if not callable(function):
        return {"error": f"NameError: no function named {SPEC['function']}"}
    try:
        if SPEC["adapter"]:
            scope = {"numpy": numpy}
            exec(SPEC["adapter"], scope)
            function = scope["adapt"](function)
        args = [build(a) for a in case["args"]]
        kwargs = {k: build(v) for k, v in case["kwargs"].items()}
        before = {p: args[p].copy() for p in SPEC["unchanged"] if isinstance(args[p], numpy.ndarray)}
        with numpy.errstate(all="ignore"):
            result = guarded(lambda: function(*args, **kwargs))
        for position, original in before.items():
            if not numpy.array_equal(original, args[position]):
                return {"error": CHANGED + str(position)}
        return plain(result)
    except Delegation as error:
        return {"error": DELEGATES + str(error)[:200]}
    except BaseException as error:
        return {"error": f"{type(error).__name__}: {error}"[:300]}

RESULT = base64.b64encode(json.dumps([run(case) for case in SPEC["cases"]]).encode()).decode()
'''


def _arg(value) -> dict:
    if isinstance(value, Code):
        return {"kind": "code", "source": value.source}
    if isinstance(value, Tensor):
        array = np.asarray(value.value)
        return {"kind": "tensor", "data": array.ravel().tolist(), "shape": list(array.shape), "dtype": value.dtype}
    if isinstance(value, np.ndarray):
        return {"kind": "array", "data": value.ravel().tolist(), "shape": list(value.shape), "dtype": str(value.dtype)}
    return {"kind": "value", "value": value}


def kernel_source(exercise: Exercise, cases: list[Case]) -> str:
    """The grader code that calls ``exercise.function`` on ``cases`` inside the kernel."""
    spec = {
        "function": exercise.function,
        "variable": exercise.question is not None,
        "forbidden": list(exercise.forbidden),
        "allowed": list(exercise.allowed),
        "returns": exercise.returns,
        "adapter": exercise.adapter,
        "unchanged": [position for position, _ in exercise.unchanged],
        "cases": [{"args": [_arg(a) for a in c.args], "kwargs": {k: _arg(v) for k, v in c.kwargs.items()}}
                  for c in cases],
    }
    payload = base64.b64encode(json.dumps(spec).encode()).decode()
    return (f"PAYLOAD = {payload!r}\nMAX_VALUES = {MAX_VALUES}\nDELEGATES = {DELEGATES!r}\nCHANGED = {CHANGED!r}\n"
            + KERNEL_SOURCE)


class BadProbeResult(ValueError):
    """The kernel's answer does not have the agreed shape (tampering or a broken kernel)."""


def _leaf(item) -> dict:
    if not isinstance(item, dict) or not isinstance(item.get("shape"), list) or not isinstance(item.get("data"), list):
        raise BadProbeResult("a result is not a {shape, data} record")
    if len(item["shape"]) > 32 or not all(type(n) is int and 0 <= n <= MAX_VALUES for n in item["shape"]):
        raise BadProbeResult("a result's shape is not a short list of sizes")
    shape = list(item["shape"])
    if len(item["data"]) > MAX_VALUES or not all(type(x) in (int, float) for x in item["data"]):
        raise BadProbeResult("a result's data is not a list of at most a million numbers")
    data = np.asarray(item["data"], dtype=np.float64)
    if data.ndim != 1 or data.size != math.prod(shape):
        raise BadProbeResult("a result's data does not fit its shape")
    return {"shape": shape, "data": data}


def _answer(item):
    """A concept question's answer from its {kind, ...} record: None, a short text, a float, or :class:`Opaque`."""
    if not isinstance(item, dict) or item.get("kind") not in ("none", "text", "number", "other"):
        raise BadProbeResult("an answer is not a {kind, ...} record")
    kind = item["kind"]
    if kind == "none":
        return None
    if kind == "text":
        if not isinstance(item.get("text"), str) or len(item["text"]) > 100:
            raise BadProbeResult("a text answer is not a short string")
        return item["text"]
    if kind == "number":
        if type(item.get("value")) not in (int, float):
            raise BadProbeResult("a number answer is not a number")
        return float(item["value"])
    if not isinstance(item.get("type"), str):
        raise BadProbeResult("an answer's type is not named")
    return Opaque(item["type"][:60])


def decode(text: str, exercise: Exercise, count: int) -> list[dict]:
    """Parse and validate the kernel's answer for ``count`` cases (anything else: :class:`BadProbeResult`)."""
    try:
        results = json.loads(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, RecursionError, MemoryError):
        raise BadProbeResult("the answer is not base64 JSON (or nested too deep)") from None
    if not isinstance(results, list) or len(results) != count:
        raise BadProbeResult("the answer does not hold one result per case")
    clean = []
    for result in results:
        if not isinstance(result, dict):
            raise BadProbeResult("a result is not a record")
        if "error" in result:
            clean.append({"error": str(result["error"])[:300] if isinstance(result["error"], str) else "an error"})
        elif exercise.question is not None:
            clean.append({"answer": _answer(result.get("answer"))})
        elif exercise.returns:
            items = result.get("items")
            if not isinstance(items, list) or len(items) != exercise.returns:
                raise BadProbeResult("a result has the wrong number of values")
            clean.append({"items": [_leaf(i) for i in items]})
        else:
            clean.append({"value": _leaf(result.get("value"))})
    return clean

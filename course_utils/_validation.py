"""Input checks shared by every public function.

Each check either returns a clean float32/int array or raises a ``ValueError`` /
``TypeError`` whose message names the argument, says what was received and what was
expected. Nothing here guesses or silently repairs bad input.
"""

from __future__ import annotations

import numbers

import numpy as np

FLOAT = np.float32
#: float32's range: every float hyper-parameter and every array converted to float32 must fit in it.
FLOAT_MAX = float(np.finfo(FLOAT).max)
FLOAT_TINY = float(np.finfo(FLOAT).tiny)


def describe(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _convert(x, name: str) -> np.ndarray:
    """``np.asarray(x)`` for real numbers only, with a clear error for everything numpy would misread."""
    if x is None or isinstance(x, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__} {describe(x)}")
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array; course_utils (like keras.losses) ignores masks, so masked values would "
            f"silently count. Expected a plain array: pass {name}.compressed() or {name}.filled(value)"
        )
    try:
        raw = np.asarray(x)
    except Exception as err:  # ragged nested lists, symbolic tensors and the like
        if type(x).__module__.startswith(("tensorflow", "keras")):
            raise TypeError(
                f"{name} is a symbolic tensor ({type(x).__name__}, inside tf.function or a Keras model): "
                f"{describe(x)}; course_utils holds numpy reference functions that need actual numbers. "
                "Use keras.losses / keras.ops inside the graph, or call this outside tf.function"
            ) from None
        raise TypeError(f"{name} must be a rectangular array of numbers; numpy could not convert it: {err}") from None
    if raw.dtype.kind == "O" and all(isinstance(v, numbers.Integral) for v in raw.flat):  # ints beyond int64
        try:
            raw = np.asarray(x, dtype=np.float64)
        except OverflowError:
            raise ValueError(f"{name} holds an integer beyond float32's range: {describe(x)}") from None
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {raw.dtype} ({describe(x)})")
    return raw


def as_array(x, name: str, *, dtype=FLOAT, min_ndim: int = 1, finite: bool = True) -> np.ndarray:
    """Convert ``x`` to a numeric array of ``dtype`` (None: keep its own) with at least ``min_ndim`` axes.

    Values must be finite (unless ``finite=False``) and, when converted to float32, within float32's range.
    """
    raw = _convert(x, name)
    if raw.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s), got a scalar {describe(x)}; "
            f"wrap it in a list, e.g. [{describe(x)}]"
        )
    if raw.size == 0:
        raise ValueError(f"{name} is empty (shape {raw.shape}); expected at least one value")
    if finite and raw.dtype.kind == "f" and not np.all(np.isfinite(raw)):
        _reject(raw, ~np.isfinite(raw), name, "expected finite numbers (no NaN or inf)")
    if dtype is not None and np.dtype(dtype) == FLOAT and raw.dtype.kind == "f" and raw.dtype.itemsize > 4:
        with np.errstate(invalid="ignore"):
            too_big = np.abs(raw) > FLOAT_MAX
        if np.any(too_big):
            _reject(raw, too_big, name, f"expected values within float32's range (|x| <= {FLOAT_MAX:.4g})")
    return raw if dtype is None else raw.astype(dtype, copy=False)


def _reject(raw: np.ndarray, bad: np.ndarray, name: str, expected: str):
    if raw.ndim == 0:
        raise ValueError(f"{name} is {raw[()]!s}; {expected}")
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    raise ValueError(f"{name} contains {raw[where]!s} at index {where}; {expected}")


def flag(value, name: str) -> bool:
    """Check a True/False option: only real booleans (Python's or numpy's), never a truthy string or number."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {describe(value)}")
    return bool(value)


def scalar_result(value, name: str, *, finite: bool = True) -> float:
    """Check what a user's function returned is one real number (a loss), and return it as a float."""
    if isinstance(value, (str, bytes)):  # np.asarray("1.5", dtype=float) would read it
        raise TypeError(f"{name} must return one real number, got {type(value).__name__} {describe(value)}")
    array = _convert(value, name)
    if array.size != 1:
        raise TypeError(f"{name} must return one real number (a loss), got an array of shape {array.shape}")
    number = float(array.reshape(()))
    if finite and not np.isfinite(number):
        raise ValueError(f"{name} returned {number}; expected a finite number (no NaN or inf)")
    return number


def rates(value, name: str) -> np.ndarray:
    """Check learning rates returned by a schedule (a user's function): finite float32 numbers >= 0."""
    rate = as_array(value, name, dtype=None, min_ndim=0)
    if rate.dtype.kind == "b":
        raise TypeError(f"{name} must be a number (a learning rate), got {type(value).__name__} {describe(value)}")
    if np.any(rate < 0):  # before float32, which turns -1e-50 into -0.0
        _reject(rate, rate < 0, name, "expected a learning rate >= 0")
    return as_array(rate, name, min_ndim=0)


def step_counts(step, name: str = "step") -> np.ndarray:
    """Check steps (whole numbers >= 0, one or an array) and return them exactly, as int64, never through float32."""
    raw = _convert(step, name)
    if raw.dtype.kind == "b":
        raise TypeError(f"{name} must be an integer or an array of integers, got {describe(step)}")
    if raw.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            fractional = ~np.isfinite(raw) | (raw != np.floor(raw))
        if np.any(fractional):
            _reject(raw, fractional, name, "expected whole numbers of steps (step 0 is the first update)")
    if np.any(raw < 0):
        _reject(raw, raw < 0, name, "expected steps >= 0 (step 0 is the first update)")
    if np.any(raw >= 2.0**63):
        _reject(raw, raw >= 2.0**63, name, "expected steps below 2**63")
    return raw.astype(np.int64)


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        hint = ""
        if a.size == b.size:
            hint = f" They hold the same number of values: reshape one, e.g. {name_b}.reshape({a.shape})."
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {name_a}.shape={a.shape} and "
            f"{name_b}.shape={b.shape}.{hint} (Broadcasting (n,) against (n, 1) would silently compare "
            f"every value with every other one.)"
        )


def in_unit_interval(x: np.ndarray, name: str, hint: str = "") -> None:
    bad = (x < 0) | (x > 1)
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], found {float(x[where]):g} at index {where}.{hint}"
        )


def _real(value, name: str) -> float:
    """A finite real number (not a bool, not a string) that float32 can hold: 0 or 1.2e-38 <= |value| <= 3.4e38."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite real number, got {type(value).__name__} {describe(value)}")
    size = abs(value)  # exact for Python ints of any size: no overflow on the way
    if size != size or size == np.inf:
        raise ValueError(f"{name} must be a finite real number, got {value}")
    if value != 0 and not FLOAT_TINY <= size <= FLOAT_MAX:
        becomes = ("-inf" if value < 0 else "inf") if size > 1 else "0.0"
        raise ValueError(
            f"{name}={describe(value)} is outside float32's range; expected 0 or a magnitude between "
            f"{FLOAT_TINY:.3g} and {FLOAT_MAX:.3g} (float32 would turn it into {becomes})"
        )
    return float(value)


def positive_number(value, name: str, *, allow_zero: bool = False) -> float:
    """Check a hyper-parameter is a real number > 0 (or >= 0) within float32's range and return it as a float."""
    value = _real(value, name)
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return float(value)


def fraction(value, name: str, *, low_open: bool = False, high_open: bool = False) -> float:
    """Check a hyper-parameter lies in [0, 1] (ends optionally open) and return it as a float."""
    value = _real(value, name)
    too_low = value <= 0 if low_open else value < 0
    too_high = value >= 1 if high_open else value > 1
    if too_low or too_high:
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return float(value)


def number_in(value, name: str, low: float, high: float) -> float:
    """Check a setting is a real number in ``[low, high]`` (a slider's range, say) and return it as a float."""
    value = _real(value, name)
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return value


def integer(value, name: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Check a count or seed is a Python or numpy integer in ``[minimum, maximum]`` and return it as an int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)

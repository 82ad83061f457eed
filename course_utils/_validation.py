"""Input checks shared by every public function.

Each check either returns a clean float32/int array or raises a ``ValueError`` /
``TypeError`` whose message names the argument, says what was received and what was
expected. Nothing here guesses or silently repairs bad input.
"""

from __future__ import annotations

import numbers

import numpy as np

FLOAT = np.float32


def _describe(x) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def as_array(x, name: str, *, dtype=FLOAT, min_ndim: int = 1) -> np.ndarray:
    """Convert ``x`` to a finite numeric array of ``dtype`` (None: keep its own) with at least ``min_ndim`` axes."""
    if x is None or isinstance(x, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__} {_describe(x)}")
    try:
        raw = np.asarray(x)
    except (ValueError, TypeError) as err:  # ragged nested lists and the like
        raise TypeError(f"{name} must be a rectangular array of numbers; numpy could not convert it: {err}") from None
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {raw.dtype} ({_describe(x)})")
    if raw.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s), got a scalar {_describe(x)}; "
            f"wrap it in a list, e.g. [{_describe(x)}]"
        )
    if raw.size == 0:
        raise ValueError(f"{name} is empty (shape {raw.shape}); expected at least one value")
    if raw.dtype.kind == "f" and not np.all(np.isfinite(raw)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(raw))[0])
        raise ValueError(f"{name} contains {raw[where]} at index {where}; expected finite numbers (no NaN or inf)")
    return raw if dtype is None else raw.astype(dtype, copy=False)


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


def positive_number(value, name: str, *, allow_zero: bool = False) -> float:
    """Check a hyper-parameter is a real number > 0 (or >= 0) and return it as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise TypeError(f"{name} must be a finite real number, got {_describe(value)}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return float(value)


def fraction(value, name: str, *, low_open: bool = False, high_open: bool = False) -> float:
    """Check a hyper-parameter lies in [0, 1] (ends optionally open) and return it as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise TypeError(f"{name} must be a finite real number, got {_describe(value)}")
    too_low = value <= 0 if low_open else value < 0
    too_high = value >= 1 if high_open else value > 1
    if too_low or too_high:
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return float(value)


def integer(value, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)

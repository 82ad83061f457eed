"""Loss functions in numpy that compute exactly what ``keras.losses`` computes.

Every function returns **per-sample** values, averaged over the last axis like Keras:
a 1-D input gives one number, an ``(n, k)`` input gives ``n`` numbers. Averaging over
the batch (the *cost*) is one separate step: ``np.mean(loss(y_true, y_pred))``.

Computation is in float32, in the same order of operations as Keras/TensorFlow, so
results agree with Keras to about one float32 rounding step.
"""

from __future__ import annotations

import numpy as np

from course_utils._validation import (
    FLOAT,
    FLOAT_TINY,
    as_array,
    flag,
    in_unit_interval,
    positive_number,
    same_shape,
)

#: Keras' fuzz factor ``keras.config.epsilon()``: probabilities are clipped to [EPSILON, 1 - EPSILON].
EPSILON = 1e-7

_LOGITS_HINT = " If these are logits (raw scores), pass from_logits=True."


def _pair(y_true, y_pred):
    y_true = as_array(y_true, "y_true")
    y_pred = as_array(y_pred, "y_pred")
    same_shape(y_true, y_pred, "y_true", "y_pred")
    return y_true, y_pred


def _clip(p: np.ndarray) -> np.ndarray:
    # 1 - 1e-7 is computed in float32 (0.99999988), as TensorFlow does.
    return np.clip(p, FLOAT(EPSILON), FLOAT(1.0) - FLOAT(EPSILON))


def mse(y_true, y_pred):
    """Mean squared error over the last axis.

    ``mse = mean((y_true - y_pred) ** 2)``: the L2 norm of the error divided by the count.

    Args:
        y_true: true values, any shape with at least one axis.
        y_pred: predictions, the same shape as ``y_true``.

    Returns:
        float32 per-sample losses, shape ``y_true.shape[:-1]`` (a scalar for 1-D input).

    Example:
        >>> round(float(mse([8, 7, 3], [10, 5, 3])), 4)
        2.6667

    Note:
        Keras (``keras.losses.mean_squared_error``) silently squeezes or expands a trailing
        axis of size 1 when the ranks differ; here the shapes must match exactly.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean(np.square(y_true - y_pred), axis=-1)


def mae(y_true, y_pred):
    """Mean absolute error over the last axis.

    ``mae = mean(|y_true - y_pred|)``: the L1 norm of the error divided by the count.

    Args:
        y_true: true values, any shape with at least one axis.
        y_pred: predictions, the same shape as ``y_true``.

    Returns:
        float32 per-sample losses, shape ``y_true.shape[:-1]``.

    Example:
        >>> round(float(mae([1, 2, 3], [1.1, 1.9, 3.2])), 4)
        0.1333
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean(np.abs(y_true - y_pred), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Huber loss: quadratic for small errors, linear for large ones.

    With ``e = y_pred - y_true``::

        huber = mean(0.5 * e**2               if |e| <= delta
                     delta * |e| - 0.5 * delta**2  otherwise)

    Args:
        y_true: true values.
        y_pred: predictions, the same shape.
        delta: where the loss turns from quadratic to linear; must be > 0.

    Returns:
        float32 per-sample losses.

    Example:
        >>> round(float(huber([0.0, 0.0], [0.5, 3.0])), 4)
        1.3125

    Note:
        PyTorch's ``HuberLoss`` uses the same formula; its ``SmoothL1Loss`` divides by delta.
    """
    delta = FLOAT(positive_number(delta, "delta"))
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = np.abs(error)
    half = FLOAT(0.5)
    with np.errstate(over="ignore"):  # a huge delta overflows only the linear branch, which is then not used
        linear = delta * abs_error - half * np.square(delta)
    return np.mean(np.where(abs_error <= delta, half * np.square(error), linear), axis=-1)


def sigmoid_cross_entropy_with_logits(labels, logits):
    """Elementwise binary cross-entropy computed from logits, the numerically stable way.

    With ``x`` the logit and ``z`` the label::

        loss = max(x, 0) - x * z + log(1 + exp(-|x|))

    which equals ``-z*log(sigmoid(x)) - (1-z)*log(1-sigmoid(x))`` but never overflows
    and never takes the log of 0. This is ``tf.nn.sigmoid_cross_entropy_with_logits``
    (``tf.nn`` in TF2; the same name existed in TF1).

    Args:
        labels: targets in [0, 1] (hard 0/1 or soft labels).
        logits: raw scores, any real numbers, the same shape.

    Returns:
        float32 losses, the same shape as ``logits`` (no averaging).

    Example:
        >>> sigmoid_cross_entropy_with_logits([1.0, 0.0], [1000.0, 1000.0]).tolist()
        [0.0, 1000.0]
    """
    labels = as_array(labels, "labels")
    logits = as_array(logits, "logits")
    same_shape(labels, logits, "labels", "logits")
    in_unit_interval(labels, "labels")
    zeros = np.zeros_like(logits)
    cond = logits >= zeros
    relu_logits = np.where(cond, logits, zeros)
    neg_abs_logits = np.where(cond, -logits, logits)
    return (relu_logits - logits * labels) + np.log1p(np.exp(neg_abs_logits))


def binary_crossentropy(y_true, y_pred, from_logits=False):
    """Binary cross-entropy (log loss), averaged over the last axis.

    For label ``y`` and predicted probability ``p`` (clipped to [1e-7, 1 - 1e-7])::

        bce = mean(-(y * log(p) + (1 - y) * log(1 - p)))

    Args:
        y_true: labels in [0, 1].
        y_pred: probabilities in [0, 1], or logits when ``from_logits=True``.
        from_logits: treat ``y_pred`` as logits and use the stable formula of
            :func:`sigmoid_cross_entropy_with_logits` (no clipping).

    Returns:
        float32 per-sample losses.

    Example:
        >>> round(float(binary_crossentropy([1.0], [0.9])), 4)  # confident and right
        0.1054
        >>> round(float(binary_crossentropy([1.0], [0.1])), 4)  # confident and wrong
        2.3026

    Note:
        Keras clips probabilities to [1e-7, 1 - 1e-7], so a loss never exceeds
        ``-log(1e-7) = 16.118``; PyTorch's ``BCELoss`` clamps the log at -100 instead.
    """
    if flag(from_logits, "from_logits"):
        return np.mean(sigmoid_cross_entropy_with_logits(y_true, y_pred), axis=-1)
    y_true, y_pred = _pair(y_true, y_pred)
    in_unit_interval(y_true, "y_true")
    in_unit_interval(y_pred, "y_pred", _LOGITS_HINT)
    p = _clip(y_pred)
    bce = y_true * np.log(p)
    bce += (1 - y_true) * np.log(1 - p)
    return np.mean(-bce, axis=-1)


def _check_class_axis(y_pred: np.ndarray, name: str = "y_pred") -> None:
    if y_pred.shape[-1] < 2:
        raise ValueError(
            f"{name} must have one column per class (at least 2) in its last axis, got shape {y_pred.shape}; "
            "for a single yes/no probability use binary_crossentropy"
        )


def _log_sum_exp_minus(logits: np.ndarray):
    """Return ``(log(sum(exp(shifted))), shifted)`` with ``shifted = logits - max``, as TF's kernel does."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True)), shifted


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Categorical cross-entropy for one-hot (or soft) labels, one value per sample.

    Probabilities are first renormalised so each row sums to 1, then clipped to
    [1e-7, 1 - 1e-7]::

        cce = -sum(y_true * log(p), axis=-1)

    Args:
        y_true: one-hot or soft labels in [0, 1], shape ``(..., num_classes)``.
        y_pred: probabilities (e.g. a softmax output), or logits when ``from_logits=True``.
        from_logits: apply a log-softmax to ``y_pred`` first (stable, no clipping).

    Returns:
        float32 per-sample losses, shape ``y_true.shape[:-1]``.

    Example:
        >>> round(float(categorical_crossentropy([1, 0, 0], [0.7, 0.2, 0.1])), 3)
        0.357

    Note:
        Keras divides ``y_pred`` by its row sum before clipping; a row that is not a
        probability distribution is therefore rescaled rather than rejected (a row of
        zeros is rejected here because it cannot be rescaled, and so is a row of values
        below float32's smallest normal number, for which Keras returns nan).
    """
    from_logits = flag(from_logits, "from_logits")
    y_true, y_pred = _pair(y_true, y_pred)
    _check_class_axis(y_pred)
    in_unit_interval(y_true, "y_true")
    if from_logits:
        log_sum, shifted = _log_sum_exp_minus(y_pred)
        return np.sum(y_true * (log_sum - shifted), axis=-1)
    in_unit_interval(y_pred, "y_pred", _LOGITS_HINT)
    largest = np.max(y_pred, axis=-1)
    if np.any(largest < FLOAT_TINY):  # TensorFlow flushes tiny (subnormal) values to 0, and 0 / 0 is nan
        row = tuple(int(i) for i in np.argwhere(largest < FLOAT_TINY)[0])
        raise ValueError(
            f"y_pred row {row} holds only zeros or values below float32's smallest normal number {FLOAT_TINY:.3g} "
            f"(largest {largest[row]!s}), so it cannot be renormalised; expected probabilities that sum to 1"
        )
    totals = np.sum(y_pred, axis=-1, keepdims=True)
    p = _clip(y_pred / totals)
    return -np.sum(y_true * np.log(p), axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Categorical cross-entropy with integer class labels instead of one-hot rows.

    ``scce = -log(p[label])`` per sample, where ``p`` is ``y_pred`` clipped to
    [1e-7, 1 - 1e-7] and renormalised (Keras feeds ``log(p)`` to a softmax).

    Args:
        y_true: integer labels in ``[0, num_classes)``, shape ``(...)`` or ``(..., 1)``.
        y_pred: probabilities, or logits when ``from_logits=True``; shape ``(..., num_classes)``.
        from_logits: treat ``y_pred`` as logits.

    Returns:
        float32 per-sample losses, shape ``y_pred.shape[:-1]``.

    Example:
        >>> round(float(sparse_categorical_crossentropy(0, [0.7, 0.2, 0.1])), 3)
        0.357

    Note:
        ``y_true`` of shape ``(n, 1)`` is accepted and squeezed, as Keras does.
    """
    from_logits = flag(from_logits, "from_logits")
    y_pred = as_array(y_pred, "y_pred")
    _check_class_axis(y_pred)
    labels = as_array(y_true, "y_true", dtype=np.float64, min_ndim=0)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"y_true must hold one integer label per row of y_pred: expected shape {y_pred.shape[:-1]}, "
            f"got {labels.shape}. (One-hot labels? Use categorical_crossentropy.)"
        )
    num_classes = y_pred.shape[-1]
    if np.any(labels != np.round(labels)):
        raise ValueError(f"y_true must hold integer class labels, got {_first(labels[labels != np.round(labels)])}")
    if np.any((labels < 0) | (labels >= num_classes)):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise ValueError(
            f"y_true holds label {_first(bad)}, but y_pred has {num_classes} classes: "
            f"labels must be in [0, {num_classes - 1}]"
        )
    labels = labels.astype(np.int64)
    if from_logits:
        logits = y_pred
    else:
        in_unit_interval(y_pred, "y_pred", _LOGITS_HINT)
        logits = np.log(_clip(y_pred))
    log_sum, shifted = _log_sum_exp_minus(logits)
    picked = np.take_along_axis(shifted, labels[..., None], axis=-1)
    return (log_sum - picked)[..., 0]


def _first(values: np.ndarray):
    v = values.flat[0]
    return int(v) if float(v).is_integer() else float(v)


def hinge(y_true, y_pred):
    """Hinge loss for max-margin classifiers, averaged over the last axis.

    ``hinge = mean(max(1 - y_true * y_pred, 0))`` with labels in {-1, +1}.
    Labels given as {0, 1} are converted to {-1, +1} first, as Keras does.

    Args:
        y_true: labels, all in {-1, 1} or all in {0, 1}.
        y_pred: raw scores (not probabilities), the same shape.

    Returns:
        float32 per-sample losses.

    Example:
        >>> round(float(hinge([1, -1, 1], [0.8, -0.5, 0.3])), 4)
        0.4667

    Note:
        Keras converts labels only when *every* label is 0 or 1 and otherwise uses them
        as they are; mixed labels such as ``[-1, 0, 1]`` are rejected here because they
        give a silently different loss.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    values = set(np.unique(y_true).tolist())
    if values <= {0.0, 1.0}:
        y_true = 2.0 * y_true - 1.0
    elif not values <= {-1.0, 1.0}:
        raise ValueError(
            f"y_true must hold labels all in {{-1, 1}} or all in {{0, 1}}, got the values {sorted(values)}"
        )
    return np.mean(np.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def asymmetric_mse(y_true, y_pred, over_weight=2.0):
    """Squared error that punishes over-prediction ``over_weight`` times more.

    With ``e = y_true - y_pred`` (negative when the prediction is too high)::

        loss = mean(over_weight * e**2 if e < 0 else e**2)

    This is the sources' custom loss (written there with ``tf.where``). For the
    blood-sugar example, where predicting *too low* is the dangerous side, pass
    ``over_weight < 1`` (e.g. 0.5) so under-prediction costs relatively more.

    Args:
        y_true: true values.
        y_pred: predictions, the same shape.
        over_weight: multiplier for over-predictions; must be > 0.

    Returns:
        float32 per-sample losses.

    Example:
        >>> float(asymmetric_mse([10.0, 10.0], [12.0, 8.0]))  # (2 * 4 + 4) / 2
        6.0
    """
    weight = FLOAT(positive_number(over_weight, "over_weight"))
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_true - y_pred
    return np.mean(np.where(error < 0, weight * np.square(error), np.square(error)), axis=-1)

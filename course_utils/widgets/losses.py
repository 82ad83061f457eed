"""Numbers, plots and explorers for lesson 01 (loss as error) and lesson 02 (cross-entropy).

The module has three layers, each usable on its own:

* computation (plain numbers, no plotting): :func:`pointwise_losses`, :func:`loss_shares`,
  :func:`fit_line`, :func:`best_constant`, :func:`sigmoid`, :func:`naive_sigmoid_cross_entropy`,
  :func:`clipped_sigmoid_cross_entropy`. Every loss value comes from :mod:`course_utils.losses`.
* static plots (each takes ``ax=None`` and returns what it drew): :func:`plot_error_losses`,
  :func:`plot_squared_errors`, :func:`plot_fits`, :func:`plot_log_loss`, :func:`plot_right_or_wrong`,
  :func:`plot_hinge`.
* explorers (each returns a :class:`~course_utils.widgets.core.Demo`):

  - lesson 01: :func:`outlier_explorer` (main control ``outlier``), :func:`robust_fit_explorer`
    (``outlier``), :func:`asymmetric_loss_explorer` (``over_weight``);
  - lesson 02: :func:`binary_ce_explorer` (``probability``), :func:`logit_stability_explorer` (``logit``).
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course_utils import losses
from course_utils._validation import as_array, fraction, number_in, positive_number
from course_utils.plots import PALETTE, series_style
from course_utils.widgets.core import Demo, LiveFigure, log_slider

__all__ = [
    "pointwise_losses",
    "loss_shares",
    "fit_line",
    "best_constant",
    "sigmoid",
    "naive_sigmoid_cross_entropy",
    "clipped_sigmoid_cross_entropy",
    "plot_error_losses",
    "plot_squared_errors",
    "plot_fits",
    "plot_log_loss",
    "plot_right_or_wrong",
    "plot_hinge",
    "outlier_explorer",
    "robust_fit_explorer",
    "asymmetric_loss_explorer",
    "binary_ce_explorer",
    "logit_stability_explorer",
    "OUTLIER_X",
    "OUTLIER_Y",
    "OUTLIER_INDEX",
    "BLOOD_SUGAR",
    "LOGIT_STOPS",
]

# Colours used consistently across both lessons (the course palette, course_utils.plots.PALETTE) and, for the
# three regression losses, a line style each: no two series are told apart by colour alone.
COLORS = {
    "MSE": PALETTE["vermillion"],
    "MAE": PALETTE["blue"],
    "Huber": PALETTE["green"],
    "label 1": PALETTE["blue"],
    "label 0": PALETTE["orange"],
    "naive": PALETTE["purple"],
    "clipped": "dimgray",
    "stable": PALETTE["blue"],
}
LINESTYLES = {"MSE": "-", "MAE": "--", "Huber": "-."}

# ---------------------------------------------------------------------------------------------
# Lesson 01: computation
# ---------------------------------------------------------------------------------------------

#: A small regression data set for the outlier explorers: ten points within 1 of ``y = 1 + 0.5 x``.
OUTLIER_X = np.arange(10, dtype=np.float64)
OUTLIER_Y = np.array([1.6, 0.8, 2.4, 1.6, 3.8, 3.2, 4.7, 4.7, 4.4, 6.4])
#: Which point the explorers move.
OUTLIER_INDEX = 7


def _axes(ax, figsize=(6.0, 3.6)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def pointwise_losses(errors, delta=1.0) -> dict[str, np.ndarray]:
    """The squared, absolute and Huber loss of each single error, computed by :mod:`course_utils.losses`.

    Each error is treated as its own one-value sample, so the results have the shape of ``errors``.
    ``error = prediction - actual``; the three losses are symmetric, so the sign does not matter.

    Args:
        errors: prediction errors, any shape.
        delta: Huber's switch point from quadratic to linear (> 0).

    Returns:
        ``{"squared": ..., "absolute": ..., "huber": ...}``, float32 arrays shaped like ``errors``.

    Example:
        >>> {name: values.tolist() for name, values in pointwise_losses([-2.0, 0.5]).items()}
        {'squared': [4.0, 0.25], 'absolute': [2.0, 0.5], 'huber': [1.5, 0.125]}
    """
    errors = as_array(errors, "errors")
    column = errors.reshape(-1, 1)
    zeros = np.zeros_like(column)
    values = {
        "squared": losses.mse(zeros, column),
        "absolute": losses.mae(zeros, column),
        "huber": losses.huber(zeros, column, delta),
    }
    return {name: value.reshape(errors.shape) for name, value in values.items()}


def loss_shares(y_true, y_pred, delta=1.0) -> dict[str, tuple[float, np.ndarray]]:
    """Cost (mean over the data set) of MSE, MAE and Huber, and each example's share of it.

    The per-example losses come from :mod:`course_utils.losses` (one example per row); the cost is
    their mean, and example ``i``'s share is ``loss_i / sum(loss)`` (0 everywhere when the sum is 0).

    Args:
        y_true, y_pred: 1-D arrays of the same length, one number per example.
        delta: Huber's delta.

    Returns:
        ``{"MSE": (cost, shares), "MAE": (cost, shares), "Huber": (cost, shares)}``.

    Example:
        >>> report = loss_shares([0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 5.0])
        >>> round(report["MSE"][0], 2), round(float(report["MSE"][1][-1]), 3), round(float(report["MAE"][1][-1]), 3)
        (7.0, 0.893, 0.625)
    """
    y_true = as_array(y_true, "y_true").reshape(-1, 1)
    y_pred = as_array(y_pred, "y_pred").reshape(-1, 1)
    per_example = {
        "MSE": losses.mse(y_true, y_pred),
        "MAE": losses.mae(y_true, y_pred),
        "Huber": losses.huber(y_true, y_pred, delta),
    }
    report = {}
    for name, values in per_example.items():
        total = float(np.sum(values, dtype=np.float64))
        shares = values / total if total > 0 else np.zeros_like(values)
        report[name] = (float(np.mean(values)), shares)
    return report


def fit_line(x, y, loss="mse", delta=1.0, iterations=200) -> tuple[float, float]:
    """Slope and intercept of the straight line with the smallest mean ``loss`` over the points ``(x, y)``.

    * ``"mse"``: ordinary least squares (closed form).
    * ``"mae"``: exact. A best L1 line always passes through at least two of the points, so every line
      through two points is tried and the one with the smallest total absolute error wins
      (``n (n - 1) / 2`` candidates: fine for the small data sets of the lessons).
    * ``"huber"``: iteratively reweighted least squares. Points with ``|residual| <= delta`` keep weight 1,
      the others get ``delta / |residual|``, which is exactly Huber's linear part. Convex, so it converges.

    Args:
        x, y: 1-D arrays of the same length (at least two distinct ``x`` values).
        loss: ``"mse"``, ``"mae"`` or ``"huber"``.
        delta: Huber's delta (> 0).
        iterations: the most reweighting rounds for Huber.

    Returns:
        ``(slope, intercept)`` as floats.

    Example:
        >>> x, y = [0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 2.0, 3.0, 30.0]
        >>> [round(v, 3) for v in fit_line(x, y, "mse")], [round(v, 3) for v in fit_line(x, y, "mae")]
        ([6.2, -5.2], [1.0, 0.0])
    """
    x = as_array(x, "x", dtype=np.float64).reshape(-1)
    y = as_array(y, "y", dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if np.unique(x).size < 2:
        raise ValueError("x must hold at least two distinct values to fit a line")
    design = np.stack([x, np.ones_like(x)], axis=1)
    if loss == "mse":
        slope, intercept = np.linalg.lstsq(design, y, rcond=None)[0]
        return float(slope), float(intercept)
    if loss == "mae":
        i, j = np.triu_indices(x.size, k=1)
        keep = x[i] != x[j]
        i, j = i[keep], j[keep]
        slopes = (y[j] - y[i]) / (x[j] - x[i])
        intercepts = y[i] - slopes * x[i]
        totals = np.abs(y[None, :] - (slopes[:, None] * x[None, :] + intercepts[:, None])).sum(axis=1)
        best = int(np.argmin(totals))
        return float(slopes[best]), float(intercepts[best])
    if loss == "huber":
        delta = positive_number(delta, "delta")
        params = np.linalg.lstsq(design, y, rcond=None)[0]
        for _ in range(int(iterations)):
            residual = np.abs(y - design @ params)
            weights = np.where(residual <= delta, 1.0, delta / np.maximum(residual, 1e-300))
            root = np.sqrt(weights)
            new = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)[0]
            if np.allclose(new, params, rtol=0, atol=1e-12):
                params = new
                break
            params = new
        return float(params[0]), float(params[1])
    raise ValueError(f"loss must be 'mse', 'mae' or 'huber', got {loss!r}")


def best_constant(samples, over_weight=2.0) -> float:
    """The single prediction ``c`` that minimises ``mean(asymmetric_mse(samples, c))``.

    Setting the derivative to zero shows ``c`` is a weighted mean of the samples: weight ``over_weight``
    for samples below ``c`` (where ``c`` over-predicts) and 1 for the others (statisticians call it an
    *expectile*). Starting from the plain mean, recompute the weighted mean until the set of samples
    below ``c`` stops changing; the loss is convex, so this ends at the minimum.

    ``over_weight > 1`` pulls the best guess below the mean, ``over_weight < 1`` above it, 1 gives the mean.

    Example:
        >>> best_constant([0.0, 1.0], over_weight=1.0), round(best_constant([0.0, 1.0], over_weight=2.0), 4)
        (0.5, 0.3333)
    """
    weight = positive_number(over_weight, "over_weight")
    samples = as_array(samples, "samples", dtype=np.float64).reshape(-1)
    guess = float(np.mean(samples))
    below = None
    for _ in range(10 * samples.size + 10):
        new_below = samples < guess
        if below is not None and np.array_equal(new_below, below):
            break
        below = new_below
        weights = np.where(below, weight, 1.0)
        guess = float(np.sum(weights * samples) / np.sum(weights))
    return guess


# ---------------------------------------------------------------------------------------------
# Lesson 02: computation
# ---------------------------------------------------------------------------------------------


def sigmoid(logits) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-x))`` in float32, computed without overflow.

    Uses ``exp(-|x|)``, which never overflows, on the side where it is accurate (what TensorFlow's
    sigmoid does too). Very negative logits give exactly 0 (the true value underflows), large ones
    round to exactly 1 in float32 once ``x`` exceeds about 16.6.

    Example:
        >>> sigmoid([-1000.0, 0.0, 20.0, 1000.0]).tolist()
        [0.0, 0.5, 1.0, 1.0]
    """
    x = as_array(logits, "logits", min_ndim=0)
    small = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + small), small / (1 + small)).astype(np.float32)


def naive_sigmoid_cross_entropy(labels, logits, dtype=np.float32) -> np.ndarray:
    """Binary cross-entropy computed the obvious way: sigmoid first, then the log-loss formula.

    ``p = 1 / (1 + exp(-x))`` and ``loss = -(z * log(p) + (1 - z) * log(1 - p))``, literally, in ``dtype``.
    It breaks for large ``|x|``, and this function shows how rather than hiding it:

    * ``exp(-x)`` overflows to ``inf`` for ``x < -88.7`` (float32) so ``p = 0`` and ``log(p) = -inf``;
    * ``p`` rounds to exactly 1 for ``x > 16.6`` (float32) so ``log(1 - p) = -inf``, and a label of 1
      multiplies it by 0: ``0 * -inf = nan``.

    The floating-point errors are silenced (``np.errstate``): the bad values come back as values
    (``inf``/``nan``) and no RuntimeWarning is printed. Use
    :func:`course_utils.losses.sigmoid_cross_entropy_with_logits` for the real thing.

    Args:
        labels: targets in [0, 1].
        logits: raw scores, the same shape.
        dtype: the float type to compute in (float64 moves the break-down points, to ``|x|`` of about
            37 and 709, but does not remove them).

    Returns:
        the elementwise losses in ``dtype``, possibly ``inf`` or ``nan``.

    Example:
        >>> [round(float(v), 4) for v in naive_sigmoid_cross_entropy([1.0, 1.0, 1.0], [-1000.0, 2.0, 1000.0])]
        [inf, 0.1269, nan]
    """
    labels = as_array(labels, "labels", dtype=dtype, min_ndim=0)
    logits = as_array(logits, "logits", dtype=dtype, min_ndim=0)
    if labels.shape != logits.shape:
        raise ValueError(f"labels and logits must have the same shape, got {labels.shape} and {logits.shape}")
    one = dtype(1)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        p = one / (one + np.exp(-logits))
        # "+ 0" turns a negative zero (-0.0) into 0.0; nan and inf pass through unchanged
        return -(labels * np.log(p) + (one - labels) * np.log(one - p)) + dtype(0)


def clipped_sigmoid_cross_entropy(labels, logits) -> np.ndarray:
    """Binary cross-entropy from probabilities: a (stable) sigmoid, then Keras' clipped log loss.

    This is what happens when a model ends in a sigmoid layer and the loss is
    ``BinaryCrossentropy()`` (``from_logits=False``): probabilities are clipped to [1e-7, 1 - 1e-7], so the
    result stays finite but can never exceed ``-log(1e-7) = 16.118``, however wrong the model is.
    Computed with :func:`course_utils.losses.binary_crossentropy`, elementwise.

    Example:
        >>> [round(float(v), 3) for v in clipped_sigmoid_cross_entropy([1.0, 1.0], [-1000.0, 0.0])]
        [16.118, 0.693]
    """
    labels = as_array(labels, "labels", min_ndim=0)
    p = sigmoid(logits)
    if labels.shape != p.shape:
        raise ValueError(f"labels and logits must have the same shape, got {labels.shape} and {p.shape}")
    return losses.binary_crossentropy(labels[..., None], p[..., None])


# ---------------------------------------------------------------------------------------------
# Static plots
# ---------------------------------------------------------------------------------------------


def plot_error_losses(ax=None, delta=1.0, limit=4.0):
    """Loss of one prediction against its error, for squared, absolute and Huber loss; returns the lines.

    Example:
        >>> from matplotlib.figure import Figure
        >>> sorted(plot_error_losses(Figure().subplots()))
        ['Huber', 'MAE', 'MSE']
    """
    ax = _axes(ax)
    errors = np.linspace(-limit, limit, 401)
    values = pointwise_losses(errors, delta)
    lines = {
        name: ax.plot(errors, values[key], color=COLORS[name], ls=LINESTYLES[name], lw=2, label=text)[0]
        for name, key, text in (("MSE", "squared", "squared  $e^2$"), ("MAE", "absolute", "absolute  $|e|$"),
                                ("Huber", "huber", f"Huber ($\\delta$ = {delta:g})"))
    }
    for side in (-delta, delta):
        ax.axvline(side, color=COLORS["Huber"], ls=":", lw=1)
    ax.set(xlabel="error  e = prediction - actual", ylabel="loss of this one prediction", xlim=(-limit, limit),
           ylim=(0, limit**2 * 0.75))
    ax.legend(loc="upper center")
    ax.grid(alpha=0.3)
    return lines


def plot_squared_errors(actual, predicted, ax=None, labels=None):
    """Draw each guess next to its true value with the square of side ``|error|`` between them.

    The squared error is literally the area of that square, so a guess twice as far off covers four
    times the area. Returns the list of square patches (one per example; an exact guess draws none).

    Example:
        >>> from matplotlib.figure import Figure
        >>> len(plot_squared_errors([8, 7, 3], [10, 5, 3], ax=Figure().subplots()))
        2
    """
    from matplotlib.patches import Rectangle

    ax = _axes(ax)
    actual = as_array(actual, "actual", dtype=np.float64).reshape(-1)
    predicted = as_array(predicted, "predicted", dtype=np.float64).reshape(-1)
    if actual.shape != predicted.shape:
        raise ValueError(f"actual and predicted must have the same length, got {actual.size} and {predicted.size}")
    errors = predicted - actual
    spacing = 1.5 * float(np.max(np.abs(errors), initial=1.0)) + 1.0
    positions = spacing * np.arange(actual.size)
    squares = []
    for x, a, p, e in zip(positions, actual, predicted, errors):
        ax.plot([x, x], [a, p], color="black", lw=1.5)
        if e != 0:
            squares.append(
                ax.add_patch(Rectangle((x, min(a, p)), abs(e), abs(e), color=COLORS["MSE"], alpha=0.3, lw=0))
            )
            ax.text(x + abs(e) / 2, (a + p) / 2, f"{e * e:g}", ha="center", va="center", fontsize=11)
        else:
            ax.text(x + 0.4, a, "exact: 0", va="center", fontsize=10)
    ax.plot(positions, actual, "o", color="black", label="actual", zorder=3)
    ax.plot(positions, predicted, "X", color=COLORS["MSE"], markersize=9, label="guess", zorder=3)
    ax.set_xticks(positions, labels if labels is not None else [f"example {i + 1}" for i in range(actual.size)])
    ax.set_aspect("equal")
    low, high = min(actual.min(), predicted.min()), max(actual.max(), predicted.max())
    ax.set(ylim=(low - 1, high + 1), xlim=(positions[0] - 1, positions[-1] + spacing - 0.5), ylabel="value")
    ax.legend(loc="lower left")
    return squares


def plot_fits(x, y, predictions: dict, ax=None, colors=None):
    """Scatter the data and draw each named prediction as a line; returns ``{name: Line2D}``.

    Each line gets its own colour *and* line style (:func:`course_utils.plots.series_style`); ``colors``
    (``{name: colour}``) overrides the colours only.

    Example:
        >>> from matplotlib.figure import Figure
        >>> list(plot_fits([0, 1, 2], [0, 1, 2], {"fit": [0, 1, 2]}, ax=Figure().subplots()))
        ['fit']
    """
    ax = _axes(ax)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    order = np.argsort(x)
    ax.plot(x, y, "o", color="black", alpha=0.35, markersize=4, label="data")
    colors = colors or {}
    lines = {}
    for i, (name, values) in enumerate(predictions.items()):
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        style = series_style(i, linewidth=2.2)
        style["color"] = colors.get(name, style["color"])
        lines[name] = ax.plot(x[order], values[order], label=name, **style)[0]
    ax.legend(loc="upper left", fontsize=9)
    ax.grid(alpha=0.3)
    return lines


def plot_log_loss(ax=None, points=None):
    """Binary cross-entropy against the predicted probability, for a label of 1 and a label of 0.

    Args:
        ax: where to draw.
        points: optional ``[(probability, label, text), ...]`` to mark on the curves; a fourth item
            ``(dx, dy)`` moves that point's text (offset in points, default ``(6, 8)``; negative ``dx``
            puts the text on the left).

    Returns:
        ``{"label 1": Line2D, "label 0": Line2D}``.

    Example:
        >>> from matplotlib.figure import Figure
        >>> sorted(plot_log_loss(Figure().subplots(), points=[(0.9, 1, "dog")]))
        ['label 0', 'label 1']
    """
    ax = _axes(ax)
    p = np.linspace(0.0, 1.0, 1001, dtype=np.float32)
    column = p[:, None]
    lines = {}
    for label, style in ((1, "-"), (0, "--")):
        values = losses.binary_crossentropy(np.full_like(column, label), column)
        name = f"label {label}"
        formula = "-log(p)" if label else "-log(1 - p)"
        lines[name] = ax.plot(p, values, style, color=COLORS[name], lw=2, label=f"{name}:  {formula}")[0]
    for prob, label, text, *offset in points or []:
        value = float(losses.binary_crossentropy([float(label)], [prob]))
        ax.plot(prob, value, "o", color=COLORS[f"label {int(label)}"], zorder=3)
        dx, dy = offset[0] if offset else (6, 8)
        ax.annotate(f"{text}\n{value:.3f}", (prob, value), textcoords="offset points", xytext=(dx, dy), fontsize=9,
                    ha="right" if dx < 0 else "left")
    ax.set(xlabel="predicted probability p that the label is 1", ylabel="cross-entropy loss", xlim=(0, 1), ylim=(0, 5))
    ax.legend(loc="upper center")
    ax.grid(alpha=0.3)
    return lines


def plot_right_or_wrong(ax=None):
    """For a label of 1: the right-or-wrong (0/1) loss next to the log loss, against the probability.

    The 0/1 loss is flat almost everywhere, so it cannot say "warmer" or "colder"; the log loss can.
    Returns ``{"right or wrong": Line2D, "log loss": Line2D}``.

    Example:
        >>> from matplotlib.figure import Figure
        >>> sorted(plot_right_or_wrong(Figure().subplots()))
        ['log loss', 'right or wrong']
    """
    ax = _axes(ax)
    p = np.linspace(0.0, 1.0, 1001, dtype=np.float32)
    wrong = (p < 0.5).astype(np.float32)
    log_loss = losses.binary_crossentropy(np.ones((p.size, 1), np.float32), p[:, None])
    lines = {
        "right or wrong": ax.step(p, wrong, where="post", color="black", lw=2, ls="--",
                                  label="right or wrong (1 = wrong)")[0],
        "log loss": ax.plot(p, log_loss, color=COLORS["label 1"], lw=2, label="log loss  -log(p)")[0],
    }
    ax.axvline(0.5, color="gray", ls=":", lw=1)
    ax.set(xlabel="predicted probability of the true class (label 1)", ylabel="loss", xlim=(0, 1), ylim=(0, 4))
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    return lines


def plot_hinge(ax=None, examples=None):
    """Hinge loss against the raw score, for a label of +1 and a label of -1.

    Args:
        ax: where to draw.
        examples: optional ``(labels, scores)`` to mark, e.g. ``([1, -1, 1], [0.8, -0.5, 0.3])``.

    Returns:
        ``{"label +1": Line2D, "label -1": Line2D}``.

    Example:
        >>> from matplotlib.figure import Figure
        >>> sorted(plot_hinge(Figure().subplots(), examples=([1, -1], [0.8, -0.5])))
        ['label +1', 'label -1']
    """
    ax = _axes(ax)
    scores = np.linspace(-3, 3, 601, dtype=np.float32)
    lines = {}
    for label, name, style in ((1.0, "label +1", "-"), (-1.0, "label -1", "--")):
        values = losses.hinge(np.full((scores.size, 1), label, np.float32), scores[:, None])
        color = COLORS["label 1"] if label > 0 else COLORS["label 0"]
        lines[name] = ax.plot(scores, values, style, color=color, lw=2, label=f"{name}:  max(0, 1 - ({label:+g}) s)")[0]
    if examples is not None:
        labels, preds = (np.asarray(v, dtype=np.float32).reshape(-1) for v in examples)
        for label, score in zip(labels, preds):
            value = float(losses.hinge([label], [score]))
            color = COLORS["label 1"] if label > 0 else COLORS["label 0"]
            ax.plot(score, value, "o", color=color, zorder=3)
            left = label < 0
            ax.annotate(f"y={label:+g}, s={score:g}: loss {value:.2f}", (score, value), textcoords="offset points",
                        xytext=(-7 if left else 7, 2), ha="right" if left else "left", va="center", fontsize=8)
    for edge in (-1, 1):
        ax.axvline(edge, color="gray", ls=":", lw=1)
    ax.set(xlabel="raw score s (not a probability)", ylabel="hinge loss", xlim=(-3, 3), ylim=(0, 4))
    ax.legend(loc="upper center", fontsize=9)
    ax.grid(alpha=0.3)
    return lines


# ---------------------------------------------------------------------------------------------
# Explorers: lesson 01
# ---------------------------------------------------------------------------------------------


def _table(rows, header=None) -> str:
    cell = "padding:1px 10px;text-align:right"
    html = "<table style='border-collapse:collapse;font-family:monospace'>"
    if header:
        html += "<tr>" + "".join(f"<th style='{cell}'>{h}</th>" for h in header) + "</tr>"
    for row in rows:
        html += "<tr>" + "".join(f"<td style='{cell}'>{c}</td>" for c in row) + "</tr>"
    return html + "</table>"


def _outlier_slider(value):
    return widgets.FloatSlider(
        value=value, min=-6.0, max=24.0, step=0.5, description="moved point's value",
        continuous_update=True, style={"description_width": "initial"}, layout=widgets.Layout(width="380px"),
    )


def _delta_slider(value):
    return widgets.FloatSlider(
        value=value, min=0.25, max=5.0, step=0.25, description="Huber δ",
        continuous_update=True, style={"description_width": "initial"}, layout=widgets.Layout(width="300px"),
    )


def outlier_explorer(outlier=14.0, delta=1.0) -> Demo:
    """Move one data point away from a fixed model's line and watch how much of each loss it owns.

    Left: ten points, the model's predictions (a fixed line) and each point's error. Right: the share
    of the data set's MSE, MAE and Huber loss that comes from the moved point. With the point far
    away, MSE is almost entirely about that one point; MAE and Huber are not.

    Controls: ``outlier`` (the moved point's true value, -6 to 24), ``delta`` (Huber's delta, 0.25 to 5).
    """
    outlier, delta = number_in(outlier, "outlier", -6.0, 24.0), number_in(delta, "delta", 0.25, 5.0)
    x, y = OUTLIER_X, OUTLIER_Y.copy()
    predictions = 1.0 + 0.5 * x
    k = OUTLIER_INDEX
    live = LiveFigure(1, 2, figsize=(9.0, 3.5))
    ax_data, ax_share = live.axes

    others = np.arange(x.size) != k
    ax_data.plot(x, predictions, color="black", lw=1.5, label="model's prediction")
    ax_data.plot(x[others], y[others], "o", color="black", label="data")
    residual_x = np.repeat(x[others], 3)
    residual_y = np.column_stack([y[others], predictions[others], np.full(others.sum(), np.nan)]).ravel()
    residual_x[2::3] = np.nan
    ax_data.plot(residual_x, residual_y, color="gray", lw=1)
    moved = live.animated(ax_data.plot([], [], "D", color=COLORS["MSE"], markersize=8, label="moved point")[0])
    moved_error = live.animated(ax_data.plot([], [], color=COLORS["MSE"], lw=2)[0])
    ax_data.set(xlim=(-0.5, 9.5), ylim=(-7, 25), xlabel="x", ylabel="y", title="data and a fixed model")
    ax_data.legend(loc="upper left", fontsize=8)
    ax_data.grid(alpha=0.3)

    names = ["MSE", "MAE", "Huber"]
    bars = ax_share.barh(names, [0, 0, 0], color=[COLORS[n] for n in names], height=0.6)
    for bar in bars:
        live.animated(bar)
    texts = [live.animated(ax_share.text(0, i, "", va="center", fontsize=10, fontweight="bold")) for i in range(3)]
    fair = 100.0 / x.size
    ax_share.axvline(fair, color="black", ls=":", lw=1)
    ax_share.text(fair + 1, 2.45, "a fair share: 1 point in 10", fontsize=8, va="center")
    ax_share.set(xlim=(0, 100), ylim=(-0.6, 2.7), xlabel="% of the loss caused by the moved point",
                 title="who owns the loss?")
    ax_share.invert_yaxis()
    ax_share.grid(alpha=0.3, axis="x")

    def update(outlier, delta):
        y[k] = outlier
        moved.set_data([x[k]], [outlier])
        moved_error.set_data([x[k], x[k]], [outlier, predictions[k]])
        report = loss_shares(y, predictions, delta)
        rows = []
        for i, name in enumerate(names):
            cost, shares = report[name]
            share = 100.0 * float(shares[k])
            bars[i].set_width(share)
            inside = share > 50
            texts[i].set_position((share - 1.5 if inside else share + 1.5, i))
            texts[i].set_horizontalalignment("right" if inside else "left")
            texts[i].set_color("white" if inside else "black")
            texts[i].set_text(f"{share:.0f}%")
            rows.append((name, f"{cost:.4g}", f"{share:.1f}%"))
        error = predictions[k] - outlier
        return (
            f"<b>moved point</b>: true value {outlier:g}, predicted {predictions[k]:g}, error {error:+g}<br>"
            + _table(rows, header=("loss", "value over the 10 points", "moved point's share"))
        )

    return Demo(live, {"outlier": _outlier_slider(outlier), "delta": _delta_slider(delta)}, update)


def robust_fit_explorer(outlier=20.0, delta=1.0) -> Demo:
    """The best straight line for MSE, MAE and Huber loss, refitted live as one point moves.

    Training picks the weights with the smallest loss; here the "model" is a line (two weights), so the
    best weights can be found exactly (:func:`fit_line`). One bad point drags the MSE line toward itself;
    the MAE and Huber lines hardly move.

    Controls: ``outlier`` (the moved point's true value, -6 to 24), ``delta`` (Huber's delta, 0.25 to 5).
    """
    outlier, delta = number_in(outlier, "outlier", -6.0, 24.0), number_in(delta, "delta", 0.25, 5.0)
    x, y = OUTLIER_X, OUTLIER_Y.copy()
    k = OUTLIER_INDEX
    live = LiveFigure(figsize=(7.5, 3.6))
    ax = live.axes
    others = np.arange(x.size) != k
    clean_slope, clean_intercept = fit_line(x[others], y[others], "mse")
    grid = np.array([-0.5, 9.5])
    ax.plot(grid, clean_slope * grid + clean_intercept, color="black", ls=":", lw=1.2,
            label="MSE fit without the moved point")
    ax.plot(x[others], y[others], "o", color="black")
    moved = live.animated(ax.plot([], [], "o", color="black", mfc="white", markersize=10, mew=2)[0])
    names = ["MSE", "MAE", "Huber"]
    lines = {name: live.animated(ax.plot([], [], color=COLORS[name], ls=LINESTYLES[name], lw=2.2,
                                         label=f"best line for {name}")[0])
             for name in names}
    ax.set(xlim=(-0.5, 9.5), ylim=(-7, 25), xlabel="x", ylabel="y", title="the line each loss prefers")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)

    def update(outlier, delta):
        y[k] = outlier
        moved.set_data([x[k]], [outlier])
        rows = []
        for name in names:
            slope, intercept = fit_line(x, y, name.lower(), delta)
            lines[name].set_data(grid, slope * grid + intercept)
            rows.append((name, f"{slope:.3f}", f"{intercept:.3f}", f"{slope - clean_slope:+.3f}"))
        return (
            f"moved point at y = {outlier:g}; without it the best slope is {clean_slope:.3f}<br>"
            + _table(rows, header=("loss", "slope", "intercept", "slope change"))
        )

    return Demo(live, {"outlier": _outlier_slider(outlier), "delta": _delta_slider(delta)}, update)


#: 2,000 made-up blood-sugar readings (mmol/L) for :func:`asymmetric_loss_explorer`: mean about 7, spread about 1.
BLOOD_SUGAR = np.round(7.0 + np.random.default_rng(0).standard_normal(2000), 2)


def asymmetric_loss_explorer(over_weight=2.0) -> Demo:
    """The asymmetric squared error and what its penalty weight does to the best prediction.

    Left: loss against the error ``prediction - actual`` (plain squared error dashed). Right: many
    blood-sugar readings; the best single guess under this loss (:func:`best_constant`) moves below the
    mean when over-prediction costs more (``over_weight > 1``) and above it when under-prediction costs
    more (``over_weight < 1``, the blood-sugar choice, where guessing too low is the dangerous mistake).

    Control: ``over_weight`` (log scale, 0.1 to 10).
    """
    over_weight = number_in(over_weight, "over_weight", 0.1, 10.0)
    live = LiveFigure(1, 2, figsize=(9.0, 3.5))
    ax_loss, ax_best = live.axes
    errors = np.linspace(-3, 3, 301, dtype=np.float32)
    zeros = np.zeros((errors.size, 1), np.float32)
    ax_loss.plot(errors, losses.mse(zeros, errors[:, None]), color="gray", ls="--", lw=1.5, label="plain squared error")
    curve = live.animated(ax_loss.plot([], [], color=COLORS["MSE"], lw=2.5, label="asymmetric loss")[0])
    ax_loss.axvspan(-3, 0, color=COLORS["MAE"], alpha=0.07)
    ax_loss.axvspan(0, 3, color=COLORS["MSE"], alpha=0.07)
    ax_loss.text(-2.9, 0.3, "guess too low", fontsize=9)
    ax_loss.text(2.9, 0.3, "guess too high", fontsize=9, ha="right")
    ax_loss.set(xlim=(-3, 3), ylim=(0, 12), xlabel="error = prediction - actual", ylabel="loss",
                title="penalty of one prediction")
    ax_loss.legend(loc="upper center", fontsize=8, bbox_to_anchor=(0.5, 0.85))
    ax_loss.grid(alpha=0.3)

    readings = BLOOD_SUGAR
    mean = float(np.mean(readings))
    ax_best.hist(readings, bins=40, color="lightgray", edgecolor="white")
    ax_best.axvline(mean, color="black", ls="--", lw=1.5, label=f"mean {mean:.2f} (best for MSE)")
    best_line = live.animated(ax_best.axvline(mean, color=COLORS["MSE"], lw=2.5, label="best guess for this loss"))
    best_text = live.animated(ax_best.text(0.02, 0.95, "", transform=ax_best.transAxes, fontsize=9, va="top"))
    ax_best.set(xlim=(3.5, 10.5), xlabel="blood sugar (mmol/L)", ylabel="readings", title="best single guess")
    ax_best.legend(loc="upper right", fontsize=8)

    def update(over_weight):
        # the asymmetric loss of error e = prediction - actual is asymmetric_mse(actual=0, prediction=e)
        curve.set_data(errors, losses.asymmetric_mse(zeros, errors[:, None], over_weight))
        best = best_constant(readings, over_weight)
        best_line.set_xdata([best, best])
        best_text.set_text(f"best guess {best:.2f}\n({best - mean:+.2f} vs mean)")
        if over_weight > 1:
            story = f"over-prediction costs {over_weight:.3g}x as much: predictions are pushed <b>down</b>"
        elif over_weight < 1:
            story = (f"under-prediction costs {1 / over_weight:.3g}x as much (the blood-sugar choice): "
                     f"predictions are pushed <b>up</b>")
        else:
            story = "both sides cost the same: plain MSE, the best guess is the mean"
        return f"over_weight = {over_weight:.3g}: {story}; best single guess {best:.2f} mmol/L ({best - mean:+.2f})"

    slider = log_slider(over_weight, 0.1, 10.0, description="over-prediction weight", steps_per_decade=20)
    return Demo(live, {"over_weight": slider}, update)


# ---------------------------------------------------------------------------------------------
# Explorers: lesson 02
# ---------------------------------------------------------------------------------------------


def binary_ce_explorer(probability=0.9) -> Demo:
    """A probability slider on the binary cross-entropy curves for a label of 1 and a label of 0.

    The markers show the loss the same prediction earns if the truth is 1 (``-log p``) and if it is 0
    (``-log(1 - p)``). At ``p = 0`` or ``1`` the clipping of Keras caps the loss at 16.118 (shown off the
    top of the chart with its value).

    Control: ``probability`` (0 to 1, step 0.01).
    """
    probability = fraction(probability, "probability")
    live = LiveFigure(figsize=(7.5, 3.5))
    ax = live.axes
    plot_log_loss(ax)
    top = 5.0
    ax.set_title("binary cross-entropy of one prediction")
    cursor = live.animated(ax.axvline(probability, color="black", lw=1, ls=":"))
    markers, texts = {}, {}
    for name in ("label 1", "label 0"):
        markers[name] = live.animated(ax.plot([], [], "o", color=COLORS[name], markersize=9, zorder=4)[0])
        texts[name] = live.animated(
            ax.text(0, 0, "", fontsize=9, color=COLORS[name], fontweight="bold",
                    bbox={"facecolor": "white", "alpha": 0.8, "lw": 0, "pad": 1})
        )

    def update(probability):
        p = np.float32(probability)
        values = {
            "label 1": float(losses.binary_crossentropy([1.0], [p])),
            "label 0": float(losses.binary_crossentropy([0.0], [p])),
        }
        cursor.set_xdata([probability, probability])
        for name, value in values.items():
            shown = min(value, top * 0.97)
            markers[name].set_data([probability], [shown])
            marker_style = "^" if value > top else "o"
            markers[name].set_marker(marker_style)
            right = probability < 0.6
            texts[name].set_position((probability + (0.02 if right else -0.02), shown + 0.15))
            texts[name].set_horizontalalignment("left" if right else "right")
            texts[name].set_text(f"{name}: {value:.3f}")
        return _table(
            [
                ("1", f"-log({probability:.2f})", f"{values['label 1']:.4f}"),
                ("0", f"-log(1 - {probability:.2f})", f"{values['label 0']:.4f}"),
            ],
            header=("true label", "loss", "value"),
        ) + _clipping_note(probability, values)

    slider = widgets.FloatSlider(
        value=probability, min=0.0, max=1.0, step=0.01, description="predicted P(label = 1)",
        continuous_update=True, style={"description_width": "initial"}, layout=widgets.Layout(width="420px"),
    )
    return Demo(live, {"probability": slider}, update)


def _clipping_note(probability, values) -> str:
    """The readout's note at p = 0 or 1, quoting the capped loss the table shows (16.118 or 15.942)."""
    if min(probability, 1 - probability) >= 1e-7:
        return ""
    name = "label 1" if probability < 0.5 else "label 0"
    why = ("-log(1e-7)" if name == "label 1" else
           "-log(1 - p) with p clipped to 1 - 1e-7, which float32 rounds to 1 - 1.19e-7")
    return (f"<br>(clipped: probabilities are kept inside [1e-7, 1 - 1e-7], so the {name} loss stops at "
            f"{values[name]:.3f} = {why}, instead of growing without bound)")


#: The logit stops of :func:`logit_stability_explorer`: symmetric, dense where the naive formula breaks.
LOGIT_STOPS = tuple(
    sorted({0.0} | {s * v for s in (-1.0, 1.0) for v in (0.5, 1, 2, 5, 10, 15, 16, 17, 20, 30, 50, 88, 89, 100,
                                                        200, 500, 1000)})
)


def _fmt(value: float) -> str:
    if np.isnan(value):
        return "<b style='color:#b00'>nan</b>"
    if np.isinf(value):
        return "<b style='color:#b00'>inf</b>"
    return f"{value:.6g}"


def logit_stability_explorer(logit=20.0, label=1.0) -> Demo:
    """Three ways to compute binary cross-entropy from a logit, from -1000 to 1000.

    * naive: sigmoid, then ``-(z log p + (1 - z) log(1 - p))`` in float32: gives ``nan`` or ``inf`` for
      large ``|logit|`` (the bars at the bottom mark where);
    * clipped: sigmoid, then Keras' probability version: finite, but flat at 16.118 when badly wrong;
    * with logits: ``max(x, 0) - x z + log(1 + exp(-|x|))``: finite and exact everywhere.

    Both axes use the "asinh" scale (linear near 0, logarithmic further out, smooth in between) so
    -1000..1000 fits.
    Controls: ``logit`` (a selection slider over :data:`LOGIT_STOPS`), ``label`` (1 or 0; switching it
    redraws the whole figure, moving the logit only redraws the cursor).
    """
    if number_in(logit, "logit", -1000.0, 1000.0) not in LOGIT_STOPS:
        raise ValueError(f"logit must be one of the slider's stops LOGIT_STOPS {list(LOGIT_STOPS)}, got {logit!r}")
    if isinstance(label, bool) or label not in (0, 1):
        raise ValueError(f"label must be 1.0 or 0.0, got {label!r}")
    live = LiveFigure(figsize=(8.5, 3.8))
    ax = live.axes
    grid = np.concatenate([-np.geomspace(1000, 0.01, 300), [0.0], np.geomspace(0.01, 1000, 300)]).astype(np.float32)
    curves = {}
    for z in (0.0, 1.0):
        labels = np.full_like(grid, z)
        naive = naive_sigmoid_cross_entropy(labels, grid)
        curves[z] = {
            "stable": losses.sigmoid_cross_entropy_with_logits(labels, grid),
            "clipped": clipped_sigmoid_cross_entropy(labels, grid),
            "naive": np.where(np.isfinite(naive), naive, np.nan),
            "nan": np.where(np.isnan(naive), 0.03, np.nan),
            "inf": np.where(np.isinf(naive), 0.03, np.nan),
        }
    # The curves change only when the label does: they are static artists, redrawn after invalidate().
    artists = {
        "stable": ax.plot([], [], color=COLORS["stable"], lw=5, alpha=0.45, label="with logits (stable)")[0],
        "clipped": ax.plot([], [], color="dimgray", lw=1.8, ls="--", label="sigmoid, then clipped log loss")[0],
        "naive": ax.plot([], [], color=COLORS["naive"], lw=1.4, ls="-.", label="naive: sigmoid, then log")[0],
        "nan": ax.plot([], [], color=COLORS["naive"], lw=7, ls=(0, (2, 0.5)), dash_capstyle="butt",
                       label="naive gives nan", transform=ax.get_xaxis_transform())[0],
        "inf": ax.plot([], [], color=PALETTE["vermillion"], lw=7, ls=(0, (0.5, 0.5)), dash_capstyle="butt",
                       label="naive gives inf", transform=ax.get_xaxis_transform())[0],
    }
    cursor = live.animated(ax.axvline(logit, color="black", lw=1, ls=":"))
    point = live.animated(ax.plot([], [], "o", color="black", markersize=7, zorder=5)[0])
    # asinh: linear near 0, logarithmic far out, and smooth in between (symlog would put kinks at +-1)
    ax.set_xscale("asinh", linear_width=1.0)
    ax.set_yscale("asinh", linear_width=1.0)
    ticks = [-1000, -100, -10, -1, 0, 1, 10, 100, 1000]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_yticks([0, 1, 10, 100, 1000], ["0", "1", "10", "100", "1000"])
    ax.set(xlim=(-1000, 1000), ylim=(-0.1, 3000), xlabel="logit x (raw score)", ylabel="loss")
    ax.axhline(-np.log(np.float32(1e-7)), color="dimgray", lw=0.8, ls=":")
    ax.text(60, 19, "16.118 = -log(1e-7):\nthe clipping cap", fontsize=8, color="dimgray", va="bottom")
    ax.legend(loc="upper center", fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    ax.set_title(" ")  # reserves the room for the animated headline below
    headline = live.animated(ax.text(0.5, 1.02, "", transform=ax.transAxes, ha="center", va="bottom", fontsize=10))
    markers = {
        "clipped": live.animated(ax.plot([], [], "s", color="dimgray", markersize=6, zorder=5)[0]),
        "naive": live.animated(ax.plot([], [], "D", color=COLORS["naive"], markersize=5, zorder=6)[0]),
    }
    shown = {"label": None}

    def update(logit, label):
        z = float(label)
        if shown["label"] != z:
            for name, artist in artists.items():
                artist.set_data(grid, curves[z][name])
            shown["label"] = z
            live.invalidate()
        x = np.float32(logit)
        stable = float(losses.sigmoid_cross_entropy_with_logits([z], [x])[0])
        clipped = float(clipped_sigmoid_cross_entropy([z], [x])[0])
        naive = float(naive_sigmoid_cross_entropy([z], [x])[0])
        cursor.set_xdata([logit, logit])
        point.set_data([logit], [stable])
        markers["clipped"].set_data([logit], [clipped])
        markers["naive"].set_data(([logit], [naive]) if np.isfinite(naive) else ([], []))
        headline.set_text(f"naive {naive:.3g}  |  clipped {clipped:.3g}  |  with logits {stable:.3g}")
        p = float(sigmoid(x))
        return _table(
            [
                ("sigmoid(x) in float32", f"{p:.8g}"),
                ("naive  -(z log p + (1-z) log(1-p))", _fmt(naive)),
                ("clipped probability (Keras, from_logits=False)", _fmt(clipped)),
                ("with logits  max(x,0) - x z + log(1+exp(-|x|))", _fmt(stable)),
            ],
            header=(f"label {z:g}, logit {logit:g}", "value"),
        )

    slider = widgets.SelectionSlider(
        options=list(LOGIT_STOPS), value=float(logit), description="logit",
        continuous_update=True, style={"description_width": "initial"}, layout=widgets.Layout(width="460px"),
    )
    toggle = widgets.ToggleButtons(options=[("label 1", 1.0), ("label 0", 0.0)], value=float(label),
                                   description="true label", style={"button_width": "70px"})
    return Demo(live, {"logit": slider, "label": toggle}, update)

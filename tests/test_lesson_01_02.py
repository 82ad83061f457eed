"""Lessons 01 (loss as error) and 02 (cross-entropy): the sources' worked numbers, the helpers and plots
of course_utils.widgets.losses, and every explorer driven headlessly from Python."""

import json
import warnings
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.figure import Figure

from course_utils import losses
from course_utils.widgets import losses as lw

ROOT = Path(__file__).resolve().parent.parent


def r(value, digits):
    return round(float(value), digits)


# ---------------------------------------------------------------------------------------------
# Lesson 01: the sources' numbers
# ---------------------------------------------------------------------------------------------


def test_guesses_10_5_3_against_8_7_3():
    per_example = losses.mse(np.array([[8.0], [7.0], [3.0]]), np.array([[10.0], [5.0], [3.0]]))
    assert per_example.tolist() == [4.0, 4.0, 0.0]  # the losses
    assert r(np.mean(per_example), 2) == 2.67  # the cost
    assert r(losses.mse([8, 7, 3], [10, 5, 3]), 2) == 2.67


def test_temperature_and_house_prices():
    assert float(losses.mse([75.0], [70.0])) == 25.0
    price = float(losses.mse([200_000.0], [210_000.0]))
    assert price == 10_000.0**2 == 100_000_000
    assert np.sqrt(price) == 10_000.0  # RMSE is back in dollars
    assert float(losses.mse([250_000.0], [300_000.0])) == 2_500_000_000


def test_small_data_set_mse_mae_and_norms():
    actual, predicted = np.array([1.0, 2.0, 3.0]), np.array([1.1, 1.9, 3.2])
    assert r(losses.mse(actual, predicted), 4) == 0.02
    assert r(losses.mae(actual, predicted), 4) == 0.1333
    errors = actual - predicted
    assert r(np.sum(np.abs(errors)), 6) == 0.4  # L1 norm
    assert r(np.sum(errors**2), 6) == 0.06  # squared L2 norm
    assert r(np.sum(np.abs(errors)) / 3, 4) == r(losses.mae(actual, predicted), 4)


def test_plain_mean_error_cancels_but_mae_and_mse_do_not():
    actual, predicted = np.array([10.0, 10.0]), np.array([12.0, 8.0])
    assert np.mean(predicted - actual) == 0.0
    assert float(losses.mae(actual, predicted)) == 2.0
    assert float(losses.mse(actual, predicted)) == 4.0


def test_squaring_makes_big_mistakes_cost_more():
    values = lw.pointwise_losses([1.0, 2.0, 5.0, 10.0])
    assert values["squared"].tolist() == [1.0, 4.0, 25.0, 100.0]
    assert values["absolute"].tolist() == [1.0, 2.0, 5.0, 10.0]
    assert values["huber"].tolist() == [0.5, 1.5, 4.5, 9.5]


def over_penalty(y_true, y_pred):
    error = y_true - y_pred
    return tf.where(error < 0, 2.0 * tf.square(error), tf.square(error))


def under_penalty(y_true, y_pred):
    error = y_true - y_pred
    return tf.where(error > 0, 2.0 * tf.square(error), tf.square(error))


def test_tf_where_custom_losses_agree_with_asymmetric_mse():
    rng = np.random.default_rng(1)
    y_true = rng.normal(size=(50, 1)).astype("float32")
    y_pred = rng.normal(size=(50, 1)).astype("float32")
    np.testing.assert_allclose(over_penalty(y_true, y_pred).numpy()[:, 0], losses.asymmetric_mse(y_true, y_pred, 2.0),
                               rtol=1e-6)
    np.testing.assert_allclose(under_penalty(y_true, y_pred).numpy()[:, 0],
                               2 * losses.asymmetric_mse(y_true, y_pred, 0.5), rtol=1e-6)
    # the lesson's four-example check: too high costs double
    ours = losses.asymmetric_mse([[10.0]] * 4, [[12.0], [8.0], [10.5], [9.0]], over_weight=2.0)
    assert ours.tolist() == [8.0, 4.0, 0.5, 1.0]


# ---------------------------------------------------------------------------------------------
# Lesson 02: the sources' numbers
# ---------------------------------------------------------------------------------------------


def test_binary_cross_entropy_examples():
    def bce(label, p):
        return float(losses.binary_crossentropy([float(label)], [p]))

    assert r(bce(1, 0.9), 4) == 0.1054  # dog at 90%
    assert r(bce(1, 0.1), 4) == 2.3026  # dog at 10%
    assert r(bce(1, 0.8), 4) == 0.2231  # cat at 80%
    assert r(bce(1, 0.51), 4) == 0.6733  # right but hesitant
    assert bce(1, 0.51) > 6 * bce(1, 0.9)
    assert r(bce(1, 0.5), 4) == 0.6931


def test_categorical_and_sparse_examples():
    assert r(losses.categorical_crossentropy([0, 1, 0], [0.1, 0.8, 0.1]), 3) == 0.223
    assert r(losses.categorical_crossentropy([1, 0, 0], [0.7, 0.2, 0.1]), 3) == 0.357
    assert r(-np.sum(np.array([1, 0, 0]) * np.log([0.7, 0.2, 0.1])), 3) == 0.357
    probs = np.array([[0.1, 0.8, 0.1], [0.7, 0.2, 0.1]])
    sparse = losses.sparse_categorical_crossentropy(np.array([1, 0]), probs)
    np.testing.assert_allclose(sparse, losses.categorical_crossentropy(np.eye(3)[[1, 0]], probs), rtol=1e-6)
    assert [r(v, 3) for v in sparse] == [0.223, 0.357]


def test_hinge_example_and_zero_one_labels():
    assert r(losses.hinge([1, -1, 1], [0.8, -0.5, 0.3]), 4) == 0.4667
    assert r(losses.hinge([1, 0, 1], [0.8, -0.5, 0.3]), 4) == 0.4667
    assert r(keras.losses.Hinge()(np.array([1.0, 0.0, 1.0]), np.array([0.8, -0.5, 0.3])), 4) == 0.4667


def test_lesson_logit_batch_agrees_with_tensorflow_and_keras():
    labels = np.array([[1], [0], [1], [1], [0]])
    logits = np.array([[2.5], [-1.0], [0.3], [-0.8], [4.0]], dtype="float32")
    labels_float = tf.cast(labels, tf.float32)
    theirs = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels_float, logits=logits).numpy()
    ours = losses.sigmoid_cross_entropy_with_logits(labels.astype("float32"), logits)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=2.5e-7)
    keras_value = float(keras.losses.BinaryCrossentropy(from_logits=True)(labels_float, logits))
    assert r(np.mean(ours), 4) == r(tf.reduce_mean(theirs), 4) == r(keras_value, 4) == 1.2272


def test_stable_naive_and_clipped_cross_entropy():
    logits = np.array([-1000, -100, -20, -5, 0, 5, 20, 100, 1000], dtype="float32")
    ones = np.ones_like(logits)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may escape
        naive = lw.naive_sigmoid_cross_entropy(ones, logits)
        naive64 = lw.naive_sigmoid_cross_entropy(ones, logits, dtype=np.float64)
        clipped = lw.clipped_sigmoid_cross_entropy(ones, logits)
    stable = losses.sigmoid_cross_entropy_with_logits(ones, logits)
    assert np.isinf(naive[:2]).all() and np.isnan(naive[-3:]).all()
    assert np.isfinite(naive[2:6]).all()
    assert np.isinf(naive64[0]) and np.isfinite(naive64[1:6]).all() and np.isnan(naive64[-2:]).all()
    assert r(clipped[0], 3) == 16.118 and clipped.max() <= 16.12
    assert np.isfinite(stable).all() and stable[0] == 1000.0 and stable[-1] == 0.0
    np.testing.assert_allclose(stable[2:6], naive[2:6], rtol=1e-5)  # where the naive one works, they agree
    tf_values = tf.nn.sigmoid_cross_entropy_with_logits(labels=ones, logits=logits).numpy()
    np.testing.assert_allclose(stable, tf_values, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("logit, label, kind", [(16.0, 1.0, "finite"), (17.0, 1.0, "nan"), (-88.0, 1.0, "finite"),
                                                (-89.0, 1.0, "inf"), (17.0, 0.0, "inf"), (-89.0, 0.0, "nan")])
def test_naive_breakdown_points_float32(logit, label, kind):
    value = float(lw.naive_sigmoid_cross_entropy([label], [logit])[0])
    assert {"finite": np.isfinite, "nan": np.isnan, "inf": np.isinf}[kind](value)
    assert str(value) != "-0.0"


def test_keras_clips_plain_probabilities_at_16_118():
    label, x = tf.constant([[1.0]]), tf.constant([[-1000.0]])
    assert r(keras.losses.BinaryCrossentropy()(label, tf.sigmoid(x)), 3) == 16.118
    assert float(keras.losses.BinaryCrossentropy(from_logits=True)(label, x)) == 1000.0


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def test_sigmoid_never_overflows():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = lw.sigmoid(np.array([-1000.0, -20.0, 0.0, 20.0, 1000.0]))
    assert values[0] == 0.0 and values[2] == 0.5 and values[-1] == 1.0
    assert 0 < values[1] < 1e-8


def test_loss_shares_sum_to_one_and_respond_to_an_outlier():
    y = lw.OUTLIER_Y.copy()
    pred = 1.0 + 0.5 * lw.OUTLIER_X
    y[lw.OUTLIER_INDEX] = 24.0
    report = lw.loss_shares(y, pred)
    for cost, shares in report.values():
        assert r(np.sum(shares), 5) == 1.0 and cost > 0
    k = lw.OUTLIER_INDEX
    assert report["MSE"][1][k] > report["Huber"][1][k] > report["MAE"][1][k] > 0.1
    perfect = lw.loss_shares([1.0, 2.0], [1.0, 2.0])
    assert all(cost == 0 and not shares.any() for cost, shares in perfect.values())


def test_fit_line_matches_least_squares_and_brute_force():
    rng = np.random.default_rng(3)
    x = np.arange(12.0)
    y = 2.0 - 0.7 * x + rng.normal(size=12)
    y[4] += 30
    np.testing.assert_allclose(lw.fit_line(x, y, "mse"), np.polyfit(x, y, 1), rtol=1e-9)
    # MAE: no line on a fine grid around the answer does better
    slope, intercept = lw.fit_line(x, y, "mae")
    best = np.abs(y - (slope * x + intercept)).sum()
    s, b = np.meshgrid(np.linspace(slope - 1, slope + 1, 201), np.linspace(intercept - 3, intercept + 3, 201))
    grid = np.abs(y[None, None, :] - (s[..., None] * x + b[..., None])).sum(axis=-1)
    assert best <= grid.min() + 1e-9
    # Huber: the gradient of the total Huber loss vanishes at the answer
    slope, intercept = lw.fit_line(x, y, "huber", delta=1.0)
    residual = y - (slope * x + intercept)
    psi = np.clip(residual, -1.0, 1.0)
    assert abs(np.sum(psi)) < 1e-6 and abs(np.sum(psi * x)) < 1e-6
    # robustness ranking on the outlier: MSE moved most
    clean = np.polyfit(np.delete(x, 4), np.delete(y, 4), 1)[0]
    moves = {name: abs(lw.fit_line(x, y, name)[0] - clean) for name in ("mse", "mae", "huber")}
    assert moves["mse"] > 3 * max(moves["mae"], moves["huber"])
    with pytest.raises(ValueError, match="loss must be"):
        lw.fit_line(x, y, "l3")
    with pytest.raises(ValueError, match="distinct"):
        lw.fit_line([1.0, 1.0], [0.0, 2.0])


def test_best_constant_is_the_minimiser_of_the_asymmetric_loss():
    samples = np.random.default_rng(5).normal(7.0, 1.0, size=500)
    assert r(lw.best_constant(samples, 1.0), 10) == r(np.mean(samples), 10)
    candidates = np.linspace(5, 9, 4001)
    for weight in (0.3, 2.0, 7.0):
        best = lw.best_constant(samples, weight)
        totals = [float(np.mean(losses.asymmetric_mse(samples, np.full_like(samples, c), weight))) for c in
                  candidates[::40]]
        assert float(np.mean(losses.asymmetric_mse(samples, np.full_like(samples, best), weight))) <= min(totals) + 1e-6
        assert (best < np.mean(samples)) == (weight > 1)


def test_static_plots_draw_on_the_given_axes_without_new_figures():
    before = plt.get_fignums()
    ax = Figure().subplots()
    lines = lw.plot_error_losses(ax=ax, delta=1.0)
    np.testing.assert_allclose(lines["MSE"].get_ydata()[[0, -1]], [16.0, 16.0])
    assert r(lines["Huber"].get_ydata()[-1], 4) == 3.5
    squares = lw.plot_squared_errors([8, 7, 3], [10, 5, 3], ax=Figure().subplots())
    assert [sq.get_width() * sq.get_height() for sq in squares] == [4.0, 4.0]
    log_lines = lw.plot_log_loss(ax=Figure().subplots())
    assert r(np.interp(0.9, log_lines["label 1"].get_xdata(), log_lines["label 1"].get_ydata()), 3) == 0.105
    hinge_lines = lw.plot_hinge(ax=Figure().subplots(), examples=([1, -1, 1], [0.8, -0.5, 0.3]))
    assert r(np.interp(0.3, hinge_lines["label +1"].get_xdata(), hinge_lines["label +1"].get_ydata()), 3) == 0.7
    right = lw.plot_right_or_wrong(ax=Figure().subplots())
    assert set(np.unique(right["right or wrong"].get_ydata())) == {0.0, 1.0}
    fits = lw.plot_fits([0, 1, 2], [0, 1, 3], {"a": [0, 1, 2]}, ax=Figure().subplots())
    assert list(fits["a"].get_ydata()) == [0, 1, 2]
    assert plt.get_fignums() == before


# ---------------------------------------------------------------------------------------------
# Explorers, driven from Python
# ---------------------------------------------------------------------------------------------


def check_widget_basics(demo, before_figs):
    bundle, metadata = demo._repr_mimebundle_()
    assert "image/png" in bundle and bundle["image/png"]
    assert metadata["image/png"]["alt"] == demo.summary() != "", "the picture's text alternative is the summary"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert plt.get_fignums() == before_figs


def test_outlier_explorer():
    before = plt.get_fignums()
    demo = lw.outlier_explorer(outlier=14.0)
    first_png = demo.live.png
    ax_data, ax_share = demo.live.axes
    bars = [p for p in ax_share.patches]
    demo.controls["outlier"].value = 4.5  # back on the model's line
    assert [bar.get_width() for bar in bars] == [0.0, 0.0, 0.0]
    assert "0.0%" in demo.readout.value
    demo.controls["outlier"].value = 24.0
    widths = [bar.get_width() for bar in bars]
    assert widths[0] > 95 and widths[0] > widths[2] > widths[1] > 10  # MSE > Huber > MAE
    assert "true value 24" in demo.readout.value
    moved = [line for line in ax_data.lines if line.get_animated()][0]
    assert list(moved.get_ydata()) == [24.0]
    assert demo.live.png != first_png
    huber_default = widths[2]
    demo.controls["delta"].value = 5.0  # large delta: Huber behaves more like MSE
    assert bars[2].get_width() > huber_default
    demo.controls["delta"].value = 0.25  # small delta: more like MAE
    assert bars[2].get_width() < huber_default
    check_widget_basics(demo, before)


def test_robust_fit_explorer():
    before = plt.get_fignums()
    demo = lw.robust_fit_explorer(outlier=4.7)
    first_png = demo.live.png
    lines = {line.get_label(): line for line in demo.live.axes.lines}
    mse_line, mae_line = lines["best line for MSE"], lines["best line for MAE"]

    def slope(line):
        x, y = line.get_xdata(), line.get_ydata()
        return (y[1] - y[0]) / (x[1] - x[0])

    calm = {name: slope(line) for name, line in (("mse", mse_line), ("mae", mae_line))}
    demo.controls["outlier"].value = 24.0
    assert slope(mse_line) - calm["mse"] > 0.5  # the MSE line swings toward the outlier
    assert abs(slope(mae_line) - calm["mae"]) < 0.15  # the MAE line barely moves
    assert f"{slope(mse_line):.3f}" in demo.readout.value
    assert demo.live.png != first_png
    check_widget_basics(demo, before)


def test_asymmetric_loss_explorer():
    before = plt.get_fignums()
    demo = lw.asymmetric_loss_explorer(over_weight=1.0)
    first_png = demo.live.png
    ax_loss, ax_best = demo.live.axes
    curve = [line for line in ax_loss.lines if line.get_animated()][0]
    best_line = [line for line in ax_best.lines if line.get_animated()][0]
    mean = float(np.mean(lw.BLOOD_SUGAR))
    assert abs(best_line.get_xdata()[0] - mean) < 1e-9
    assert "same" in demo.readout.value

    demo.controls["over_weight"].value = 2.0
    x, y = curve.get_xdata(), curve.get_ydata()
    assert r(np.interp(2.0, x, y), 4) == 8.0  # over-prediction by 2 costs 2 * 4
    assert r(np.interp(-2.0, x, y), 4) == 4.0
    assert best_line.get_xdata()[0] < mean - 0.1
    assert "down" in demo.readout.value
    assert demo.live.png != first_png

    demo.controls["over_weight"].value = 0.5  # blood sugar: under-prediction is the costly side
    assert best_line.get_xdata()[0] > mean + 0.1
    assert "up" in demo.readout.value and "blood-sugar" in demo.readout.value
    check_widget_basics(demo, before)


def test_binary_ce_explorer():
    before = plt.get_fignums()
    demo = lw.binary_ce_explorer(probability=0.5)
    first_png = demo.live.png
    ax = demo.live.axes
    markers = [line for line in ax.lines if line.get_animated() and line.get_marker() in ("o", "^")]
    assert len(markers) == 2
    assert all(r(m.get_ydata()[0], 4) == 0.6931 for m in markers)

    demo.controls["probability"].value = 0.9
    ys = sorted(r(m.get_ydata()[0], 3) for m in markers)
    assert ys == [0.105, 2.303]
    assert "0.1054" in demo.readout.value and "2.3026" in demo.readout.value
    texts = [t.get_text() for t in ax.texts if t.get_animated()]
    assert "label 1: 0.105" in texts and "label 0: 2.303" in texts
    assert demo.live.png != first_png

    demo.controls["probability"].value = 0.0  # clipped: 16.118, drawn as an arrow at the top
    assert "16.118" in demo.readout.value and "label 1 loss stops at 16.118" in demo.readout.value
    assert "^" in [m.get_marker() for m in markers]
    assert max(m.get_ydata()[0] for m in markers) < ax.get_ylim()[1]
    demo.controls["probability"].value = 1.0  # the label-0 side: the note quotes the number the table shows
    assert "15.9424" in demo.readout.value and "label 0 loss stops at 15.942" in demo.readout.value
    assert "16.118" not in demo.readout.value
    demo.controls["probability"].value = 0.5
    assert "stops at" not in demo.readout.value
    check_widget_basics(demo, before)


def test_logit_stability_explorer():
    before = plt.get_fignums()
    demo = lw.logit_stability_explorer(logit=0.0, label=1.0)
    first_png = demo.live.png
    assert "0.693147" in demo.readout.value
    draws = demo.live.full_draws

    demo.controls["logit"].value = -1000.0
    assert "inf" in demo.readout.value and "16.1181" in demo.readout.value and ">1000<" in demo.readout.value
    demo.controls["logit"].value = 20.0
    assert "nan" in demo.readout.value and "inf" not in demo.readout.value
    assert demo.live.full_draws == draws  # moving the logit only blits
    assert demo.live.png != first_png

    stable = [line for line in demo.live.axes.lines if line.get_label() == "with logits (stable)"][0]
    assert r(stable.get_ydata()[-1], 3) == 0.0  # label 1, logit 1000
    demo.controls["label"].value = 0.0
    assert r(stable.get_ydata()[-1], 3) == 1000.0  # label 0, logit 1000
    assert demo.live.full_draws == draws + 1  # the label switch redraws everything once
    assert "label 0, logit 20" in demo.readout.value and "inf" in demo.readout.value
    assert set(lw.LOGIT_STOPS) >= {-1000.0, -89.0, -88.0, 0.0, 16.0, 17.0, 1000.0}
    assert sorted(lw.LOGIT_STOPS) == sorted(-v for v in lw.LOGIT_STOPS)  # symmetric
    check_widget_basics(demo, before)


def test_no_runtime_warning_from_any_explorer():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        demo = lw.logit_stability_explorer()
        for value in lw.LOGIT_STOPS:
            demo.controls["logit"].value = value
        demo.controls["label"].value = 0.0
        ce = lw.binary_ce_explorer()
        for p in (0.0, 0.01, 0.5, 0.99, 1.0):
            ce.controls["probability"].value = p


# ---------------------------------------------------------------------------------------------
# The notebooks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, links",
    [
        ("01_loss_as_error", ["../exercises/01_loss_as_error.ipynb", "02_cross_entropy.ipynb"]),
        ("02_cross_entropy", ["../exercises/02_cross_entropy.ipynb", "01_loss_as_error.ipynb",
                              "03_gradient_descent.ipynb"]),
    ],
)
def test_notebook_links_and_first_import(name, links):
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for link in links:
        assert f"]({link})" in text, link
    first_code = "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])
    assert first_code.lstrip().startswith("import course_utils")

"""Lessons 05 (learning rates and schedules) and 06 (the full training loop): the sources' numbers, the
training helpers against model.fit, and every widget driven headlessly."""

import html
import json
import re
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils import schedules, training
from course_utils.data import load_digits, steps_per_epoch
from course_utils.keras_tools import make_deterministic
from course_utils.training import History, keras
from course_utils.widgets import schedules as schedule_widgets
from course_utils.widgets import training as training_widgets

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LESSON_05 = NOTEBOOKS / "05_learning_rate_schedules.ipynb"
LESSON_06 = NOTEBOOKS / "06_training_loop.ipynb"
KS = keras.optimizers.schedules


def fake_run(step_loss, epochs, val_loss=None, val_accuracy=None, batch_size=32, seconds=0.1):
    """A History without training: per-epoch losses are the means of the step losses."""
    step_loss = np.asarray(step_loss, dtype=float)
    per_epoch = len(step_loss) // epochs
    loss = step_loss.reshape(epochs, per_epoch).mean(axis=1)
    val_loss = np.full(epochs, np.nan) if val_loss is None else np.asarray(val_loss, dtype=float)
    val_accuracy = np.full(epochs, 0.5) if val_accuracy is None else np.asarray(val_accuracy, dtype=float)
    rates = np.full(len(step_loss), 1e-3, dtype=np.float32)
    return History(loss, val_loss, val_accuracy, step_loss, rates, batch_size, seconds)


def falling(start=2.3, end=0.1, n=30):
    return np.geomspace(start, end, n)


@pytest.fixture
def no_figure_leak():
    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before


def png_changes(demo, change):
    """Apply ``change()`` and report whether the widget's picture changed."""
    before = demo.live.png
    change()
    return demo.live.png != before


def has_static_fallback(demo):
    bundle, metadata = demo._repr_mimebundle_()
    return "image/png" in bundle and metadata["image/png"]["alt"] == demo.summary() != ""


# ---------------------------------------------------------------- lesson 05: the sources' schedules


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_multiplies_by_0_9_every_1000_steps(staircase):
    ours = schedules.exponential_decay(0.1, decay_steps=1000, decay_rate=0.9, staircase=staircase)
    theirs = KS.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.9, staircase=staircase)
    for step, expected in [(0, 0.1), (1000, 0.09), (2000, 0.081)]:
        assert round(float(ours(step)), 5) == expected
        assert float(ours(step)) == pytest.approx(float(theirs(step)), rel=1e-6)
    # between the thousands only the smooth version has moved
    assert float(ours(500)) == pytest.approx(0.1 if staircase else 0.1 * 0.9**0.5, rel=1e-6)


def test_a_keras_optimizer_reads_the_schedule_at_its_iteration_count():
    optimizer = keras.optimizers.Adam(learning_rate=KS.ExponentialDecay(0.1, 1000, 0.9))
    optimizer.iterations.assign(2000)
    assert float(optimizer.learning_rate) == pytest.approx(0.081, rel=1e-6)


def test_piecewise_constant_switches_after_the_boundary():
    ours = schedules.piecewise_constant([1000, 2000, 3000], [0.1, 0.01, 0.001, 0.0001])
    theirs = KS.PiecewiseConstantDecay([1000, 2000, 3000], [0.1, 0.01, 0.001, 0.0001])
    expected = {0: 0.1, 999: 0.1, 1000: 0.1, 1001: 0.01, 2000: 0.01, 2001: 0.001, 3000: 0.001, 3001: 0.0001}
    for step, value in expected.items():
        assert float(ours(step)) == pytest.approx(value) == pytest.approx(float(theirs(step)))


def test_cosine_decay_sources_numbers_and_alpha_is_a_fraction():
    lr = schedules.cosine_decay(0.1, decay_steps=10000)
    assert [round(float(v), 4) for v in lr([0, 2500, 5000, 7500, 10000, 12000])] == [
        0.1, 0.0854, 0.05, 0.0146, 0.0, 0.0]
    floored = schedules.cosine_decay(0.1, decay_steps=10000, alpha=0.1)
    assert float(floored(10000)) == pytest.approx(0.01) == pytest.approx(float(KS.CosineDecay(0.1, 10000, 0.1)(10000)))


def notebook_code(path, marker):
    cells = json.loads(path.read_text())["cells"]
    return next("".join(c["source"]) for c in cells if c["cell_type"] == "code" and marker in "".join(c["source"]))


def test_the_lessons_warmup_schedule_subclass_equals_linear_warmup_and_round_trips():
    namespace = {"keras": keras}
    source = notebook_code(LESSON_05, "class WarmupSchedule")
    exec(source.split("\n\nwarmup = ")[0], namespace)  # only the class, as written in the lesson
    warmup_class = namespace["WarmupSchedule"]
    warmup = warmup_class(warmup_steps=1000, target_lr=0.1)
    assert isinstance(warmup, keras.optimizers.schedules.LearningRateSchedule)
    steps = [0, 1, 250, 500, 999, 1000, 1001, 5000]
    ours = schedules.linear_warmup(0.1, warmup_steps=1000)(steps)
    np.testing.assert_allclose([float(warmup(s)) for s in steps], ours, rtol=1e-6)
    copy = warmup_class.from_config(warmup.get_config())
    assert float(copy(500)) == pytest.approx(0.05)
    # it drives a real optimizer, which passes its integer iteration counter
    optimizer = keras.optimizers.Adam(learning_rate=warmup)
    optimizer.iterations.assign(250)
    assert float(optimizer.learning_rate) == pytest.approx(0.025)


def test_warmup_then_cosine_joined_equals_keras_cosine_decay_with_warmup():
    joined = schedules.join_schedules([schedules.linear_warmup(0.1, 1000), schedules.cosine_decay(0.1, 9000)], [1000])
    keras_version = KS.CosineDecay(0.0, decay_steps=9000, warmup_target=0.1, warmup_steps=1000)
    for step in [0, 500, 999, 1000, 1001, 5500, 10000, 12000]:
        assert float(joined(step)) == pytest.approx(float(keras_version(step)), rel=1e-6, abs=1e-9)
    assert float(joined(5500)) == pytest.approx(0.05)


def test_glorot_limit_of_the_first_layer_is_about_the_size_of_a_0_1_step():
    assert round(np.sqrt(6 / (64 + 512)), 3) == 0.102


def test_lesson_05_explains_every_training_name_before_its_code_uses_it():
    """05 comes before lesson 06's training loop: whatever it uses from it is introduced in its text first."""
    cells = json.loads(LESSON_05.read_text())["cells"]
    sources = [("".join(c["source"]), c["cell_type"]) for c in cells]

    def first(name, kind):
        return next((i for i, (text, t) in enumerate(sources) if t == kind and name in text), None)

    for name in ("training.Trainer", "digits_model", "trainer.run", "History", "run.loss", "step_loss",
                 "val_accuracy", "initial_weights", "training.diagnose"):
        used, told = first(name.removeprefix("run"), "code"), first(name.split(".")[-1], "markdown")
        assert used is not None, f"{name} is not used: update this list"
        assert told is not None and told < used, f"lesson 05 uses {name} in cell {used} before its text explains it"
    assert "**validation set**" in sources[first("training.Trainer", "code") - 1][0]


def test_lesson_05_quotes_lesson_03s_noise_ball():
    from course_utils import noise
    from course_utils.widgets import noise as noise_widgets

    text = " ".join("".join(c["source"]) for c in json.loads(LESSON_05.read_text())["cells"]).replace("\n", " ")
    assert "Lesson 03, section 7" in text and "hopping about 0.17 from the minimum" in text and "25 times closer" in text
    problem = noise.line_fit()
    constant, decay = (noise.noise_ball(problem, run) for run in noise_widgets.compare_runs(problem, 0.1, 8))
    assert f"{constant:.2f}" == "0.17" and round(constant / decay) == 25


@pytest.mark.parametrize("kind", schedule_widgets.RUN_KINDS)
def test_run_schedules_span_the_run_and_match_keras(kind):
    total, per_epoch = 225, 45
    lr = np.asarray(schedule_widgets.run_schedule(kind, 0.1, total, per_epoch)(np.arange(total)))
    assert lr.max() == pytest.approx(0.1)
    if kind == "constant":
        assert np.all(lr == lr[0])
    elif kind == "warmup_cosine":
        assert lr[0] == 0 and lr[per_epoch] == pytest.approx(0.1) and lr[-1] < 1e-3
    else:
        assert lr[0] == pytest.approx(0.1) and lr[-1] < 0.01
    if kind == "cosine":
        keras_rates = training.learning_rates(KS.CosineDecay(0.1, total), total)
        np.testing.assert_allclose(keras_rates, lr, rtol=1e-6, atol=1e-9)


def test_make_schedule_gives_the_keras_code_for_each_kind():
    expected = {
        "exponential": "ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.9)",
        "staircase": "ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.9, staircase=True)",
        "cosine": "CosineDecay(0.1, decay_steps=1000, alpha=0)",
        "warmup_cosine": "CosineDecay(0.0, decay_steps=1000, alpha=0, warmup_target=0.1, warmup_steps=1000)",
    }
    for kind, code in expected.items():
        assert schedule_widgets.make_schedule(kind, 0.1, 1000, 0.9)[1] == code
    with pytest.raises(ValueError, match="kind must be one of"):
        schedule_widgets.make_schedule("linear", 0.1)


# ---------------------------------------------------------------- lesson 06: numbers from the sources


def test_epochs_and_batches_counts():
    assert steps_per_epoch(100, 10) == 10 and 3 * steps_per_epoch(100, 10) == 30
    assert [steps_per_epoch(1437, b) for b in (16, 32, 64, 128)] == [90, 45, 23, 12]


def test_digits_model_has_33280_plus_5130_parameters():
    model = training.digits_model()
    hidden, output = 64 * 512 + 512, 512 * 10 + 10
    assert (hidden, output) == (33_280, 5_130)
    assert [layer.count_params() for layer in model.layers] == [hidden, output]
    assert model.count_params() == 38_410
    assert training.digits_model(hidden=128).count_params() == 64 * 128 + 128 + 128 * 10 + 10 == 9_610
    regularised = training.digits_model(dropout=0.5, l2=1e-3)
    assert [layer.name for layer in regularised.layers] == ["hidden", "dropout", "output"]


def test_recipe_schedule_after_135_updates():
    lr = KS.ExponentialDecay(initial_learning_rate=0.01, decay_steps=1000, decay_rate=0.9)
    assert round(float(lr(135)), 5) == 0.00986
    assert float(schedules.exponential_decay(0.01, 1000, 0.9)(135)) == pytest.approx(float(lr(135)), rel=1e-6)


def test_chance_level_is_ln_10():
    assert round(training.CHANCE_LOSS, 3) == 2.303
    uniform = np.full((4, 10), 0.1, dtype=np.float32)
    assert float(keras.losses.sparse_categorical_crossentropy(np.arange(4), uniform)[0]) == pytest.approx(
        training.CHANCE_LOSS, rel=1e-6)


# ---------------------------------------------------------------- the training helpers


@pytest.fixture(scope="module")
def small_digits():
    split = load_digits()
    return split.x_train[:128], split.y_train[:128], (split.x_val[:64], split.y_val[:64])


def test_trainer_and_a_hand_loop_reproduce_model_fit(small_digits):
    x, y, validation = small_digits
    make_deterministic(0)
    model = training.digits_model(hidden=16)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    start = model.get_weights()
    fit = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, validation_data=validation, verbose=0).history

    copy = training.digits_model(hidden=16)
    copy.set_weights(start)
    trainer = training.Trainer(copy)
    run = trainer.run(x, y, epochs=3, batch_size=32, learning_rate=0.01, validation=validation)
    np.testing.assert_allclose(run.loss, fit["loss"], rtol=1e-5)
    np.testing.assert_allclose(run.val_loss, fit["val_loss"], rtol=1e-5)

    # make_train_step called from Python, batch by batch, gives the same per-batch losses
    hand = training.digits_model(hidden=16)
    hand.set_weights(start)
    step = training.make_train_step(hand, keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy())
    from course_utils.data import batches

    losses = [float(step(xb, yb, np.float32(0.01))) for xb, yb in batches(x, y, 32, shuffle=False)]
    np.testing.assert_allclose(losses, run.step_loss[:4], rtol=1e-5)


def test_trainer_restarts_from_the_same_weights_and_follows_the_schedule(small_digits):
    x, y, validation = small_digits
    make_deterministic(0)
    trainer = training.Trainer(training.digits_model(hidden=8))
    untrained = trainer.evaluate(x, y)
    first = trainer.run(x, y, epochs=2, batch_size=32, learning_rate=0.01)
    assert trainer.evaluate(x, y)[0] < untrained[0]
    trainer.reset()
    assert trainer.evaluate(x, y) == untrained
    again = trainer.run(x, y, epochs=2, batch_size=32, learning_rate=0.01)
    np.testing.assert_array_equal(first.step_loss, again.step_loss)
    assert first.updates_per_epoch == 4 and first.batch_size == 32
    schedule = schedules.exponential_decay(0.01, 4, 0.5, staircase=True)
    decayed = trainer.run(x, y, epochs=2, batch_size=32, learning_rate=schedule, shuffle=True)
    np.testing.assert_allclose(decayed.learning_rate, [0.01] * 4 + [0.005] * 4, rtol=1e-6)
    assert not np.allclose(decayed.step_loss, first.step_loss)


def test_trainer_gives_the_same_run_with_or_without_a_per_epoch_callback(small_digits):
    """A whole run in one TensorFlow call and one call per epoch (for a callback) train identically."""
    x, y, validation = small_digits
    make_deterministic(0)
    trainer = training.Trainer(training.digits_model(hidden=8))
    whole = trainer.run(x, y, epochs=3, batch_size=32, learning_rate=0.01, validation=validation, shuffle=True)
    seen = []
    stepped = trainer.run(x, y, epochs=3, batch_size=32, learning_rate=0.01, validation=validation, shuffle=True,
                          on_epoch_end=lambda epoch, logs: seen.append((epoch, logs)))
    for field in ["loss", "val_loss", "val_accuracy", "step_loss"]:
        np.testing.assert_array_equal(getattr(whole, field), getattr(stepped, field))
    assert [epoch for epoch, _ in seen] == [0, 1, 2]
    assert seen[-1][1] == {"loss": whole.loss[-1], "val_loss": whole.val_loss[-1],
                           "val_accuracy": whole.val_accuracy[-1]}


def test_trainer_shuffles_like_the_batches_helper(small_digits):
    """shuffle=True feeds epoch e the batches of course_utils.data.batches(..., seed=e)."""
    from course_utils.data import batches

    x, y, _ = small_digits
    make_deterministic(0)
    trainer = training.Trainer(training.digits_model(hidden=8))
    run = trainer.run(x, y, epochs=1, batch_size=32, learning_rate=0.01, shuffle=True)
    trainer.reset()
    by_hand = [float(trainer.train_step(xb, yb, np.float32(0.01))) for xb, yb in batches(x, y, 32, seed=0)]
    np.testing.assert_allclose(run.step_loss, by_hand, rtol=1e-6)


def test_time_epochs_repeats_every_batch_size(small_digits):
    x, y, _ = small_digits
    trainer = training.Trainer(training.digits_model(hidden=8))
    seconds = training.time_epochs(trainer, x, y, [16, 64], repeats=3)
    assert list(seconds) == [16, 64] and all(s.shape == (3,) and np.all(s > 0) for s in seconds.values())


def test_dead_units_counts_units_silent_on_every_example():
    layer = keras.layers.Dense(4, activation="relu")
    layer.build((None, 2))
    layer.set_weights([np.array([[1.0, -1.0, 0.0, 1.0], [0.0, -1.0, 0.0, -1.0]]), np.zeros(4)])
    x = np.array([[1.0, 0.0], [0.0, 1.0]])  # unit 4 fires for the first example only
    assert training.dead_units(layer, x) == 0.5  # units 2 and 3 never fire


def test_a_spike_kills_relu_units_and_wrong_labels_do_not(small_digits):
    """Lesson 06's two ways of being stuck at ln 10, on a small copy of its runs."""
    x, y, _ = small_digits
    make_deterministic(0)
    trainer = training.Trainer(training.digits_model(hidden=64))
    hidden = trainer.model.get_layer("hidden")
    shifted = trainer.run(x, np.roll(y, 1), epochs=3, batch_size=32)
    shifted_dead = training.dead_units(hidden, x)
    exploded = trainer.run(x, y, epochs=3, batch_size=32, learning_rate=1.0)
    exploded_dead = training.dead_units(hidden, x)
    assert shifted.step_loss.max() < 3 and exploded.step_loss.max() > 100
    assert shifted_dead < 0.3 < 0.8 < exploded_dead


def test_batch_of_each_example_follows_the_shuffles_of_the_batches_helper():
    from course_utils.data import batches

    which = training_widgets.batch_of_each_example(100, 10, epochs=3)
    cards = np.arange(100)
    for epoch in range(3):
        for k, (_, members) in enumerate(batches(cards, cards, batch_size=10, seed=epoch)):
            assert np.all(which[epoch, members] == k)
    assert not np.array_equal(which[0], which[1])  # reshuffled: the rows differ
    fig, ax = plt.subplots()
    image = training_widgets.plot_batch_assignment(which, ax=ax)
    assert image.get_array().shape == (3, 100)
    plt.close(fig)


def test_trainer_refuses_an_optimizer_that_carries_its_own_schedule():
    optimizer = keras.optimizers.Adam(KS.ExponentialDecay(0.1, 1000, 0.9))
    with pytest.raises(TypeError, match="pass the schedule to run"):
        training.Trainer(training.digits_model(hidden=4), optimizer=optimizer)


def test_trainer_stops_at_nan_and_diagnose_says_where(small_digits):
    x, y, _ = small_digits
    trainer = training.Trainer(training.digits_model(hidden=8))
    broken = x.copy()
    broken[40, 3] = np.nan  # image 40 is in the second batch of 32
    run = trainer.run(broken, y, epochs=3, batch_size=32)
    assert np.isnan(run.loss[0]) and np.isnan(run.loss[1:]).all()
    assert training.diagnose(run) == "failed: the loss became NaN at update 2, and training stopped"


def test_diagnose_verdicts():
    assert training.diagnose(fake_run(falling(2.3, 0.05), 3)).startswith("learning well")
    assert training.diagnose(fake_run(falling(2.3, 2.2), 3)).startswith("too slow")
    assert training.diagnose(fake_run(falling(2.3, 1.0), 3)).startswith("slow")
    spiky = np.r_[2.3, 500.0, np.full(28, 2.3)]
    assert "stuck near chance level" in training.diagnose(fake_run(spiky, 3))
    recovered = np.r_[2.3, 50.0, falling(2.0, 0.05, 28)]
    assert "recovered" in training.diagnose(fake_run(recovered, 3))
    overfit = fake_run(falling(2.3, 0.001, 40), 10, val_loss=[2, 1, 0.5, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75])
    assert training.diagnose(overfit).startswith("overfitting") and "(epoch 4)" in training.diagnose(overfit)


def test_curve_callback_collects_and_reports():
    seen, ended = [], []
    callback = training.CurveCallback(lambda h: seen.append(dict(h)), on_end=lambda: ended.append(True))
    callback.on_train_begin()
    callback.on_epoch_end(0, {"loss": 2.0, "accuracy": 0.5})
    callback.on_epoch_end(1, {"loss": 1.0, "accuracy": 0.8})
    callback.on_train_end()
    assert seen[-1] == {"loss": [2.0, 1.0], "accuracy": [0.5, 0.8]} and ended == [True]


def test_learning_rates_from_numbers_and_schedules():
    np.testing.assert_allclose(training.learning_rates(0.01, 3), [0.01] * 3)
    keras_rates = training.learning_rates(KS.PiecewiseConstantDecay([1], [0.1, 0.01]), 3)
    np.testing.assert_allclose(keras_rates, [0.1, 0.1, 0.01], rtol=1e-6)


# ---------------------------------------------------------------- lesson 05 widgets


def test_schedule_explorer_follows_its_controls(no_figure_leak):
    demo = schedule_widgets.schedule_explorer()
    assert has_static_fallback(demo)
    assert png_changes(demo, lambda: setattr(demo.controls["schedule"], "value", "piecewise"))
    demo.controls["decay_rate"].value = 0.1
    demo.controls["learning_rate"].value = 0.1
    steps, relative = demo.artists["relative"].get_data()
    assert relative[list(steps).index(1000)] == pytest.approx(1.0)  # still the first value at the boundary
    assert relative[list(steps).index(1005)] == pytest.approx(0.1)
    assert "PiecewiseConstantDecay(boundaries=[1000, 2000, 3000], values=[0.1, 0.01, 0.001, 0.0001])" in (
        demo.readout.value)
    assert demo.controls["alpha"].disabled and not demo.controls["decay_rate"].disabled
    demo.controls["schedule"].value = "cosine"
    assert demo.controls["alpha"].disabled is False and demo.controls["decay_rate"].disabled
    demo.controls["decay_steps"].value = 10000
    assert "<td style='padding:0 8px'>0.05</td>" in demo.readout.value  # step 5000: half the rate
    assert demo.artists["label"].get_text() == "cosine decay"
    demo.controls["schedule"].value = "exponential"
    demo.controls["decay_steps"].value = 1000
    demo.controls["decay_rate"].value = 0.9
    assert "0.081" in demo.readout.value and "ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.9)" in (
        demo.readout.value)
    _, absolute = demo.artists["dots"].get_data()
    np.testing.assert_allclose(absolute[:3], [0.1, 0.09, 0.081], rtol=1e-5)


def slider_settings(control):
    """Every value a slider can take (a log slider's exponents run over its range in its steps)."""
    if isinstance(control, widgets.IntSlider):
        return list(range(control.min, control.max + 1, control.step))
    values = np.arange(control.min, control.max + control.step / 2, control.step)
    if isinstance(control, widgets.FloatLogSlider):
        return [float(control.base ** v) for v in values]
    return [v.item() for v in values]


def test_schedule_explorer_code_is_valid_python_for_every_setting(no_figure_leak):
    demo = schedule_widgets.schedule_explorer()
    defaults = {name: value for name, value in demo.values().items() if name != "schedule"}
    checked = 0
    for kind in schedule_widgets.USES:
        for name in defaults:  # every setting of every slider, the others at their defaults
            for value in slider_settings(demo.controls[name]):
                _, code = schedule_widgets.make_schedule(kind, **{**defaults, name: value})
                line = schedule_widgets.readout_code(code)
                compile(line, f"<{kind} {name}={value}>", "exec")
                if line.startswith("keras."):  # Keras accepts the arguments, too
                    assert isinstance(eval(line, {"keras": keras}), KS.LearningRateSchedule)
                checked += 1
    assert checked == 7 * (41 + 100 + 95 + 21 + 51)
    # the explorer shows exactly that line, also for the settings that used to print broken code
    for kind, rate, warmup in [("constant", 0.1, 1000), ("constant", 1.0, 1000), ("warmup", 1.0, 0),
                               ("exponential", 1.0, 1000), ("warmup_cosine", 0.1, 0)]:
        demo.controls["schedule"].value = kind
        demo.controls["learning_rate"].value = rate
        demo.controls["warmup_steps"].value = warmup
        shown = html.unescape(re.search(r"<code>(.*?)</code>", demo.readout.value).group(1))
        compile(shown, "<readout>", "exec")
        settings = {name: value for name, value in demo.values().items() if name != "schedule"}
        assert shown == schedule_widgets.readout_code(schedule_widgets.make_schedule(kind, **settings)[1])
    assert "learning_rate = 0.1  # a plain number is a constant rate" in schedule_widgets.readout_code(
        schedule_widgets.make_schedule("constant", 0.1)[1])


def test_lr_run_explorer_shows_the_chosen_run(no_figure_leak):
    runs = {
        1.0: fake_run(np.r_[2.3, 900.0, np.full(13, 2.3)], 3, val_accuracy=[0.1, 0.1, 0.1]),
        1e-3: fake_run(falling(2.3, 0.1, 15), 3, val_accuracy=[0.8, 0.9, 0.95]),
        1e-5: fake_run(falling(2.3, 2.25, 15), 3, val_accuracy=[0.1, 0.12, 0.15]),
    }
    demo = schedule_widgets.lr_run_explorer(runs)
    assert has_static_fallback(demo)
    assert demo.controls["learning_rate"].value == 1e-3 and "learning well" in demo.readout.value
    assert png_changes(demo, lambda: setattr(demo.controls["learning_rate"], "value", 1.0))
    assert "unstable" in demo.readout.value and "stuck near chance level" in demo.readout.value
    np.testing.assert_allclose(demo.artists["loss"].get_ydata(), runs[1.0].step_loss)
    demo.controls["learning_rate"].value = 1e-5
    assert "too slow" in demo.readout.value and demo.artists["label"].get_text() == "lr = 1e-05"
    np.testing.assert_allclose(demo.artists["accuracy"].get_ydata(), [0.1, 0.12, 0.15])


def test_schedule_training_lab_trains_only_on_the_button(small_digits, no_figure_leak):
    x, y, validation = small_digits
    trainer = training.Trainer(training.digits_model(hidden=8))
    demo = schedule_widgets.schedule_training_lab(trainer, x, y, validation, epochs=2)
    assert has_static_fallback(demo)
    assert "Press <b>Train</b>" in demo.readout.value and demo.artists["note"].get_text() == "press Train"
    demo.controls["schedule"].value = "piecewise"
    demo.controls["peak"].value = 0.01
    assert demo.cache == {}  # moving controls never trains
    assert len(demo.artists["run"].get_xdata()) == 0
    _, shape = demo.artists["schedule"].get_data()
    assert shape[0] == pytest.approx(1.0) and shape[-1] == pytest.approx(0.01)
    assert png_changes(demo, demo.train_button.click)
    assert set(demo.cache) == {("constant", 0.01), ("piecewise", 0.01)}
    assert len(demo.artists["run"].get_xdata()) == 8 and len(demo.artists["constant"].get_xdata()) == 8
    assert "final training loss" in demo.readout.value and "constant rate" in demo.readout.value
    assert demo.train_button.description == "Train" and not demo.train_button.disabled


def test_precomputed_runs_show_without_training(no_figure_leak):
    runs = {(kind, 0.1): fake_run(falling(2.3, 0.1 if kind == "constant" else 0.05, 10), 2) for kind in
            schedule_widgets.RUN_KINDS}
    demo = schedule_widgets.schedule_training_lab(None, np.zeros((160, 64)), np.zeros(160), runs=runs, epochs=2)
    constant = runs[("constant", 0.1)].loss[-1]
    assert f"final training loss {runs[('cosine', 0.1)].loss[-1]:.3f}" in demo.readout.value
    assert f"(constant rate: {constant:.3f})" in demo.readout.value


# ---------------------------------------------------------------- lesson 06 widgets


def test_batch_picture_colours_batches_and_the_short_last_batch():
    picture = training_widgets.batch_picture(10, 4, epochs=2, max_epochs=3)
    assert picture.shape == (3, 10, 4)
    assert np.array_equal(picture[0, 0], picture[0, 3]) and not np.array_equal(picture[0, 3], picture[0, 4])
    assert np.array_equal(picture[1], picture[0]) and not picture[2].any()
    assert picture[0, 9, 0] > picture[0, 9, 2]  # the last batch (2 examples) is orange


def test_epochs_batches_explorer_counts_updates(no_figure_leak):
    demo = training_widgets.epochs_batches_explorer(step_seconds={8: 0.002, 32: 0.004, 512: 0.02})
    assert has_static_fallback(demo)
    assert "10 steps per epoch" in demo.readout.value and "30 updates" in demo.readout.value
    assert "all batches full" in demo.readout.value
    assert png_changes(demo, lambda: setattr(demo.controls["batch_size"], "value", 32))
    assert "4 steps per epoch" in demo.readout.value and "the last batch holds only 4" in demo.readout.value
    assert "12 updates" in demo.readout.value and "4.00 ms" in demo.readout.value
    assert demo.artists["image"].get_array().shape[:2] == (8, 100)
    demo.controls["num_examples"].value = 1440
    demo.controls["epochs"].value = 5
    assert "45 steps per epoch" in demo.readout.value and "225 updates" in demo.readout.value
    assert demo.artists["label"].get_text() == "1440 examples / batch 32 = 45 steps per epoch"


def test_live_training_curve_updates_in_place(no_figure_leak):
    curve = training_widgets.live_training_curve(epochs=4)
    assert has_static_fallback(curve)
    draws = curve.live.full_draws
    assert png_changes(curve, lambda: curve.callback.on_epoch_end(0, {"loss": 1.5, "val_loss": 1.2,
                                                                      "accuracy": 0.6, "val_accuracy": 0.7}))
    curve.callback.on_epoch_end(1, {"loss": 0.5, "val_loss": 0.6, "accuracy": 0.9, "val_accuracy": 0.85})
    assert curve.lines["loss"].get_ydata().tolist() == [1.5, 0.5]
    assert curve.lines["val_accuracy"].get_xdata().tolist() == [1, 2]
    assert "after epoch 2 of 4" in curve.readout.value and curve.status.get_text() == "epoch 2/4: loss 0.500"
    assert curve.live.full_draws == draws  # only the lines were redrawn, never the whole figure
    curve.add(0, {"loss": 0.9})  # a hand loop's first epoch starts a new curve
    assert curve.lines["loss"].get_ydata().tolist() == [0.9]
    curve.callback.on_train_end()  # not shown: nothing to update, no error


def test_live_curve_follows_a_real_fit(small_digits):
    x, y, _ = small_digits
    model = training.digits_model(hidden=8)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    curve = training_widgets.live_training_curve(epochs=2)
    history = model.fit(x, y, epochs=2, batch_size=64, verbose=0, callbacks=[curve.callback])
    np.testing.assert_allclose(curve.lines["loss"].get_ydata(), history.history["loss"], rtol=1e-6)


def test_batch_size_explorer_shows_the_chosen_size(no_figure_leak):
    runs = {size: fake_run(falling(2.3, 0.1 * size / 8, 3 * (64 // size)), 3, batch_size=size) for size in (8, 32)}
    demo = training_widgets.batch_size_explorer(runs)
    assert has_static_fallback(demo)
    assert demo.controls["batch_size"].value == 32 and "2 updates per epoch" in demo.readout.value
    assert png_changes(demo, lambda: setattr(demo.controls["batch_size"], "value", 8))
    assert "8 updates per epoch" in demo.readout.value and "24 in 3" in demo.readout.value
    assert len(demo.artists["updates"].get_xdata()) == 24
    np.testing.assert_allclose(demo.artists["epochs"].get_ydata(), runs[8].loss)
    assert "one run (it varies)" in demo.readout.value
    timed = training_widgets.batch_size_explorer(runs, epoch_seconds={8: [0.02, 0.01, 0.03], 32: [0.01] * 3})
    assert "median 10.0 ms over 3 repeats" in timed.readout.value
    timed.controls["batch_size"].value = 8
    assert "median 20.0 ms over 3 repeats (range 10.0 to 30.0 ms)" in timed.readout.value


def test_troubleshooting_gallery_shows_problems_and_fixes(no_figure_leak):
    good = fake_run(falling(2.3, 0.1, 12), 3, val_loss=[1.0, 0.5, 0.3])
    nan_steps = np.r_[2.3, 2.2, np.nan, np.full(9, np.nan)]
    cases = {
        "NaN": training_widgets.Case(fake_run(nan_steps, 3), good, "a NaN pixel", "clean data"),
        "slow": training_widgets.Case(fake_run(falling(2.3, 2.2, 12), 3), good, "tiny steps", "lr 0.001"),
    }
    demo = training_widgets.troubleshooting_gallery(cases)
    assert has_static_fallback(demo)
    problem_line, _ = demo.artists["problem"]
    fix_line, _ = demo.artists["fix"]
    assert demo.artists["mark"].get_text() == "NaN at update 3" and len(problem_line.get_xdata()) == 2
    assert not fix_line.get_visible() and "failed" in demo.readout.value
    assert png_changes(demo, lambda: setattr(demo.controls["show_fix"], "value", True))
    assert fix_line.get_visible() and "<b>fix</b> (clean data): learning well" in demo.readout.value
    demo.controls["case"].value = "slow"
    assert demo.artists["mark"].get_text() == "" and "too slow" in demo.readout.value
    low, high = demo.live.axes.get_ylim()  # the loss axis spans this case's runs, not a fixed 1e-3 to 1e4
    drawn = np.concatenate([line.get_ydata() for line in (*demo.artists["problem"], *demo.artists["fix"])
                            if line.get_visible() and len(line.get_ydata())])
    assert low <= np.nanmin(drawn) and np.nanmax(drawn) <= high and high / low < 1e3  # the old fixed axis: 1e7


# ---------------------------------------------------------------- the notebooks


@pytest.mark.parametrize("path, links", [
    (LESSON_05, ["../exercises/05_learning_rate_schedules.ipynb", "04_optimizers.ipynb", "06_training_loop.ipynb"]),
    (LESSON_06, ["../exercises/06_training_loop.ipynb", "05_learning_rate_schedules.ipynb"]),
])
def test_lessons_link_their_exercises_and_neighbours_and_import_course_utils_first(path, links):
    cells = json.loads(path.read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for link in links:
        assert f"]({link})" in text
    first_code = next("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert first_code.index("import course_utils") < first_code.index("import keras")
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "input_shape=" not in code and "tf.train." not in code
    assert code.count(".fit(") == code.count("verbose=0")  # no progress bars

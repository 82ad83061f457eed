"""Training on the digits, small and fast enough to run inside a lesson (lessons 05 and 06).

* :func:`digits_model` builds the course's digits classifier (64 pixels -> Dense -> 10 classes).
* :func:`make_train_step` is the training loop's four steps written out with ``tf.GradientTape``.
* :class:`Trainer` runs that step over mini-batches, epoch after epoch, and returns a plain
  :class:`History` of numpy arrays. It keeps the model's starting weights, so the same model can be
  trained again and again (another learning rate, schedule or batch size) from the same start
  without paying TensorFlow's tracing cost again: that is what makes a dozen runs fit in a lesson.
* :class:`CurveCallback` is a Keras callback that hands each epoch's numbers to a function (a live
  plot, say) while ``model.fit`` runs.

Importing this module imports TensorFlow.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from course_utils.data import steps_per_epoch


def digits_model(hidden=512, *, dropout=0.0, l2=0.0, name="digits") -> keras.Sequential:
    """The digits classifier: 64 pixels -> Dense(hidden, relu) -> Dense(10, softmax).

    Args:
        hidden: units in the hidden layer (the sources use 512, and 128 in "putting it together").
        dropout: if > 0, a Dropout layer of this rate after the hidden layer (a fix for overfitting).
        l2: if > 0, an L2 penalty ``l2 * sum(w**2)`` on the hidden layer's kernel (another fix).
        name: the model's name (fixed, so ``model.summary()`` prints the same text on every run).

    Example:
        >>> digits_model().count_params()  # 64*512 + 512 + 512*10 + 10
        38410
    """
    regularizer = keras.regularizers.L2(l2) if l2 else None
    layers = [
        keras.Input(shape=(64,), name="pixels"),
        keras.layers.Dense(hidden, activation="relu", kernel_regularizer=regularizer, name="hidden"),
    ]
    if dropout:
        layers.append(keras.layers.Dropout(dropout, name="dropout"))
    layers.append(keras.layers.Dense(10, activation="softmax", name="output"))
    return keras.Sequential(layers, name=name)


def make_train_step(model, optimizer, loss_fn) -> Callable:
    """One update on one batch, the four steps of the training loop, compiled with ``tf.function``.

    The returned ``train_step(x, y, learning_rate)`` returns the batch's loss (before the update).
    The learning rate is an argument, so any schedule can drive it from outside.
    """

    def train_step(x, y, learning_rate):
        optimizer.learning_rate.assign(learning_rate)
        with tf.GradientTape() as tape:
            probabilities = model(x, training=True)  # 1. forward pass
            loss = loss_fn(y, probabilities)  # 2. loss (mean over the batch) ...
            if model.losses:
                loss = loss + tf.add_n(model.losses)  # ... plus any L2 penalty, as fit adds it
        gradients = tape.gradient(loss, model.trainable_variables)  # 3. backward pass
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))  # 4. weight update
        return loss

    signature = [
        tf.TensorSpec([None, model.input_shape[-1]], tf.float32),
        tf.TensorSpec([None], tf.int64),
        tf.TensorSpec([], tf.float32),
    ]
    return tf.function(train_step, input_signature=signature)


class History(NamedTuple):
    """What a training run recorded, as numpy arrays (epochs that did not run are NaN).

    ``loss`` is each epoch's mean training loss the way ``model.fit`` reports it: the batch losses
    (each measured during training, before its update) averaged with weights = batch sizes.
    """

    loss: np.ndarray  # (epochs,)
    val_loss: np.ndarray  # (epochs,), NaN without validation data
    val_accuracy: np.ndarray  # (epochs,)
    step_loss: np.ndarray  # (updates,) the loss of every batch
    learning_rate: np.ndarray  # (updates,) the rate each update used
    batch_size: int
    seconds: float  # wall-clock time of the run (varies: show it rounded, or in a widget readout)

    @property
    def updates_per_epoch(self) -> int:
        return len(self.step_loss) // len(self.loss)

    @property
    def diverged(self) -> bool:
        """True if the loss became NaN/inf, or ended above where it started."""
        finite = self.step_loss[np.isfinite(self.step_loss)]
        return len(finite) < len(self.step_loss) or float(np.mean(finite[-5:])) > float(np.mean(finite[:5]))


def learning_rates(learning_rate, num_steps: int) -> np.ndarray:
    """The rate for each of ``num_steps`` updates: a number, or a schedule ``step -> lr`` (step 0 first).

    Example:
        >>> from course_utils import schedules
        >>> [round(float(v), 4) for v in learning_rates(schedules.exponential_decay(0.1, 2, 0.5, staircase=True), 5)]
        [0.1, 0.1, 0.05, 0.05, 0.025]
        >>> learning_rates(0.001, 3).shape
        (3,)
    """
    if callable(learning_rate):
        values = np.asarray(learning_rate(np.arange(num_steps)), dtype=np.float32)
        return np.broadcast_to(values, (num_steps,)).copy()
    return np.full(num_steps, learning_rate, dtype=np.float32)


class Trainer:
    """Train one Keras model with a hand-written loop, as often as you like, from the same start.

    The starting weights are saved when the trainer is made; each :meth:`run` first puts them back
    and clears the optimizer's memory (Adam's moments, its step counter), so runs differ only in
    what you pass: learning rate or schedule, batch size, epochs, data.

    Args:
        model: a built Keras model that outputs class probabilities.
        optimizer: a Keras optimizer with a plain-number learning rate (default: Adam).
        loss: a Keras loss (default: sparse categorical cross-entropy).

    Example:
        >>> from course_utils.data import load_digits
        >>> from course_utils.keras_tools import make_deterministic
        >>> make_deterministic(0)
        >>> data = load_digits()
        >>> trainer = Trainer(digits_model(hidden=16))
        >>> h = trainer.run(data.x_train[:256], data.y_train[:256], epochs=3, batch_size=64, learning_rate=0.01)
        >>> h.updates_per_epoch, bool(h.loss[-1] < h.loss[0])
        (4, True)
    """

    def __init__(self, model, optimizer=None, loss=None):
        self.model = model
        self.optimizer = optimizer if optimizer is not None else keras.optimizers.Adam()
        self.loss_fn = loss if loss is not None else keras.losses.SparseCategoricalCrossentropy()
        if not hasattr(self.optimizer.learning_rate, "assign"):
            raise TypeError(
                "Trainer sets the learning rate at every step itself: give the optimizer a plain number and "
                f"pass the schedule to run(learning_rate=...), got an optimizer with {self.optimizer.learning_rate!r}"
            )
        self.optimizer.build(model.trainable_variables)
        self.initial_weights = [w.numpy() for w in model.weights]
        self.train_step = make_train_step(model, self.optimizer, self.loss_fn)
        pixels, labels = tf.TensorSpec([None, model.input_shape[-1]], tf.float32), tf.TensorSpec([None], tf.int64)
        rates, size = tf.TensorSpec([None], tf.float32), tf.TensorSpec([], tf.int32)
        orders, rates = tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32)
        self._train = tf.function(self._epochs, input_signature=[pixels, labels, orders, rates, size, pixels, labels])
        self._evaluate = tf.function(self._evaluate_batch, input_signature=[pixels, labels])

    def _epochs(self, x, y, orders, rates, batch_size, x_val, y_val):
        """Several epochs inside TensorFlow, so a run costs one call from Python, not one per epoch or step.

        Epoch ``e`` takes the examples in the order ``orders[e]`` and the learning rates ``rates[e]`` (one per
        step), then measures ``x_val, y_val``. Stops after an epoch whose loss is not finite. Returns the
        step losses ``(epochs run, steps)`` and the validation loss and accuracy ``(epochs run, 2)``.
        """
        step_losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        validation = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        for epoch in tf.range(tf.shape(rates)[0]):
            order = orders[epoch]
            losses = self._epoch(tf.gather(x, order), tf.gather(y, order), rates[epoch], batch_size)
            step_losses = step_losses.write(epoch, losses)
            validation = validation.write(epoch, tf.stack(self._evaluate_batch(x_val, y_val)))  # after the updates
            if not tf.reduce_all(tf.math.is_finite(losses)):
                break
        return step_losses.stack(), validation.stack()

    def _epoch(self, x, y, rates, batch_size):
        """One pass over ``x, y`` (already in batch order)."""
        steps = tf.shape(rates)[0]
        losses = tf.TensorArray(tf.float32, size=steps)
        for step in tf.range(steps):
            begin = step * batch_size
            xb, yb = x[begin : begin + batch_size], y[begin : begin + batch_size]
            losses = losses.write(step, self.train_step(xb, yb, rates[step]))
        return losses.stack()

    def _evaluate_batch(self, x, y):
        probabilities = self.model(x, training=False)
        loss = self.loss_fn(y, probabilities)
        correct = tf.equal(tf.argmax(probabilities, axis=-1), y)
        return loss, tf.reduce_mean(tf.cast(correct, tf.float32))

    def reset(self) -> None:
        """Put back the starting weights and forget the optimizer's state."""
        for weight, value in zip(self.model.weights, self.initial_weights):
            weight.assign(value)
        for variable in self.optimizer.variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))

    def evaluate(self, x, y) -> tuple[float, float]:
        """Loss and accuracy on ``(x, y)`` with the current weights."""
        loss, accuracy = self._evaluate(tf.constant(x, tf.float32), tf.constant(y, tf.int64))
        return float(loss), float(accuracy)

    def run(self, x, y, *, epochs=3, batch_size=32, learning_rate=1e-3, validation=None, shuffle=False,
            on_epoch_end=None) -> History:
        """Train from the starting weights and return the :class:`History`.

        Args:
            x, y: training pixels ``(n, 64)`` and integer labels ``(n,)``.
            epochs, batch_size: passes over the data, and examples per update.
            learning_rate: a number or a schedule ``step -> lr`` (e.g. from :mod:`course_utils.schedules`).
            validation: ``(x_val, y_val)`` to measure after every epoch, or None.
            shuffle: False keeps the data's order (as ``fit(..., shuffle=False)``); True shuffles every
                epoch with seed = epoch number, so runs stay repeatable.
            on_epoch_end: called as ``on_epoch_end(epoch, logs)`` after each epoch (epoch counts from 0,
                logs holds ``loss`` and, with validation data, ``val_loss`` and ``val_accuracy``).

        Training stops early, like ``keras.callbacks.TerminateOnNaN``, once an epoch's loss is NaN or inf.
        """
        x = np.asarray(x, np.float32)
        y = np.asarray(y, np.int64)
        per_epoch = steps_per_epoch(len(x), batch_size)
        rates = learning_rates(learning_rate, epochs * per_epoch).reshape(epochs, per_epoch)
        sizes = np.minimum(batch_size, len(x) - batch_size * np.arange(per_epoch))  # the last batch may be smaller
        loss, val_loss, val_accuracy = np.full(epochs, np.nan), np.full(epochs, np.nan), np.full(epochs, np.nan)
        step_loss = np.full((epochs, per_epoch), np.nan)
        orders = np.array([np.random.default_rng(epoch).permutation(len(x)) if shuffle else np.arange(len(x))
                           for epoch in range(epochs)], dtype=np.int32)  # the order of course_utils.data.batches
        x_val, y_val = (x[:0], y[:0]) if validation is None else validation  # no validation: measure nothing
        fixed = (tf.constant(x), tf.constant(y))
        measured = (tf.constant(x_val, tf.float32), tf.constant(y_val, tf.int64))
        size = tf.constant(int(batch_size))
        chunk = epochs if on_epoch_end is None else 1  # a callback sees each epoch as it ends
        self.reset()
        start = time.perf_counter()
        for first in range(0, epochs, chunk):
            part = slice(first, first + chunk)
            rates_part = tf.constant(rates[part], tf.float32)
            losses, measures = self._train(*fixed, tf.constant(orders[part]), rates_part, size, *measured)
            done = slice(first, first + len(losses))
            step_loss[done] = losses.numpy()
            loss[done] = np.average(step_loss[done], axis=1, weights=sizes)
            if validation is not None:
                val_loss[done], val_accuracy[done] = measures.numpy().T
            if on_epoch_end is not None:
                logs = {"loss": float(loss[first])}
                if validation is not None:
                    logs.update(val_loss=float(val_loss[first]), val_accuracy=float(val_accuracy[first]))
                on_epoch_end(first, logs)
            if not np.all(np.isfinite(loss[done])):
                break
        seconds = time.perf_counter() - start
        return History(loss, val_loss, val_accuracy, step_loss.ravel(), rates.ravel(), int(batch_size), seconds)


def time_epochs(trainer: Trainer, x, y, batch_sizes, repeats=7) -> dict[int, np.ndarray]:
    """Seconds per epoch for each batch size, measured ``repeats`` times: ``{batch_size: seconds (repeats,)}``.

    Each measurement is a one-epoch :meth:`Trainer.run` (shuffled) from the starting weights. The batch sizes
    take turns within every repeat, so a slow moment of the machine hits them all alike. Timings differ from
    run to run and machine to machine: compare medians and look at the spread before you conclude anything.
    """
    sizes = [int(size) for size in batch_sizes]
    seconds = {size: np.empty(int(repeats)) for size in sizes}
    trainer.run(x[:sizes[0]], y[:sizes[0]], epochs=1, batch_size=sizes[0])  # warm-up, not measured
    for repeat in range(int(repeats)):
        for size in sizes:
            seconds[size][repeat] = trainer.run(x, y, epochs=1, batch_size=size, shuffle=True).seconds
    return seconds


def dead_units(layer, x) -> float:
    """The fraction of a ReLU layer's units that output 0 for every example in ``x`` ("dead" units).

    A dead unit passes no gradient back to its weights, so training cannot revive it.

    Example:
        >>> layer = keras.layers.Dense(3, activation="relu")
        >>> _ = layer.build((None, 2))
        >>> layer.set_weights([np.array([[1.0, -1.0, 0.0], [1.0, -1.0, 0.0]]), np.zeros(3)])
        >>> round(dead_units(layer, np.array([[1.0, 2.0], [3.0, 0.5]])), 3)  # units 2 and 3 never fire
        0.667
    """
    active = np.asarray(layer(np.asarray(x, np.float32))) > 0
    return float(np.mean(~active.any(axis=0)))


CHANCE_LOSS = float(np.log(10.0))  # cross-entropy of a uniform guess over the 10 digits: ln 10 = 2.303


def diagnose(history: History) -> str:
    """A one-line verdict on a run, from its loss curve: what a practitioner would say looking at it.

    Example:
        >>> steps = np.array([2.3, 40.0, 2.2, 2.2])
        >>> diagnose(History(np.array([11.0]), np.full(1, np.nan), np.full(1, np.nan), steps, np.ones(4), 4, 0.0))
        'unstable: the loss jumped from 2.3 to 40, then stuck near chance level (ln 10 = 2.30)'
    """
    steps = history.step_loss
    bad = ~np.isfinite(steps)
    if bad.any():
        return f"failed: the loss became NaN at update {int(np.argmax(bad)) + 1}, and training stopped"
    first, peak = float(steps[0]), float(steps.max())  # the first batch's loss comes before any update
    final = float(history.loss[-1])
    if peak > 2 * first:
        verdict = f"unstable: the loss jumped from {first:.2g} to {peak:.3g}, then "
        if final > 0.8 * CHANCE_LOSS:
            return verdict + f"stuck near chance level (ln 10 = {CHANCE_LOSS:.2f})"
        return verdict + f"recovered to {final:.3f}"
    start = float(np.mean(steps[:10]))  # where training began, averaged over a few batches' noise
    if final > 0.8 * start:
        return f"too slow: the loss barely moved ({start:.2f} -> {final:.2f})"
    if final > 0.3 * start:
        return f"slow: the loss is falling ({start:.2f} -> {final:.2f}) but far from done"
    val = history.val_loss
    if np.isfinite(val).all() and len(val) > 2 and val[-1] > 1.15 * val.min():
        best = int(np.argmin(val))
        return (f"overfitting: the training loss fell to {final:.4f}, but the validation loss rose from "
                f"{val[best]:.3f} (epoch {best + 1}) to {val[-1]:.3f}")
    return f"learning well: the loss fell steadily ({start:.2f} -> {final:.3f})"


class CurveCallback(keras.callbacks.Callback):
    """Collect ``model.fit``'s numbers epoch by epoch and pass them on to ``on_update(history)``.

    ``history`` is a dict ``{"loss": [...], "val_loss": [...], ...}`` of everything fit reported
    so far. A live plot uses it to redraw after every epoch (see ``course_utils.widgets.training``);
    ``on_end()``, if given, is called when training ends.

    Example:
        >>> seen = []
        >>> callback = CurveCallback(lambda history: seen.append(len(history["loss"])))
        >>> callback.on_epoch_end(0, {"loss": 2.0}); callback.on_epoch_end(1, {"loss": 1.5})
        >>> seen, callback.history["loss"]
        ([1, 2], [2.0, 1.5])
    """

    def __init__(self, on_update: Callable[[dict], None] | None = None, on_end: Callable[[], None] | None = None):
        super().__init__()
        self.on_update = on_update
        self.on_end = on_end
        self.history: dict[str, list[float]] = {}

    def on_train_begin(self, logs=None):
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if key != "learning_rate":
                self.history.setdefault(key, []).append(float(value))
        if self.on_update is not None:
            self.on_update(self.history)

    def on_train_end(self, logs=None):
        if self.on_end is not None:
            self.on_end()

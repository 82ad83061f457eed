"""Optimizers as pure ``init`` / ``update`` pairs with explicit, printable state.

>>> import numpy as np
>>> opt = sgd(learning_rate=0.1)
>>> params = np.array([1.0, -2.0])
>>> state = opt.init(params)
>>> updates, state = opt.update(2 * params, state)     # gradient of sum(w**2)
>>> [round(float(w), 4) for w in apply_updates(params, updates)]
[0.8, -1.6]

``params`` is one array or a list of arrays; ``grads`` and ``updates`` have the same
structure. ``learning_rate`` is a number or a schedule ``step -> lr`` from
:mod:`course_utils.schedules` (called with step 0 for the first update, like Keras).
Every update is computed in float32 in the same order of operations as Keras 3, so a
run of any length agrees with ``keras.optimizers`` to float32 rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from course_utils._validation import (
    FLOAT,
    as_array,
    describe,
    flag,
    fraction,
    integer,
    positive_number,
    rates,
    scalar_result,
)

Params = np.ndarray | list


class Optimizer(NamedTuple):
    """Two pure functions: ``init(params) -> state`` and ``update(grads, state, params=None) -> (updates, state)``.

    As in optax, ``params`` is optional: given, ``grads`` are checked against it (plain SGD keeps no state
    to check them against otherwise).
    """

    init: Callable
    update: Callable


class SGDState(NamedTuple):
    step: int
    velocity: Params | None  # None when momentum == 0: plain SGD keeps no memory


class RMSpropState(NamedTuple):
    step: int
    velocity: Params  # moving average of squared gradients
    momentum: Params | None  # None when momentum == 0
    average_gradient: Params | None  # None unless centered


class AdagradState(NamedTuple):
    step: int
    accumulator: Params  # running sum of squared gradients (starts at initial_accumulator_value)


class AdamState(NamedTuple):
    step: int
    m: Params  # first moment: moving average of gradients
    v: Params  # second moment: moving average of squared gradients


def _map(fn, *trees):
    if isinstance(trees[0], list):
        return [fn(*leaves) for leaves in zip(*trees)]
    return fn(*trees)


def _as_params(params, name="params") -> Params:
    if isinstance(params, (list, tuple)):
        if not params:
            raise ValueError(f"{name} is an empty list; expected one array or a list of arrays")
        return [as_array(p, f"{name}[{i}]", min_ndim=0).copy() for i, p in enumerate(params)]
    return as_array(params, name, min_ndim=0).copy()


def _check_grads(grads, like, name="grads") -> Params:
    """Convert ``grads`` to float32 and check they match the structure of ``like`` (a state slot or None)."""
    if like is None:
        return _as_params(grads, name)
    if isinstance(like, list):
        if not isinstance(grads, (list, tuple)) or len(grads) != len(like):
            got = f"a list of {len(grads)}" if isinstance(grads, (list, tuple)) else f"a {type(grads).__name__}"
            raise ValueError(f"{name} must be a list of {len(like)} arrays, one per parameter, got {got}")
        named = [
            (as_array(g, f"{name}[{i}]", min_ndim=0), s, f"{name}[{i}]") for i, (g, s) in enumerate(zip(grads, like))
        ]
    else:
        named = [(as_array(grads, name, min_ndim=0), like, name)]
    for g, s, where in named:
        if g.shape != s.shape:
            raise ValueError(f"{where} has shape {g.shape}, but the parameter it updates has shape {s.shape}")
    converted = [g for g, _, _ in named]
    return converted if isinstance(like, list) else converted[0]


def _grads_for(grads, slot, params) -> Params:
    """``grads`` checked against ``params`` when given (and the state's ``slot`` against them), else ``slot``."""
    if params is None:
        return _check_grads(grads, slot)
    params = _as_params(params)
    if slot is not None:
        try:
            _check_grads(slot, params, "the state")
        except ValueError as error:
            raise ValueError(f"{error}: this state was made by init() for other params; expected "
                             "init(params) of the same parameters") from None
    return _check_grads(grads, params)


def _as_schedule(learning_rate) -> Callable[[int], np.float32]:
    # A schedule may also return an array that broadcasts against the parameters (one rate per row):
    # course_utils.widgets.descent runs a whole grid of learning rates at once that way.
    if callable(learning_rate):
        return lambda step: rates(learning_rate(step), f"learning_rate({step})")
    lr = FLOAT(positive_number(learning_rate, "learning_rate"))
    return lambda step: lr


def _check_state(state, kind: type, **slots: bool) -> None:
    """Check ``state`` is a ``kind`` from this optimizer's ``init``: ``slots`` say which slots must be present."""
    if not isinstance(state, kind):
        raise TypeError(
            f"state must be the {kind.__name__} that this optimizer's init(params) returned, "
            f"got {type(state).__name__} {describe(state)}"
        )
    integer(state.step, "state.step")
    for slot, wanted in slots.items():
        if (getattr(state, slot) is None) == wanted:
            has = "has no" if wanted else "has a"
            raise ValueError(
                f"state {has} {slot} slot: it was made by an optimizer with other settings; "
                "expected the state that this optimizer's init(params) returned"
            )


def _zeros(params):
    return _map(lambda p: np.zeros(np.shape(p), FLOAT), _as_params(params))


def apply_updates(params, updates) -> Params:
    """Return ``params + updates`` (for one array or a list of arrays), in float32.

    Example:
        >>> apply_updates([1.0, 2.0], [0.5, -0.5])
        [np.float32(1.5), np.float32(1.5)]
    """
    params = _as_params(params)
    updates = _check_grads(updates, params, "updates")
    return _map(lambda p, u: p + u, params, updates)


def sgd(learning_rate=0.01, momentum=0.0, nesterov=False) -> Optimizer:
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Plain: ``w <- w - lr * g``. With momentum ``mu`` the velocity holds the learning rate::

        velocity <- mu * velocity - lr * g
        w <- w + velocity                              (classic)
        w <- w + mu * velocity - lr * g                (nesterov=True)

    Args:
        learning_rate: a number > 0 or a schedule ``step -> lr``.
        momentum: ``mu`` in [0, 1); 0 keeps no state at all.
        nesterov: use Nesterov's look-ahead form.

    Example:
        >>> opt = sgd(0.1, momentum=0.9)
        >>> state = opt.init(np.array([1.0]))
        >>> for _ in range(2):
        ...     updates, state = opt.update(np.array([1.0]), state)
        >>> [round(float(v), 4) for v in state.velocity]
        [-0.19]

    Note:
        Keras keeps ``lr`` inside the velocity; PyTorch and optax keep
        ``velocity <- mu * velocity + g`` and multiply by ``lr`` afterwards. The two agree
        for a constant rate and differ under a schedule.
    """
    schedule = _as_schedule(learning_rate)
    mu = FLOAT(fraction(momentum, "momentum", high_open=True))
    nesterov = flag(nesterov, "nesterov")

    def init(params):
        return SGDState(step=0, velocity=_zeros(params) if mu != 0 else None)

    def update(grads, state, params=None):
        _check_state(state, SGDState, velocity=mu != 0)
        grads = _grads_for(grads, state.velocity, params)
        lr = schedule(state.step)
        if state.velocity is None:
            return _map(lambda g: -(g * lr), grads), SGDState(state.step + 1, None)
        velocity = _map(lambda v, g: v * mu - g * lr, state.velocity, grads)
        if nesterov:
            updates = _map(lambda v, g: v * mu - g * lr, velocity, grads)
        else:
            updates = velocity
        return updates, SGDState(state.step + 1, velocity)

    return Optimizer(init, update)


def rmsprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False) -> Optimizer:
    """RMSprop: divide each gradient by a moving root-mean-square of its recent values.

    ::

        velocity <- rho * velocity + (1 - rho) * g**2
        step     =  lr * g / sqrt(velocity + eps)
        w <- w - step

    ``centered=True`` also tracks ``average_gradient <- rho * avg + (1 - rho) * g`` and
    uses ``velocity - average_gradient**2`` (an estimate of the variance). With
    ``momentum > 0``: ``momentum_buf <- momentum * momentum_buf + step; w <- w - momentum_buf``.

    Args:
        learning_rate: a number > 0 or a schedule.
        rho: decay of the moving average, in [0, 1).
        momentum: in [0, 1).
        epsilon: added *inside* the square root, > 0.
        centered: normalise by the variance instead of the second moment.

    Example:
        >>> opt = rmsprop(0.01)
        >>> updates, state = opt.update(np.array([2.0]), opt.init(np.zeros(1)))
        >>> round(float(updates[0]), 4)  # first step is about lr / sqrt(1 - rho)
        -0.0316

    Note:
        Keras puts epsilon inside the square root and has no bias correction; PyTorch
        adds it outside (``g / (sqrt(v) + eps)``).
    """
    schedule = _as_schedule(learning_rate)
    rho = fraction(rho, "rho", high_open=True)
    mu = fraction(momentum, "momentum", high_open=True)
    eps = positive_number(epsilon, "epsilon")
    centered = flag(centered, "centered")

    def init(params):
        return RMSpropState(
            step=0,
            velocity=_zeros(params),
            momentum=_zeros(params) if mu > 0 else None,
            average_gradient=_zeros(params) if centered else None,
        )

    def update(grads, state, params=None):
        _check_state(state, RMSpropState, momentum=mu > 0, average_gradient=centered)
        grads = _grads_for(grads, state.velocity, params)
        lr = schedule(state.step)
        velocity = _map(lambda v, g: rho * v + (1 - rho) * np.square(g), state.velocity, grads)
        average = None
        if centered:
            average = _map(lambda a, g: rho * a + (1 - rho) * g, state.average_gradient, grads)
            denominator = _map(lambda v, a: v - np.square(a) + eps, velocity, average)
        else:
            denominator = _map(lambda v: v + eps, velocity)
        increment = _map(lambda g, d: (lr * g) / np.sqrt(d), grads, denominator)
        buffer = None
        if mu > 0:
            buffer = _map(lambda b, i: mu * b + i, state.momentum, increment)
            updates = _map(np.negative, buffer)
        else:
            updates = _map(np.negative, increment)
        return updates, RMSpropState(state.step + 1, velocity, buffer, average)

    return Optimizer(init, update)


def adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7) -> Optimizer:
    """Adagrad: divide by the root of the *sum* of all past squared gradients.

    ::

        accumulator <- accumulator + g**2          (starts at initial_accumulator_value)
        w <- w - lr * g / sqrt(accumulator + eps)

    Because the sum only grows, every parameter's step size shrinks over time: good for
    rare (sparse) features, too timid for long training.

    Args:
        learning_rate: a number > 0 or a schedule.
        initial_accumulator_value: starting value of the accumulator, >= 0.
        epsilon: added inside the square root, > 0.

    Example:
        >>> opt = adagrad(0.1)
        >>> updates, state = opt.update(np.array([1.0]), opt.init(np.zeros(1)))
        >>> [round(float(a), 4) for a in state.accumulator]
        [1.1]

    Note:
        Keras starts the accumulator at 0.1; PyTorch starts it at 0 and adds eps
        (1e-10) outside the square root.
    """
    schedule = _as_schedule(learning_rate)
    start = FLOAT(positive_number(initial_accumulator_value, "initial_accumulator_value", allow_zero=True))
    eps = positive_number(epsilon, "epsilon")

    def init(params):
        return AdagradState(step=0, accumulator=_map(lambda z: z + start, _zeros(params)))

    def update(grads, state, params=None):
        _check_state(state, AdagradState)
        grads = _grads_for(grads, state.accumulator, params)
        lr = schedule(state.step)
        accumulator = _map(lambda a, g: a + np.square(g), state.accumulator, grads)
        updates = _map(lambda a, g: -((lr * g) / np.sqrt(a + eps)), accumulator, grads)
        return updates, AdagradState(state.step + 1, accumulator)

    return Optimizer(init, update)


def adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7) -> Optimizer:
    """Adam: momentum (first moment) with per-parameter step sizes (second moment).

    With ``t = step + 1``::

        m <- m + (1 - beta_1) * (g - m)
        v <- v + (1 - beta_2) * (g**2 - v)
        alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w <- w - alpha * m / (sqrt(v) + eps)

    Args:
        learning_rate: a number > 0 or a schedule.
        beta_1: decay of the first moment, in [0, 1).
        beta_2: decay of the second moment, in [0, 1).
        epsilon: added outside the square root, > 0.

    Example:
        >>> opt = adam(0.1)
        >>> updates, state = opt.update(np.array([5.0]), opt.init(np.zeros(1)))
        >>> round(float(updates[0]), 4)  # the first step is about lr, whatever the gradient's size
        -0.1

    Note:
        This is Keras' form: the bias corrections are folded into ``alpha`` and epsilon
        is added to ``sqrt(v)`` of the *uncorrected* ``v``. The paper (and PyTorch, with
        eps=1e-8) compute ``m_hat / (sqrt(v_hat) + eps)``; the two differ slightly when
        ``sqrt(v)`` is close to eps.
    """
    schedule = _as_schedule(learning_rate)
    b1 = fraction(beta_1, "beta_1", high_open=True)
    b2 = fraction(beta_2, "beta_2", high_open=True)
    eps = positive_number(epsilon, "epsilon")

    def init(params):
        return AdamState(step=0, m=_zeros(params), v=_zeros(params))

    def update(grads, state, params=None):
        _check_state(state, AdamState)
        grads = _grads_for(grads, state.m, params)
        lr = schedule(state.step)
        t = FLOAT(state.step + 1)
        alpha = lr * np.sqrt(1 - np.power(FLOAT(b2), t)) / (1 - np.power(FLOAT(b1), t))
        m = _map(lambda m_, g: m_ + (g - m_) * (1 - b1), state.m, grads)
        v = _map(lambda v_, g: v_ + (np.square(g) - v_) * (1 - b2), state.v, grads)
        updates = _map(lambda m_, v_: -((m_ * alpha) / (np.sqrt(v_) + eps)), m, v)
        return updates, AdamState(state.step + 1, m, v)

    return Optimizer(init, update)


def state_size(state) -> int:
    """Count the float values an optimizer state stores (the step counter excluded).

    Example:
        >>> state_size(adam().init([np.zeros((3, 2)), np.zeros(2)]))  # two slots of 8 values
        16
    """
    if not isinstance(state, (SGDState, RMSpropState, AdagradState, AdamState)):
        raise TypeError(f"state must be an optimizer state from init(params), got {type(state).__name__} "
                        f"{describe(state)}")
    total = 0
    for slot in state[1:]:
        if slot is not None:
            leaves = slot if isinstance(slot, list) else [slot]
            total += sum(int(np.size(leaf)) for leaf in leaves)
    return total


class Trajectory(NamedTuple):
    points: np.ndarray  # (steps + 1, dim): the start and every point after an update
    losses: np.ndarray  # (steps + 1,)
    diverged: bool  # True when the run stopped early because the loss blew up


def trajectory(optimizer: Optimizer, loss_fn, grad_fn, start, num_steps=100, blow_up=1e12) -> Trajectory:
    """Run ``optimizer`` from ``start`` on a function with a known gradient; return every point.

    Args:
        optimizer: an :class:`Optimizer`.
        loss_fn: ``w -> float``.
        grad_fn: ``w -> array`` shaped like ``w``.
        start: the starting point (an array).
        num_steps: number of updates, >= 0.
        blow_up: stop early (``diverged=True``) when the loss exceeds this or stops being finite.

    Example:
        >>> from course_utils.surfaces import bowl
        >>> run = trajectory(sgd(0.5), bowl.loss, bowl.grad, bowl.start, num_steps=20)
        >>> run.points.shape, bool(run.losses[-1] < 1e-6), run.diverged
        ((21, 2), True, False)
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an Optimizer such as sgd(0.1), got {type(optimizer).__name__} "
                        f"{describe(optimizer)}")
    for name, fn in (("loss_fn", loss_fn), ("grad_fn", grad_fn)):
        if not callable(fn):
            raise TypeError(f"{name} must be a function of the point w, got {type(fn).__name__} {describe(fn)}")
    steps = integer(num_steps, "num_steps")
    limit = positive_number(blow_up, "blow_up")
    w = as_array(start, "start", min_ndim=0).copy()
    state = optimizer.init(w)
    points, losses = [w], [scalar_result(loss_fn(w), "loss_fn")]
    diverged = False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            g = as_array(grad_fn(w), "grad_fn(w)", dtype=None, min_ndim=0, finite=False).astype(FLOAT)
            if g.shape != w.shape:
                raise ValueError(f"grad_fn(w) must have the shape of w {w.shape}, got {g.shape}")
            if not np.all(np.isfinite(g)):
                diverged = True
                break
            updates, state = optimizer.update(g, state)
            w = w + updates
            loss = scalar_result(loss_fn(w), "loss_fn", finite=False)
            if not np.isfinite(loss) or abs(loss) > limit or not np.all(np.isfinite(w)):
                diverged = True
                break
            points.append(w)
            losses.append(loss)
    return Trajectory(np.array(points), np.array(losses), diverged)

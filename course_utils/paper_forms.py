"""Adam and RMSprop as their authors wrote them, next to Keras' forms in :mod:`course_utils.optimizers`.

* :func:`adam_paper` is Kingma & Ba's Algorithm 1 (ICLR 2015): bias-corrected moments ``m_hat``
  and ``v_hat``, epsilon added to ``sqrt(v_hat)``.
* :func:`rmsprop_paper` is Tieleman & Hinton's lecture 6e (2012): divide the gradient by the root of a
  moving average of its square; no bias correction and no epsilon in the lecture.

Keras folds Adam's two bias corrections into the learning rate and adds its epsilon to ``sqrt(v)``
(uncorrected)::

    paper:  lr * m_hat / (sqrt(v_hat) + eps)
          = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + eps * sqrt(1 - beta_2**t))
    Keras:  lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + eps_keras)

so the two take the same steps exactly when ``eps_keras = eps * sqrt(1 - beta_2**t)`` at every step t:
:func:`paper_epsilon_for_keras` gives the paper's epsilon as a function of the step that does that.

Both are ``init`` / ``update`` pairs like :mod:`course_utils.optimizers` (same states, same
:func:`~course_utils.optimizers.apply_updates`), computed in float32.

>>> import numpy as np
>>> from course_utils import optimizers
>>> paper, keras_form = adam_paper(0.1), optimizers.adam(0.1)
>>> a, _ = paper.update(np.array([5.0]), paper.init(np.zeros(1)))
>>> b, _ = keras_form.update(np.array([5.0]), keras_form.init(np.zeros(1)))
>>> round(float(a[0]), 5), round(float(b[0]), 5)   # the first step is lr in both forms
(-0.1, -0.1)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_utils._validation import FLOAT, as_array, describe, fraction, integer, positive_number, rates
from course_utils.optimizers import (
    AdamState,
    Optimizer,
    RMSpropState,
    _as_schedule,
    _check_grads,
    _check_state,
    _map,
    _zeros,
    apply_updates,
)


def _as_epsilon(epsilon) -> Callable[[int], np.float32]:
    """A number >= 0, or a function ``step -> epsilon`` (step 0 for the first update, like a learning rate)."""
    if callable(epsilon):
        return lambda step: rates(epsilon(step), f"epsilon({step})")
    eps = FLOAT(positive_number(epsilon, "epsilon", allow_zero=True))
    return lambda step: eps


def adam_paper(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8) -> Optimizer:
    """Adam as in Kingma & Ba's Algorithm 1: bias-corrected moments, epsilon outside the root.

    With ``t = step + 1``::

        m <- beta_1 * m + (1 - beta_1) * g            v <- beta_2 * v + (1 - beta_2) * g**2
        m_hat = m / (1 - beta_1**t)                   v_hat = v / (1 - beta_2**t)
        w <- w - lr * m_hat / (sqrt(v_hat) + eps)

    Args:
        learning_rate: ``alpha`` in the paper, a number > 0 or a schedule ``step -> lr``.
        beta_1, beta_2: decays of the two moments, in [0, 1).
        epsilon: a number >= 0 (the paper's default is 1e-8, Keras' 1e-7), or a function ``step -> epsilon``
            (see :func:`paper_epsilon_for_keras`).

    Example:
        >>> opt = adam_paper(0.1)
        >>> updates, state = opt.update(np.array([5.0]), opt.init(np.zeros(1)))
        >>> round(float(updates[0]), 4), round(float(state.m[0]), 4), round(float(state.v[0]), 4)
        (-0.1, 0.5, 0.025)
    """
    schedule = _as_schedule(learning_rate)
    # 1 - beta is computed in float64 and only then meets float32 (as in Keras): 1 - float32(0.999) is off by 1e-5.
    b1 = fraction(beta_1, "beta_1", high_open=True)
    b2 = fraction(beta_2, "beta_2", high_open=True)
    eps_at = _as_epsilon(epsilon)

    def init(params):
        return AdamState(step=0, m=_zeros(params), v=_zeros(params))

    def update(grads, state):
        _check_state(state, AdamState)
        grads = _check_grads(grads, state.m)
        lr, eps, t = schedule(state.step), eps_at(state.step), FLOAT(state.step + 1)
        m = _map(lambda m_, g: b1 * m_ + (1 - b1) * g, state.m, grads)
        v = _map(lambda v_, g: b2 * v_ + (1 - b2) * np.square(g), state.v, grads)
        m_hat = _map(lambda m_: m_ / (1 - np.power(FLOAT(b1), t)), m)
        v_hat = _map(lambda v_: v_ / (1 - np.power(FLOAT(b2), t)), v)
        updates = _map(lambda mh, vh: -(lr * mh / (np.sqrt(vh) + eps)), m_hat, v_hat)
        return updates, AdamState(state.step + 1, m, v)

    return Optimizer(init, update)


def paper_epsilon_for_keras(epsilon=1e-7, beta_2=0.999) -> Callable[[int], float]:
    """The paper's epsilon, per step, that makes :func:`adam_paper` take Keras' steps: ``eps / sqrt(1 - beta_2**t)``.

    Keras adds ``eps_keras`` to ``sqrt(v)``; the paper adds ``eps`` to ``sqrt(v_hat) = sqrt(v) / sqrt(1 - beta_2**t)``.
    Multiplying the paper's denominator by ``sqrt(1 - beta_2**t)`` shows they agree when
    ``eps = eps_keras / sqrt(1 - beta_2**t)`` (``t = step + 1``): about 31.6 times Keras' epsilon at the first
    step, tending to Keras' epsilon as ``t`` grows.

    Example:
        >>> schedule = paper_epsilon_for_keras(1e-7, 0.999)
        >>> [f"{schedule(step):.3g}" for step in (0, 999, 100_000)]
        ['3.16e-06', '1.26e-07', '1e-07']
    """
    eps = positive_number(epsilon, "epsilon")
    b2 = fraction(beta_2, "beta_2", high_open=True)
    return lambda step: eps / np.sqrt(1.0 - b2 ** (step + 1))


def rmsprop_paper(learning_rate=0.001, decay=0.9, epsilon=0.0) -> Optimizer:
    """RMSprop as in Tieleman & Hinton's lecture 6e: divide the gradient by a running root mean square.

    ::

        mean_square <- decay * mean_square + (1 - decay) * g**2
        w <- w - lr * g / sqrt(mean_square + eps)

    The lecture has no epsilon (``eps = 0``, the default here; a weight whose gradients have all been 0 so
    far takes a step of 0). Keras' ``rmsprop(rho=decay, epsilon=eps)`` is this same formula with ``eps``
    1e-7 by default; its ``momentum`` and ``centered`` options are later additions (``centered`` follows
    Graves, 2013). The state is Keras' :class:`~course_utils.optimizers.RMSpropState` (``velocity`` is
    the mean square).

    Args:
        learning_rate: a number > 0 or a schedule.
        decay: the moving average's decay (the lecture's 0.9; Keras calls it ``rho``), in [0, 1).
        epsilon: >= 0, added inside the square root.

    Example:
        >>> opt = rmsprop_paper(0.01)
        >>> updates, state = opt.update(np.array([2.0, 0.0]), opt.init(np.zeros(2)))
        >>> [round(float(u), 4) for u in updates], [round(float(s), 4) for s in state.velocity]
        ([-0.0316, 0.0], [0.4, 0.0])
    """
    schedule = _as_schedule(learning_rate)
    rho = fraction(decay, "decay", high_open=True)
    eps = FLOAT(positive_number(epsilon, "epsilon", allow_zero=True))

    def step_of(g, ms, lr):
        denominator = np.sqrt(ms + eps)
        safe = np.where(denominator > 0, denominator, FLOAT(1))
        return np.where(denominator > 0, -(lr * g / safe), FLOAT(0)).astype(FLOAT)

    def init(params):
        return RMSpropState(step=0, velocity=_zeros(params), momentum=None, average_gradient=None)

    def update(grads, state):
        _check_state(state, RMSpropState, momentum=False, average_gradient=False)
        grads = _check_grads(grads, state.velocity)
        lr = schedule(state.step)
        mean_square = _map(lambda ms, g: rho * ms + (1 - rho) * np.square(g), state.velocity, grads)
        updates = _map(lambda g, ms: step_of(g, ms, lr), grads, mean_square)
        return updates, RMSpropState(state.step + 1, mean_square, None, None)

    return Optimizer(init, update)


def largest_difference(first: Optimizer, second: Optimizer, grad_fn, start, num_steps=20) -> float:
    """Run two optimizers from ``start`` on the same problem, each along its own path; the largest ``|w1 - w2|``.

    Args:
        first, second: :class:`~course_utils.optimizers.Optimizer` pairs.
        grad_fn: ``w -> gradient``, shaped like ``w``.
        start: the starting weights (one array).
        num_steps: updates per optimizer, >= 1.

    Example:
        >>> from course_utils import optimizers
        >>> largest_difference(optimizers.sgd(0.1), optimizers.sgd(0.1), lambda w: 2 * w, np.ones(2))
        0.0
    """
    if not isinstance(first, Optimizer) or not isinstance(second, Optimizer):
        raise TypeError("first and second must be Optimizers such as adam_paper(0.01) and optimizers.adam(0.01), "
                        f"got {type(first).__name__} and {type(second).__name__}")
    if not callable(grad_fn):
        raise TypeError(f"grad_fn must be a function of the weights w, got {type(grad_fn).__name__} "
                        f"{describe(grad_fn)}")
    steps = integer(num_steps, "num_steps", minimum=1)
    w1 = w2 = as_array(start, "start", min_ndim=0)
    s1, s2 = first.init(w1), second.init(w2)
    largest = 0.0
    for _ in range(steps):
        u1, s1 = first.update(as_array(grad_fn(w1), "grad_fn(w)", min_ndim=0), s1)
        u2, s2 = second.update(as_array(grad_fn(w2), "grad_fn(w)", min_ndim=0), s2)
        w1, w2 = apply_updates(w1, u1), apply_updates(w2, u2)
        largest = max(largest, float(np.max(np.abs(w1.astype(np.float64) - w2))))
    return largest

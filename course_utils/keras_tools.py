"""Small bridges to Keras used by lessons and tests (Keras is imported only when called)."""

from __future__ import annotations


def make_deterministic(seed: int = 0) -> None:
    """Seed Python, numpy and TensorFlow and ask TensorFlow for deterministic kernels.

    After this, building and training the same model twice gives the same numbers.

    Example:
        >>> make_deterministic(0)
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def keras_state_size(optimizer) -> int:
    """Count the floats a built Keras optimizer stores as state (its step counter and learning rate excluded).

    Compare with :func:`course_utils.optimizers.state_size` for the same optimizer.

    Example:
        >>> import keras, numpy as np
        >>> opt = keras.optimizers.Adam()
        >>> opt.build([keras.Variable(np.zeros((3, 2), "float32"))])
        >>> keras_state_size(opt)  # m and v: two floats per parameter
        12
    """
    return sum(
        int(v.numpy().size) for v in optimizer.variables if v.name not in ("iteration", "learning_rate")
    )

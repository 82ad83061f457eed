"""Reference implementations for the Loss & Optimization course.

Modules: :mod:`~course_utils.losses`, :mod:`~course_utils.optimizers`,
:mod:`~course_utils.schedules`, :mod:`~course_utils.gradients`,
:mod:`~course_utils.surfaces` and :mod:`~course_utils.data`.

Importing the package quiets TensorFlow's C++ start-up logging (the oneDNN banner and
info lines) for any TensorFlow imported afterwards, unless the variables are already set.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"

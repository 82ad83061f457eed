"""Interactive explorers for the lessons, built on :mod:`course_utils.widgets.core`.

One module per lesson topic; each explorer is a :class:`~course_utils.widgets.core.Demo`:
display it in a notebook to get sliders and a figure that redraws in place, or read and
set its controls from Python (that is how the tests drive them).
"""

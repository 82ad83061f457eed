"""Graduated hints for every exercise, asked for one at a time with ``hint("mse")``.

Each exercise (named after the function or class it asks for) has at least three hints, from the idea, to
the steps in words, to the one step most learners miss. None of them is the solution: they say what to do,
never the line of code that does it. They live here, outside the notebooks' ``### BEGIN SOLUTION`` /
``### END SOLUTION`` regions, so nbgrader's ``generate_assignment`` (which blanks those regions) keeps them.

How many hints a learner has seen is kept in one object per kernel, :data:`LOG` (a :class:`HintLog`): the
only state this module has. ``hint(name)`` shows the next hint and counts it; a check's ✓ line reports
``(2 of 3 hints used)``; a failing check ends by saying how to get the next one (and, where ipywidgets can
display, a "next hint" button does the same as ``hint(name)``).

    >>> log = HintLog({"double": ("Think of addition.", "Add x to itself.", "Return the result.")})
    >>> log.next("double")
    (1, 'Think of addition.')
    >>> log.used("double"), log.total("double")
    (1, 3)
"""

from __future__ import annotations

import difflib

HINTS: dict[str, tuple[str, ...]] = {
    # ---- 01 loss as error ---------------------------------------------------------------------------------------
    "mse": (
        "The error of one prediction is y_true - y_pred. The MSE squares every error, so positive and negative "
        "errors cannot cancel out, and then averages them.",
        "Steps: turn the inputs into float arrays, subtract, square each error, then average over the LAST axis "
        "only (one value per sample, like keras.losses).",
        "Square each error BEFORE averaging (squaring the average is a different number), and average with "
        "axis=-1: averaging over everything gives one number for the whole batch.",
    ),
    "mae": (
        "Like the MSE, but each error counts by its size |y_true - y_pred| instead of its square: an error of 4 "
        "costs twice an error of 2, not four times.",
        "Steps: subtract, take the absolute value of every error (np.abs), average over the last axis (axis=-1).",
        "Take the absolute value of each error FIRST and average afterwards: |mean(e)| is not mean(|e|) "
        "(errors of +1 and -1 have mean 0 but mean absolute error 1).",
    ),
    "huber": (
        "Huber is quadratic for small errors and linear for big ones; delta is where it switches. The two pieces "
        "meet smoothly at |e| = delta.",
        "Steps: compute the size of each error a = |y_pred - y_true|; where a <= delta use the half square of a, "
        "elsewhere delta times a minus half of delta squared; pick per element with np.where; average over "
        "axis=-1.",
        "Use the absolute error in BOTH the test and the linear piece (a negative error is just as large), use "
        "the delta you are given (not 1.0), and keep the -0.5 * delta**2 in the linear piece.",
    ),
    "under_penalty_mse": (
        "Start from the squared error of each prediction, then make the dangerous errors cost more: here "
        "the dangerous side is predicting too LOW.",
        "Steps: squared errors; a mask of the under-predictions (y_pred smaller than y_true); multiply the "
        "squared errors under that mask by under_weight (np.where); average over axis=-1.",
        "Only under-predictions get the weight, not every error, and the direction matters: y_pred < y_true is "
        "'too low'.",
    ),
    # ---- 02 cross-entropy ---------------------------------------------------------------------------------------
    "binary_crossentropy": (
        "Cross-entropy is the negative log of the probability the model gave to what really happened: p when "
        "the label is 1, 1 - p when it is 0.",
        "Steps: clip y_pred to [EPSILON, 1 - EPSILON]; per element add y * log(p) and (1 - y) * log(1 - p); "
        "negate; average over axis=-1.",
        "Clip with the notebook's EPSILON (1e-7, Keras' value), not a smaller number: on a probability of "
        "exactly 0 or 1 the clip decides the answer. And keep the minus sign: a loss is never negative.",
    ),
    "categorical_crossentropy": (
        "With one-hot labels only the true class counts: the loss is minus the log of the probability the model "
        "gave to the right class.",
        "Steps: clip y_pred to [EPSILON, 1 - EPSILON]; take the log; multiply by the one-hot y_true (this keeps "
        "only the true class); SUM over the classes (axis=-1); negate.",
        "It is a SUM over the classes, not a mean: averaging would divide the loss by the number of classes.",
    ),
    "hinge": (
        "A prediction is safe when its score has the label's sign AND is at least 1 away from 0 (the margin): "
        "then it costs nothing; otherwise it costs how far it falls short of the margin.",
        "Steps: the margin shortfall is 1 minus label times score; below 0 it counts as 0 (np.maximum); average "
        "over axis=-1.",
        "Do not forget the floor at 0: without it, confident correct predictions get a negative cost and hide "
        "the errors of the others.",
    ),
    "logits_objective": (
        "TensorFlow has the numerically stable loss ready: tf.nn.sigmoid_cross_entropy_with_logits takes the "
        "raw scores and never computes sigmoid and then log itself.",
        "Steps: cast the integer labels to tf.float32 (tf.cast); call the function with labels= and logits= as "
        "keyword arguments; average over the whole batch (tf.reduce_mean); return that tensor.",
        "The function wants float labels of the same dtype as the logits (cast first), and the objective is ONE "
        "number: tf.reduce_mean, not a sum and not per-sample values.",
    ),
    # ---- 03 gradient descent ------------------------------------------------------------------------------------
    "numerical_gradient": (
        "Estimate each partial derivative separately: move ONE coordinate a tiny step up and down, leave the "
        "others where they are, and see how much f changes.",
        "Steps: make a result array of zeros shaped like x; for every index i (np.ndindex(x.shape)) build two "
        "copies of x, add eps at i in one and subtract it in the other; the entry i is the difference of f at "
        "the two copies divided by their distance.",
        "The two points are 2 * eps apart, and `plus = x` does NOT copy (it is the same array under a new name): "
        "use x.copy() for each nudged point, so the caller's x stays unchanged.",
    ),
    "mse_gradient": (
        "Use the chain rule from the cost back to each parameter: the cost depends on each error e_i, and each "
        "error depends on w and b.",
        "Steps: compute all the errors at once (prediction minus y); dC/de_i is 2 * e_i / n; weight j collects "
        "x_ij times that over all samples (a matrix product with the transpose of x); b collects it with "
        "factor 1 (an average of the errors, times 2).",
        "The error is prediction minus y (the other way round flips the sign), and the cost is a MEAN: divide by "
        "n, and remember the factor 2 from the square.",
    ),
    "gradient_descent": (
        "Gradient descent repeats one move: from the current point, step against the gradient, scaled by the "
        "learning rate.",
        "Steps: start a list of points with a float copy of w0; num_steps times compute the next point from the "
        "current one and append it; return the list stacked into one array (num_steps + 1 rows).",
        "Make a NEW array each step (w = w - ...), not `w -= ...`: an in-place change alters every point already "
        "in your list (and the caller's w0).",
    ),
    "fit_linear": (
        "Training is exercise 2 inside exercise 3: the gradient of the cost at the current (w, b), then one step "
        "downhill for both.",
        "Steps: start from w = zeros(d) and b = 0.0; num_steps times: get (dw, db) from your mse_gradient at the "
        "current (w, b), then move w and b against their gradients; return the final (w, b).",
        "Compute both gradients at the SAME point before changing anything: updating w first and then taking db "
        "at the new w is a different (and wrong) step.",
    ),
    # ---- 04 optimizers ------------------------------------------------------------------------------------------
    "sgd_momentum_update": (
        "The velocity is a memory of past steps: each call it shrinks by the factor momentum and takes in the "
        "newest downhill step.",
        "Steps: new velocity = momentum times the old velocity, minus the learning rate times the gradient; "
        "the update is that new velocity; return both.",
        "In Keras' form the learning rate goes INSIDE the velocity (PyTorch multiplies afterwards): with a "
        "learning rate that changes from call to call only Keras' form gives Keras' updates.",
    ),
    "rmsprop_update": (
        "RMSprop divides each gradient by the typical size of its recent values, a moving average of the "
        "squared gradients, so every weight gets its own step size.",
        "Steps: new velocity = rho times the old one plus (1 - rho) times the squared gradient; update = minus "
        "the learning rate times the gradient divided by the square root of (new velocity + epsilon); return "
        "both.",
        "Keras puts epsilon INSIDE the square root and divides by the NEW velocity, the one you just updated.",
    ),
    "adam_update": (
        "Adam keeps two moving averages: m of the gradients (momentum) and v of the squared gradients (RMSprop), "
        "and corrects both for having started at 0.",
        "Steps: count t from 1 (one more than step); update m with beta_1 and v with beta_2; the step size "
        "alpha is the learning rate times sqrt(1 - beta_2**t) over (1 - beta_1**t); the update is minus alpha "
        "times m over (sqrt(v) + epsilon); return the update, m and v.",
        "t starts at 1 (step counts from 0), epsilon goes OUTSIDE the square root, and Keras adds it to sqrt(v) "
        "of the UNcorrected v (the bias correction lives only in alpha).",
    ),
    "final_loss": (
        "optimizers.trajectory already runs the optimizer and records the loss at every point; you only read "
        "the right number from its result.",
        "Steps: run the trajectory with the optimizer, surface.loss, surface.grad, surface.start and num_steps; "
        "if the run diverged return float('inf'); otherwise return its last loss as a float.",
        "A diverged run stops early, so its last recorded loss is NOT the loss after num_steps: check "
        "run.diverged before reading the losses.",
    ),
    "best_learning_rate": (
        "Run each candidate learning rate once and keep the one whose run ends lowest: your final_loss gives the "
        "score of a run.",
        "Steps: for each candidate lr build an optimizer with make_optimizer(lr) and score it with "
        "final_loss(...); return the candidate with the smallest score (min with a key function does this).",
        "Return the learning rate itself, not its loss and not its position in the list.",
    ),
    # ---- 05 learning-rate schedules -----------------------------------------------------------------------------
    "exponential_decay": (
        "The rate is multiplied by decay_rate once every decay_steps steps: after step steps that is "
        "step / decay_steps multiplications (a fraction in between).",
        "Steps: make step a float array (np.asarray); the exponent is step / decay_steps; with staircase round "
        "the exponent down to a whole number; the rate is the initial rate times decay_rate to that power.",
        "Step 0 gives exactly the initial rate (no step + 1), staircase rounds DOWN (np.floor, never up), and "
        "step may be a whole array: use numpy functions, not math.floor or a Python `if` on the steps.",
    ),
    "piecewise_constant": (
        "The boundaries cut the steps into len(values) intervals; the answer is the value of the interval the "
        "step falls in.",
        "Steps: find for each step how many boundaries lie below it (np.searchsorted does this for a whole "
        "array); that count is the index into the values (as a numpy array).",
        "A step exactly on a boundary still gets the EARLIER value (Keras switches after the boundary): read "
        "about np.searchsorted's side argument to count only the boundaries strictly below the step.",
    ),
    "WarmupSchedule": (
        "A Keras schedule is a small class: __init__ stores the settings, __call__(step) returns the learning "
        "rate for that step, and get_config returns the settings so Keras can rebuild it.",
        "Steps: in __init__ save the three arguments as attributes; in __call__ cast the step to float32 with "
        "keras.ops, compute the fraction of the warmup done (capped at 1 with ops.minimum), and go that fraction "
        "of the way from the initial to the target rate; in get_config return a dict of the three arguments, "
        "keyed by their __init__ names.",
        "The step arrives as an integer tensor inside a compiled graph: cast it before dividing, and use "
        "keras.ops (no Python `if`, min() or numpy) so it works inside model.fit.",
    ),
    "warmup_cosine": (
        "Two phases: a straight ramp from 0 up to the peak during the warmup, then half a cosine wave from the "
        "peak down to alpha times the peak.",
        "Steps: step as a float array; the ramp is peak * step / warmup_steps; after the warmup, t is the steps "
        "since the warmup ended divided by decay_steps, capped at 1; the cosine part follows the formula in the "
        "text; choose per step with np.where.",
        "Count the decay steps from the END of the warmup (step - warmup_steps), cap t at 1 so the rate stays at "
        "the floor, and write it in numpy yourself (Keras' own CosineDecay returns tensors and cannot take an "
        "array of steps).",
    ),
    # ---- 06 training loop ---------------------------------------------------------------------------------------
    "make_batches": (
        "Walk through the rows in order, batch_size rows at a time; each batch is the x rows and the y labels of "
        "the same stretch.",
        "Steps: for every start in 0, batch_size, 2 * batch_size, ... up to n (range with a step), slice x and y "
        "from start to start + batch_size and append the pair; return the list.",
        "Keep the last, smaller batch (slicing past the end is fine in numpy), slice x and y with the same start "
        "and stop, and do not shuffle.",
    ),
    "one_hot": (
        "Each label becomes a row of num_classes zeros with a single 1 in the label's column.",
        "Row i of the identity matrix np.eye(num_classes) is exactly that row for class i: make the labels an "
        "integer array and use them as row indices into it; the result has one row per label.",
        "Labels can arrive as floats (3.0): convert them to integers before indexing, and always use num_classes "
        "columns, even if the largest class is missing from the labels.",
    ),
    "train_step": (
        "A training step is: forward pass, loss, backward pass, update. tf.GradientTape records the forward pass "
        "so it can compute the gradients.",
        "Steps: inside the tape's `with` block run the model on x (training=True) and compute the mean sparse "
        "categorical cross-entropy; after the block ask the tape for the gradients of the loss with respect to "
        "model.trainable_variables; apply them with the optimizer; return the loss.",
        "Both the model call AND the loss must be inside the `with tf.GradientTape()` block (the tape records "
        "nothing outside it), and the loss is the MEAN over the batch.",
    ),
    "build_digits_model": (
        "The lesson's model: 64 pixels in, one hidden layer of 512 relu units, 10 softmax outputs (one "
        "probability per digit).",
        "Steps: a keras.Sequential of keras.Input(shape=(64,)) and the two Dense layers; compile it with the "
        "Adam optimizer, the sparse categorical cross-entropy loss and the accuracy metric; return it.",
        "Build a NEW model inside the function on every call, and use the SPARSE loss: the labels are integers "
        "0-9, not one-hot rows.",
    ),
    "train_digits": (
        "model.fit does the whole training loop for you: it needs the training images, their labels, and how "
        "long to train.",
        "Steps: call model.fit on split.x_train and split.y_train with a number of epochs (about 10), a batch "
        "size (32 works) and verbose=0; then return the model.",
        "Return the model, not the History that fit returns, and train only on the training split: the "
        "validation images are for measuring.",
    ),
}


class HintLog:
    """How many hints of each exercise this kernel has shown: the one piece of state hints need."""

    def __init__(self, hints: dict[str, tuple[str, ...]] = HINTS):
        self._hints = hints
        self._used: dict[str, int] = {}

    def names(self) -> list[str]:
        return list(self._hints)

    def total(self, name: str) -> int:
        return len(self._hints[name])

    def used(self, name: str) -> int:
        return self._used.get(name, 0)

    def next(self, name: str) -> tuple[int, str]:
        """Count one more hint of ``name`` as seen and return ``(its number, its text)``; past the last, the last."""
        number = min(self.used(name) + 1, self.total(name))
        self._used[name] = number
        return number, self._hints[name][number - 1]

    def reset(self) -> None:
        self._used.clear()


LOG = HintLog()  # the kernel's one hint log (a kernel imports this module once)


def _name_of(exercise) -> str:
    return exercise if isinstance(exercise, str) else getattr(exercise, "__name__", str(exercise))


def hint(exercise=None) -> None:
    """Print the next hint for an exercise: ``hint("mse")`` (the name of the function or class it asks for)."""
    if exercise is None:
        print('Ask for a hint with the name of the exercise\'s function or class, e.g. hint("mse").')
        return
    name = _name_of(exercise)
    if name not in HINTS:
        close = [known for known in HINTS if name.lower() in known.lower()]
        close = close or difflib.get_close_matches(name, HINTS, n=1)
        suggestion = f' Did you mean hint("{close[0]}")?' if close else ""
        print(f"There are no hints for {name!r}.{suggestion} Exercises with hints: {', '.join(HINTS)}.")
        return
    seen = LOG.used(name)
    number, text = LOG.next(name)
    total = LOG.total(name)
    print(f"Hint {number} of {total} for {name}: {text}")
    if seen >= total:
        print(f"(That was the last hint for {name}; the earlier ones: "
              + " | ".join(HINTS[name][:-1]) + ")")
    elif number == total:
        print("(That was the last hint. Compare your code with the formula and the worked example above it.)")


def used_note(name: str) -> str:
    """``(2 of 3 hints used)`` for a passing check's line; empty for a name without hints."""
    if name not in HINTS:
        return ""
    return f"({LOG.used(name)} of {LOG.total(name)} hints used)"


def ask_line(name: str) -> str:
    """The last line of a failing check: how to get the next hint."""
    if name not in HINTS:
        return ""
    used, total = LOG.used(name), LOG.total(name)
    if used >= total:
        return f'stuck?    you have seen all {total} hints: hint("{name}") shows them again'
    return f'stuck?    run hint("{name}") for hint {used + 1} of {total}'


def _in_a_kernel():
    """The running IPython kernel's shell, or None (a terminal, a plain script, a test)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


class _HintButton:
    """A "next hint" button with its output area; plain text where widgets cannot be shown."""

    def __init__(self, name: str):
        import ipywidgets as widgets

        self.name = name
        self.output = widgets.Output()
        self.button = widgets.Button(description="next hint", icon="lightbulb-o",
                                     tooltip=f'the same as running hint("{name}")')
        self.button.on_click(self._clicked)
        self.view = widgets.VBox([self.button, self.output])

    def _clicked(self, _button=None):
        with self.output:
            hint(self.name)
        if LOG.used(self.name) >= LOG.total(self.name):
            self.button.disabled, self.button.description = True, "no more hints"

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.view._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        bundle["text/plain"] = f'Run hint("{self.name}") for the next hint.'
        return bundle


def offer_button(name: str) -> bool:
    """Show a "next hint" button under the failing check's message, where ipywidgets can display.

    The check's message is an exception, printed after the check returns; so the button is displayed by a
    one-shot ``post_run_cell`` callback, which runs after the message, in the same cell's output.
    """
    shell = _in_a_kernel()
    if shell is None or name not in HINTS or LOG.used(name) >= LOG.total(name):
        return False
    try:
        button = _HintButton(name)
    except ImportError:
        return False
    from IPython.display import display

    def show(*_args):
        shell.events.unregister("post_run_cell", show)
        display(button)

    shell.events.register("post_run_cell", show)
    return True

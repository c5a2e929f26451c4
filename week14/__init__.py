"""week14: the NumPy reference library for DATA622 week 14 (neural networks, part 2).

Modules, in the lecture's order:

- ``activations``: sigmoid, tanh, arctan, ReLU, PReLU, ELU, softplus, binary step,
  each with its derivative; softmax.
- ``losses``: SSE, the lecture's MSE (1/2m), the asymmetric MSE, softmax cross-entropy;
  ``metrics``: accuracy and the confusion matrix.
- ``gradient_descent``: the single-unit gradient rules and one descent step.
- ``layers``, ``model``, ``initializers``, ``optimizers``: dense and convolutional
  networks as forward/backward pairs; ``functional`` holds the convolution and pooling
  operations (fast, and plainly written loops); ``kernels`` the lecture's image kernels.
- ``schedules``, ``monitor``, ``training``: learning-rate decay, ReduceLROnPlateau and
  early stopping (Keras's rules for watching a metric), the Trainer; ``schedule_runs``:
  training runs with a schedule, for notebook 06 and its explorer.
- ``symmetry``, ``pruning``, ``lottery``: breaking symmetry, magnitude pruning and
  masked training, the lottery-ticket experiment on the digits; ``sparse``: pruned
  weights in CSR format and their product with a batch.
- ``gradcheck``: numerical gradients; ``data``: the lecture's worked examples and
  datasets (the digits ship in ``datasets/``); ``cnn``: the digits CNN.
- Grading, what notebook test cells call: ``grading`` (the checks), ``cases`` and the
  ``checks_*`` modules (labelled cases, seeded builders for hidden tests, one module per
  topic's own checks), ``references`` (references built from several library parts),
  ``misconceptions`` with ``mistake`` and ``mistakes_*`` (the catalogue of known
  mistakes), ``remote``, ``wire`` and ``plaindata`` (calling a student's code in
  another process, with plain data only).
- ``widgets``: ipywidgets explorers (imports matplotlib and ipywidgets); ``lab``: the
  student launcher (``python -m week14.lab``).

Modules whose names start with ``_`` are internal: the convolution and pooling engines,
validation, random generators, BLAS threads, text tables.

Importing ``week14`` loads NumPy only; matplotlib, ipywidgets and tqdm are imported by
the functions that need them.
"""

from week14 import (
    activations,
    cnn,
    data,
    functional,
    gradcheck,
    gradient_descent,
    grading,
    initializers,
    kernels,
    layers,
    losses,
    lottery,
    metrics,
    model,
    monitor,
    optimizers,
    pruning,
    references,
    remote,
    schedules,
    sparse,
    symmetry,
    training,
)

__all__ = [
    "activations", "cnn", "data", "functional", "gradcheck", "gradient_descent", "grading",
    "initializers", "kernels", "layers", "losses", "lottery", "metrics", "model", "monitor",
    "optimizers", "pruning", "references", "remote", "schedules", "sparse", "symmetry",
    "training",
]

"""week14: the NumPy reference library for DATA622 week 14 (neural networks, part 2).

Modules, in the lecture's order:

- ``activations``: sigmoid, tanh, arctan, ReLU, PReLU, ELU, softplus, binary step,
  each with its derivative; softmax.
- ``losses``: SSE, the lecture's MSE (1/2m), softmax cross-entropy.
- ``gradient_descent``: the single-unit gradient rules and one descent step.
- ``layers``, ``model``, ``initializers``, ``optimizers``: dense and convolutional
  networks as forward/backward pairs; ``functional`` holds the convolution and pooling
  kernels (fast and plainly written); ``kernels`` the lecture's image kernels.
- ``schedules``, ``training``: learning-rate decay, ReduceLROnPlateau, the Trainer.
- ``symmetry``, ``pruning``: breaking symmetry, magnitude pruning, the lottery ticket;
  ``sparse``: pruned weights in CSR format and their product with a batch.
- ``gradcheck``: numerical gradients; ``data``: the lecture's worked examples and
  datasets; ``cnn``: the digits CNN; ``grading``: checks for graded notebook cells,
  ``remote``: calling a student's code in another process with plain data only,
  ``references``: the references of exercises built from several library parts;
  ``widgets``: ipywidgets explorers (imports matplotlib and ipywidgets).

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
    model,
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
    "initializers", "kernels", "layers", "losses", "model", "optimizers", "pruning",
    "references", "remote", "schedules", "sparse", "symmetry", "training",
]

"""The catalogue's mistakes of notebooks 08–10 (:mod:`week14.misconceptions`):
convolution, pooling and the CNN. Keyed by the reference each exercise is checked
against."""

from __future__ import annotations

from week14.mistake import Mistake


def _convolution(*, stride: str = "stride", kernel: str = "w", bias: str = " + b") -> str:
    """A student's loop convolution, with one of its parts (the stride it moves by, the
    kernel it uses, the bias it adds) replaced."""
    return ("def conv2d_forward(x, w, b, stride=1, padding=0):\n"
            "    p = padding\n"
            "    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))\n"
            f"    kernel, step = {kernel}, {stride}\n"
            "    kh, kw = w.shape[2:]\n"
            "    out_h = (xp.shape[2] - kh) // step + 1\n"
            "    out_w = (xp.shape[3] - kw) // step + 1\n"
            "    out = np.zeros((x.shape[0], w.shape[0], out_h, out_w))\n"
            "    for i in range(out_h):\n"
            "        for j in range(out_w):\n"
            "            window = xp[:, :, i * step:i * step + kh, j * step:j * step + kw]\n"
            f"            out[:, :, i, j] = np.einsum('nchw,fchw->nf', window, kernel){bias}\n"
            "    return out\n")


def _pooling(name: str, *, default_stride: str, reduce: str) -> str:
    """A student's loop pooling ``name``, with the stride it takes when none is given
    and the reduction (``max`` or ``mean``) of each window."""
    return (f"def {name}(x, size, stride=None):\n"
            f"    stride = {default_stride} if stride is None else stride\n"
            "    out_h = (x.shape[2] - size) // stride + 1\n"
            "    out_w = (x.shape[3] - size) // stride + 1\n"
            "    out = np.zeros((x.shape[0], x.shape[1], out_h, out_w))\n"
            "    for i in range(out_h):\n"
            "        for j in range(out_w):\n"
            "            top, left = i * stride, j * stride\n"
            "            window = x[:, :, top:top + size, left:left + size]\n"
            f"            out[:, :, i, j] = window.{reduce}(axis=(2, 3))\n"
            "    return out\n")


CATALOGUE: dict[str, tuple[Mistake, ...]] = {
    "week14.metrics.confusion_matrix": (
        Mistake("confusion-transposed",
                "this counts C[predicted, true]: rows are the true classes, C[i, j] counts "
                "examples of class i predicted as j",
                "def confusion_matrix(y_true, y_pred, n_classes):\n"
                "    C = np.zeros((n_classes, n_classes), dtype=int)\n"
                "    for t, p in zip(y_true, y_pred):\n        C[p, t] += 1\n    return C\n"),
        Mistake("confusion-observed-classes",
                "this has a row and column only for the classes that occur: the matrix is "
                "n_classes × n_classes, with zeros for classes never seen",
                "def confusion_matrix(y_true, y_pred, n_classes):\n"
                "    n = int(max(np.max(y_true), np.max(y_pred))) + 1\n"
                "    C = np.zeros((n, n), dtype=int)\n"
                "    for t, p in zip(y_true, y_pred):\n        C[t, p] += 1\n    return C\n"),
    ),
    "week14.references.conv_single_step": (
        Mistake("single-step-without-bias",
                "this leaves out the bias: one output value is Σ window ⊙ kernel + b",
                "def conv_single_step(window, kernel, b):\n"
                "    return float(np.sum(window * kernel))\n"),
        Mistake("single-step-matrix-product",
                "this multiplies window and kernel as matrices (@): a convolution "
                "multiplies them elementwise (*), then sums, Σ window ⊙ kernel + b",
                "def conv_single_step(window, kernel, b):\n"
                "    return float(np.sum(window @ kernel) + b)\n"),
    ),
    "week14.functional.conv2d": (
        Mistake("convolution-flipped-kernel",
                "this flips the kernel (the convolution of mathematics): CNNs, and the "
                "lecture, slide the kernel as it is, out = Σ window ⊙ w + b",
                _convolution(kernel="w[:, :, ::-1, ::-1]")),
        Mistake("convolution-without-bias",
                "this leaves out the bias: each output is Σ window ⊙ w + b[f]",
                _convolution(bias="")),
        Mistake("convolution-ignores-stride",
                "this moves the window by one whatever the stride: window (i, j) starts at "
                "row i·s and column j·s, and there are ⌊(n + 2p − k)/s⌋ + 1 of them",
                _convolution(stride="1")),
    ),
    "week14.references.gaussian_blur_kernel": (
        Mistake("blur-not-normalised",
                "this blur's weights sum to 16, so every pixel comes out 16 times too "
                "bright: the Gaussian blur is a weighted mean, so divide the weights by "
                "their sum to make them sum to 1",
                "gaussian_blur = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]])\n"),
    ),
    "week14.references.sharpen_kernel": (
        Mistake("sharpen-edge-centre",
                "this kernel's weights sum to 0, an edge detector (flat regions become 0): "
                "sharpening keeps the pixel itself and adds its difference from its four "
                "neighbours, so the centre is one larger and the weights sum to 1",
                "sharpen = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]])\n"),
    ),
    "week14.references.edge_detection_kernel": (
        Mistake("edge-detection-four-neighbours",
                "this compares each pixel with its four neighbours only (0 in the corners): "
                "the slide's edge detector compares it with all eight, −1 around the "
                "centre, and the centre balances them so that the weights sum to 0",
                "edge_detection = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]])\n"),
        Mistake("edge-detection-sums-to-one",
                "this kernel's weights sum to 1, so flat regions keep their brightness: "
                "that sharpens; an edge detector's weights sum to 0 (the centre balances "
                "the eight −1 around it), so flat regions become 0",
                "edge_detection = np.array([[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]])\n"),
    ),
    "week14.functional.max_pool2d": (
        Mistake("pool-stride-one",
                "this moves the window by one when no stride is given: pooling's stride "
                "defaults to the window's size (windows side by side)",
                _pooling("max_pool", default_stride="1", reduce="max")),
    ),
    "week14.functional.avg_pool2d": (
        Mistake("avg-pool-stride-one",
                "this moves the window by one when no stride is given: pooling's stride "
                "defaults to the window's size (windows side by side)",
                _pooling("avg_pool", default_stride="1", reduce="mean")),
        Mistake("avg-pool-max",
                "this takes the maximum: average pooling takes the mean of each window",
                _pooling("avg_pool", default_stride="size", reduce="max")),
    ),
    # Training the CNN (notebook 10) is judged by what the trained network shows, not by
    # comparison with a reference: its check names these (grading.named_mistake), keyed
    # by the class the exercise trains with.
    "week14.training.Trainer": (
        Mistake("cnn-diverging-rate",
                "the learning rate is too large: each step overshoots, throwing the "
                "weights away from a minimum instead of towards it; lower the learning "
                "rate (about 0.1 with momentum 0.9 works)",
                "def train_cnn(model, X, y):\n"
                "    trainer = Trainer(model, 'cross_entropy', SGD(5.0, momentum=0.9),\n"
                "                      schedule=StepDecay(5.0, 0.5, 2), batch_size=32, "
                "seed=0,\n                      progress=False)\n"
                "    trainer.fit(X, y, epochs=6)\n"),
        Mistake("cnn-trains-a-copy",
                "this trains a copy or a new network, and the model it is given keeps its "
                "initial weights: it must train the model it is given, in place (fit a "
                "Trainer made with that model)",
                "def train_cnn(model, X, y):\n    import copy\n\n"
                "    net = copy.deepcopy(model)  # leave the model I am given as it was\n"
                "    trainer = Trainer(net, 'cross_entropy', SGD(0.1, momentum=0.9),\n"
                "                      schedule=StepDecay(0.1, 0.5, 2), batch_size=32, "
                "seed=0,\n                      progress=False)\n"
                "    trainer.fit(X, y, epochs=6)\n"),
    ),
    "week14.functional.zero_pad": (
        Mistake("pad-every-axis",
                "this pads every axis, the batch and channel axes too (np.pad(x, p)): pad "
                "only height and width, ((0, 0), (0, 0), (p, p), (p, p))",
                "def zero_pad(x, p):\n    return np.pad(x, p)\n"),
        Mistake("pad-one-side",
                "this pads one side of each axis: p zeros go on every side, before and "
                "after, (p, p)",
                "def zero_pad(x, p):\n    return np.pad(x, ((0, 0), (0, 0), (0, p), (0, p)))\n"),
    ),
    "week14.functional.conv_output_size": (
        Mistake("output-size-without-one",
                "this leaves out the + 1: the first window also counts, "
                "n′ = ⌊(n + 2p − k)/s⌋ + 1",
                "def conv_output_size(n, k, p=0, s=1):\n    return (n + 2 * p - k) // s\n"),
        Mistake("output-size-padding-once",
                "this adds the padding once: it is on both sides, n + 2p",
                "def conv_output_size(n, k, p=0, s=1):\n    return (n + p - k) // s + 1\n"),
        Mistake("output-size-true-division",
                "this divides with /, giving a fraction: the number of window positions is "
                "a whole number, ⌊(n + 2p − k)/s⌋ + 1 (use //)",
                "def conv_output_size(n, k, p=0, s=1):\n    return (n + 2 * p - k) / s + 1\n"),
    ),
}

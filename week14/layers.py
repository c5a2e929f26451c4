"""Layers: each one a forward/backward pair with explicit caches.

Every layer has ``forward(x)``, ``backward(grad_out) -> grad_in`` and two dicts,
``params`` and ``grads``, with the same keys (empty for layers without weights).
``forward`` keeps what ``backward`` needs in ``self.cache``; ``backward`` fills
``self.grads`` with dL/dparam for the last forward pass and returns dL/dx.

The base class :class:`Layer` (defined in ``week14._layer_base``, with the helpers the
layers share) is importable from here. Convolution and pooling run on the engines behind
:mod:`week14.functional` (``week14._conv_engine``, ``week14._pool_engine``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from math import prod

import numpy as np
import numpy.typing as npt

import week14._conv_engine as conv_engine
import week14._pool_engine as pool_engine
from week14 import activations
from week14._layer_base import Layer, fingerprints, initial_value, name_of, origin, require_cache
from week14._rng import RngLike, as_generator
from week14._validation import check_int
from week14.activations import ActivationFn
from week14.initializers import Initializer

# --------------------------------------------------------------------------------------
# Dense (fully connected) layer
# --------------------------------------------------------------------------------------


class Dense(Layer):
    """Fully connected layer, ``out = x @ W + b`` (slide: "Feedforward").

    Every one of the ``out_features`` units takes a weighted sum of all ``in_features``
    inputs plus its bias; column ``j`` of ``W`` holds the weights of unit ``j``. Follow it
    with an activation layer to get the lecture's neurons ``σ(w·x + b)``.

    Shapes: ``x`` (N, in), ``W`` (in, out), ``b`` (out,), ``out`` (N, out).

    Backward (slide: "Backpropagation"), with ``g = dL/dout`` of shape (N, out)::

        dL/dW = xᵀ g        (in, out)
        dL/db = Σ_n g[n]    (out,)
        dL/dx = g Wᵀ        (N, in)

    Args:
        in_features, out_features: sizes of the input and of the output (ints >= 1).
        weight_init: name in ``week14.initializers`` or callable ``init(shape, rng=g)``
            for ``W`` (default Glorot uniform: random, to break the symmetry between
            units, slide: "Breaking symmetry").
        bias_init: the same for ``b`` (default zeros).
        rng: seed or Generator for the random initial values.
        dtype: dtype of the parameters (default float64).

    The repr names the initializers while ``W`` and ``b`` hold what they drew, and says
    ``weights set`` / ``bias set`` once their values were changed (set by hand, as for
    the lecture's toy network, loaded or trained).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        weight_init: str | Initializer = "glorot_uniform",
        bias_init: str | Initializer = "zeros",
        rng: RngLike = None,
        dtype: npt.DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        self.in_features = check_int("Dense", "in_features", in_features, 1)
        self.out_features = check_int("Dense", "out_features", out_features, 1)
        self.weight_init = weight_init
        self.bias_init = bias_init
        self.dtype = np.dtype(dtype)
        gen = as_generator(rng)
        self.params = {
            "W": initial_value(weight_init, (in_features, out_features), gen, dtype, "Dense"),
            "b": initial_value(bias_init, (out_features,), gen, dtype, "Dense"),
        }
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self._drawn = fingerprints(self)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``x @ W + b`` of shape (N, out) for ``x`` of shape (N, in); cache ``x``."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"Dense expected input with {self.in_features} features "
                f"(shape (N, {self.in_features})), got shape {x.shape}"
            )
        self.cache = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Fill ``grads["W"] = xᵀg`` and ``grads["b"] = Σ_n g[n]`` (in place) and return
        ``dL/dx = g Wᵀ`` of shape (N, in), for ``g = grad_out`` of shape (N, out)."""
        x = require_cache(self)
        g = self._checked_grad(grad_out, (x.shape[0], self.out_features))
        self.grads["W"][...] = x.T @ g
        self.grads["b"][...] = g.sum(axis=0)
        return g @ self.params["W"].T

    def __repr__(self) -> str:
        return (
            f"Dense({self.in_features}, {self.out_features}, "
            f"{origin(self, 'W', 'weight_init', self.weight_init, 'weights set')}, "
            f"{origin(self, 'b', 'bias_init', self.bias_init, 'bias set')}, "
            f"dtype={self.dtype.name})"
        )


# --------------------------------------------------------------------------------------
# Activation layers (slide: "Derivatives of other Activation Functions")
# --------------------------------------------------------------------------------------


class ActivationLayer(Layer):
    """Elementwise activation ``y = f(x)``; backward is ``dL/dx = dL/dy ⊙ f'(x)``.

    The functions come in pairs from ``week14.activations`` (slide: "Derivatives of other
    Activation Functions"); the named subclasses below (``Sigmoid``, ``ReLU``, ...) only
    choose the pair. ``hyperparameters`` (e.g. ``{"alpha": 0.25}``) are passed as keyword
    arguments to both functions; they are checked once, at construction.

    Shapes: any; ``y`` and ``dL/dx`` have the shape of ``x``. No parameters.

    Args:
        fn: ``f(x, **hyperparameters)``, elementwise.
        derivative: ``f'(x, **hyperparameters)``, elementwise.
        hyperparameters: constant keyword arguments for ``fn`` and ``derivative``.
    """

    def __init__(
        self,
        fn: ActivationFn,
        derivative: ActivationFn,
        hyperparameters: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__()
        self.fn = fn
        self.derivative = derivative
        self.hyperparameters = dict(hyperparameters or {})
        # Fail now, not at the first forward pass, on a misspelt or invalid hyperparameter.
        fn(0.0, **self.hyperparameters)
        derivative(0.0, **self.hyperparameters)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``f(x)`` (same shape as ``x``); cache ``x`` and the output."""
        x = np.asarray(x)
        out = np.asarray(self.fn(x, **self.hyperparameters))
        self.cache = (x, out)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return ``grad_out ⊙ f'(x)`` for the ``x`` of the last forward pass."""
        x, out = require_cache(self)
        grad_out = self._checked_grad(grad_out, out.shape)
        return grad_out * self._local_gradient(x, out)

    def _local_gradient(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``f'(x)``; subclasses whose derivative is cheaper from ``out`` override this."""
        return np.asarray(self.derivative(x, **self.hyperparameters))

    def __repr__(self) -> str:
        settings = [f"{key}={value!r}" for key, value in self.hyperparameters.items()]
        if type(self) is ActivationLayer:
            settings = [f"fn={name_of(self.fn)}",
                        f"derivative={name_of(self.derivative)}", *settings]
        return f"{type(self).__name__}({', '.join(settings)})"


class Sigmoid(ActivationLayer):
    """Sigmoid layer, ``y = 1 / (1 + e^(-x))``, with ``dy/dx = y(1 − y)`` taken from the
    cached output (slide: "Derivative of the Sigmoid Function")."""

    def __init__(self) -> None:
        super().__init__(activations.sigmoid, activations.sigmoid_derivative)

    def _local_gradient(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return out * (1.0 - out)


class Tanh(ActivationLayer):
    """Tanh layer, ``y = tanh(x)``, with ``dy/dx = 1 − y²`` taken from the cached output
    (slide: "Derivatives of other Activation Functions")."""

    def __init__(self) -> None:
        super().__init__(activations.tanh, activations.tanh_derivative)

    def _local_gradient(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return 1.0 - out * out


class ArcTan(ActivationLayer):
    """ArcTan layer, ``y = tan⁻¹(x)``, ``dy/dx = 1 / (x² + 1)`` (slide: "Derivatives of
    other Activation Functions")."""

    def __init__(self) -> None:
        super().__init__(activations.arctan, activations.arctan_derivative)


class ReLU(ActivationLayer):
    """ReLU layer, ``y = max(x, 0)``, ``dy/dx = 1`` for ``x ≥ 0`` else 0 (ReLU'(0) = 1, as
    in the lecture's table; slide: "Derivatives of other Activation Functions")."""

    def __init__(self) -> None:
        super().__init__(activations.relu, activations.relu_derivative)


class PReLU(ActivationLayer):
    """Parametric ReLU layer, ``y = x`` for ``x ≥ 0`` else ``αx``; ``dy/dx = 1`` or ``α``
    (PReLU'(0) = 1; slide: "Derivatives of other Activation Functions"). ``α`` is a fixed
    hyperparameter here, not a learned parameter."""

    def __init__(self, alpha: float = 0.25) -> None:
        super().__init__(activations.prelu, activations.prelu_derivative, {"alpha": alpha})


class ELU(ActivationLayer):
    """ELU layer, ``y = x`` for ``x ≥ 0`` else ``α(eˣ − 1)``; ``dy/dx = 1`` or ``y + α``
    (slide: "Derivatives of other Activation Functions")."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(activations.elu, activations.elu_derivative, {"alpha": alpha})


class Softplus(ActivationLayer):
    """Softplus layer, ``y = ln(1 + eˣ)``, ``dy/dx = 1 / (1 + e^(-x))`` (slide:
    "Derivatives of other Activation Functions")."""

    def __init__(self) -> None:
        super().__init__(activations.softplus, activations.softplus_derivative)


class BinaryStep(ActivationLayer):
    """Binary step layer, ``y = 1`` for ``x ≥ 0`` else 0; its derivative is 0 everywhere
    (0 at x = 0 too), so no gradient flows through it (slide: "Derivatives of other
    Activation Functions")."""

    def __init__(self) -> None:
        super().__init__(activations.binary_step, activations.binary_step_derivative)


ACTIVATION_LAYERS: dict[str, type[ActivationLayer]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "arctan": ArcTan,
    "relu": ReLU,
    "prelu": PReLU,
    "elu": ELU,
    "softplus": Softplus,
    "binary_step": BinaryStep,
}
"""Activation layer classes under the names of ``week14.activations.ACTIVATIONS``."""


def activation_layer(name: str, **params: float) -> ActivationLayer:
    """Build the activation layer called ``name``, e.g. ``activation_layer("prelu",
    alpha=0.1)`` is ``PReLU(alpha=0.1)``.

    ``params`` go to the layer's constructor, so one it does not take raises TypeError.
    An unknown ``name`` raises ValueError listing the valid names.
    """
    try:
        cls = ACTIVATION_LAYERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATION_LAYERS)}"
        ) from None
    return cls(**params)


# --------------------------------------------------------------------------------------
# Flatten
# --------------------------------------------------------------------------------------


class Flatten(Layer):
    """Reshape ``(N, d1, ..., dk)`` to ``(N, d1·…·dk)``, e.g. the (N, C, H, W) feature maps
    of a CNN to the (N, C·H·W) input of a Dense layer (slide: "CNN example").

    Backward reshapes ``dL/dout`` back to the input's shape. No parameters.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``x`` reshaped to (N, prod of the other dimensions); cache the shape."""
        x = np.asarray(x)
        if x.ndim < 1:
            raise ValueError(
                f"Flatten expected input of shape (N, ...) with a batch axis, got shape {x.shape}"
            )
        self.cache = x.shape
        return x.reshape(x.shape[0], prod(x.shape[1:]))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return ``grad_out`` reshaped to the shape of the last input."""
        shape = require_cache(self)
        grad_out = self._checked_grad(grad_out, (shape[0], prod(shape[1:])))
        return grad_out.reshape(shape)


# --------------------------------------------------------------------------------------
# Convolution and pooling (slides: "Convolutions", "Pooling", "Padding and stride")
# --------------------------------------------------------------------------------------


def _kernel_pair(value: object) -> tuple[int, int]:
    """``kernel_size`` as ``(kh, kw)``: an int k means k×k; a pair is taken as is."""
    if isinstance(value, tuple | list) and len(value) == 2:
        return (check_int("Conv2D", "kernel_size[0]", value[0], 1),
                check_int("Conv2D", "kernel_size[1]", value[1], 1))
    if isinstance(value, tuple | list):
        raise ValueError(f"Conv2D expected kernel_size to be an int or a pair, got {value!r}")
    size = check_int("Conv2D", "kernel_size", value, 1)
    return size, size


class Conv2D(Layer):
    """2-D convolution layer: ``out = conv2d(x, W, b, stride, padding)`` (slides:
    "Convolutions", "Padding and stride", "CNN example").

    Each of the ``out_channels`` filters spans all ``in_channels`` input channels and a
    ``kh×kw`` window; sliding it over the zero-padded input gives one output channel::

        out[n, f, i, j] = b[f] + Σ_c,di,dj xp[n, c, i·s + di, j·s + dj] · W[f, c, di, dj]

    Shapes: ``x`` (N, in, H, W); ``W`` (out, in, kh, kw) as in PyTorch; ``b`` (out,);
    ``out`` (N, out, Ho, Wo) with ``Ho = floor((H + 2·padding − kh) / stride) + 1``.

    Backward (see ``week14.functional.conv2d_backward``), with ``G = dL/dout``:
    ``dL/db[f] = Σ G[:, f]``; ``dL/dW`` correlates the padded input with G; ``dL/dx``
    sends G back through every window position that used the input.

    The computations are those of ``week14.functional.conv2d`` (an im2col matrix
    product); the layer also keeps its scratch arrays between steps, so that training
    does not allocate them again at every step, and gives the same numbers. Its cache is
    the input ``x``.

    Args:
        in_channels, out_channels: channel counts of the input and the output (ints >= 1).
        kernel_size: ``k`` for a k×k kernel, or ``(kh, kw)``.
        stride: step of the window (int >= 1).
        padding: zeros added on each side of H and W (int >= 0); ``(k − 1) / 2`` keeps
            the size for an odd k and stride 1.
        weight_init: name in ``week14.initializers`` or callable ``init(shape, rng=g)``
            for ``W`` (default He normal, with fan-in ``in·kh·kw``, suited to ReLU).
            The bias starts at zero.
        rng: seed or Generator for the initial weights.
        dtype: dtype of the parameters (default float64; float32 halves the memory
            traffic and is faster).

    The repr names the initializer while ``W`` holds what it drew, and says
    ``weights set`` once the weights were changed (set by hand, loaded or trained).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int = 0,
        *,
        weight_init: str | Initializer = "he_normal",
        rng: RngLike = None,
        dtype: npt.DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        self.in_channels = check_int("Conv2D", "in_channels", in_channels, 1)
        self.out_channels = check_int("Conv2D", "out_channels", out_channels, 1)
        self.kernel_size = _kernel_pair(kernel_size)
        self.stride = check_int("Conv2D", "stride", stride, 1)
        self.padding = check_int("Conv2D", "padding", padding, 0)
        self.weight_init = weight_init
        self.dtype = np.dtype(dtype)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.params = {
            "W": initial_value(weight_init, shape, as_generator(rng), dtype, "Conv2D"),
            "b": np.zeros(self.out_channels, dtype=dtype),
        }
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self._drawn = fingerprints(self)
        self._scratch = defaultdict(conv_engine.Buffers)  # per worker thread

    def _checked(
        self, x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, conv_engine.ConvGeometry]:
        """Check ``x`` against the layer (messages name both shapes) and return
        ``(x, W, b, geometry)``, the arrays in the dtype of the computation."""
        x, w, b, stride, padding = conv_engine.check_conv_args(
            "Conv2D", x, self.params["W"], self.params["b"], self.stride, self.padding
        )
        return x, w, b, conv_engine.ConvGeometry(x.shape, w.shape, stride, padding, x.itemsize)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return the convolution of ``x`` (N, in, H, W), shape (N, out, Ho, Wo); cache ``x``."""
        x, w, b, geometry = self._checked(x)
        out = conv_engine.conv2d_forward(x, w, b, geometry, self._scratch)
        self.cache = x
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Fill ``grads["W"]`` and ``grads["b"]`` (in place) and return ``dL/dx``
        (N, in, H, W) for ``grad_out = dL/dout`` of the last output's shape."""
        x, w, _, geometry = self._checked(require_cache(self))
        out_shape = (geometry.n_images, geometry.n_filters, geometry.out_h, geometry.out_w)
        grad_out = self._checked_grad(grad_out, out_shape).astype(x.dtype, copy=False)
        dx, dw, db = conv_engine.conv2d_backward(grad_out, x, w, geometry, self._scratch)
        self.grads["W"][...] = dw
        self.grads["b"][...] = db
        return dx

    def __repr__(self) -> str:
        kh, kw = self.kernel_size
        return (
            f"Conv2D({self.in_channels}, {self.out_channels}, kernel_size=({kh}, {kw}), "
            f"stride={self.stride}, padding={self.padding}, "
            f"{origin(self, 'W', 'weight_init', self.weight_init, 'weights set')}, "
            f"dtype={self.dtype.name})"
        )


class _Pool2D(Layer):
    """Shared constructor and repr of the pooling layers."""

    def __init__(self, size: int, stride: int | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.size = check_int(name, "size", size, 1)
        self.stride = self.size if stride is None else check_int(name, "stride", stride, 1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.size}, stride={self.stride})"


class MaxPool2D(_Pool2D):
    """Max pooling layer: the largest value of each ``size``×``size`` window, channel by
    channel (slide: "Max Pooling"); no parameters.

    Shapes: ``x`` (N, C, H, W) → (N, C, Ho, Wo), ``Ho = floor((H − size) / stride) + 1``;
    ``stride`` defaults to ``size`` (non-overlapping windows: ``MaxPool2D(2)`` halves H
    and W, the lecture's "reduce the height and width ... but not the number of
    channels").

    Backward: each output's gradient goes to the input that was its window's maximum;
    the other inputs of the window get 0 (overlapping windows add up). On a tie the
    *first* maximum in row-major order gets it, as in PyTorch. The cache is the input's
    shape and, for each output, the position of its window's maximum.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return the max-pooled ``x``; cache where each maximum was."""
        x, size, stride = pool_engine.check_pool_args("MaxPool2D", x, self.size, self.stride)
        out, argmax = pool_engine.max_pool2d_forward(x, size, stride)
        self.cache = (x.shape, argmax)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return ``dL/dx``: each output's gradient at its window's (first) maximum."""
        x_shape, argmax = require_cache(self)
        grad_out = self._checked_grad(grad_out, argmax.shape)
        return pool_engine.max_pool2d_backward(grad_out, argmax, x_shape, self.size, self.stride)


class AvgPool2D(_Pool2D):
    """Average pooling layer: the mean of each ``size``×``size`` window, channel by
    channel (slide: "Average pooling"); no parameters.

    Shapes and ``stride`` as :class:`MaxPool2D`. Backward gives every input of a window
    1/size² of that window's gradient (overlapping windows add up). The cache is the
    pair of shapes ``(x.shape, out.shape)``: the input's, where the gradients go, and
    the output's, which ``grad_out`` must have.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return the average-pooled ``x``; cache its shape and the output's."""
        x, size, stride = pool_engine.check_pool_args("AvgPool2D", x, self.size, self.stride)
        out = pool_engine.avg_pool2d_forward(x, size, stride)
        self.cache = (x.shape, out.shape)
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return ``dL/dx``: 1/size² of each window's gradient to each of its inputs."""
        x_shape, out_shape = require_cache(self)
        grad_out = self._checked_grad(grad_out, out_shape)
        return pool_engine.avg_pool2d_backward(grad_out, x_shape, self.size, self.stride)

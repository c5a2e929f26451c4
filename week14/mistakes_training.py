"""The catalogue's mistakes of notebooks 01–07 (:mod:`week14.misconceptions`): the
feedforward pass, costs, gradient descent, activations, backpropagation, learning-rate
schedules and initialisation. Keyed by the reference each exercise is checked against."""

from __future__ import annotations

from week14.mistake import Mistake


def _backward(*, dz: str = "dy * y * (1 - y)", dW: str = "x.T @ dz",
              db: str = "dz.sum(axis=0)", dx: str = "dz @ W.T") -> str:
    """A student's backward pass of the layer y = σ(xW + b), one gradient per line (a
    crash in one line then costs only that gradient), with one of them replaced."""
    return ("def dense_sigmoid_backward(x, W, b, dy):\n"
            "    z = x @ W + b\n"
            "    y = 1 / (1 + np.exp(-z))\n"
            f"    dz = {dz}\n    dW = {dW}\n    db = {db}\n    dx = {dx}\n"
            "    return dW, db, dx\n")


def _difference(quotient: str) -> str:
    """A student's loop over the entries of x, with the difference ``quotient`` that
    gives entry i of the gradient."""
    return ("def centred_difference_gradient(f, x, h=1e-5):\n"
            "    grad = np.zeros(x.shape)\n"
            "    for i in np.ndindex(x.shape):\n"
            "        step = np.zeros(x.shape)\n"
            "        step[i] = h\n"
            f"        grad[i] = {quotient}\n"
            "    return grad\n")


#: The body of a PlateauScheduler.step that follows Keras's rules.
_PLATEAU_STEP = ("        if self.cooldown_counter > 0:\n"
                 "            self.cooldown_counter -= 1\n"
                 "            self.wait = 0\n"
                 "        if val_loss < self.best - self.min_delta:\n"
                 "            self.best = val_loss\n"
                 "            self.wait = 0\n"
                 "        elif self.cooldown_counter == 0:\n"
                 "            self.wait += 1\n"
                 "            if self.wait >= self.patience and self.lr > self.min_lr:\n"
                 "                self.lr = max(self.lr * self.factor, self.min_lr)\n"
                 "                self.cooldown_counter = self.cooldown\n"
                 "                self.wait = 0\n"
                 "        return self.lr\n")


def _plateau(*changes: tuple[str, str]) -> str:
    """A student's PlateauScheduler (notebook 06's ``__init__``, and a ``step`` by
    Keras's rules) with each ``(old, new)`` of ``changes`` made in ``step``."""
    step = _PLATEAU_STEP
    for old, new in changes:
        step = step.replace(old, new)
    return ("class PlateauScheduler:\n"
            "    def __init__(self, initial_lr, factor=0.1, patience=10, min_delta=1e-4,\n"
            "                 cooldown=0, min_lr=1e-6):\n"
            "        self.lr = initial_lr\n        self.factor = factor\n"
            "        self.patience = patience\n        self.min_delta = min_delta\n"
            "        self.cooldown = cooldown\n        self.min_lr = min_lr\n"
            "        self.best = np.inf\n        self.wait = 0\n"
            "        self.cooldown_counter = 0\n\n"
            "    def step(self, val_loss):\n" + step)


CATALOGUE: dict[str, tuple[Mistake, ...]] = {
    "week14.activations.sigmoid": (
        Mistake("sigmoid-exponent-sign",
                "this is 1/(1 + e^x): the sigmoid is σ(x) = 1/(1 + e^(−x)), with −x in the "
                "exponent",
                "def sigmoid(x):\n    return 1 / (1 + np.exp(x))\n"),
    ),
    "week14.activations.sigmoid_derivative": (
        Mistake("sigmoid-derivative-from-input",
                "this is x(1 − x), the formula applied to the input: σ′(x) = y(1 − y) with "
                "the output y = σ(x), so compute y = sigmoid(x) first",
                "def sigmoid_derivative(x):\n    return x * (1 - x)\n"),
        Mistake("sigmoid-derivative-mixed",
                "this is σ(x)(1 − x): both factors use the output, σ′(x) = σ(x)(1 − σ(x))",
                "def sigmoid_derivative(x):\n    return sigmoid(x) * (1 - x)\n"),
        Mistake("sigmoid-derivative-is-sigmoid",
                "this is σ(x) itself: its derivative is σ(x)(1 − σ(x))",
                "def sigmoid_derivative(x):\n    return sigmoid(x)\n"),
    ),
    "week14.activations.tanh_derivative": (
        Mistake("tanh-derivative-not-squared",
                "this is 1 − tanh(x): the derivative is 1 − tanh(x)², with the square",
                "def tanh_derivative(x):\n    return 1 - np.tanh(x)\n"),
    ),
    "week14.activations.arctan_derivative": (
        Mistake("arctan-derivative-not-squared",
                "this is 1/(x + 1): the derivative of arctan is 1/(x² + 1), with the square",
                "def arctan_derivative(x):\n    return 1 / (x + 1)\n"),
    ),
    "week14.activations.softplus_derivative": (
        Mistake("softplus-instead-of-derivative",
                "this is softplus itself, ln(1 + e^x): its derivative is the sigmoid, "
                "1/(1 + e^(−x))",
                "def softplus_derivative(x):\n    return np.logaddexp(0, x)\n"),
    ),
    "week14.activations.relu_derivative": (
        Mistake("relu-derivative-zero-at-zero",
                "this gives ReLU′(0) = 0 (x > 0): the lecture takes ReLU′(0) = 1, i.e. "
                "1 for x ≥ 0",
                "def relu_derivative(x):\n    return np.where(np.asarray(x) > 0, 1.0, 0.0)\n"),
    ),
    "week14.activations.prelu_derivative": (
        Mistake("prelu-derivative-alpha-at-zero",
                "this gives α at x = 0 (x > 0): the lecture takes PReLU′(0) = 1, i.e. 1 "
                "for x ≥ 0",
                "def prelu_derivative(x, alpha=0.25):\n"
                "    return np.where(np.asarray(x) > 0, 1.0, float(alpha))\n"),
        Mistake("prelu-derivative-ignores-alpha",
                "this is ReLU′, 0 for x < 0: PReLU′ is α for x < 0, so use the alpha "
                "argument",
                "def prelu_derivative(x, alpha=0.25):\n"
                "    return np.where(np.asarray(x) >= 0, 1.0, 0.0)\n"),
    ),
    "week14.activations.elu_derivative": (
        Mistake("elu-derivative-ignores-alpha",
                "this is e^x for x < 0: ELU′ is α·e^x there, so multiply by the alpha "
                "argument",
                "def elu_derivative(x, alpha=1.0):\n    x = np.asarray(x, dtype=float)\n"
                "    return np.where(x >= 0, 1.0, np.exp(np.minimum(x, 0)))\n"),
        Mistake("elu-derivative-elu",
                "this is ELU itself, α(e^x − 1) for x < 0: its derivative there is α·e^x",
                "def elu_derivative(x, alpha=1.0):\n    x = np.asarray(x, dtype=float)\n"
                "    return np.where(x >= 0, 1.0, alpha * (np.exp(np.minimum(x, 0)) - 1))\n"),
    ),
    "week14.losses.sse": (
        Mistake("sse-without-half",
                "this is Σ(ŷ − y)², twice the lecture's SSE: it is ½ Σ(ŷ − y)², with the ½",
                "def sse(y_hat, y):\n    return np.sum((y_hat - y) ** 2)\n"),
        Mistake("sse-not-squared",
                "this sums the errors without squaring them (positive and negative cancel): "
                "SSE = ½ Σ(ŷ − y)²",
                "def sse(y_hat, y):\n    return 0.5 * np.sum(y_hat - y)\n"),
    ),
    "week14.losses.mse": (
        Mistake("mse-over-m",
                "this divides by m, not 2m: the lecture's cost is J = 1/(2m) Σ(ŷ − y)²",
                "def mse(y_hat, y):\n    return np.sum((y_hat - y) ** 2) / len(y)\n"),
        Mistake("mse-over-all-entries",
                "this divides by the number of entries (np.mean): m is the number of "
                "examples, the rows, so divide the sum by 2m",
                "def mse(y_hat, y):\n    return np.mean((y_hat - y) ** 2) / 2\n"),
        Mistake("mse-plain-mean",
                "this is np.mean of the squared errors: the lecture's cost has a ½ and "
                "divides by the number of examples m, J = 1/(2m) Σ(ŷ − y)²",
                "def mse(y_hat, y):\n    return np.mean((y_hat - y) ** 2)\n"),
    ),
    "week14.losses.asymmetric_mse": (
        Mistake("asymmetric-weights-over-predictions",
                "this weights the over-predictions (ŷ > y): the exercise makes predicting "
                "too little costly, so weight the errors with ŷ < y",
                "def asymmetric_mse(y_hat, y, under_weight=3.0):\n    error = y_hat - y\n"
                "    factor = np.where(error > 0, under_weight, 1.0)\n"
                "    return np.sum(factor * error ** 2) / (2 * len(y_hat))\n"),
        Mistake("asymmetric-over-m",
                "this divides by m, not 2m: it is the lecture's MSE, J = 1/(2m) Σ c_i r_i², "
                "with each squared error weighted",
                "def asymmetric_mse(y_hat, y, under_weight=3.0):\n    error = y_hat - y\n"
                "    factor = np.where(error < 0, under_weight, 1.0)\n"
                "    return np.sum(factor * error ** 2) / len(y_hat)\n"),
    ),
    "week14.gradient_descent.sse_gradient": (
        Mistake("sse-gradient-sign",
                "this has the opposite sign: ∂SSE/∂w = −Xᵀ(y − Xw), the error y − ŷ "
                "with a minus (descent then subtracts it)",
                "def sse_gradient(X, y, w):\n    return X.T @ (y - X @ w)\n"),
    ),
    "week14.gradient_descent.sigmoid_sse_gradient": (
        Mistake("sigmoid-gradient-without-derivative",
                "this leaves out σ′ = ŷ(1 − ŷ): for a sigmoid unit each error is multiplied "
                "by ŷ(1 − ŷ) before Xᵀ",
                "def sigmoid_sse_gradient(X, y, w):\n    y_hat = sigmoid(X @ w)\n"
                "    return -X.T @ (y - y_hat)\n"),
        Mistake("sigmoid-gradient-sign",
                "this has the opposite sign: the gradient is −Xᵀ[(y − ŷ) ⊙ ŷ(1 − ŷ)]",
                "def sigmoid_sse_gradient(X, y, w):\n    y_hat = sigmoid(X @ w)\n"
                "    return X.T @ ((y - y_hat) * y_hat * (1 - y_hat))\n"),
    ),
    "week14.gradient_descent.gradient_descent_step": (
        Mistake("ascent-step",
                "this adds the gradient, a step uphill: gradient descent subtracts it, "
                "w − η·∂J/∂w",
                "def gradient_descent_step(w, grad, lr):\n    return w + lr * grad\n"),
        Mistake("step-without-rate",
                "this leaves out the learning rate: the step is η·∂J/∂w",
                "def gradient_descent_step(w, grad, lr):\n    return w - grad\n"),
    ),
    "week14.pruning.magnitude_mask": (
        Mistake("mask-inverted",
                "this marks the pruned weights True: the mask is True for the weights kept",
                "def magnitude_mask(weights, fraction):\n"
                "    k = round(fraction * weights.size)\n"
                "    order = np.argsort(np.abs(weights).ravel(), kind='stable')\n"
                "    mask = np.zeros(weights.size, dtype=bool)\n    mask[order[:k]] = True\n"
                "    return mask.reshape(weights.shape)\n"),
        Mistake("prune-largest",
                "this prunes the largest magnitudes: magnitude pruning removes the "
                "smallest |w|, which matter least",
                "def magnitude_mask(weights, fraction):\n"
                "    k = round(fraction * weights.size)\n"
                "    order = np.argsort(-np.abs(weights).ravel(), kind='stable')\n"
                "    mask = np.ones(weights.size, dtype=bool)\n    mask[order[:k]] = False\n"
                "    return mask.reshape(weights.shape)\n"),
        Mistake("prune-by-value",
                "this prunes the smallest values, not magnitudes: a large negative weight "
                "matters as much as a large positive one, so sort by |w|",
                "def magnitude_mask(weights, fraction):\n"
                "    k = round(fraction * weights.size)\n"
                "    order = np.argsort(weights.ravel(), kind='stable')\n"
                "    mask = np.ones(weights.size, dtype=bool)\n    mask[order[:k]] = False\n"
                "    return mask.reshape(weights.shape)\n"),
        Mistake("prune-count-truncated",
                "this prunes int(fraction × size) weights, rounding down: the exercise "
                "prunes round(fraction × size)",
                "def magnitude_mask(weights, fraction):\n"
                "    k = int(fraction * weights.size)\n"
                "    order = np.argsort(np.abs(weights).ravel(), kind='stable')\n"
                "    mask = np.ones(weights.size, dtype=bool)\n    mask[order[:k]] = False\n"
                "    return mask.reshape(weights.shape)\n"),
    ),
    "week14.references.sigmoid_layer": (
        Mistake("layer-without-bias",
                "this leaves out the bias: a layer computes σ(xW + b)",
                "def layer_forward(x, W, b):\n    return 1 / (1 + np.exp(-(x @ W)))\n"),
        Mistake("layer-transposed-weights",
                "this uses Wᵀ: with x of shape (N, in) and W of shape (in, out) the layer "
                "is σ(xW + b)",
                "def layer_forward(x, W, b):\n    return 1 / (1 + np.exp(-(x @ W.T + b)))\n"),
        Mistake("layer-without-activation",
                "this is the weighted sum xW + b: the layer's output is its sigmoid, "
                "σ(xW + b)",
                "def layer_forward(x, W, b):\n    return x @ W + b\n"),
    ),
    "week14.references.network_forward": (
        Mistake("network-output-weighted-sum",
                "this returns the last layer's weighted sum z = aW + b: the network's output "
                "is that layer's activation, σ(z)",
                "def network_forward(x, weights):\n    a = x\n    for W, b in weights:\n"
                "        z = a @ W + b\n        a = 1 / (1 + np.exp(-z))\n    return z\n"),
        Mistake("network-first-layer-only",
                "this returns the first layer's output (the return is inside the loop): "
                "return after the loop, once every layer has run",
                "def network_forward(x, weights):\n    a = x\n    for W, b in weights:\n"
                "        a = layer_forward(a, W, b)\n        return a\n"),
        Mistake("network-input-to-every-layer",
                "this gives every layer the network's input x: each layer reads the "
                "previous layer's output, a = layer_forward(a, W, b)",
                "def network_forward(x, weights):\n    for W, b in weights:\n"
                "        a = layer_forward(x, W, b)\n    return a\n"),
    ),
    "week14.references.count_parameters": (
        Mistake("parameters-weights-only",
                "this counts the weights only: each layer also has one bias per unit it "
                "computes, n_in·n_out + n_out numbers",
                "def count_parameters(layer_sizes):\n"
                "    return sum(n_in * n_out for n_in, n_out in zip(layer_sizes, "
                "layer_sizes[1:]))\n"),
        Mistake("parameters-input-biases",
                "this gives the input units a bias too: only the units a layer computes "
                "have one, n_in·n_out + n_out numbers per layer",
                "def count_parameters(layer_sizes):\n"
                "    weights = sum(n_in * n_out for n_in, n_out in zip(layer_sizes, "
                "layer_sizes[1:]))\n    return weights + sum(layer_sizes)\n"),
        Mistake("parameters-one-bias-per-layer",
                "this counts one bias per layer: every unit of a layer has its own, b has "
                "shape (n_out,), so a layer holds n_in·n_out + n_out numbers",
                "def count_parameters(layer_sizes):\n"
                "    return sum(n_in * n_out + 1 for n_in, n_out in zip(layer_sizes, "
                "layer_sizes[1:]))\n"),
    ),
    "week14.references.dense_sigmoid_backward": (
        Mistake("backward-skips-sigmoid",
                "this skips the sigmoid, dz = dy: push dy back through it first, "
                "dz = dy ⊙ y(1 − y), then use dz in the dense layer's formulas",
                _backward(dz="dy")),
        Mistake("backward-sigmoid-derivative-of-z",
                "this uses z(1 − z) with the weighted input z = xW + b: the sigmoid's "
                "derivative is y(1 − y), with its output y = σ(z)",
                _backward(dz="dy * z * (1 - z)")),
        Mistake("backward-sigmoid-derivative-at-output",
                "this uses σ(y)(1 − σ(y)), σ′ taken at the output y (the bug of section 4): "
                "σ′(z) = y(1 − y), with the output y itself",
                _backward(dz="dy / (1 + np.exp(-y)) * (1 - 1 / (1 + np.exp(-y)))")),
        Mistake("backward-dw-transposed",
                "this is dzᵀ·x, the transpose: dW = xᵀ·dz has the shape of W, (in, out)",
                _backward(dW="dz.T @ x")),
        Mistake("backward-dw-averaged",
                "this is xᵀ·dz / N: the gradient of a batch is the sum over its examples, "
                "dW = xᵀ·dz",
                _backward(dW="x.T @ dz / len(x)")),
        Mistake("backward-db-over-units",
                "this sums dz over the units (axis=1): db sums it over the examples, "
                "dz.sum(axis=0), one value per unit",
                _backward(db="dz.sum(axis=1)")),
        Mistake("backward-db-mean",
                "this is the mean of dz over the examples: db is their sum, dz.sum(axis=0)",
                _backward(db="dz.mean(axis=0)")),
        Mistake("backward-dx-without-transpose",
                "this is dz·W: dx = dz·Wᵀ, with the transpose (dz is (N, out), W is "
                "(in, out))",
                _backward(dx="dz @ W")),
    ),
    "week14.gradcheck.numerical_gradient": (
        Mistake("one-sided-difference",
                "this is the one-sided difference (f(x + h·eᵢ) − f(x))/h, whose error "
                "shrinks only like h: nudge entry i both ways, "
                "(f(x + h·eᵢ) − f(x − h·eᵢ))/(2h)",
                _difference("(f(x + step) - f(x)) / h")),
        Mistake("centred-difference-over-h",
                "this divides by h: x + h·eᵢ and x − h·eᵢ are 2h apart, so divide by 2h",
                _difference("(f(x + step) - f(x - step)) / h")),
        Mistake("difference-nudges-every-entry",
                "this nudges every entry at once (x + h): entry i of the gradient nudges "
                "entry i only, x + h·eᵢ, with eᵢ the array with a 1 at entry i and 0 "
                "elsewhere",
                _difference("(f(x + h) - f(x - h)) / (2 * h)")),
    ),
    "week14.references.step_decay": (
        Mistake("step-decay-rounded",
                "this rounds epoch / every to the nearest whole number, so the rate drops "
                "halfway through a step: floor it, factor^⌊epoch / every⌋ (epoch // every)",
                "def step_decay(epoch, initial_lr, factor, every):\n"
                "    return initial_lr * factor ** round(epoch / every)\n"),
        Mistake("step-decay-smooth",
                "this divides with /, so the rate shrinks every epoch: step decay keeps it "
                "for every epochs, factor^⌊epoch / every⌋ (use //)",
                "def step_decay(epoch, initial_lr, factor, every):\n"
                "    return initial_lr * factor ** (epoch / every)\n"),
        Mistake("step-decay-counts-from-one",
                "this counts epochs from 1, so each drop comes one epoch early: the first "
                "epoch is 0, and epochs 0 to every − 1 run at initial_lr, "
                "factor^⌊epoch / every⌋",
                "def step_decay(epoch, initial_lr, factor, every):\n"
                "    return initial_lr * factor ** ((epoch + 1) // every)\n"),
        Mistake("step-decay-precedence",
                "this is (initial_lr · factor^epoch) // every: ** and * come before //, so "
                "put the exponent in parentheses, factor ** (epoch // every)",
                "def step_decay(epoch, initial_lr, factor, every):\n"
                "    return initial_lr * factor ** epoch // every\n"),
    ),
    "week14.references.exponential_decay": (
        Mistake("exponential-staircase-ignored",
                "this ignores staircase: with staircase=True the exponent is floored, "
                "⌊epoch / decay_steps⌋, so the rate drops in steps",
                "def exponential_decay(epoch, initial_lr, decay_rate, decay_steps=1, "
                "staircase=False):\n"
                "    return initial_lr * decay_rate ** (epoch / decay_steps)\n"),
        Mistake("exponential-staircase-rounded",
                "this rounds the exponent to the nearest whole number: staircase floors "
                "it, ⌊epoch / decay_steps⌋ (np.floor or //)",
                "def exponential_decay(epoch, initial_lr, decay_rate, decay_steps=1, "
                "staircase=False):\n"
                "    exponent = epoch / decay_steps\n"
                "    if staircase:\n        exponent = round(exponent)\n"
                "    return initial_lr * decay_rate ** exponent\n"),
        Mistake("exponential-always-floored",
                "this floors the exponent whatever staircase says: without staircase the "
                "decay is smooth, decay_rate^(epoch / decay_steps)",
                "def exponential_decay(epoch, initial_lr, decay_rate, decay_steps=1, "
                "staircase=False):\n"
                "    return initial_lr * decay_rate ** (epoch // decay_steps)\n"),
    ),
    "week14.references.plateau_rates": (
        Mistake("plateau-compares-previous-epoch",
                "this compares each loss with the previous epoch's: a new best must beat "
                "the best so far, v < best − min_delta, and best changes only then",
                _plateau(("        return self.lr\n",
                          "        self.best = val_loss\n        return self.lr\n"))),
        Mistake("plateau-reduces-late",
                "this reduces one epoch late (wait > patience): the rate is reduced on the "
                "patience-th epoch without a new best, when wait >= patience",
                _plateau((">= self.patience", "> self.patience"))),
        Mistake("plateau-ignores-min-lr",
                "this lets the rate fall below min_lr: a reduction gives "
                "max(lr · factor, min_lr), and reductions stop once lr is at min_lr",
                _plateau((" and self.lr > self.min_lr", ""),
                         ("max(self.lr * self.factor, self.min_lr)",
                          "self.lr * self.factor"))),
        Mistake("plateau-cooldown-checked-first",
                "this checks the cooldown before counting it down, so cooldown=c skips c "
                "epochs: decrement cooldown_counter first (rule 1), then skip the epoch "
                "only if it is still above 0, so cooldown=c skips c − 1",
                _plateau(("        if self.cooldown_counter > 0:\n",
                          "        cooling = self.cooldown_counter > 0\n"
                          "        if cooling:\n"),
                         ("elif self.cooldown_counter == 0:", "elif not cooling:"))),
        Mistake("plateau-tie-is-new-best",
                "this counts an equal value as a new best (<=): a new best must be lower, "
                "v < best − min_delta",
                _plateau(("val_loss < self.best", "val_loss <= self.best"))),
        Mistake("plateau-min-delta-added",
                "this adds min_delta to the best (v < best + min_delta), so a slightly "
                "worse value counts as a new best: it must beat the best by more than "
                "min_delta, v < best − min_delta",
                _plateau(("self.best - self.min_delta", "self.best + self.min_delta"))),
        Mistake("plateau-ignores-min-delta",
                "this ignores min_delta (v < best): a fall smaller than min_delta is noise, "
                "not a new best, v < best − min_delta",
                _plateau(("self.best - self.min_delta", "self.best"))),
    ),
    "week14.symmetry.unit_spread": (
        Mistake("spread-without-bias",
                "this leaves out the biases: a hidden unit is its weights and its bias, "
                "(W[:, j], b[j]), and two units with equal weights but different biases "
                "differ",
                "def unit_spread(W, b):\n"
                "    d = W[:, :, None] - W[:, None, :]\n"
                "    return float(np.sqrt((d ** 2).sum(axis=0)).max())\n"),
        Mistake("spread-of-rows",
                "this compares rows of W, the inputs: a hidden unit is a column, W[:, j] "
                "with b[j]",
                "def unit_spread(W, b):\n    V = np.vstack([W, b]).T\n"
                "    d = V[:, :, None] - V[:, None, :]\n"
                "    return float(np.sqrt((d ** 2).sum(axis=0)).max())\n"),
    ),
}

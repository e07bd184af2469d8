"""MLP shapes: the layer spec ("240-64-4"), activation names and init schemes (no torch here, so configs stay
light to import)."""

from __future__ import annotations

from dataclasses import dataclass

from nnprobe.errors import ConfigError

ACTIVATIONS = ("relu", "tanh", "sigmoid")
MAX_INIT_STD = 100.0  # larger initial weights only saturate or overflow float32 activations


@dataclass(frozen=True)
class MLPSpec:
    """The shape of one multilayer perceptron.

    sizes : (d_in, hidden_1, ..., d_out), at least two entries.
    activation : applied after every hidden layer, never after the output layer.
    bias : whether every layer has a bias (False gives y = W x layers, as in textbook examples).
    """

    sizes: tuple[int, ...]
    activation: str = "relu"
    bias: bool = True

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or any(int(s) < 1 for s in self.sizes):
            raise ConfigError(
                f"layer sizes {self.sizes!r} are invalid: give at least an input and an output size, "
                "each a positive integer, e.g. '240-64-4'."
            )
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"activation {self.activation!r} is unknown: use one of {', '.join(ACTIVATIONS)}."
            )

    @classmethod
    def parse(cls, layers: str, *, activation: str = "relu", bias: bool = True) -> MLPSpec:
        """Build a spec from a dash-separated layer string such as ``"240-64-4"``."""
        try:
            sizes = tuple(int(part) for part in str(layers).split("-"))
        except ValueError:
            raise ConfigError(
                f"layer spec {layers!r} is not a dash-separated list of integers: write it like '240-64-4' "
                "(input, hidden..., output)."
            ) from None
        return cls(sizes, activation, bias)

    @classmethod
    def from_hidden(
        cls, d_in: int, hidden: tuple[int, ...] | list[int], d_out: int, *, activation: str = "relu",
        bias: bool = True,
    ) -> MLPSpec:
        """Build a spec from input size, hidden sizes and output size."""
        return cls((int(d_in), *(int(h) for h in hidden), int(d_out)), activation, bias)

    @property
    def d_in(self) -> int:
        return self.sizes[0]

    @property
    def d_out(self) -> int:
        return self.sizes[-1]

    @property
    def n_params(self) -> int:
        """Number of weights and biases of one network."""
        return sum(a * b + (b if self.bias else 0) for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    def __str__(self) -> str:
        return "-".join(str(s) for s in self.sizes)


def parse_init(scheme: str) -> tuple[str, float]:
    """Split an init scheme (``default``, ``zero``, ``normal:<std>``) into its name and std."""
    name, _, arg = str(scheme).partition(":")
    if name in ("default", "zero") and not arg:
        return name, 0.0
    if name == "normal":
        try:
            std = float(arg)
        except ValueError:
            std = -1.0
        if 0 < std <= MAX_INIT_STD:
            return name, std
        raise ConfigError(f"init scheme {scheme!r}: the std of 'normal:<std>' must be a number in (0, "
                          f"{MAX_INIT_STD:g}], e.g. 'normal:0.01' (larger weights only saturate or overflow).")
    raise ConfigError(
        f"init scheme {scheme!r} is unknown: use 'default' (PyTorch's nn.Linear init), 'zero', "
        f"or 'normal:<std>' with a std in (0, {MAX_INIT_STD:g}], e.g. 'normal:0.01'."
    )

"""Explanations of any model of ``nnprobe.models`` that know their limits (the seed "Note for advanced
readers" made measurable): derivatives of the output and how far they are from constant, partial dependence
with ICE curves and its support, accumulated local effects, Friedman's H-statistic, and, for torch networks,
gradient, gradient x input and integrated gradients with their completeness check."""

from nnprobe.explain.attributions import Attributions, gradient, gradient_x_input, integrated_gradients
from nnprobe.explain.derivatives import Derivatives, central_differences, derivatives
from nnprobe.explain.effects import (
    AccumulatedEffects,
    AccumulatedEffects2D,
    Interaction,
    PartialDependence,
    accumulated_local_effects,
    accumulated_local_effects_2d,
    h_statistics,
    outside_support,
    partial_dependence,
    quantile_grid,
)
from nnprobe.explain.output import Output

__all__ = [
    "AccumulatedEffects", "AccumulatedEffects2D", "Attributions", "Derivatives", "Interaction", "Output", "PartialDependence",
    "accumulated_local_effects", "accumulated_local_effects_2d", "central_differences", "derivatives", "gradient", "gradient_x_input",
    "h_statistics", "integrated_gradients", "outside_support", "partial_dependence", "quantile_grid",
]

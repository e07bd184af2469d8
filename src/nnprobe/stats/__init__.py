"""Pure statistics of nnprobe: exact coin-flip chances, paired significance of model comparisons (McNemar,
bootstrap, per-query tests) and sample sizes; numbers in, dataclasses of numbers out, no I/O."""

from nnprobe.stats.coin import (
    HeadRace,
    flips_needed,
    flips_needed_single,
    head_race,
    prob_loaded_beats_fair,
    prob_more_heads,
)
from nnprobe.stats.paired import (
    BootstrapResult,
    McNemarResult,
    PerQueryResult,
    mcnemar_p_value,
    mcnemar_test,
    paired_bootstrap,
    per_query_tests,
    verdict,
)
from nnprobe.stats.roc import DeLongResult, delong_test
from nnprobe.stats.power import paired_sample_size, simulate_power_paired, unpaired_sample_size

__all__ = [
    "BootstrapResult",
    "DeLongResult",
    "HeadRace",
    "McNemarResult",
    "PerQueryResult",
    "delong_test",
    "flips_needed",
    "flips_needed_single",
    "head_race",
    "mcnemar_p_value",
    "mcnemar_test",
    "paired_bootstrap",
    "paired_sample_size",
    "per_query_tests",
    "prob_loaded_beats_fair",
    "prob_more_heads",
    "simulate_power_paired",
    "unpaired_sample_size",
    "verdict",
]

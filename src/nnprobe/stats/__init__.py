"""Pure statistics of nnprobe: exact coin-flip chances, paired significance of model comparisons (McNemar,
bootstrap, per-query tests, DeLong) and sample sizes; numbers in, dataclasses of numbers out, no I/O."""

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
    signed_rank_p_value,
    verdict,
)
from nnprobe.stats.power import (
    ExactSampleSize,
    exact_paired_power,
    exact_paired_sample_size,
    mcnemar_conditional_power,
    mcnemar_critical_count,
    paired_sample_size,
    simulate_power_paired,
    unpaired_sample_size,
)
from nnprobe.stats.roc import DeLongResult, delong_test

__all__ = [
    "BootstrapResult",
    "DeLongResult",
    "ExactSampleSize",
    "HeadRace",
    "McNemarResult",
    "PerQueryResult",
    "delong_test",
    "exact_paired_power",
    "exact_paired_sample_size",
    "flips_needed",
    "flips_needed_single",
    "head_race",
    "mcnemar_conditional_power",
    "mcnemar_critical_count",
    "mcnemar_p_value",
    "mcnemar_test",
    "paired_bootstrap",
    "paired_sample_size",
    "per_query_tests",
    "prob_loaded_beats_fair",
    "prob_more_heads",
    "signed_rank_p_value",
    "simulate_power_paired",
    "unpaired_sample_size",
    "verdict",
]

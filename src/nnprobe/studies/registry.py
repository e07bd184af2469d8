"""The registry of studies: for each, its name, title, the article it comes from (with the claim in the article's
own words), its config class, ``load`` and ``run``, its report builder and its quick configuration, so that the
CLI, ``reproduce`` and the tests iterate over studies instead of naming each one.

The protocol every study module follows::

    Config(**options)          # a dataclass, validated on construction; Config.small(**options) is seconds long
    load(config) -> data       # everything read from files or built-in sets (None when nothing is read)
    run(config, data, progress) -> Result    # computes; no printing, plotting or file I/O
    check_claims(result) -> list[Claim]      # each claim with a stable id, "study.name[:case]"

and its report module has ``build(result) -> Report``.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from nnprobe import audit, reproduce
from nnprobe.studies import (
    ARTICLES,
    Progress,
    backprop,
    baseline,
    cluster,
    coin,
    compare,
    explain,
    memorize,
    no_progress,
)


@dataclass(frozen=True)
class Study:
    """One study (or the audit): what it is, where it comes from, and how to run and report it."""

    name: str  # its command, e.g. "memorize"
    title: str  # what it shows, in one line
    article: str  # title of the seed article it reproduces ("" for the audit, which has none)
    quote: str  # the article's claim in the article's own words ("" for the audit)
    module: object  # the study's module: Config class, load(config), run(config, data, progress)
    config_class: type
    report_module: str  # the module whose build(result) -> Report writes its report (imported when needed)
    reproduce_options: dict = field(default_factory=dict)  # built-in inputs `reproduce` gives (seeded: see below)
    seeded_options: Callable[[int], dict] | None = None  # further options that take the run seed

    def config(self, *, quick: bool = False, **options):
        """The study's config from ``options``: its small (seconds-long) configuration with ``quick``."""
        return self.config_class.small(**options) if quick else self.config_class(**options)

    def reproduce_config(self, *, quick: bool, seed: int, device: str = "auto", threads: int | None = None,
                         executor: str = "local", ray_address: str | None = None):
        """The configuration `reproduce` runs: defaults (or the small ones) on built-in data, with the run's seed,
        device, threads and executor wherever the config has such a field."""
        names = {f.name for f in dataclasses.fields(self.config_class)}
        common = {k: v for k, v in dict(seed=seed, device=device, threads=threads, executor=executor,
                                        ray_address=ray_address).items() if k in names}
        seeded = self.seeded_options(seed) if self.seeded_options else {}
        return self.config(quick=quick, **self.reproduce_options, **seeded, **common)

    def load(self, config):
        """What the study reads (files, built-in sets), validated; None when it reads nothing."""
        return self.module.load(config)

    def run(self, config, data, progress: Progress = no_progress):
        return self.module.run(config, data, progress)

    def execute(self, config, progress: Progress = no_progress):
        """Load, then run: the result of ``config``."""
        return self.run(config, self.load(config), progress)

    def build_report(self, result):
        """The study's Report of ``result`` (figures, tables, metrics)."""
        return importlib.import_module(self.report_module).build(result)


def _study(name: str, title: str, quote: str, module, config_class, **extra) -> Study:
    return Study(name, title, ARTICLES[name], quote, module, config_class, f"nnprobe.report.{name}", **extra)


# In the order `reproduce` runs and reports them: the seeds' order, compare beside coin.
STUDIES: dict[str, Study] = {s.name: s for s in [
    _study("memorize", "Networks memorise random labels", "At a sufficiently large number of features (240 or more), "
           "it is even able to train to almost 100% accuracy on data that is randomly generated!",
           memorize, memorize.MemorizeConfig),
    _study("coin", "A loaded coin against a fair one", "For a single flip of the coin, we can tell virtually nothing "
           "about the two coins. After 2 million flips, we can say with certainty which is the loaded coin.",
           coin, coin.CoinConfig),
    _study("compare", "Is B really better than A?", "Machine learning engineers work towards producing these search "
           "results that are better than previous one, by a tiny fraction, typically in 0.5% to 1% range.",
           compare, compare.CompareConfig, seeded_options=lambda seed: {"a": f"synth:ab?seed={seed}"}),
    _study("baseline", "Zero initialisation and the 92% baseline", "The 92% accuracy suggests that approximately 92% "
           "of the target variable in the dataset belongs to the same class. The network, with its identical output "
           "for all inputs, effectively predicts the majority class.", baseline, baseline.BaselineConfig),
    _study("backprop", "Backpropagation by hand and by autograd", "With increase in weight by 0.0001, the loss "
           "decreased by 0.012 and with a decrease in weight, the loss increased by 0.012.",
           backprop, backprop.BackpropConfig),
    _study("cluster", "Points that move with the network", "As we can see the network was able to separate the "
           "clusters of data points with three features in 3000 epochs of training vs 5000+ epoch training by the "
           "same network for data points with two features.", cluster, cluster.ClusterConfig,
           reproduce_options={"dims": (2, 3)}),  # both, so that the 3-against-2 claim is tested
    _study("explain", "How far a model can be explained", "In case of linear models like logistic regression, this "
           "differential reduces to a constant. Ergo, full explainability.", explain, explain.ExplainConfig),
]}

AUDIT = Study("audit", "Did your model learn something real?", "", "", audit, audit.AuditConfig,
              "nnprobe.report.audit")
REPRODUCE = Study("reproduce", "Every study in one report", "", "", reproduce, reproduce.ReproduceConfig,
                  "nnprobe.report.reproduce")


def study_of(config) -> Study:
    """The study (or the audit, or reproduce) whose config ``config`` is."""
    for study in (*STUDIES.values(), AUDIT, REPRODUCE):
        if isinstance(config, study.config_class):
            return study
    raise TypeError(f"{type(config).__name__} is the config of no registered study")


def run_study(config, progress: Progress = no_progress):
    """Load and run the study that ``config`` configures: its result."""
    return study_of(config).execute(config, progress)

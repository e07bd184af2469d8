"""`reproduce`: every study with its defaults (or its small configuration) on built-in data, one after another,
each claim of the articles judged on what was measured. ``report/reproduce.py`` makes the one report of them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nnprobe.errors import ConfigError
from nnprobe.executors import check_executor
from nnprobe.limits import check_seed
from nnprobe.studies import Claim, Progress, no_progress
from nnprobe.threads import check_threads

# Expected seconds of each study on a 2-core machine (measured), to weigh one progress bar across the studies.
WEIGHTS_QUICK = {"memorize": 3, "coin": 1, "compare": 3, "baseline": 3, "backprop": 2, "cluster": 4, "explain": 12}
WEIGHTS_FULL = {"memorize": 7, "coin": 2, "compare": 4, "baseline": 5, "backprop": 5, "cluster": 11, "explain": 30}
BUDGET_SECONDS = {True: 60, False: 300}  # what --quick and the full run must stay under on a 2-core machine


@dataclass
class ReproduceConfig:
    """Options of `reproduce`."""

    quick: bool = False  # each study's small configuration (under a minute in all) instead of its defaults
    studies: tuple[str, ...] | None = None  # the studies to run, in the registry's order; None: all of them
    seed: int = 0  # master seed, handed to every study
    device: str = "auto"  # auto, cpu or cuda, for the studies that train networks
    threads: int | None = None  # None: each study chooses from the size of its work and the cores free now
    executor: str = "local"  # where the studies that train many networks train them: local or ray
    ray_address: str | None = None  # the Ray cluster (None: RAY_ADDRESS, or a new one on this machine)

    def __post_init__(self) -> None:
        from nnprobe.errors import closest
        from nnprobe.studies.registry import STUDIES

        self.executor = check_executor(self.executor, self.ray_address, self.device)
        self.seed = check_seed(self.seed)
        self.threads = check_threads(self.threads)
        if self.studies is not None:
            for name in self.studies:
                if name not in STUDIES:
                    raise ConfigError(f"study {name!r} is unknown: use some of {', '.join(STUDIES)}."
                                      + closest(name, STUDIES))
            self.studies = tuple(name for name in STUDIES if name in self.studies)  # the registry's order
            if not self.studies:
                raise ConfigError("no study named: give at least one, e.g. --only memorize,coin.")

    @classmethod
    def small(cls, **overrides) -> ReproduceConfig:
        return cls(**{"quick": True, **overrides})


@dataclass
class StudyRun:
    """One study of a reproduce run: its configuration and result."""

    name: str
    config: object  # the study's config
    result: object  # the study's Result (its claims and seconds included)
    seconds: float  # wall time of its run


@dataclass
class ReproduceResult:
    """Every study's result, and every claim across them (ids unique: "study.name[:case]")."""

    config: ReproduceConfig
    runs: list[StudyRun]
    claims: list[Claim]
    budget_seconds: float  # what this kind of run (quick or full) must stay under on a 2-core machine
    seconds: float = 0.0
    device: str = "cpu"
    threads: dict = field(default_factory=dict)  # study -> threads it ran on


def load(config: ReproduceConfig) -> dict[str, tuple]:
    """study name -> (its config, its data) for every study to run, in order: the configurations `reproduce`
    gives them (defaults or small ones, on built-in data, with the run's seed) and what they read."""
    from nnprobe.studies.registry import STUDIES

    c = config
    inputs = {}
    for name in c.studies or tuple(STUDIES):
        study = STUDIES[name]
        study_config = study.reproduce_config(quick=c.quick, seed=c.seed, device=c.device, threads=c.threads,
                                              executor=c.executor, ray_address=c.ray_address)
        inputs[name] = (study_config, study.load(study_config))
    return inputs


def run(config: ReproduceConfig, data: dict[str, tuple], progress: Progress = no_progress) -> ReproduceResult:
    """Run the studies of ``data`` (:func:`load`'s) one after another; ``progress`` gets (done, total) in expected
    seconds across them all."""
    from nnprobe.studies.registry import STUDIES

    t0 = time.perf_counter()
    c = config
    weights = WEIGHTS_QUICK if c.quick else WEIGHTS_FULL
    total = float(sum(weights[name] for name in data))
    runs, finished = [], 0.0
    for name, (study_config, study_data) in data.items():
        started = time.perf_counter()

        def step(done, whole, before=finished, weight=weights[name]):
            progress(before + weight * (min(done / whole, 1.0) if whole else 0.0), total)

        result = STUDIES[name].run(study_config, study_data, step)
        runs.append(StudyRun(name, study_config, result, time.perf_counter() - started))
        finished += weights[name]
        progress(finished, total)
    claims = [claim for r in runs for claim in r.result.claims]
    devices = sorted({getattr(r.result, "device", "cpu") for r in runs})
    return ReproduceResult(c, runs, claims, BUDGET_SECONDS[c.quick], seconds=time.perf_counter() - t0,
                           device="+".join(devices),
                           threads={r.name: getattr(r.result, "threads", 1) for r in runs})

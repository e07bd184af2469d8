"""The nnprobe command line: parse options, build a study config, run it with a progress bar, write the run
folder and show a summary. Bad input ends with a one-line message on stderr and exit code 2."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import json
import signal
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table as RichTable
from typer.core import TyperGroup

import nnprobe
from nnprobe import runs
from nnprobe.audit import AuditConfig, reaches
from nnprobe.studies.explain import ExplainConfig
from nnprobe.errors import ConfigError, UserInputError
from nnprobe.studies import ARTICLES
from nnprobe.studies.backprop import BackpropConfig
from nnprobe.studies.baseline import BaselineConfig
from nnprobe.studies.cluster import ClusterConfig
from nnprobe.studies.coin import CoinConfig
from nnprobe.studies.compare import CompareConfig
from nnprobe.studies.memorize import MemorizeConfig
from nnprobe.studies.registry import AUDIT, REPRODUCE, STUDIES, Study
from nnprobe.text import fmt, numeric as _numeric, printable

# Click's base of usage errors; typer re-exports only its subclass BadParameter (and vendors Click in newer versions).
ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (every ``finally`` runs, nothing half-written is left) but exit code 143."""


def _raise_terminated(signum, frame):
    raise Terminated


def _error_line(text: str) -> None:
    """``error: <text>`` as one line on stderr."""
    one_line = " ".join(str(text).split("\n"))
    err_console.print(f"[bold red]error:[/] {escape(printable(one_line))}", highlight=False, soft_wrap=True)


class OneLineErrors(TyperGroup):
    """The command group: usage errors (an unknown option, a value of the wrong type) end as one line on stderr
    and exit code 2, like every other bad input; SIGTERM is handled like an interrupt."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show a label gets an escape, not a crash
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="backslashreplace")
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # plain `nnprobe`: the help is the answer
                typer.echo(exc.format_message())
                sys.exit(0)
            where = f": see '{exc.ctx.command_path} --help'" if getattr(exc, "ctx", None) is not None else ""
            _error_line(exc.format_message().rstrip(".") + where + ".")
            code = exc.exit_code
        except typer.Abort:
            err_console.print("interrupted: nothing half-written was left behind.")
            code = 130
        except OSError as exc:  # the terminal or pipe the output goes to is full or gone
            if exc.errno not in (errno.ENOSPC, errno.EIO, errno.EPIPE):
                raise
            with contextlib.suppress(OSError):
                _error_line(f"cannot write the output: {exc.strerror}.")
            code = 1
        finally:
            signal.signal(signal.SIGTERM, previous)
        sys.exit(code or 0)


app = typer.Typer(
    cls=OneLineErrors,
    help="nnprobe: does your neural network really learn something? Studies and checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err_console = Console(stderr=True)
out_console = Console()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nnprobe {nnprobe.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """nnprobe: does your neural network really learn something?"""


# Options shared by every command.
OutOpt = Annotated[Path | None, typer.Option("--out", help="Run folder to write [default: runs/<command>-<time>].")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Master seed of every random choice, 0..4294967295 (2^32 - 1).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print results.json to stdout instead of the summary.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary.")]
SmallOpt = Annotated[bool, typer.Option("--small", help="A seconds-long small configuration, to try things out.")]
ExecutorOpt = Annotated[str, typer.Option("--executor", help="Where the many networks train: local (this process) "
                                          "or ray (a Ray cluster; pip install 'nnprobe[ray]').")]
RayAddressOpt = Annotated[str | None, typer.Option("--ray-address", help="With --executor ray: the cluster's address "
                                                   "(HOST:PORT of `ray start --head`) [default: RAY_ADDRESS, or a new "
                                                   "cluster on this machine].")]
ChunkOpt = Annotated[int | None, typer.Option("--chunk-size", help="Networks per batched ensemble, one Ray task each "
                                              "[default: all at once locally, 32 on Ray].")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", help="Threads to compute on [default: chosen from the "
                                                "size of the work and the cores free now; in config.json].")]


def user_errors(func):
    """Turn bad input into a one-line message and exit code 2; an interrupt into exit code 130 (SIGTERM: 143).

    Warnings that libraries raise while the command runs (those Python shows by default) are caught and shown as
    "note:" lines after the work, without their file paths, once each.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            try:
                result = func(*args, **kwargs)
            except UserInputError as exc:
                _error_line(str(exc))
                raise typer.Exit(2) from None
            except KeyboardInterrupt as exc:
                err_console.print("interrupted: nothing half-written was left behind.")
                raise typer.Exit(143 if isinstance(exc, Terminated) else 130) from None
            except MemoryError:
                _error_line("the work ran out of memory: make it smaller (fewer rows, features, seeds or epochs).")
                raise typer.Exit(2) from None
            except RuntimeError as exc:
                if type(exc).__name__ != "OutOfMemoryError":  # torch's, on a GPU whose memory is not estimated
                    raise
                _error_line("the GPU ran out of memory: make the work smaller, or use --device cpu.")
                raise typer.Exit(2) from None
        show_notes(runs.notes_of(caught))
        return result

    return wrapper


def show_notes(notes: list[str]) -> None:
    for note in notes:
        err_console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True, style="dim")


def parse_ints(text: str | None, option: str) -> tuple[int, ...] | None:
    """A comma-separated list of positive integers, e.g. '10,30,60'."""
    if text is None:
        return None
    items = text.replace(" ", "").split(",")
    if "" in items:
        raise ConfigError(f"{option} {text!r} has an empty item: give comma-separated integers, e.g. '10,30,60'.")
    try:
        values = tuple(int(v) for v in items)
    except ValueError:
        raise ConfigError(f"{option} {text!r} must be comma-separated integers, e.g. '10,30,60'.") from None
    if min(values) < 1:
        raise ConfigError(f"{option} {text!r} must list positive integers, e.g. '10,30,60'.")
    return values


def default_of(config_cls, name: str) -> str:
    """'[default: X]' for a config field, so help shows the study's own default."""
    for f in dataclasses.fields(config_cls):
        if f.name == name:
            value = f.default
            if isinstance(value, tuple):
                value = ",".join(str(v) for v in value)
            return f" [default: {value}]"
    raise KeyError(name)


# '[default: X]' help suffixes, read from each study's config (those modules load without torch).
_d = functools.partial(default_of, MemorizeConfig)
_b = functools.partial(default_of, BackpropConfig)
_c = functools.partial(default_of, ClusterConfig)
_bl = functools.partial(default_of, BaselineConfig)
_co = functools.partial(default_of, CoinConfig)
_cm = functools.partial(default_of, CompareConfig)
_a = functools.partial(default_of, AuditConfig)
_e = functools.partial(default_of, ExplainConfig)


def about(study: str, text: str) -> str:
    """A command's help: what it does and the article it comes from, by title."""
    return f"{text} From the article \u201c{ARTICLES[study]}\u201d."


def build_config(study: Study, small: bool, **options):
    """The study config from the options the user gave (None = the config's own default)."""
    return study.config(quick=small, **{k: v for k, v in options.items() if v is not None})


def run_and_report(study: Study, config, *, out: Path | None, json_out: bool, quiet: bool):
    """Run a study with a progress bar, write its run folder, and show the summary (or the JSON) and the report's
    path (also with --quiet, which only silences the bar and the summary)."""
    show_bar = not quiet and sys.stderr.isatty()
    with Progress(TextColumn("[bold]{task.description}[/]"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=err_console, disable=not show_bar, transient=True) as bar:
        task = bar.add_task(study.name, total=None)
        outcome = runs.run_and_report(
            study, config, out=out, progress=lambda done, total: bar.update(task, completed=done, total=total),
            writing=lambda: bar.update(task, description=f"{study.name}: writing the report", total=None))
    if json_out:
        sys.stdout.write((outcome.html.parent / "results.json").read_text())
    elif not quiet:
        show_summary(outcome.report, outcome.result.seconds)
    show_notes(outcome.report.notes)
    err_console.print(f"report: {shown(outcome.html)}", highlight=False, soft_wrap=True)
    return outcome.result


MAX_ROWS = 40  # a longer table is cut on screen (all rows stay in results.json and report.html)
STATUS_STYLE = {"pass": "[green]pass[/]", "WARN": "[bold yellow]WARN[/]", "FAIL": "[bold red]FAIL[/]"}


def shown(value) -> str:
    """A value as terminal text: formatted, control characters escaped, rich markup inert."""
    return escape(printable(fmt(value)))


def show_table(t) -> None:
    """One report table in the terminal, cut to its first and last rows when longer than a screen."""
    table = RichTable(title=shown(t.title), title_justify="left", box=box.SIMPLE_HEAD)
    first_width = max((len(fmt(row[0])) for row in t.rows), default=0)
    for i, col in enumerate(t.columns):
        numeric = all(_numeric(row[i]) for row in t.rows) if i else False
        # Row labels stay on one line when they are reasonably short; numbers are right-aligned, text left.
        table.add_column(shown(col), justify="right" if numeric else "left", no_wrap=i == 0 and first_width <= 40)
    rows = t.rows
    if len(rows) > MAX_ROWS:
        head, tail = rows[: MAX_ROWS - 5], rows[-3:]
        rows = [*head, ["…"] * len(t.columns), *tail]
    for row in rows:
        table.add_row(*(STATUS_STYLE.get(fmt(c), shown(c)) for c in row))
    out_console.print(table)
    notes = [t.note] if t.note else []
    if len(t.rows) > MAX_ROWS:
        notes.append(f"{len(t.rows) - MAX_ROWS + 4} of {len(t.rows)} rows cut here; all are in results.json and report.html.")
    for note in notes:
        out_console.print(f"  {shown(note)}", style="dim", highlight=False)


def show_summary(report, seconds: float) -> None:
    """The headline (a verdict) first, then the report's terminal tables and the checked claims."""
    if report.headline:
        out_console.print(f"[bold]{shown(report.headline)}[/]", highlight=False)
    for t in report.terminal:
        show_table(t)
    if report.command not in ARTICLES:  # reproduce's claims are its table; the audit's verdict has its own
        out_console.print(f"done in {seconds:.1f} s", style="dim")
        return
    if any(c.source == "seed" for c in report.claims):
        out_console.print(f"[bold]Claims[/] of the article \u201c{shown(ARTICLES[report.command])}\u201d and of "
                          "nnprobe, checked:", highlight=False)
    for c in report.claims:
        mark = {True: "[green]holds[/]", False: "[red]does not hold[/]", None: "[yellow]not tested[/]"}[c.holds]
        who = "the article" if c.source == "seed" else "nnprobe"
        out_console.print(f"{mark} ({who}) {shown(c.statement)}\n    [dim]{shown(c.evidence)}[/]", highlight=False)
    out_console.print(f"done in {seconds:.1f} s", style="dim")


@app.command(help=about("memorize", "Random labels on random features: how a network memorises noise."))
@user_errors
def memorize(
    features: Annotated[str | None, typer.Option(help="Feature counts to sweep, comma-separated."
                                                 + _d("n_features"))] = None,
    seeds: Annotated[int | None, typer.Option(help="Repeats per feature count." + _d("n_seeds"))] = None,
    samples: Annotated[int | None, typer.Option(help="Training rows." + _d("n_samples"))] = None,
    classes: Annotated[int | None, typer.Option(help="Number of random classes." + _d("n_classes"))] = None,
    heldout: Annotated[int | None, typer.Option(help="Fresh rows for held-out accuracy." + _d("n_heldout"))] = None,
    hidden: Annotated[str | None, typer.Option(help="Hidden layer sizes, comma-separated." + _d("hidden"))] = None,
    activation: Annotated[str | None, typer.Option(help="relu, tanh or sigmoid." + _d("activation"))] = None,
    init: Annotated[str | None, typer.Option(help="default, zero or normal:<std>." + _d("init"))] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs." + _d("epochs"))] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate." + _d("lr"))] = None,
    optimizer: Annotated[str | None, typer.Option(help="adam or sgd." + _d("optimizer"))] = None,
    batch_size: Annotated[int | None, typer.Option(help="Minibatch size [default: full batch].")] = None,
    log_every: Annotated[int | None, typer.Option(help="Record accuracy every N epochs." + _d("log_every"))] = None,
    small: SmallOpt = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    chunk_size: ChunkOpt = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    config = build_config(
        STUDIES["memorize"], small,
        n_features=parse_ints(features, "--features"), n_seeds=seeds, n_samples=samples, n_classes=classes,
        n_heldout=heldout, hidden=parse_ints(hidden, "--hidden"), activation=activation, init=init, epochs=epochs,
        lr=lr, optimizer=optimizer, batch_size=batch_size, log_every=log_every, seed=seed, device=device, threads=threads,
        executor=executor, ray_address=ray_address, chunk_size=chunk_size,
    )
    run_and_report(STUDIES["memorize"], config, out=out, json_out=json_out, quiet=quiet)


@app.command()
@user_errors
def describe(
    data: Annotated[str, typer.Argument(help="A .csv/.parquet file, sklearn:NAME or synth:NAME?key=value&...")],
    target: Annotated[str | None, typer.Option(help="Class column of a data file.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Load and validate a data set, and show its size and classes (nothing is trained or written)."""
    from nnprobe.data import load

    dataset = load(data, target=target)
    info = dataset.describe()
    if json_out:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    out_console.print(f"{shown(dataset.source)}: {dataset.n_samples} rows, {dataset.n_features} features",
                      highlight=False, soft_wrap=True)
    table = RichTable(box=box.SIMPLE_HEAD)
    table.add_column("class")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    for name, count in info.get("class_counts", {}).items():
        table.add_row(shown(name), str(count), f"{count / dataset.n_samples:.1%}")
    out_console.print(table)


@app.command(help=about("backprop", "Backpropagation from the ground up: y = 4x by hand, the 4-2-1 network, the ten digits."))
@user_errors
def backprop(
    w0: Annotated[float | None, typer.Option(help="First guess of the weight in y = w·x." + _b("w0"))] = None,
    lr: Annotated[float | None, typer.Option(help="Gradient-descent learning rate." + _b("lr"))] = None,
    steps: Annotated[int | None, typer.Option(help="Most descent steps (caps the descent table)." + _b("steps"))] = None,
    tolerance: Annotated[float | None, typer.Option(help="Stop when the loss is below this." + _b("tolerance"))] = None,
    activation: Annotated[str | None, typer.Option(help="Hidden activation of the 4-2-1 networks."
                                                   + _b("net_activation"))] = None,
    hidden: Annotated[int | None, typer.Option(help="Hidden units of the digits network." + _b("hidden"))] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs on the digits." + _b("epochs"))] = None,
    small: SmallOpt = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    config = build_config(STUDIES["backprop"], small, w0=w0, lr=lr, steps=steps, tolerance=tolerance,
                          net_activation=activation, hidden=hidden, epochs=epochs, seed=seed, device=device, threads=threads)
    run_and_report(STUDIES["backprop"], config, out=out, json_out=json_out, quiet=quiet)


@app.command(help=about("cluster", "Gradient descent on the inputs as well as the weights: points move into class clusters."))
@user_errors
def cluster(
    data: Annotated[str | None, typer.Option(help="Real data instead of random points: sklearn:NAME or a "
                                             ".csv/.parquet file (with --target).")] = None,
    target: Annotated[str | None, typer.Option(help="Class column of a data file.")] = None,
    dims: Annotated[str | None, typer.Option(help="Features of the random points, one run each, e.g. 2,3."
                                             + _c("dims"))] = None,
    points: Annotated[int | None, typer.Option(help="Random points." + _c("n_points"))] = None,
    classes: Annotated[int | None, typer.Option(help="Random classes." + _c("n_classes"))] = None,
    input_lr: Annotated[float | None, typer.Option(help="Step of the points (alpha), in scaled units."
                                                   + _c("input_lr"))] = None,
    input_momentum: Annotated[float | None, typer.Option(help="Momentum of the point step." + _c("input_momentum"))] = None,
    lr: Annotated[float | None, typer.Option(help="Adam learning rate of the weights." + _c("lr"))] = None,
    hidden: Annotated[str | None, typer.Option(help="Hidden layer sizes, comma-separated." + _c("hidden"))] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs." + _c("epochs"))] = None,
    snapshot_every: Annotated[int | None, typer.Option(help="Snapshot the points every N epochs."
                                                       + _c("snapshot_every"))] = None,
    seeds: Annotated[int | None, typer.Option(help="Independent repeats." + _c("n_seeds"))] = None,
    small: SmallOpt = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    config = build_config(
        STUDIES["cluster"], small, data=data, target=target, dims=parse_ints(dims, "--dims"), n_points=points,
        n_classes=classes, input_lr=input_lr, input_momentum=input_momentum, lr=lr,
        hidden=parse_ints(hidden, "--hidden"), epochs=epochs, snapshot_every=snapshot_every, n_seeds=seeds,
        seed=seed, device=device, threads=threads,
    )
    run_and_report(STUDIES["cluster"], config, out=out, json_out=json_out, quiet=quiet)


@app.command(help=about("baseline", "Baselines, zero initialisation and leakage checks on your data."))
@user_errors
def baseline(
    data: Annotated[str | None, typer.Argument(help="A .csv/.parquet file (with --target), sklearn:NAME or "
                                               "synth:NAME?key=value&... [default: a 92%-majority synthetic set]")] = None,
    target: Annotated[str | None, typer.Option(help="Class column of a data file.")] = None,
    test: Annotated[str | None, typer.Option(help="A separate test file with the same columns "
                                             "[default: a stratified split of DATA].")] = None,
    test_size: Annotated[float | None, typer.Option(help="Held-out share without --test."
                                                    + _bl("test_size"))] = None,
    hidden: Annotated[str | None, typer.Option(help="Hidden layer sizes of the MLPs." + _bl("hidden"))] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs of every network." + _bl("epochs"))] = None,
    max_rows: Annotated[int | None, typer.Option(help="Rows used for training and leakage checks; larger data is "
                                                 "sampled." + _bl("max_rows"))] = None,
    small: SmallOpt = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    config = build_config(STUDIES["baseline"], small, data=data, target=target, test=test, test_size=test_size,
                          hidden=parse_ints(hidden, "--hidden"), epochs=epochs, max_rows=max_rows, seed=seed,
                          device=device, threads=threads)
    run_and_report(STUDIES["baseline"], config, out=out, json_out=json_out, quiet=quiet)


@app.command(help=about("explain", "How far can a model be explained? Derivatives of the output, partial "
                                   "dependence with ICE, accumulated local effects, Friedman's H and integrated "
                                   "gradients, for any model, with warnings where a plot is not to be trusted."))
@user_errors
def explain(
    data: Annotated[str | None, typer.Argument(help="A .csv/.parquet file (with --target), sklearn:NAME or "
                                               "synth:NAME?key=value&... [default: sklearn:breast_cancer and "
                                               "synth:interaction]")] = None,
    target: Annotated[str | None, typer.Option(help="Class column of a data file.")] = None,
    model: Annotated[str | None, typer.Option(help="Your model, as for audit (mlp:64-32, sklearn:NAME?..., "
                                              "python:module:factory, a .skops file) [default: the seed's three "
                                              "classes: logistic regression, gradient-boosted trees, nnprobe's "
                                              "MLP].")] = None,
    output: Annotated[str | None, typer.Option(help="What is explained: logit (log-odds of the last class) or "
                                               "probability." + _e("output"))] = None,
    features: Annotated[int | None, typer.Option(help="Most important features shown with partial dependence "
                                                 "and ALE." + _e("features"))] = None,
    h_rows: Annotated[int | None, typer.Option(help="Rows of the H-statistic's subsample (its cost grows with the "
                                               "square)." + _e("h_rows"))] = None,
    max_memory: Annotated[int | None, typer.Option(help="Memory bound of integrated gradients, in MiB."
                                                   + _e("max_memory_mb"))] = None,
    small: SmallOpt = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    config = build_config(STUDIES["explain"], small, data=data, target=target, model=model, output=output,
                          features=features, h_rows=h_rows, max_memory_mb=max_memory, seed=seed, device=device,
                          threads=threads)
    run_and_report(STUDIES["explain"], config, out=out, json_out=json_out, quiet=quiet)


def parse_floats(text: str | None, option: str) -> tuple[float, ...] | None:
    """A comma-separated list of numbers, e.g. '0.5,0.501'."""
    if text is None:
        return None
    items = text.replace(" ", "").split(",")
    if "" in items:
        raise ConfigError(f"{option} {text!r} has an empty item: give comma-separated numbers, e.g. '0.5,0.501'.")
    try:
        return tuple(float(v) for v in items)
    except ValueError:
        raise ConfigError(f"{option} {text!r} must be comma-separated numbers, e.g. '0.5,0.501'.") from None


@app.command(help=about("coin", "A loaded coin and a fair one: exact chances against the number of flips."))
@user_errors
def coin(
    p: Annotated[str | None, typer.Option(help="Heads-probabilities of the coins, comma-separated." + _co("p_values"))] = None,
    fair: Annotated[float | None, typer.Option(help="The coin the others race against." + _co("fair"))] = None,
    max_flips: Annotated[int | None, typer.Option(help="Right end of the curves." + _co("max_flips"))] = None,
    points: Annotated[int | None, typer.Option(help="Flip counts on the log-spaced grid of the curves."
                                               + _co("points"))] = None,
    confidence: Annotated[str | None, typer.Option(help="Levels for the flips-needed table." + _co("confidences"))] = None,
    small: SmallOpt = False,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    config = build_config(STUDIES["coin"], small, p_values=parse_floats(p, "--p"), fair=fair, max_flips=max_flips,
                          points=points, confidences=parse_floats(confidence, "--confidence"))
    run_and_report(STUDIES["coin"], config, out=out, json_out=json_out, quiet=quiet)


@app.command(help=about("compare", "Is B really better than A? Paired tests, an interval, a verdict and sample sizes."))
@user_errors
def compare(
    a: Annotated[str | None, typer.Argument(help="Predictions of model A (.csv/.parquet), or one file with both "
                                            "models' columns (--a-col, --b-col), or a built-in pair whose truth is "
                                            "known: synth:ab?n=20000&accuracy=0.9&lift=0.01&discordance=0.05.")] = None,
    b: Annotated[str | None, typer.Argument(help="Predictions of model B on the same examples.")] = None,
    kind: Annotated[str | None, typer.Option(help="classification (predicted labels) or per-query (a metric per "
                                             "query, e.g. NDCG)." + _cm("kind"))] = None,
    id_col: Annotated[str | None, typer.Option("--id", help="Example id column." + _cm("id_col"))] = None,
    true_col: Annotated[str | None, typer.Option("--true", help="True label column." + _cm("true_col"))] = None,
    pred_col: Annotated[str | None, typer.Option("--pred", help="Predicted label column." + _cm("pred_col"))] = None,
    metric_col: Annotated[str | None, typer.Option("--metric", help="Per-query metric column." + _cm("metric_col"))] = None,
    score_col: Annotated[str | None, typer.Option("--score", help="Optional score column (both files, two classes): "
                                                  "AUCs compared by DeLong's test." + _cm("score_col"))] = None,
    positive: Annotated[str | None, typer.Option(help="Positive class of the scores [default: the last of the "
                                                 "sorted labels].")] = None,
    a_col: Annotated[str | None, typer.Option(help="With one file: model A's column.")] = None,
    b_col: Annotated[str | None, typer.Option(help="With one file: model B's column.")] = None,
    boot: Annotated[int | None, typer.Option(help="Bootstrap resamples." + _cm("n_boot"))] = None,
    level: Annotated[float | None, typer.Option(help="Confidence level of the intervals." + _cm("level"))] = None,
    alpha: Annotated[float | None, typer.Option(help="Significance level." + _cm("alpha"))] = None,
    power: Annotated[float | None, typer.Option(help="Power for the sample sizes." + _cm("power"))] = None,
    lifts: Annotated[str | None, typer.Option(help="Lifts to size for, as fractions." + _cm("lifts"))] = None,
    discordance: Annotated[float | None, typer.Option(help="Share of examples where exactly one model is right "
                                                     "[default: from the data].")] = None,
    base_accuracy: Annotated[float | None, typer.Option(help="Accuracy of A [default: from the data].")] = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    config = build_config(STUDIES["compare"], False, a=a, b=b, kind=kind, id_col=id_col, true_col=true_col,
                          pred_col=pred_col, metric_col=metric_col, score_col=score_col, positive=positive, a_col=a_col,
                          b_col=b_col, n_boot=boot, level=level,
                          alpha=alpha, power=power, lifts=parse_floats(lifts, "--lifts"), discordance=discordance,
                          base_accuracy=base_accuracy, seed=seed)
    run_and_report(STUDIES["compare"], config, out=out, json_out=json_out, quiet=quiet)


@app.command(help="Did your model learn something real from your data? Baselines and leakage checks, two batched "
                  "permutation tests, the memorisation gap and shortcuts proven by retraining, in one verdict: "
                  "LEARNED, MEMORISED, SHORTCUT or NO SIGNAL.")
@user_errors
def audit(
    data: Annotated[str | None, typer.Argument(help="A .csv/.parquet file (with --target), sklearn:NAME or "
                                               "synth:NAME?key=value&... [default: sklearn:breast_cancer]")] = None,
    target: Annotated[str | None, typer.Option(help="Class column of a data file.")] = None,
    test: Annotated[str | None, typer.Option(help="A separate held-out file with the same columns [default: "
                                             "cross-validation on DATA].")] = None,
    model: Annotated[str | None, typer.Option(help="The model: mlp:64-32, sklearn:NAME?param=value&..., "
                                              "python:package.module:factory or a .skops file."
                                              + _a("model"))] = None,
    predictions: Annotated[str | None, typer.Option(help="Precomputed predictions of the --test rows (a y_pred column) "
                                                    "instead of a model: checks that need retraining are skipped.")] = None,
    id_col: Annotated[str | None, typer.Option("--id", help="A column of row ids: not a feature; matches "
                                               "--predictions to the --test rows [default: a column named id, "
                                               "where the files have one].")] = None,
    permutations: Annotated[int | None, typer.Option(help="Permutations of each permutation test."
                                                     + _a("n_permutations"))] = None,
    cv: Annotated[int | None, typer.Option(help="Cross-validation folds without --test." + _a("cv"))] = None,
    alpha: Annotated[float | None, typer.Option(help="Significance level of the permutation tests."
                                                + _a("alpha"))] = None,
    max_gap: Annotated[float | None, typer.Option(help="Train minus held-out accuracy from which the fit counts as "
                                                  "memorised." + _a("max_gap"))] = None,
    feature_permutations: Annotated[int | None, typer.Option(help="Permutations of test 2 (features permuted within "
                                                             "classes); 0 skips it." + _a("feature_permutations"))] = None,
    max_rows: Annotated[int | None, typer.Option(help="Rows for the leakage checks; larger data is sampled."
                                                 + _a("max_rows"))] = None,
    fail_on: Annotated[str | None, typer.Option(help="Exit with code 3 when the verdict or a check reaches fail or "
                                                "warn (for CI), or never." + _a("fail_on"))] = None,
    small: SmallOpt = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    chunk_size: ChunkOpt = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    config = build_config(AUDIT, small, data=data, target=target, test=test, model=model,
                          predictions=predictions, id_col=id_col, n_permutations=permutations, cv=cv, alpha=alpha,
                          max_gap=max_gap, feature_permutations=feature_permutations, max_rows=max_rows,
                          fail_on=fail_on, seed=seed, device=device, threads=threads, executor=executor,
                          ray_address=ray_address, chunk_size=chunk_size)
    result = run_and_report(AUDIT, config, out=out, json_out=json_out, quiet=quiet)
    if reaches(result.verdict, config.fail_on):
        raise typer.Exit(3)


@app.command(help="Every study on built-in data, one after another, in one report: a verdict table of every claim "
                  "of the articles first, then a section per study.")
@user_errors
def reproduce(
    quick: Annotated[bool, typer.Option("--quick", help="The studies' small configurations: under a minute in all, "
                                        "instead of under five.")] = False,
    only: Annotated[str | None, typer.Option(help="Run only these studies, comma-separated, e.g. memorize,coin "
                                             f"[default: all of {','.join(STUDIES)}].")] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    threads: ThreadsOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    studies = None if only is None else tuple(s.strip() for s in only.split(",") if s.strip())
    config = build_config(REPRODUCE, quick, studies=studies, seed=seed, device=device, threads=threads,
                          executor=executor, ray_address=ray_address)
    run_and_report(REPRODUCE, config, out=out, json_out=json_out, quiet=quiet)


RunsRootOpt = Annotated[Path, typer.Option("--root", help="The folder that holds the run folders.")]


@app.command("runs")
@user_errors
def runs_command(root: RunsRootOpt = runs.RUNS_ROOT, json_out: JsonOpt = False) -> None:
    """List past run folders, oldest first: command, time, verdict or claims, path."""
    found = runs.list_runs(root)
    if json_out:
        sys.stdout.write(json.dumps([{"command": r.command, "created": r.created, "summary": r.summary,
                                      "path": str(r.path), "report": str(r.report) if r.report else None}
                                     for r in found], indent=2) + "\n")
        return
    if not found:
        err_console.print(f"no run folders under {shown(root)}/ yet: try nnprobe reproduce --quick.", highlight=False)
        return
    table = RichTable(box=box.SIMPLE_HEAD)
    for column in ("command", "time", "verdict or claims", "path"):
        table.add_column(column)
    for r in found:
        table.add_row(shown(r.command), shown(r.created.replace("T", " ")[:19]), shown(r.summary), shown(r.path))
    out_console.print(table)


@app.command("open")
@user_errors
def open_command(
    run: Annotated[str | None, typer.Argument(help="A run folder, or its name under --root [default: the latest "
                                              "run with a report].")] = None,
    root: RunsRootOpt = runs.RUNS_ROOT,
) -> None:
    """Open a run's report.html in the browser, where one is available; else print its path."""
    import webbrowser

    found = runs.find_run(run, root)
    if found.report is None:
        raise ConfigError(f"{found.path} has no report.html (its run did not finish writing one).")
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        browser = None
    if browser is not None and browser.open(found.report.resolve().as_uri()):
        err_console.print(f"opened: {shown(found.report)}", highlight=False, soft_wrap=True)
    else:
        err_console.print(f"report: {shown(found.report)} (no browser found here: open it in yours)",
                          highlight=False, soft_wrap=True)

"""Property and hostile-input tests of the contract on user input: anything a user can give either works or is
refused with a UserInputError (on the command line: one line on stderr, exit code 2, no traceback)."""

import dataclasses
import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nnprobe.cli import app, parse_floats, parse_ints
from nnprobe.data import Dataset, from_frame, load
from nnprobe.data.synthetic import GENERATORS
from nnprobe.errors import UserInputError
from nnprobe.nn.config import TrainConfig
from nnprobe.studies.backprop import BackpropConfig
from nnprobe.studies.baseline import BaselineConfig
from nnprobe.studies.cluster import ClusterConfig
from nnprobe.studies.coin import CoinConfig
from nnprobe.studies.compare import CompareConfig
from nnprobe.studies.memorize import MemorizeConfig

# Derandomized, so that CI runs the same examples every time; NNPROBE_FUZZ_EXAMPLES=5000 explores further.
FUZZ = settings(max_examples=int(os.environ.get("NNPROBE_FUZZ_EXAMPLES", 150)), derandomize=True, deadline=None,
                database=None, suppress_health_check=[HealthCheck.too_slow])

# Text a user can type or a file can hold: control characters, mathtext, quotes, other scripts.
HOSTILE_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["", " ", "$\\frac{a}{$", "\\", "\x1b[31mred", "\u202eevil", "nan", "inf", "-0", "1e39", "NULL", "a,b", "<b>"])
NUMBERS = st.sampled_from([0, 1, -1, 2, 3, 7, 0.5, 1.5, 1e-300, 1e39, 1e308, -1e308, 2**31, 2**63, 10**30,
                           math.nan, math.inf, -math.inf]) | st.floats(allow_nan=True, allow_infinity=True)
INTS = st.sampled_from([0, 1, -1, 2, 3, 5, 40, 2**31, 2**32, 2**63, -(2**63), 10**30]) | st.integers(-10, 10**4)


def works_or_refuses(make):
    """Call ``make``: it must return, or raise a UserInputError with a one-line message."""
    try:
        return make()
    except UserInputError as exc:
        assert "\n" not in str(exc) and str(exc), repr(exc)
        return None


column_values = st.one_of(
    st.lists(NUMBERS, min_size=1, max_size=6),
    st.lists(st.integers(-3, 3), min_size=1, max_size=6),
    st.lists(HOSTILE_TEXT, min_size=1, max_size=6),
    st.lists(st.one_of(st.none(), st.booleans(), NUMBERS, HOSTILE_TEXT), min_size=1, max_size=6),
)


@FUZZ
@given(data=st.data(), n_columns=st.integers(1, 4))
def test_any_table_loads_or_is_refused(data, n_columns):
    names = data.draw(st.lists(HOSTILE_TEXT, min_size=n_columns, max_size=n_columns))  # may repeat a name
    length = data.draw(st.integers(0, 6))
    frame = pd.DataFrame({i: (data.draw(column_values) * 6)[:length] for i in range(n_columns)})
    frame.columns = names
    target = data.draw(st.sampled_from([*map(str, frame.columns), "missing"]) if frame.shape[1] else HOSTILE_TEXT)
    ds = works_or_refuses(lambda: from_frame(frame, target=target, source="fuzz"))
    if ds is not None:  # what loads is what the engine can use
        assert isinstance(ds, Dataset) and ds.X.dtype == np.float32 and np.isfinite(ds.X).all()
        assert ds.n_classes >= 2 and ds.y.min() >= 0 and ds.y.max() < ds.n_classes


@FUZZ
@given(name=st.sampled_from([*GENERATORS, "nope", ""]), data=st.data())
def test_any_synthetic_spec_loads_or_is_refused(name, data):
    keys = data.draw(st.lists(st.sampled_from(["n", "d", "k", "seed", "low", "high", "majority", "separation",
                                               "slope", "x", ""]), max_size=4))
    # Values stay below what would allocate gigabytes when valid: the sizes that must be refused are over the limits.
    values = st.sampled_from(["0", "-1", "1", "2", "3", "1.5", "1e30", "100000001", "nan", "inf", "-inf", "", "abc",
                              "1e308", "-1e308", "4294967296", "0.92", "0.5", "1", "-0", "3e38"])
    query = "&".join(f"{k}={data.draw(values)}" for k in keys)
    ds = works_or_refuses(lambda: load(f"synth:{name}?{query}"))
    if ds is not None:
        assert np.isfinite(ds.X).all() and np.isfinite(ds.y).all()


@FUZZ
@given(text=HOSTILE_TEXT | st.lists(st.sampled_from(["1", "10", "-3", "", " ", "x", "1e3", "2.5", "99999999999999999999"]),
                                    max_size=4).map(",".join))
def test_list_options_parse_or_are_refused(text):
    for parse in (parse_ints, parse_floats):
        values = works_or_refuses(lambda: parse(text, "--list"))
        if values is not None:
            assert values and all(isinstance(v, int | float) for v in values)


def field_values(field: dataclasses.Field):
    """Hostile values of the field's own type (what the command line can build)."""
    kind = str(field.type)
    if "tuple" in kind:
        return st.lists(NUMBERS if "float" in kind else INTS, max_size=4).map(tuple)
    if "float" in kind:
        return NUMBERS
    if "int" in kind:
        return INTS
    return HOSTILE_TEXT


def config_case(config_cls, skip=()):
    fields = [f for f in dataclasses.fields(config_cls) if f.name not in skip]
    return st.fixed_dictionaries({}, optional={f.name: field_values(f) for f in fields})


# Data specs are checked when a study loads them (test_any_table_loads_or_is_refused); device when it runs.
@FUZZ
@given(case=st.sampled_from([MemorizeConfig, ClusterConfig, BaselineConfig, BackpropConfig, CoinConfig,
                             CompareConfig, TrainConfig]).flatmap(
    lambda cls: st.tuples(st.just(cls), config_case(cls, skip=("data", "target", "test", "a", "b", "device")))))
def test_any_option_values_make_a_config_or_are_refused(case):
    config_cls, options = case
    if config_cls is CompareConfig:
        options.setdefault("discordance", 0.1)
        options.setdefault("base_accuracy", 0.9)
    config = works_or_refuses(lambda: config_cls(**options))
    if config is not None:  # an accepted config holds only finite numbers
        for value in dataclasses.asdict(config).values():
            for v in value if isinstance(value, tuple) else (value,):
                assert not (isinstance(v, float) and not math.isfinite(v)), (config_cls.__name__, options)


# ---- hostile files through every command that reads data ------------------------------------------------------

runner = CliRunner()
ROWS = "".join(f"{i % 7},{(i * 3) % 5},{'ab'[i % 2]}\n" for i in range(40))
# Each file, and the part of the one-line error it must get from describe (None: it is valid and must load).
HOSTILE_FILES = {
    "empty.csv": "",
    "header-only.csv": "a,b,y\n",
    "binary.csv": "\x00\x01\x02\xff\xfe garbage \x00",
    "ragged.csv": "a,b,y\n1,2\n3,4,5,6\n",
    "nan.csv": "a,b,y\n" + ROWS + "nan,1,a\n",
    "text-feature.csv": "a,b,y\n" + ROWS + "x,1,a\n",
    "one-class.csv": "a,b,y\n" + "".join(f"{i},{i},a\n" for i in range(30)),
    "huge-values.csv": "a,b,y\n" + ROWS + "1e39,1,a\n",
    "duplicate-columns.csv": "a,a,y\n" + ROWS,
    "no-target.csv": "a,b,c\n" + ROWS,
    "bom-and-quotes.csv": "\ufeff\"a\",\"b\",\"y\"\n" + ROWS,
    "latin1.csv": None,  # bytes written below
    "mathtext-names.csv": "$\\frac{a}{$,b\\c,y\n" + ROWS.replace(",a\n", ",$x^$\n").replace(",b\n", ",\\d\n"),
    "control-labels.csv": "a,\x1b[31mb,y\n" + ROWS.replace(",a\n", ",\x1b[2Jred\n").replace(",b\n", ",\u202eblue\n"),
    "not-csv.parquet": "a,b,y\n1,2,a\n",
    "one-feature.csv": "a,y\n" + "".join(f"{i % 7},{'ab'[i % 2]}\n" for i in range(40)),
    "near-float32-limit.csv": "a,b,y\n" + "".join(f"{(-1) ** i * 3.3e38},{i % 5},{'ab'[i % 2]}\n" for i in range(40)),
    "line-separators.csv": "a,b,y\n" + ROWS.replace(",a\n", ",x\u2028y\n"),
}
EXPECTED = {
    "empty.csv": "is empty", "header-only.csv": "no data rows", "binary.csv": "no data rows",
    "ragged.csv": "cannot read", "nan.csv": "missing or infinite", "text-feature.csv": "not numeric",
    "one-class.csv": "single class", "huge-values.csv": "beyond float32's range",
    "duplicate-columns.csv": "duplicate column names", "no-target.csv": "has no column 'y'",
    "bom-and-quotes.csv": None, "latin1.csv": "not UTF-8 text", "mathtext-names.csv": None,
    "control-labels.csv": None, "not-csv.parquet": "cannot read", "one-feature.csv": None,
    "near-float32-limit.csv": None, "line-separators.csv": None,
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    for name, text in HOSTILE_FILES.items():
        if text is None:
            (folder / name).write_bytes(("a,b,y\n" + ROWS).replace("a\n", "\xe9\n").encode("latin-1"))
        else:
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def assert_contract(result, what, expected=None):
    """Exit 0, or exit 2 with one line on stderr and no traceback; no library warning leaks either way. With
    ``expected``: the error must be the expected one (a str in its line), or the run must succeed (None)."""
    assert result.exit_code in (0, 2), (what, result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output, what
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: "), (what, result.stderr)
    for raw in ("\x1b[", "\u2028", "\u202e"):  # control characters from the data never reach the terminal
        assert raw not in result.stdout, (what, raw)
    assert "note:" not in result.stderr, (what, result.stderr)  # strings drawn literally: no glyph warnings
    if expected is not ...:
        assert (result.exit_code == 0) if expected is None else (expected in result.stderr), (what, result.stderr)


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_hostile_files_through_describe_and_compare(hostile, name):
    path = str(hostile / name)
    assert_contract(runner.invoke(app, ["describe", path, "--target", "y"]), f"describe {name}", EXPECTED[name])
    assert_contract(runner.invoke(app, ["compare", path, path, "--id", "a", "--true", "y", "--pred", "y",
                                        "--out", str(hostile / f"cmp-{name}")]), f"compare {name}", ...)


@pytest.mark.parametrize("name", ["nan.csv", "one-class.csv", "huge-values.csv", "mathtext-names.csv",
                                  "control-labels.csv", "latin1.csv", "one-feature.csv", "near-float32-limit.csv",
                                  "line-separators.csv"])
def test_hostile_files_through_training_commands(hostile, name, tmp_path):
    path = str(hostile / name)
    result = runner.invoke(app, ["baseline", path, "--target", "y", "--small", "--epochs", "5", "--device", "cpu",
                                 "--out", str(tmp_path / "bl")])
    assert_contract(result, f"baseline {name}", EXPECTED[name])
    result = runner.invoke(app, ["cluster", "--data", path, "--target", "y", "--epochs", "20", "--snapshot-every",
                                 "10", "--seeds", "1", "--device", "cpu", "--out", str(tmp_path / "cl")])
    assert_contract(result, f"cluster {name}", EXPECTED[name])

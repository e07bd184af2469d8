"""Tests of data loading and validation: each bad input gets its own clear error; good input loads exactly."""

import numpy as np
import pandas as pd
import pytest

from nnprobe.data import Dataset, align, load, split, standard_scaling, standardize, synthetic
from nnprobe.errors import DataError, UserInputError


def write_csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_csv_loads_with_string_classes_and_keeps_names(tmp_path):
    path = write_csv(tmp_path, "height,weight,label\n1.5,60,cat\n1.7,80,dog\n1.6,70,cat\n")
    ds = load(path, target="label")
    np.testing.assert_array_equal(ds.X, np.array([[1.5, 60], [1.7, 80], [1.6, 70]], dtype=np.float32))
    assert ds.feature_names == ["height", "weight"]
    assert ds.class_names == ["cat", "dog"] and ds.y.tolist() == [0, 1, 0]
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64


def test_parquet_round_trip(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "flag": [True, False, True, True], "y": [3, 5, 3, 5]})
    frame.to_parquet(tmp_path / "t.parquet")
    ds = load(str(tmp_path / "t.parquet"), target="y")
    np.testing.assert_array_equal(ds.X, frame[["a", "flag"]].to_numpy(dtype=np.float32))
    assert ds.class_names == ["3", "5"] and ds.y.tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize("name,n,d,k", [("breast_cancer", 569, 30, 2), ("digits", 1797, 64, 10),
                                         ("wine", 178, 13, 3), ("iris", 150, 4, 3)])
def test_sklearn_sets_load_offline(name, n, d, k):
    ds = load(f"sklearn:{name}")
    assert (ds.n_samples, ds.n_features, ds.n_classes) == (n, d, k)


def test_synthetic_spec_parses_and_is_seeded():
    a = load("synth:gaussian?n=300&d=7&k=3&seed=4")
    b = synthetic.gaussian(n=300, d=7, k=3, seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, load("synth:gaussian?n=300&d=7&k=3&seed=5").X)


def test_imbalanced_has_the_exact_majority_share():
    ds = load("synth:imbalanced?n=1000&majority=0.92")
    assert np.bincount(ds.y).tolist() == [920, 80]


def test_box_and_line_generators():
    box = synthetic.uniform_box(n=500, d=2, k=3, seed=1)
    assert box.X.min() >= -1000 and box.X.max() <= 1000 and set(box.y.tolist()) == {0, 1, 2}
    line = synthetic.line()
    np.testing.assert_array_equal(line.X[:, 0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(line.y, [0, 4, 8, 12, 16])
    assert not line.is_classification


@pytest.mark.parametrize(
    "text,target,message",
    [
        ("a,b,y\n1,2,0\n", "label", "has no column 'label'"),
        ("a,b,Label\n1,2,0\n3,4,1\n", "label", "Did you mean 'Label'"),
        ("a,city,y\n1,paris,0\n2,rome,1\n", "y", "'city'.*not numeric"),
        ("a,b,y\n1,,0\n2,inf,1\n3,4,0\n", "y", "2 missing or infinite.*'b' \\(2\\)"),
        ("a,b,y\n1,2,0\n3,4,0\n", "y", "single class"),
        ("a,b,y\n", "y", "no data rows"),
        ("a,a,y\n1,2,0\n3,4,1\n", "y", "duplicate column names 'a'"),
        ("a,b,y\n1,2,0.5\n3,4,1.25\n", "y", "non-integer"),
        ("a,b,y\n1,2,\n3,4,1\n", "y", "target column 'y' has 1 missing"),
        ("y\n1\n0\n", "y", "only the target column"),
    ],
    ids=["unknown-target", "case-suggestion", "text-feature", "nan-inf", "one-class", "header-only",
         "duplicate-columns", "float-target", "missing-target", "no-features"],
)
def test_bad_tables_get_clear_errors(tmp_path, text, target, message):
    path = write_csv(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        load(path, target=target)
    assert "\n" not in str(info.value)  # one line


def test_missing_empty_and_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load(str(tmp_path / "nope.csv"), target="y")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        load(str(tmp_path / "empty.csv"), target="y")
    (tmp_path / "junk.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match="cannot read"):
        load(str(tmp_path / "junk.parquet"), target="y")
    (tmp_path / "notes.txt").write_text("a,y\n1,0\n")
    with pytest.raises(DataError, match="not a .csv or .parquet"):
        load(str(tmp_path / "notes.txt"), target="y")
    with pytest.raises(DataError, match="is a folder"):
        load(str(tmp_path), target="y")
    with pytest.raises(DataError, match="--target"):
        load(write_csv(tmp_path, "a,y\n1,0\n2,1\n"), target=None)


def test_unknown_builtin_names_suggest_the_right_one():
    with pytest.raises(DataError, match="Did you mean 'breast_cancer'"):
        load("sklearn:breast_cancr")
    with pytest.raises(DataError, match="Did you mean 'gaussian'"):
        load("synth:gausian?n=10")
    with pytest.raises(DataError, match="no parameter 'dims'"):
        load("synth:gaussian?dims=3")
    with pytest.raises(DataError, match="must be an integer"):
        load("synth:gaussian?n=ten")


def test_split_is_stratified_seeded_and_disjoint():
    ds = load("synth:imbalanced?n=400&majority=0.9")
    train, test = split(ds, test_size=0.25, seed=3)
    assert train.n_samples + test.n_samples == 400 and test.n_samples == 100
    assert np.bincount(test.y).tolist() == [90, 10]  # the 9:1 ratio is kept exactly in the test part
    again, _ = split(ds, test_size=0.25, seed=3)
    np.testing.assert_array_equal(train.X, again.X)
    rows = {tuple(r) for r in train.X} & {tuple(r) for r in test.X}
    assert not rows


def test_split_refuses_too_few_rows():
    ds = Dataset(np.zeros((5, 2)), np.array([0, 0, 0, 0, 1]), ["a", "b"], ["x", "y"], "tiny")
    with pytest.raises(DataError, match="too few rows.*class 'y' has 1 row"):
        split(ds)


def test_split_refuses_to_leave_a_class_out_of_a_part():
    y = np.r_[np.zeros(298, int), np.ones(2, int)]  # 2 rare rows: a 25% test part would get none of them
    ds = Dataset(np.random.default_rng(0).normal(size=(300, 2)), y, ["a", "b"], ["common", "rare"], "t")
    with pytest.raises(DataError, match="class 'rare' has too few rows"):
        split(ds, test_size=0.25, seed=0)


def test_values_beyond_float32_are_refused_naming_the_columns(tmp_path):
    # 1e39 is finite in float64 (pandas) but infinite in float32, the engine's precision: it must not slip through
    path = write_csv(tmp_path, "a,big,huge,y\n1,1e39,-1e308,0\n2,3e38,5,1\n3,4,6,0\n")
    with pytest.raises(DataError, match=r"2 value\(s\) beyond float32's range.*'big' \(1\), 'huge' \(1\)"):
        load(path, target="y")
    ok = load(write_csv(tmp_path, "a,y\n3.4e38,0\n-3.4e38,1\n", "edge.csv"), target="y")
    assert np.isfinite(ok.X).all() and ok.X[0, 0] == np.float32(3.4e38)


@pytest.mark.parametrize(
    "spec,message",
    [
        ("synth:gaussian?k=1", r"k \(classes; a classifier needs at least 2\)=1 is out of range"),
        ("synth:gaussian?n=1e30", r"n=1,000,000,000,000,000,\d{3},\d{3},\d{3},\d{3},\d{3} is out of range: allowed 1"),
        ("synth:gaussian?n=100000000&d=100000", f"needs about {4e13 / 2**40:.3g} TiB of memory"),  # 4 bytes a value
        ("synth:box?low=-1e308&high=1e308", r"low=-1e\+308 must be a finite number"),
        ("synth:box?low=-3e38&high=3e38", "width within float32's range"),
        ("synth:gaussian?seed=-1", "seed=-1 is out of range: allowed 0..4,294,967,295"),
        ("synth:gaussian?seed=18446744073709551616", "seed=18,446,744,073,709,551,616 is out of range"),
        ("synth:imbalanced?separation=1e300", r"separation=1e\+300 must be a finite number"),
        ("synth:line?slope=inf", "must be a number"),
    ],
)
def test_impossible_or_enormous_synthetic_specs_are_refused_up_front(spec, message):
    with pytest.raises(UserInputError, match=message) as info:
        load(spec)
    assert "\n" not in str(info.value)


def test_largest_seed_is_accepted():
    a, b = load("synth:gaussian?n=20&d=2&seed=4294967295"), synthetic.gaussian(n=20, d=2, seed=2**32 - 1)
    np.testing.assert_array_equal(a.X, b.X)


def test_standardization_is_exact_in_float64_and_keeps_constant_columns_at_zero():
    X = np.array([[3e38, 1.0, 5.0], [-3e38, 3.0, 5.0], [3e38, 5.0, 5.0]], dtype=np.float32)
    center, scale = standard_scaling(X)  # float32 sums of 3e38 would overflow to inf
    np.testing.assert_allclose(center, [np.float64(np.float32(3e38)) / 3, 3.0, 5.0], rtol=1e-12)
    np.testing.assert_allclose(scale[1:], [np.sqrt(8 / 3), 1.0])  # population std of 1, 3, 5; constant -> 1
    Z = standardize(X, center, scale)
    assert Z.dtype == np.float32 and np.isfinite(Z).all()
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-6)
    np.testing.assert_array_equal(Z[:, 2], 0)


def test_a_test_set_with_a_class_the_training_set_lacks_is_refused_and_a_subset_works(tmp_path):
    train = load(write_csv(tmp_path, "a,y\n1,x\n2,y\n3,x\n", "train.csv"), target="y")
    unseen = load(write_csv(tmp_path, "a,y\n1,x\n2,z\n3,z\n", "test.csv"), target="y")
    with pytest.raises(DataError, match=r"class\(es\) the training data lacks: 'z' \(2 rows\)"):
        align(train, unseen)
    only_y = load(write_csv(tmp_path, "a,y\n5,y\n6,y\n", "test1.csv"), target="y", min_classes=1)
    _, test = align(train, only_y)
    assert test.class_names == ["x", "y"] and test.y.tolist() == [1, 1]  # indices of the training set's classes
    with pytest.raises(DataError, match="single class"):
        load(str(tmp_path / "test1.csv"), target="y")  # data to train on still needs two classes


def test_a_test_set_with_the_same_columns_in_another_order_is_put_in_order(tmp_path):
    train = load(write_csv(tmp_path, "a,b,y\n1,10,x\n2,20,z\n", "train.csv"), target="y")
    test = load(write_csv(tmp_path, "b,y,a\n30,x,3\n40,z,4\n", "test.csv"), target="y")
    _, aligned = align(train, test)
    assert aligned.feature_names == ["a", "b"] and aligned.X.tolist() == [[3, 30], [4, 40]]
    other = load(write_csv(tmp_path, "a,c,y\n1,2,x\n", "other.csv"), target="y", min_classes=1)
    with pytest.raises(DataError, match="missing 'b'; unexpected 'c'"):
        align(train, other)


def test_the_offending_cell_of_a_text_column_is_named(tmp_path):
    path = write_csv(tmp_path, "a,y\n0.5,x\n0.25,y\nabc,x\n")
    with pytest.raises(DataError, match=r"'a' are not numeric \(e.g. 'abc' in 'a', row 3\)"):
        load(path, target="y")


def test_a_path_too_long_for_the_file_system_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot be used: File name too long"):
        load(str(tmp_path / ("p" * 300 + ".csv")), target="y")


def test_a_parquet_target_of_bytes_is_read_as_text(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": [b"cat", b"\xffdog", b"cat", b"\xffdog"]})
    frame.to_parquet(tmp_path / "b.parquet")
    ds = load(str(tmp_path / "b.parquet"), target="y")
    assert ds.class_names == ["\\xffdog", "cat"]  # undecodable bytes shown as escapes, never a crash

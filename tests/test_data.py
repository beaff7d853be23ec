import gzip
import shutil

import numpy as np
import pytest

from helpers import atomic, config, data, fashion_files


def test_manifest_lists_four_files_with_hashes():
    files = data.manifest()["files"]
    assert set(files) == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
    assert all(len(f["sha256"]) == 64 for f in files.values())
    assert data.manifest()["license"] == "MIT"


def test_loads_real_fashion_mnist_shapes_and_labels():
    (xtr, ytr), (xte, yte) = data.load_fashion_mnist()
    assert xtr.shape == (60000, 28, 28) and xtr.dtype == np.uint8
    assert xte.shape == (10000, 28, 28)
    assert np.bincount(ytr).tolist() == [6000] * 10
    assert np.bincount(yte).tolist() == [1000] * 10


def _copy_dataset(folder, tmp_path, name="copy"):
    target = tmp_path / name
    target.mkdir()
    for f in data.manifest()["files"]:
        shutil.copy(folder / f, target / f)
    return target


def test_resolution_order_prefers_explicit_dir(tmp_path, capsys):
    real = data.locate_fashion_mnist(allow_download=False)
    mine = _copy_dataset(real, tmp_path)
    assert data.locate_fashion_mnist(mine, report=True, allow_download=False) == mine
    out = capsys.readouterr().out
    assert "argument data_dir" in out and "found" in out and "checksums verified" in out


def test_resolution_order_env_then_cache_then_debian(tmp_path, monkeypatch):
    real = data.locate_fashion_mnist(allow_download=False)
    env_dir = _copy_dataset(real, tmp_path, "env")
    monkeypatch.setenv("TLW_DATA_DIR", str(env_dir))
    labels = [label for label, _ in data.candidate_dirs()]
    assert labels == ["TLW_DATA_DIR", "project cache", "Debian package", "Keras cache"]
    assert data.locate_fashion_mnist(allow_download=False) == env_dir


def test_corrupt_file_names_file_and_both_hashes(tmp_path):
    real = data.locate_fashion_mnist(allow_download=False)
    broken = _copy_dataset(real, tmp_path)
    target = broken / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:-100])  # truncated
    with pytest.raises(data.ChecksumError) as err:
        data.locate_fashion_mnist(broken, allow_download=False)
    msg = str(err.value)
    expected = data.manifest()["files"]["t10k-labels-idx1-ubyte.gz"]["sha256"]
    assert str(target) in msg and expected in msg and data.sha256_of(target) in msg
    assert "make data" in msg


def test_verification_is_cached(tmp_path, monkeypatch):
    real = data.locate_fashion_mnist(allow_download=False)
    copy = _copy_dataset(real, tmp_path)
    data.locate_fashion_mnist(copy, allow_download=False)
    calls = []
    monkeypatch.setattr(fashion_files, "sha256_of", lambda p: calls.append(p) or "x")
    data.locate_fashion_mnist(copy, allow_download=False)  # remembered: no hashing
    assert calls == []


def test_missing_data_lists_every_place_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CACHE_DIR", tmp_path / "nocache")
    monkeypatch.setattr(config, "DEBIAN_DATA_DIR", tmp_path / "nodebian")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "nokeras"))
    monkeypatch.setenv("TLW_OFFLINE", "1")
    with pytest.raises(data.DataNotFoundError) as err:
        data.locate_fashion_mnist(tmp_path / "empty")
    msg = str(err.value)
    for place in ("empty", "nocache", "nodebian", "nokeras"):
        assert place in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "TLW_OFFLINE" in msg


def test_read_idx_rejects_short_file(tmp_path):
    path = tmp_path / "bad-idx1-ubyte.gz"
    with gzip.open(path, "wb") as h:
        h.write(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(10))
    with pytest.raises(data.ChecksumError):
        data.read_idx(path)


def test_task_definitions():
    src, look, near, far = data.source_task(), data.look_task(), data.near_task(), data.far_task()
    assert src.class_names == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt"]
    assert look.class_names == src.class_names and look.meta["same_classes_as_source"]
    assert near.class_names == ["Sandal", "Sneaker", "Bag", "Ankle boot"]
    assert not set(near.class_names) & set(src.class_names)
    assert far.num_classes == 10
    assert src.sizes() == {"train": 32400, "val": 3600, "test": 6000}
    assert look.sizes() == src.sizes()
    assert near.sizes() == {"train": 21600, "val": 2400, "test": 4000}
    for task in (src, look, near, far):
        assert set(np.unique(task.y_train)) == set(range(task.num_classes))
        assert task.x_train.shape[1:] == (28, 28, 1) and task.x_train.dtype == np.float32
        assert 0.0 <= task.x_train.min() and task.x_train.max() <= 1.0
    assert sum(far.sizes().values()) == 1797


def test_splits_are_disjoint_and_fixed():
    a, b = data.stratified_split(np.repeat(np.arange(4), 50), 0.2)
    assert not set(a) & set(b) and len(b) == 40
    a2, b2 = data.stratified_split(np.repeat(np.arange(4), 50), 0.2)
    assert (b == b2).all()


def test_few_shot_is_stratified_and_deterministic(near):
    x, y = data.few_shot(near.x_train, near.y_train, 5, seed=3)
    assert x.shape == (20, 28, 28, 1)
    assert np.bincount(y).tolist() == [5, 5, 5, 5]
    x2, y2 = data.few_shot(near.x_train, near.y_train, 5, seed=3)
    assert (x == x2).all() and (y == y2).all()
    x3, _ = data.few_shot(near.x_train, near.y_train, 5, seed=4)
    assert not (x == x3).all()
    assert data.few_shot(near.x_train, near.y_train, "all")[1] is near.y_train


@pytest.mark.parametrize("bad", [0, -3, 2.5, "five", True])
def test_few_shot_rejects_bad_counts(near, bad):
    with pytest.raises(ValueError, match="per_class"):
        data.few_shot(near.x_train, near.y_train, bad)


def test_few_shot_too_many_names_the_class():
    y = np.array([0, 0, 0, 1])
    with pytest.raises(ValueError, match="Class 1 has only 1"):
        data.few_shot(np.zeros((4, 2)), y, 2)


def test_resize_keeps_range_and_corners():
    x = np.zeros((1, 8, 8), dtype="float32")
    x[0, 0, 0] = 1.0
    r = data.resize_images(x, 28)
    assert r.shape == (1, 28, 28) and r[0, 0, 0] == pytest.approx(1.0) and r.max() <= 1.0


def test_new_camera_changes_the_look_not_the_labels():
    src, look = data.source_task(), data.look_task()
    assert np.array_equal(src.y_test, look.y_test)
    assert not np.allclose(src.x_test[:50], look.x_test[:50])
    # washed out on a grey background: a brighter background, a lower peak than the catalogue's
    assert look.x_test[:, 0, 0].mean() > src.x_test[:, 0, 0].mean() + 0.1
    assert look.x_test.max(axis=(1, 2, 3)).mean() < src.x_test.max(axis=(1, 2, 3)).mean()
    again = data.new_camera(src.x_test, seed=data.SPLIT_SEED + 22)   # fixed: the same every run
    assert np.array_equal(again, look.x_test)


def test_get_task_names_every_task():
    for name in ("source", "look", "near", "far"):
        assert data.get_task(name).name == name
    with pytest.raises(ValueError, match="look"):
        data.get_task("nope")


def test_the_files_and_the_tasks_keep_their_old_names():
    """Fashion-MNIST's files and atomic writes have their own modules; ``data.<name>`` still
    works for every one of their names, and each function has one home."""
    for module in (fashion_files, atomic):
        for name in module.__all__:
            assert getattr(data, name) is getattr(module, name), name
            assert name in data.__all__, name
    assert data.atomic_write_text.__module__ == "helpers.atomic"
    assert data.locate_fashion_mnist.__module__ == "helpers.fashion_files"

"""helpers.own_images: folders of the learner's images checked, described and loaded, offline."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import image_folder, own_images
from helpers.own_images import FolderError, choose_backbone, describe, load_task, scan_folder


def _png(path, size=(20, 20), mode="L", value=None, seed=0):
    """A small random image of ``mode`` saved at ``path`` (parents made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65536, size[::-1], dtype=np.uint16))
    elif mode in ("RGB", "RGBA"):
        image = Image.fromarray(rng.integers(0, 256, (*size[::-1], len(mode)), dtype=np.uint8), mode)
    else:
        image = Image.fromarray(rng.integers(0, 256, size[::-1], dtype=np.uint8), "L")
        if mode == "P":
            image = image.convert("RGB").convert("P")
    if value is not None:
        image = Image.new(mode, size, value)
    image.save(path)
    return path


def _folder(root, counts, mode="L", size=(20, 20)):
    for c, (name, n) in enumerate(counts.items()):
        for i in range(n):
            _png(root / name / f"{i:03d}.png", size=size, mode=mode, seed=100 * c + i)
    return root


def test_clean_folder_is_reported_in_keras_order(tmp_path):
    root = _folder(tmp_path / "imgs", {"zebra": 4, "ant": 3, "Moth": 5})
    (root / ".hidden").mkdir()
    _png(root / ".hidden" / "x.png")
    _png(root / "ant" / ".DS_Store.png")
    report = scan_folder(root)
    assert report.class_names == ["Moth", "ant", "zebra"]  # Python's sorted(), as Keras does
    assert report.counts == {"Moth": 5, "ant": 3, "zebra": 4}
    assert report.skipped == [] and report.modes == {"L": 12}
    assert report.sizes == ((20, 20), (20, 20)) and report.kind == "small grayscale"
    text = describe(report)
    assert "zebra" in text and "4 images" in text and "small grayscale" in text


def test_nested_subfolders_count_for_their_class(tmp_path):
    root = _folder(tmp_path / "imgs", {"a": 2, "b": 3})
    _png(root / "a" / "day1" / "deep" / "x.png")
    _png(root / "b" / ".thumbnails" / "t.png")      # hidden folders are ignored at any depth
    (root / "b" / ".thumbnails" / "t.txt").write_text("x")
    report = scan_folder(root)
    assert report.skipped == []
    assert report.counts == {"a": 3, "b": 3}
    assert root / "a" / "day1" / "deep" / "x.png" in report.files["a"]


def test_mixed_modes_load_into_one_shape(tmp_path):
    root = tmp_path / "imgs"
    for i, mode in enumerate(["L", "RGB", "RGBA", "P", "I;16", "L"]):
        _png(root / "cls_a" / f"{i}.png", size=(30 + i, 20), mode=mode, seed=i)
        _png(root / "cls_b" / f"{i}.png", size=(40, 25), mode=mode, seed=10 + i)
    Image.new("RGBA", (10, 10), (255, 0, 0, 0)).save(root / "cls_a" / "clear.png")  # see-through
    report = scan_folder(root)
    assert {"L", "RGB", "RGBA", "P", "I;16"} <= set(report.modes)
    assert report.sizes == ((10, 10), (25, 40)) and report.kind == "photos"
    for channels in (1, 3):
        task = load_task(report, image_size=16, channels=channels)
        for x in (task.x_train, task.x_val, task.x_test):
            assert x.dtype == np.float32 and x.shape[1:] == (16, 16, channels)
            assert 0.0 <= x.min() and x.max() <= 1.0
    clear = [i for i, f in enumerate(task.meta["files"]["train"] + task.meta["files"]["val"]
                                     + task.meta["files"]["test"]) if f.endswith("clear.png")]
    everything = np.concatenate([task.x_train, task.x_val, task.x_test])
    assert np.allclose(everything[clear[0]], 1.0)  # transparent pixels turn white, not black


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path):
    root = tmp_path / "imgs"
    for cls in ("a", "b"):
        for i in range(3):
            path = root / cls / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((8, 8), 32768, np.uint16)).save(path)
    task = load_task(scan_folder(root), image_size=8, channels=1)
    assert np.allclose(task.x_train, 0.5, atol=0.01)


def test_huge_images_are_skipped_or_decoded_small(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    root = _folder(tmp_path / "imgs", {"a": 3, "b": 3})
    _png(root / "a" / "bomb.png", size=(150, 150))          # past twice the limit: PIL refuses
    _png(root / "a" / "big.png", size=(120, 120))           # past the limit, cannot be reduced
    _png(root / "b" / "photo.jpg", size=(110, 110), mode="RGB")  # JPEG: decoded at 1/8 scale
    report = scan_folder(root)
    reasons = {path.name: why for path, why in report.skipped}
    assert set(reasons) == {"bomb.png", "big.png"}
    assert all(why.startswith("too large to decode safely") for why in reasons.values())
    assert report.counts == {"a": 3, "b": 4} and report.sizes[1] == (110, 110)
    task = load_task(report, image_size=16, channels=3)
    assert task.x_train.shape[1:] == (16, 16, 3)


def test_corrupt_and_non_image_files_are_skipped_with_reasons(tmp_path):
    root = _folder(tmp_path / "imgs", {"a": 3, "b": 3})
    good = (root / "a" / "000.png").read_bytes()
    (root / "a" / "broken.png").write_bytes(good[: len(good) // 2])
    (root / "b" / "notes.txt").write_text("not a picture")
    (root / "b" / "fake.jpg").write_text("not a picture either")
    (root / "b" / "empty.png").write_bytes(b"")
    report = scan_folder(root)
    reasons = {path.name: why for path, why in report.skipped}
    assert set(reasons) == {"broken.png", "notes.txt", "fake.jpg", "empty.png"}
    assert reasons["empty.png"] == "empty file"
    assert reasons["notes.txt"] == "not an image"
    assert reasons["broken.png"].startswith("corrupt or truncated")
    assert reasons["fake.jpg"].startswith("corrupt or truncated")
    assert report.counts == {"a": 3, "b": 3}
    text = describe(report)
    assert "broken.png" in text and "notes.txt: not an image" in text


def test_loose_images_at_the_top_are_reported(tmp_path):
    root = _folder(tmp_path / "imgs", {"a": 3, "b": 3})
    _png(root / "stray.png")
    (root / "README.txt").write_text("about these images")
    report = scan_folder(root)
    assert [p.name for p, _ in report.skipped] == ["stray.png"]


def test_describe_lists_twenty_skips_and_counts_the_rest(tmp_path):
    root = _folder(tmp_path / "imgs", {"a": 3, "b": 3})
    for i in range(25):
        (root / "a" / f"note{i:02d}.txt").write_text("x")
    text = describe(scan_folder(root))
    assert "note19.txt" in text and "note20.txt" not in text and "and 5 more" in text


def test_unreadable_file_is_skipped(tmp_path, monkeypatch):
    root = _folder(tmp_path / "imgs", {"a": 3, "b": 3})
    locked = _png(root / "a" / "locked.png")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):   # root reads through chmod 000: refuse it as the OS would
            real_open = image_folder.Image.open

            def refusing_open(path, *args, **kwargs):
                if Path(path) == locked:
                    raise PermissionError(13, "Permission denied", str(path))
                return real_open(path, *args, **kwargs)

            monkeypatch.setattr(image_folder.Image, "open", refusing_open)
        report = scan_folder(root)
        assert (locked, "unreadable (permission)") in report.skipped
    finally:
        locked.chmod(0o644)


@pytest.mark.parametrize("case, words", [
    ("missing", ["does not exist"]),
    ("file", ["is a file, not a folder"]),
    ("empty", ["is empty", "one subfolder per class"]),
    ("flat", ["no class subfolders", "its own subfolder"]),
    ("one class", ["one class only", "'only'"]),
    ("no readable", ["'b'", "no readable image", "x.txt"]),
    ("one image", ["'b' has 1", "at least 3", "validation", "test"]),
])
def test_bad_folders_raise_clear_errors(tmp_path, case, words):
    root = tmp_path / "imgs"
    if case == "file":
        root = _png(tmp_path / "one.png")
    elif case == "empty":
        root.mkdir()
    elif case == "flat":
        for i in range(4):
            _png(root / f"{i}.png")
    elif case == "one class":
        _folder(root, {"only": 5})
    elif case == "no readable":
        _folder(root, {"a": 3})
        (root / "b").mkdir()
        (root / "b" / "x.txt").write_text("x")
    elif case == "one image":
        _folder(root, {"a": 3, "b": 1})
    with pytest.raises(FolderError) as err:
        scan_folder(root)
    message = str(err.value)
    assert str(root) in message or "'b'" in message
    for word in words:
        assert word in message


def test_min_per_class_is_the_callers_to_raise(tmp_path):
    root = _folder(tmp_path / "imgs", {"a": 5, "b": 4})
    assert scan_folder(root).counts == {"a": 5, "b": 4}
    with pytest.raises(FolderError, match=r"'b' has 4.*at least 5"):
        scan_folder(root, min_per_class=5)


def test_load_task_splits_are_stratified_disjoint_and_seeded(tmp_path):
    root = _folder(tmp_path / "imgs", {"a": 10, "b": 7, "c": 3})
    report = scan_folder(root)
    task = load_task(report, image_size=12, channels=1, seed=3)
    files = task.meta["files"]
    assert sum(map(len, files.values())) == 20
    assert not (set(files["train"]) & set(files["val"]) or set(files["train"]) & set(files["test"])
                or set(files["val"]) & set(files["test"]))
    for split in ("train", "val", "test"):
        assert set(getattr(task, f"y_{split}")) == {0, 1, 2}  # every class in every split
    assert task.sizes() == {"train": 12, "val": 4, "test": 4}
    assert task.meta["dataset"] == "your images" and str(root) in task.description
    again = load_task(report, image_size=12, channels=1, seed=3)
    assert np.array_equal(again.x_test, task.x_test) and again.meta["files"] == files
    other = load_task(report, image_size=12, channels=1, seed=4)
    assert other.meta["files"]["test"] != files["test"]
    wider_val = load_task(report, image_size=12, channels=1, seed=3, val_fraction=0.3)
    assert sorted(wider_val.meta["files"]["test"]) == sorted(files["test"])  # test fixed first


def test_flip_default_follows_the_kind_and_can_be_overridden(tmp_path):
    grey = scan_folder(_folder(tmp_path / "grey", {"a": 3, "b": 3}))
    photos = scan_folder(_folder(tmp_path / "rgb", {"a": 3, "b": 3}, mode="RGB", size=(80, 60)))
    assert load_task(grey, 8, 1).meta["flip_preserves_label"] is False
    assert load_task(photos, 8, 3).meta["flip_preserves_label"] is True
    assert load_task(photos, 8, 3, flip_preserves_label=False).meta["flip_preserves_label"] is False


def test_example_folder_is_a_labelled_idempotent_stand_in(tmp_path):
    dest = tmp_path / "example"
    assert own_images.make_example_folder(dest, per_class=5, seed=1) == dest
    readme = (dest / "README.txt").read_text()
    assert "stand-in" in readme and "training split" in readme
    report = scan_folder(dest)
    assert report.counts == {"Ankle boot": 5, "Bag": 5, "Sandal": 5, "Sneaker": 5}
    assert report.kind == "small grayscale" and report.skipped == []
    stamp = {p: p.stat().st_mtime_ns for p in dest.rglob("*.png")}
    own_images.make_example_folder(dest, per_class=5, seed=1)
    assert {p: p.stat().st_mtime_ns for p in dest.rglob("*.png")} == stamp
    own_images.make_example_folder(dest, per_class=4, seed=1)  # another size replaces it
    assert scan_folder(dest).counts["Bag"] == 4
    assert not [p for p in tmp_path.iterdir() if p.name != "example"]  # no leftovers


def test_example_folder_never_replaces_other_files(tmp_path):
    dest = _folder(tmp_path / "mine", {"a": 3, "b": 3})
    with pytest.raises(FolderError, match="left alone"):
        own_images.make_example_folder(dest, per_class=3)
    assert scan_folder(dest).counts == {"a": 3, "b": 3}


@pytest.fixture
def offline_empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TLW_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))


def test_choose_backbone_offline(tmp_path, offline_empty_cache):
    grey = scan_folder(_folder(tmp_path / "grey", {"a": 3, "b": 3}))
    photos = scan_folder(_folder(tmp_path / "rgb", {"a": 3, "b": 3}, mode="RGB", size=(80, 60)))
    choice = choose_backbone(grey)
    assert (choice.name, choice.image_size, choice.channels, choice.weights) == (
        "source_cnn", 28, 1, "course")
    choice = choose_backbone(photos)
    assert (choice.name, choice.image_size, choice.channels, choice.weights) == (
        "MobileNetV2", 96, 3, "random")
    assert "random" in choice.note.lower() and "architecture" in choice.note
    assert str(tmp_path / "keras" / "models") in choice.note
    assert "mobilenet_v2_weights" in choice.note and "{" not in choice.note   # the real file name
    assert choose_backbone(photos, "efficientnetb0").name == "EfficientNetB0"
    assert choose_backbone(photos, "source_cnn").channels == 1
    with pytest.raises(ValueError, match="MobileNetV2"):
        choose_backbone(photos, "ResNet50")


def test_choose_backbone_uses_cached_weights_offline(tmp_path, offline_empty_cache):
    from helpers import applications

    photos = scan_folder(_folder(tmp_path / "rgb", {"a": 3, "b": 3}, mode="RGB", size=(80, 60)))
    cached = applications.cached_weights_path("MobileNetV2", 96)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"MobileNetV2 checks no hash")
    assert choose_backbone(photos).weights == "imagenet"


def test_permission_errors_are_named_even_as_root(tmp_path, monkeypatch):
    root = _folder(tmp_path / "imgs", {"a": 3, "b": 3})
    locked = _png(root / "a" / "locked.png")
    real_open = Image.open

    def open_refusing_locked(path, *args, **kwargs):
        if os.fspath(path) == os.fspath(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Image, "open", open_refusing_locked)
    report = scan_folder(root)
    assert report.skipped == [(locked, "unreadable (permission)")]
    assert "a/locked.png: unreadable (permission)" in describe(report)


@pytest.mark.parametrize("n", [3, 4, 5, 9])
@pytest.mark.parametrize("test_fraction, val_fraction", [(0.2, 0.2), (0.6, 0.3), (0.05, 0.05)])
def test_every_split_gets_an_image_of_every_class(n, test_fraction, val_fraction):
    train, val, test = own_images.split_class(n, np.random.default_rng(0), test_fraction, val_fraction)
    assert min(len(train), len(val), len(test)) >= 1
    assert sorted(np.concatenate([train, val, test])) == list(range(n))


# ---------------------------------------------------------------- layouts that are not one folder of classes

def test_split_folders_are_not_classes(tmp_path):
    """tvt/{train,val}/{cat,dog}: two 'classes' train and val, unless the check points at tvt/train."""
    for split in ("train", "val"):
        _folder(tmp_path / "tvt" / split, {"cat": 3, "dog": 3})
    with pytest.raises(FolderError) as err:
        scan_folder(tmp_path / "tvt")
    message = str(err.value)
    assert f"point IMAGE_DIR at {tmp_path / 'tvt' / 'train'}" in message
    assert "cat, dog become the classes" in message
    assert "makes its own training, validation and test splits" in message
    assert scan_folder(tmp_path / "tvt" / "train").class_names == ["cat", "dog"]


@pytest.mark.parametrize("names", [("Training", "Validation", "Test"), ("train", "valid"), ("val", "test")])
def test_split_names_of_any_spelling_are_caught(tmp_path, names):
    for split in names:
        _folder(tmp_path / "d" / split, {"a": 3, "b": 3})
    with pytest.raises(FolderError, match="named like splits"):
        scan_folder(tmp_path / "d")


def test_one_folder_holding_the_classes_is_pointed_at(tmp_path):
    """IMAGE_DIR/data/train/{cat,dog,owl}: not 'one class only (data)' but the path to use."""
    _folder(tmp_path / "imgs" / "data" / "train", {"cat": 3, "dog": 3, "owl": 3})
    with pytest.raises(FolderError) as err:
        scan_folder(tmp_path / "imgs")
    assert f"point IMAGE_DIR at {tmp_path / 'imgs' / 'data' / 'train'}" in str(err.value)
    assert "one class only" not in str(err.value)
    _folder(tmp_path / "two" / "photos", {"cat": 3, "dog": 3})
    with pytest.raises(FolderError, match=f"point IMAGE_DIR at {tmp_path / 'two' / 'photos'}"):
        scan_folder(tmp_path / "two")


def test_the_classes_one_level_down_are_pointed_at(tmp_path):
    for year in ("2019", "2020"):
        _folder(tmp_path / "imgs" / year, {"cat": 3, "dog": 3})
    with pytest.raises(FolderError) as err:
        scan_folder(tmp_path / "imgs")
    assert "holds subfolders with the same names (cat, dog)" in str(err.value)
    assert f"point IMAGE_DIR at {tmp_path / 'imgs' / '2019'}" in str(err.value)


def test_splits_inside_each_class_are_one_class_each(tmp_path):
    """{cat,dog}/{train,test}: the classes are right; their split folders are merged."""
    for split in ("train", "test"):
        _folder(tmp_path / "imgs", {f"cat/{split}": 2, f"dog/{split}": 2})
    report = scan_folder(tmp_path / "imgs")
    assert report.counts == {"cat": 4, "dog": 4}


def test_a_true_single_class_still_says_one_class(tmp_path):
    _folder(tmp_path / "imgs", {"cat": 4})
    with pytest.raises(FolderError, match="one class only"):
        scan_folder(tmp_path / "imgs")


def test_the_folder_check_keeps_its_old_names():
    """Scanning and checking a folder has its own module; ``own_images.<name>`` still works."""
    from helpers import image_folder

    for name in image_folder.__all__:
        assert getattr(own_images, name) is getattr(image_folder, name), name
        assert name in own_images.__all__, name
    assert own_images.scan_folder.__module__ == "helpers.image_folder"

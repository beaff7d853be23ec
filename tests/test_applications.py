"""ImageNet backbones offline: file names, the cache route, fast failure, the two hash behaviours.

Keras reads KERAS_HOME when it is imported, so the cache tests run in a fresh Python process.
"""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from helpers import applications, probes


def test_weight_file_names():
    assert applications.weights_filename("MobileNetV2", 96) == \
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"
    assert applications.weights_filename("EfficientNetB0") == "efficientnetb0_notop.h5"
    with pytest.raises(ValueError, match="sizes"):
        applications.weights_filename("MobileNetV2", 100)
    with pytest.raises(ValueError, match="Unknown backbone"):
        applications.weights_filename("ResNet")


def test_preprocess_ranges():
    assert applications.input_range_after_preprocessing("MobileNetV2") == (-1.0, 1.0)
    assert applications.input_range_after_preprocessing("EfficientNetB0") == (0.0, 255.0)


def test_to_rgb_batch_shape_and_range(near):
    x = applications.to_rgb_batch(near.x_test[:3], 96)
    assert x.shape == (3, 96, 96, 3) and 0 <= x.min() and x.max() <= 255.0
    assert np.allclose(x[..., 0], x[..., 2])


def test_offline_without_cache_fails_fast_with_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("TLW_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(applications.WeightsUnavailable) as err:
        applications.build_backbone("MobileNetV2", 96)
    assert time.perf_counter() - start < 5
    msg = str(err.value)
    assert str(tmp_path / "models") in msg and "TLW_OFFLINE" in msg and "copy the file" in msg
    model, used = applications.backbone_or_fallback("MobileNetV2", 96)
    assert used == "random" and model.output.shape[-1] == 1280


def _run(code, keras_home, offline: bool = True):
    env = {**os.environ, "KERAS_HOME": str(keras_home), "TLW_OFFLINE": "1" if offline else "0",
           "TF_CPP_MIN_LOG_LEVEL": "3", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=300)


def test_cached_mobilenet_file_is_used_offline(tmp_path):
    """A pre-seeded cache works with no network; MobileNetV2 checks no hash."""
    code = """
    import numpy as np, keras
    from helpers import applications
    seed = applications.build_backbone("MobileNetV2", 96, weights=None)
    path = applications.cached_weights_path("MobileNetV2", 96)
    path.parent.mkdir(parents=True)
    # Write the file in the legacy HDF5 layout Keras's ImageNet files use (as a download would).
    import h5py
    from keras.src.legacy.saving import legacy_h5_format
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, seed)
    loaded = applications.build_backbone("MobileNetV2", 96, weights="imagenet")
    same = all(np.array_equal(a, b) for a, b in zip(seed.get_weights(), loaded.get_weights()))
    print("LOADED_FROM_CACHE", same)
    """
    proc = _run(code, tmp_path)
    assert "LOADED_FROM_CACHE True" in proc.stdout, proc.stderr[-2000:]


def test_efficientnet_mismatching_file_stops_fast_and_is_kept_without_network(tmp_path):
    """EfficientNet checks a hash. Keras, given a wrong file and no network, would try to download
    and then delete the file; build_backbone checks the hash first, says what is wrong, keeps it."""
    code = """
    import socket, time
    import keras, keras.src.applications.efficientnet   # imported first: the clock times the check
    from helpers import applications
    path = applications.cached_weights_path("EfficientNetB0")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not the real weights")
    def no_network(*a, **k):
        raise OSError("network disabled for this test")
    socket.create_connection = no_network
    socket.socket.connect = lambda self, *a: no_network()
    t0 = time.perf_counter()
    try:
        applications.build_backbone("EfficientNetB0", 96, weights="imagenet")
    except applications.WeightsUnavailable as err:
        print("UNAVAILABLE", "do not match the hash" in str(err), "left in place" in str(err))
    print("SECONDS", round(time.perf_counter() - t0, 1))
    print("STILL_THERE", path.read_bytes() == b"not the real weights")
    """
    proc = _run(code, tmp_path)
    assert "UNAVAILABLE True True" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert "STILL_THERE True" in proc.stdout
    seconds = float(proc.stdout.split("SECONDS")[1].split()[0])
    assert seconds < 10, seconds


def test_expected_hash_is_the_one_keras_checks():
    from keras.src.applications import efficientnet

    assert applications.expected_hash("EfficientNetB0") == efficientnet.WEIGHTS_HASHES["b0"][1]
    assert applications.expected_hash("MobileNetV2") is None


def test_kfold_never_uses_a_test_fold_for_choices():
    import numpy as np

    from helpers.applications import kfold_with_inner_validation

    y = np.repeat(np.arange(4), 30)
    folds = kfold_with_inner_validation(y, k=3, seed=0)
    assert len(folds) == 3
    tests = np.concatenate([te for _, _, te in folds])
    assert sorted(tests.tolist()) == list(range(len(y)))  # every example is tested exactly once
    for train, val, test in folds:
        assert not set(train) & set(test) and not set(val) & set(test) and not set(train) & set(val)
        assert len(train) + len(val) + len(test) == len(y)
        assert set(np.unique(y[val])) == set(range(4))  # stratified validation part
    with pytest.raises(ValueError, match="k must be"):
        kfold_with_inner_validation(y, k=1)


def test_download_path_fetches_the_weights_from_a_server(tmp_path):
    """The online route, against a local HTTP server standing in for Keras's storage: an empty
    cache, a network that answers, and `build_backbone` downloads, caches and loads the file."""
    code = """
    import functools, http.server, threading
    import numpy as np, h5py, keras
    from keras.src.applications import mobilenet_v2
    from keras.src.legacy.saving import legacy_h5_format
    from helpers import applications, data
    import os, pathlib
    served = pathlib.Path(os.environ["KERAS_HOME"]) / "served"; served.mkdir()
    seed = applications.build_backbone("MobileNetV2", 96, weights=None)
    with h5py.File(served / applications.weights_filename("MobileNetV2", 96), "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, seed)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    mobilenet_v2.BASE_WEIGHT_PATH = f"http://127.0.0.1:{server.server_port}/"
    data.network_available = lambda **kw: True          # "the network answers"
    print("CACHED_BEFORE", applications.cached_weights_path("MobileNetV2", 96).is_file())
    loaded = applications.build_backbone("MobileNetV2", 96, weights="imagenet")
    same = all(np.array_equal(a, b) for a, b in zip(seed.get_weights(), loaded.get_weights()))
    print("DOWNLOADED", same, applications.cached_weights_path("MobileNetV2", 96).is_file())
    """
    proc = _run(code, tmp_path, offline=False)
    assert "CACHED_BEFORE False" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert "DOWNLOADED True True" in proc.stdout, proc.stdout + proc.stderr[-2000:]


def test_write_image_folder_is_what_image_dataset_from_directory_reads(tmp_path, near):
    import keras

    x, y = near.x_train[:12], np.arange(12) % 4
    root = applications.write_image_folder(tmp_path / "photos", x, y, near.class_names, size=32)
    assert sorted(p.name for p in root.iterdir()) == sorted(n.replace("/", "-") for n in near.class_names)
    assert not (tmp_path / "photos.partial").exists()
    ds = keras.utils.image_dataset_from_directory(root, image_size=(32, 32), batch_size=12, shuffle=False)
    images, labels = next(iter(ds))
    assert images.shape == (12, 32, 32, 3) and float(images.numpy().max()) > 1   # pixels 0..255
    # every file sits in its own class's folder: the folder's label names the right class
    from pathlib import Path as P
    for path, label in zip(ds.file_paths, labels.numpy(), strict=True):
        index = int(P(path).stem)                       # files are numbered in input order
        assert ds.class_names[label] == near.class_names[y[index]]
        assert P(path).parent.name == near.class_names[y[index]]
    with pytest.raises(ValueError, match="12 images but 3 labels"):
        applications.write_image_folder(tmp_path / "bad", x, y[:3], near.class_names)


def test_notebook_07s_copy_with_calibrated_statistics_is_the_one_in_probes():
    """Notebook 07 calls applications.calibrated_copy: the same function as probes' (one definition)."""
    assert applications.calibrated_copy is probes.calibrated_copy


def test_probe_accuracy_reads_features_of_the_extractor():
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype("float32")
    y = (x[:, 0] > 0).astype(int)
    identity = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Identity()])
    acc = applications.probe_accuracy(identity, x[:40], y[:40], x[40:], y[40:], batch_size=16)
    assert acc > 0.85

from helpers.tools import doctor
from helpers.tools.cli import main


def test_doctor_table_reports_everything(capsys):
    code = main(["doctor"])
    out = capsys.readouterr().out
    for name in ("Python", "TensorFlow", "Keras", "JupyterLab", "ipywidgets", "CPU/GPU",
                 "Fashion-MNIST", "source model", "network"):
        assert name in out
    assert "checksums verified" in out and "The course can run here." in out
    assert code == 0


def test_doctor_fails_with_fix_when_model_missing(monkeypatch, capsys, tmp_path):
    from helpers import config, models

    monkeypatch.setattr(models, "load_source_model",
                        lambda **kw: (_ for _ in ()).throw(FileNotFoundError("gone")))
    assert doctor.doctor() == 1
    out = capsys.readouterr().out
    assert "PROBLEM" in out and "python -m helpers pretrain" in out
    assert config.SOURCE_MODEL_PATH.name in out


def test_doctor_offline_note(monkeypatch):
    monkeypatch.setenv("TLW_OFFLINE", "1")
    check = doctor.check_network()
    assert check.ok and "TLW_OFFLINE" in check.detail


def test_data_command_lists_tasks(capsys):
    assert main(["data", "--no-download"]) == 0
    out = capsys.readouterr().out
    assert "Debian package" in out or "project cache" in out
    assert "Task('near'" in out

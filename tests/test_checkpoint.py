import pytest
import torch

import aecourse as ae


def test_roundtrip_rebuilds_model_and_history(tmp_path, cpu):
    ae.seed_everything(0)
    model = ae.Autoencoder([784, 16, 4], tied=True, code_activation=None)
    history = ae.fit(model, ae.load_mnist().x_train[:200], epochs=2, progress=False)
    path = ae.save(model, tmp_path / "sub" / "model.pt", history=history)
    loaded = ae.load(path)
    assert type(loaded) is ae.Autoencoder and loaded.hparams == model.hparams
    x = torch.rand(3, 784)
    assert torch.equal(loaded(x), model(x))
    assert loaded.history["train_loss"] == history.train_loss
    assert not list(path.parent.glob("*.tmp"))  # written through a temporary file, then renamed


def test_load_into_given_model(tmp_path):
    model = ae.Autoencoder([10, 3])
    ae.save(model, tmp_path / "m.pt")
    other = ae.Autoencoder([10, 3])
    ae.load(tmp_path / "m.pt", model=other)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), other.parameters()))
    with pytest.raises(ValueError, match="do not fit this model"):
        ae.load(tmp_path / "m.pt", model=ae.Autoencoder([10, 4]))


def test_failed_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = ae.save(ae.Autoencoder([10, 3]), tmp_path / "m.pt")
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", explode)
    with pytest.raises(OSError, match="disk full"):
        ae.save(ae.Autoencoder([10, 3]), path)
    assert path.read_bytes() == before and not list(tmp_path.glob("*.tmp"))


def test_foreign_files_are_refused(tmp_path):
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, plain)
    with pytest.raises(ValueError, match="not a checkpoint written by aecourse.save"):
        ae.load(plain)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a checkpoint"):
        ae.load(text)
    with pytest.raises(FileNotFoundError):
        ae.load(tmp_path / "missing.pt")


def test_unpickling_arbitrary_objects_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "aecourse-checkpoint", "payload": Evil()}, path)
    with pytest.raises(ValueError, match="not a checkpoint"):
        ae.load(path)


def test_save_rejects_non_modules_and_directories(tmp_path):
    with pytest.raises(TypeError):
        ae.save({"a": 1}, tmp_path / "x.pt")
    with pytest.raises(IsADirectoryError):
        ae.save(ae.Autoencoder([4, 2]), tmp_path)

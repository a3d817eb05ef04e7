"""``lucid.hub``: the cache folder, hubconf entrypoints from a local folder or a cached repository (trust checks
included), and downloads from ``file://`` URLs (atomic, hash-checked) compared with ``torch.hub``; weights load
from safetensors, PyTorch pickles are refused with a clear error."""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
import pathlib
import textwrap
from collections import OrderedDict

import numpy as np
import pytest

import lucid
import lucid.hub as hub
from lucid.serialization import SerializationError

torch = pytest.importorskip("torch")
import torch.hub as thub  # noqa: E402

HUBCONF = textwrap.dedent('''
    dependencies = ["numpy"]
    from helper import WIDTH  # the repository's own module, importable while hubconf loads


    def tiny(n=WIDTH, *, bias=True):
        """A one-layer model."""
        import lucid
        return lucid.nn.Linear(n, 1, bias=bias)


    def _private():
        pass


    needs_nothing = 3  # not callable: not an entrypoint
''')


@pytest.fixture
def hub_dirs(tmp_path, monkeypatch):
    """lucid's and torch's hub folders set to one temporary folder for the test."""
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setattr(thub, "_hub_dir", None)
    hub.set_dir(tmp_path / "hub")
    thub.set_dir(str(tmp_path / "hub"))
    return tmp_path / "hub"


def _repo(folder: pathlib.Path, hubconf: str = HUBCONF) -> pathlib.Path:
    folder.mkdir(parents=True)
    (folder / "hubconf.py").write_text(hubconf)
    (folder / "helper.py").write_text("WIDTH = 4\n")
    return folder


def test_get_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setattr(hub, "_hub_dir", None)
    for name in ("LUCID_HOME", "TORCH_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert hub.get_dir() == os.path.expanduser("~/.cache/lucid/hub")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.get_dir() == str(tmp_path / "xdg" / "lucid" / "hub")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    assert hub.get_dir() == str(tmp_path / "torch_home" / "hub") == thub.get_dir()
    monkeypatch.setenv("LUCID_HOME", str(tmp_path / "lucid_home"))
    assert hub.get_dir() == str(tmp_path / "lucid_home" / "hub")
    hub.set_dir("~/elsewhere")
    assert hub.get_dir() == os.path.expanduser("~/elsewhere")


def test_load_from_a_local_folder(hub_dirs, tmp_path):
    repo = _repo(tmp_path / "repo")
    model = hub.load(str(repo), "tiny", source="local")
    assert isinstance(model, lucid.nn.Linear) and model.in_features == 4 and model.bias is not None
    model = hub.load(repo, "tiny", 2, source="LOCAL", bias=False)
    assert model.in_features == 2 and model.bias is None
    assert str(repo) not in os.sys.path  # the repository leaves sys.path again


@pytest.mark.parametrize(("hubconf", "model", "error"), [
    (HUBCONF, "nope", RuntimeError), (HUBCONF, "needs_nothing", RuntimeError), (HUBCONF, 3, ValueError),
    ("dependencies = ['numpy', 'no_such_module_xyz']\ndef m():\n    pass\n", "m", RuntimeError),
])
def test_local_load_errors_match_torch(tmp_path, hubconf, model, error):
    repo = _repo(tmp_path / "repo", hubconf)
    with pytest.raises(error) as theirs:
        thub.load(str(repo), model, source="local")
    with pytest.raises(error) as ours:
        hub.load(str(repo), model, source="local")
    assert str(ours.value) == str(theirs.value)


def test_unknown_source_and_missing_hubconf(tmp_path):
    with pytest.raises(ValueError, match='Unknown source: "svn"'):
        hub.load(str(tmp_path), "m", source="svn")
    with pytest.raises(FileNotFoundError, match="has no hubconf.py"):
        hub.load(str(tmp_path), "m", source="local")


def test_list_help_and_load_use_a_cached_repository(hub_dirs, monkeypatch):
    _repo(hub_dirs / "someone_models_v1")
    monkeypatch.setattr(builtins, "input", lambda prompt: pytest.fail(f"asked: {prompt}"))
    # cached and so trusted (PyTorch's legacy rule); an explicit ref needs no network
    names = hub.list("someone/models:v1", trust_repo="check", verbose=False)
    assert names == thub.list("someone/models:v1", trust_repo="check", verbose=False) == ["tiny"]
    assert hub.help("someone/models:v1", "tiny") == thub.help("someone/models:v1", "tiny") == "A one-layer model."
    assert hub.load("someone/models:v1", "tiny", 3, trust_repo=True).in_features == 3
    assert (hub_dirs / "trusted_list").read_text() == ""  # a cached repository is trusted without being listed


@pytest.mark.parametrize(("answer", "error"), [("n", Exception), ("", Exception), ("maybe", ValueError)])
def test_trust_repo_false_asks_and_refuses_as_torch(hub_dirs, monkeypatch, answer, error):
    _repo(hub_dirs / "someone_models_v1")
    monkeypatch.setattr(builtins, "input", lambda prompt: answer)
    with pytest.raises(error) as theirs:
        thub.list("someone/models:v1", trust_repo=False)
    with pytest.raises(error) as ours:
        hub.list("someone/models:v1", trust_repo=False)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_trust_repo_false_accepts_yes(hub_dirs, monkeypatch):
    _repo(hub_dirs / "someone_models_v1")
    monkeypatch.setattr(builtins, "input", lambda prompt: "yes")
    assert hub.list("someone/models:v1", trust_repo=False) == ["tiny"]


def test_bad_github_spec():
    with pytest.raises(ValueError, match="owner/name"):
        hub.list("just-a-name:main")


# ---- downloads -------------------------------------------------------------------------------------------------------
def _state_file(folder: pathlib.Path, stem: str, with_hash: bool = True) -> pathlib.Path:
    path = folder / "src.safetensors"
    lucid.save(OrderedDict(weight=lucid.arange(6.0).reshape(2, 3), steps=lucid.tensor(4)), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    named = folder / (f"{stem}-{digest[:10]}.safetensors" if with_hash else f"{stem}.safetensors")
    path.rename(named)
    return named


def test_download_url_to_file_matches_torch(tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(300_000))
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    hub.download_url_to_file(src.as_uri(), tmp_path / "ours.bin", hash_prefix=digest[:8], progress=False)
    thub.download_url_to_file(src.as_uri(), str(tmp_path / "theirs.bin"), hash_prefix=digest[:8], progress=False)
    assert (tmp_path / "ours.bin").read_bytes() == (tmp_path / "theirs.bin").read_bytes() == src.read_bytes()
    with pytest.raises(RuntimeError) as theirs:
        thub.download_url_to_file(src.as_uri(), str(tmp_path / "bad_t.bin"), hash_prefix="0000", progress=False)
    with pytest.raises(RuntimeError) as ours:
        hub.download_url_to_file(src.as_uri(), str(tmp_path / "bad_l.bin"), hash_prefix="0000", progress=False)
    assert str(ours.value) == str(theirs.value) and "invalid hash value" in str(ours.value)
    # nothing half-written is left behind: no target, no .partial file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin", "ours.bin", "theirs.bin"]


def test_download_shows_progress_only_when_asked(tmp_path, capsys):
    src = tmp_path / "data.bin"
    src.write_bytes(b"x" * 1000)
    hub.download_url_to_file(src.as_uri(), tmp_path / "quiet.bin", progress=False)
    assert capsys.readouterr().err == ""
    hub.download_url_to_file(src.as_uri(), tmp_path / "loud.bin", progress=True)
    assert ("100%" in capsys.readouterr().err) == (hub._progress_bar(1, True) is not None)


def test_a_missing_url_raises_and_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        hub.download_url_to_file((tmp_path / "absent.bin").as_uri(), tmp_path / "out.bin", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_load_state_dict_from_url(hub_dirs, tmp_path, device, capsys):
    src = _state_file(tmp_path, "weights")
    state = hub.load_state_dict_from_url(src.as_uri(), map_location=device, progress=False, check_hash=True)
    assert isinstance(state, OrderedDict) and list(state) == ["weight", "steps"]
    assert state["weight"].device == device and state["steps"].dtype == lucid.int64
    np.testing.assert_array_equal(state["weight"].numpy(force=True), np.arange(6.0).reshape(2, 3))
    cached = hub_dirs / "checkpoints" / src.name
    assert cached.read_bytes() == src.read_bytes()
    assert f'Downloading: "{src.as_uri()}" to {cached}' in capsys.readouterr().out
    src.unlink()  # the second call reads the cache
    assert hub.load_state_dict_from_url(src.as_uri(), progress=False)["steps"].item() == 4
    assert capsys.readouterr().out == ""


def test_file_names_and_hash_checks_match_torch(hub_dirs, tmp_path):
    src = _state_file(tmp_path, "weights")
    lucid_dir, torch_dir = tmp_path / "ours", tmp_path / "theirs"
    hub.load_state_dict_from_url(src.as_uri(), model_dir=lucid_dir, progress=False, file_name="named.safetensors")
    with contextlib.suppress(Exception):  # where torch.load cannot read safetensors, the download is done
        thub.load_state_dict_from_url(src.as_uri(), model_dir=str(torch_dir), progress=False,
                                      file_name="named.safetensors")
    assert os.listdir(lucid_dir) == os.listdir(torch_dir) == ["named.safetensors"]
    bad = src.with_name("weights-0123abcd.safetensors")
    src.rename(bad)
    errors = []
    for load, folder in ((thub.load_state_dict_from_url, tmp_path / "t2"), (hub.load_state_dict_from_url,
                                                                             tmp_path / "l2")):
        with pytest.raises(RuntimeError) as caught:
            load(bad.as_uri(), model_dir=str(folder), progress=False, check_hash=True)
        errors.append(str(caught.value))
        assert os.listdir(folder) == []
    assert errors[0] == errors[1] and errors[0].startswith('invalid hash value (expected "0123abcd"')
    # without check_hash the name's hash is not checked
    assert "weight" in hub.load_state_dict_from_url(bad.as_uri(), model_dir=tmp_path / "l3", progress=False)


def test_a_pytorch_pickle_is_refused_with_a_clear_error(hub_dirs, tmp_path):
    src = tmp_path / "resnet-abc.pth"
    torch.save({"weight": torch.ones(2)}, src)
    with pytest.raises(SerializationError, match=r"PyTorch checkpoint \(pickle\).*safetensors.torch.save_file"):
        hub.load_state_dict_from_url(src.as_uri(), progress=False)
    assert (hub_dirs / "checkpoints" / "resnet-abc.pth").exists()  # the download itself is kept for converting


def test_a_foreign_safetensors_file_loads_as_lucid_tensors(hub_dirs, tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    src = tmp_path / "other.safetensors"
    safetensors_numpy.save_file({"b": np.ones(3, np.float32), "a": np.zeros((2, 2))}, str(src))
    state = hub.load_state_dict_from_url(src.as_uri(), progress=False)
    assert sorted(state) == ["a", "b"] and all(isinstance(t, lucid.Tensor) for t in state.values())
    assert state["b"].dtype == lucid.float32 and state["a"].dtype == lucid.float64

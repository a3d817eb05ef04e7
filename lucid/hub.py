"""``lucid.hub``: ``torch.hub``, models published as a ``hubconf.py`` (in a GitHub repository or a local folder)
and weights downloaded once into a cache.

The cache folder (:func:`get_dir`) is ``$LUCID_HOME/hub``, else ``$TORCH_HOME/hub`` (PyTorch's variable, so a
shared setting keeps working), else ``$XDG_CACHE_HOME/lucid/hub``, by default ``~/.cache/lucid/hub``: lucid's own
folder, because the weights it can read differ from PyTorch's. :func:`load_state_dict_from_url` reads the
downloaded file with :func:`lucid.load`: safetensors files (lucid's own, or any other tool's) load as state dicts
of lucid tensors; a PyTorch-pickled ``.pt``/``.pth`` is refused with an error that says how to convert it, since
lucid never unpickles. A ``hubconf.py`` runs as ordinary Python (it is code from the repository): GitHub
repositories are checked against ``trust_repo`` first, as in PyTorch.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, urlopen

from .serialization import SerializationError, _is_pickled
from .serialization import load as _load

__all__ = ["download_url_to_file", "get_dir", "help", "list", "load", "load_state_dict_from_url", "set_dir"]

HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")  # "name-<sha256 prefix>.ext", PyTorch's checkpoint naming convention
_TRUSTED_REPO_OWNERS = ("facebookresearch", "facebookincubator", "pytorch", "fairinternal")
MODULE_HUBCONF = "hubconf.py"
VAR_DEPENDENCY = "dependencies"
READ_DATA_CHUNK = 128 * 1024

_hub_dir: str | None = None


def get_dir() -> str:
    """The folder hub repositories and (under ``checkpoints``) weights are cached in: the one :func:`set_dir`
    gave, else ``$LUCID_HOME/hub``, ``$TORCH_HOME/hub``, ``$XDG_CACHE_HOME/lucid/hub`` or ``~/.cache/lucid/hub``."""
    if _hub_dir is not None:
        return _hub_dir
    home = os.getenv("LUCID_HOME") or os.getenv("TORCH_HOME") or os.path.join(
        os.getenv("XDG_CACHE_HOME", "~/.cache"), "lucid")
    return os.path.join(os.path.expanduser(home), "hub")


def set_dir(d) -> None:
    """Use the folder ``d`` (``~`` expanded) as :func:`get_dir` from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


# ---- repositories --------------------------------------------------------------------------------------------------
def _import_hubconf(repo_dir: str):
    """The repository's ``hubconf.py`` run as a module, with the repository on ``sys.path`` while it imports."""
    path = os.path.join(repo_dir, MODULE_HUBCONF)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{repo_dir} has no {MODULE_HUBCONF}: a hub repository or folder must have one")
    sys.path.insert(0, repo_dir)
    try:
        spec = importlib.util.spec_from_file_location("hubconf", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(repo_dir)
    return module


def _entry(module, model: str):
    """The callable ``model`` of a hubconf, after checking that its ``dependencies`` can be imported."""
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    missing = [name for name in getattr(module, VAR_DEPENDENCY, None) or ()
               if importlib.util.find_spec(name) is None]
    if missing:
        raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    func = getattr(module, model, None)
    if func is None or not callable(func):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return func


def _parse_repo_info(github: str):
    """``(owner, name, ref)`` of ``"owner/name[:ref]"``; without a ref, ``main`` if the repository has it, else
    ``master`` (offline: whichever is cached)."""
    repo_info, _, ref = github.partition(":")
    try:
        owner, name = repo_info.split("/")
    except ValueError:
        raise ValueError(f"expected a GitHub repository as 'owner/name[:ref]', got {github!r}") from None
    if ref:
        return owner, name, ref
    try:
        with urlopen(f"https://github.com/{owner}/{name}/tree/main/"):
            return owner, name, "main"
    except HTTPError as e:
        if e.code == 404:
            return owner, name, "master"
        raise
    except URLError as e:
        for ref in ("main", "master"):
            if os.path.exists(os.path.join(get_dir(), f"{owner}_{name}_{ref}")):
                return owner, name, ref
        raise RuntimeError(f"It looks like there is no internet connection and the repo could not be found in the "
                           f"cache ({get_dir()})") from e


def _validate_not_a_forked_repo(owner: str, name: str, ref: str) -> None:
    """PyTorch's guard: ``ref`` must be a branch, tag or commit of ``owner/name`` itself, not of a fork."""
    headers = {"Accept": "application/vnd.github.v3+json"}
    if os.environ.get("GITHUB_TOKEN"):
        headers["Authorization"] = f"token {os.environ['GITHUB_TOKEN']}"
    for kind in ("branches", "tags"):
        page = 0
        while True:
            page += 1
            url = f"https://api.github.com/repos/{owner}/{name}/{kind}?per_page=100&page={page}"
            with urlopen(Request(url, headers=headers)) as r:
                found = json.loads(r.read().decode(r.headers.get_content_charset("utf-8")))
            if not found:
                break
            if any(b["name"] == ref or b["commit"]["sha"].startswith(ref) for b in found):
                return
    raise ValueError(f"Cannot find {ref} in https://github.com/{owner}/{name}. If it's a commit from a forked "
                     f"repo, please call hub.load() with forked repo directly.")


def _check_repo_is_trusted(owner: str, name: str, owner_name_branch: str, trust_repo) -> None:
    """PyTorch's ``trust_repo``: True trusts, False always asks, ``"check"`` asks unless the repository is in the
    hub folder's ``trusted_list`` (or cached, or its owner is PyTorch's); a trusted answer is remembered."""
    hub_dir = get_dir()
    trusted_file = os.path.join(hub_dir, "trusted_list")
    Path(trusted_file).touch()
    with open(trusted_file) as f:
        trusted = {line.strip() for line in f}
    owner_name = f"{owner}_{name}"
    is_trusted = (owner_name in trusted or os.path.isdir(os.path.join(hub_dir, owner_name_branch))
                  or owner in _TRUSTED_REPO_OWNERS)
    if trust_repo is False or (trust_repo == "check" and not is_trusted):
        answer = input(f"The repository {owner_name} does not belong to the list of trusted repositories and as "
                       f"such cannot be downloaded. Do you trust this repository and wish to add it to the trusted "
                       f"list of repositories (y/N)?").lower()
        if answer in ("n", "no", ""):
            raise Exception("Untrusted repository.")  # noqa: TRY002  (PyTorch raises this very type)
        if answer not in ("y", "yes"):
            raise ValueError(f"Unrecognized response {answer}.")
    if not is_trusted:
        with open(trusted_file, "a") as f:
            f.write(owner_name + "\n")


def _safe_extract_zip(archive: zipfile.ZipFile, target: str) -> None:
    """Extract ``archive`` into ``target``, refusing entries with absolute paths or ``..`` that would escape it."""
    root = Path(target).resolve()
    for member in archive.infolist():
        out = (root / member.filename).resolve()
        if os.path.isabs(member.filename) or not out.is_relative_to(root):
            raise ValueError(f"Archive entry escapes target directory: {member.filename}")
        archive.extract(member, root)


def _get_cache_or_reload(github, force_reload, trust_repo, verbose=True, skip_validation=False) -> str:
    """The folder of the GitHub repository ``owner/name[:ref]`` in the hub cache, downloaded as a zip if needed."""
    hub_dir = get_dir()
    os.makedirs(hub_dir, exist_ok=True)
    owner, name, ref = _parse_repo_info(github)
    owner_name_branch = f"{owner}_{name}_{ref.replace('/', '_')}"
    repo_dir = os.path.join(hub_dir, owner_name_branch)
    _check_repo_is_trusted(owner, name, owner_name_branch, trust_repo)
    if not force_reload and os.path.exists(repo_dir):
        if verbose:
            sys.stderr.write(f"Using cache found in {repo_dir}\n")
        return repo_dir
    if not skip_validation:
        _validate_not_a_forked_repo(owner, name, ref)
    zip_file = os.path.join(hub_dir, ref.replace("/", "_") + ".zip")
    url = f"https://github.com/{owner}/{name}/zipball/{ref}"
    sys.stdout.write(f'Downloading: "{url}" to {zip_file}\n')
    download_url_to_file(url, zip_file, progress=False)
    try:
        with zipfile.ZipFile(zip_file) as archive:
            extracted = os.path.join(hub_dir, archive.infolist()[0].filename)
            shutil.rmtree(extracted, ignore_errors=True)
            _safe_extract_zip(archive, hub_dir)
    finally:
        os.remove(zip_file)
    shutil.rmtree(repo_dir, ignore_errors=True)
    shutil.move(extracted, repo_dir)
    return repo_dir


def _repo(repo_or_dir, source, force_reload, trust_repo, verbose, skip_validation) -> str:
    """The local folder of ``repo_or_dir``: itself for ``source="local"``, the cached GitHub download else."""
    source = source.lower()
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "local":
        return os.fspath(repo_or_dir)
    return _get_cache_or_reload(repo_or_dir, force_reload, trust_repo, verbose, skip_validation)


def list(github, force_reload=False, skip_validation=False, trust_repo="check", verbose=True):  # noqa: A001
    """The names of the entrypoints (public callables) of the repository's ``hubconf.py``."""
    module = _import_hubconf(_repo(github, "github", force_reload, trust_repo, verbose, skip_validation))
    return [f for f in dir(module) if callable(getattr(module, f)) and not f.startswith("_")]


def help(github, model, force_reload=False, skip_validation=False, trust_repo="check"):  # noqa: A001
    """The docstring of the entrypoint ``model``."""
    module = _import_hubconf(_repo(github, "github", force_reload, trust_repo, True, skip_validation))
    return _entry(module, model).__doc__


def load(repo_or_dir, model, *args, source="github", trust_repo="check", force_reload=False, verbose=True,
         skip_validation=False, **kwargs):
    """``model(*args, **kwargs)``, the entrypoint of the ``hubconf.py`` of a GitHub repository
    (``source="github"``, ``"owner/name[:ref]"``) or of a local folder (``source="local"``)."""
    repo_dir = _repo(repo_or_dir, source, force_reload, trust_repo, verbose, skip_validation)
    sys.path.insert(0, repo_dir)  # the entrypoint may import the repository's modules when called
    try:
        return _entry(_import_hubconf(repo_dir), model)(*args, **kwargs)
    finally:
        sys.path.remove(repo_dir)


# ---- files --------------------------------------------------------------------------------------------------------
def _progress_bar(total, enabled):
    """tqdm's bar when tqdm is installed and ``enabled``; nothing otherwise."""
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024)
    return None


def download_url_to_file(url: str, dst, hash_prefix: str | None = None, progress: bool = True) -> None:
    """Download ``url`` to the file ``dst``: into a temporary file beside it, renamed over ``dst`` only when the
    download is whole and, with ``hash_prefix``, its SHA-256 starts with it (RuntimeError otherwise, leaving no
    file). ``progress`` shows a tqdm bar when tqdm is installed."""
    dst = os.path.expanduser(os.fspath(dst))
    for _ in range(tempfile.TMP_MAX):
        partial = f"{dst}.{uuid.uuid4().hex}.partial"
        try:
            f = open(partial, "xb")  # noqa: SIM115  (closed in the finally below)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(errno.EEXIST, "No usable temporary file name found")
    try:
        with urlopen(Request(url, headers={"User-Agent": "lucid.hub"})) as source:
            length = source.info().get("Content-Length")
            sha256 = hashlib.sha256() if hash_prefix is not None else None
            bar = _progress_bar(int(length) if length else None, progress)
            with bar if bar is not None else contextlib.nullcontext():
                while chunk := source.read(READ_DATA_CHUNK):
                    f.write(chunk)
                    if sha256 is not None:
                        sha256.update(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
        f.close()
        if sha256 is not None and not sha256.hexdigest().startswith(hash_prefix):
            raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{sha256.hexdigest()}")')
        os.replace(partial, dst)
    finally:
        f.close()
        if os.path.exists(partial):
            os.remove(partial)


def load_state_dict_from_url(url: str, model_dir=None, map_location=None, progress: bool = True,
                             check_hash: bool = False, file_name: str | None = None, weights_only: bool = False):
    """The state dict in the file at ``url``, downloaded once into ``model_dir`` (``<hub dir>/checkpoints``) under
    ``file_name`` or the URL's file name, then read by :func:`lucid.load` with ``map_location`` (``weights_only``
    changes nothing: lucid never unpickles). ``check_hash`` checks the download against the SHA-256 prefix in a
    file name ``name-<prefix>.ext``, as PyTorch."""
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    cached_file = os.path.join(model_dir, file_name if file_name is not None else
                               os.path.basename(urlparse(url).path))
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        match = HASH_REGEX.search(os.path.basename(cached_file)) if check_hash else None
        download_url_to_file(url, cached_file, match.group(1) if match else None, progress=progress)
    with open(cached_file, "rb") as f:
        pickled = _is_pickled(f.read(9))
    if pickled:
        raise SerializationError(
            f"{url} is a PyTorch checkpoint (pickle), which lucid does not read: unpickling can run arbitrary code. "
            f"Convert it once with PyTorch: safetensors.torch.save_file(torch.load(path, weights_only=True), "
            f"'weights.safetensors'), and load that file (cached here as {cached_file})")
    return _load(cached_file, map_location=map_location, weights_only=weights_only)

"""Project URIs: a local folder, ``file://``, a git repository (local or remote) or a zip file.

``uri#subdir`` selects a folder inside the fetched tree (no ``.`` or ``..`` parts). Rules, as MLflow's
``_fetch_project``:

- A local folder (or ``file://`` URI) is used in place (a bare repository is cloned). With a version it
  must be a git repository: it is cloned to a temporary folder and the version (commit, branch or tag)
  checked out there.
- A ``.zip`` file, local or fetched with HTTP GET, is unpacked to a temporary folder; members that would land
  outside it (``../``, absolute names) are rejected. A zip whose only entry is a folder (as GitHub's archives
  are) is entered when no ``#subdir`` is given.
- Anything else is a git URL: ``git init`` + ``remote add origin``; the version (or the remote's HEAD) is
  fetched shallowly and checked out, falling back to a full fetch for versions that a shallow fetch cannot
  name (short commit ids); then submodules are updated.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from mltrail import errors
from mltrail.errors import MltrailError

_SCP_LIKE = re.compile(r"^[\w.+-]+@[\w.-]+:")
GIT_TIMEOUT_S = 600


@dataclass(frozen=True)
class FetchedProject:
    """Where a project URI landed, and what to record about its source.

    Attributes:
        directory: the project folder (``#subdir`` applied).
        source_name: ``mlflow.source.name``: the git remote URL of a local repository (``#subdir`` kept),
            else the expanded URI.
        git_commit: the commit checked out, when the project is in a git repository.
        git_repo_url: the repository's ``origin`` URL (the cloned URL for fetched repositories).
        git_branch: ``version`` when it names a branch.
        temp_dir: a temporary folder holding the fetched tree, to remove when the run is over (None: in place).
    """

    directory: Path
    source_name: str
    git_commit: str | None = None
    git_repo_url: str | None = None
    git_branch: str | None = None
    temp_dir: Path | None = None

    def cleanup(self) -> None:
        """Remove the temporary copy, if there is one."""
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def split_subdirectory(uri: str) -> tuple[str, str]:
    """``uri#subdir`` -> (uri, subdir); subdir is "" when absent.

    Raises:
        MltrailError: the subdirectory is absolute or has ``.``/``..`` parts.
    """
    base, _, subdir = uri.partition("#")
    subdir = subdir.strip("/")
    if subdir and (subdir.startswith("/") or any(part in (".", "..") for part in re.split(r"[/\\]", subdir))):
        raise errors.invalid(f"Invalid project subdirectory {subdir!r}: '.' and '..' are not allowed in it.")
    return base, subdir


def local_path(uri: str) -> Path | None:
    """The local path ``uri`` names (a plain path or ``file://``), or None for a remote URI."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if _SCP_LIKE.match(uri) or (len(parsed.scheme) > 1 and parsed.netloc):
        return None
    if len(parsed.scheme) > 1:  # e.g. "git+https:" without a netloc is still not a local path
        return None
    return Path(os.path.expanduser(uri))


def fetch_project(uri: str, version: str | None = None) -> FetchedProject:
    """Make the project at ``uri`` available locally.

    Args:
        uri: a folder, ``file://`` URI, git URL or zip file (local or http(s)), with an optional ``#subdir``.
        version: a git commit, branch or tag to check out.

    Returns:
        Where the project is and its source metadata.

    Raises:
        MltrailError: the folder or subdirectory does not exist, a version was given for something that is not a
            git repository, git failed (with its message), or a zip is unsafe.
    """
    base, subdir = split_subdirectory(uri)
    local = local_path(base)
    is_zip = urlparse(base).path.lower().endswith(".zip")
    if local is not None and not local.exists():
        raise errors.not_found(f"The project {base!r} does not exist.")
    if is_zip:
        if version:
            raise MltrailError("A version (-v) can only be given for a git repository, not a zip file.")
        fetched = _fetch_zip(base, local, bool(subdir))
    elif local is not None and local.is_dir() and not version and not _is_bare_repository(local):
        fetched = _in_place(local.resolve(), base, subdir)
    elif local is not None and not local.is_dir():
        raise MltrailError(f"The project {base!r} is a file, not a folder, zip file or git repository.")
    else:
        if local is not None and _git(local, "rev-parse", "--git-dir", check=False) is None:
            raise errors.invalid(
                f"A version ({version}) was given, but the project folder {local} is not a git repository."
            )
        fetched = _clone(str(local.resolve()) if local is not None else base, version)
    return _with_subdirectory(fetched, subdir, uri)


def _is_bare_repository(folder: Path) -> bool:
    return (folder / "HEAD").is_file() and _git(folder, "rev-parse", "--is-bare-repository", check=False) == "true"


def _with_subdirectory(fetched: FetchedProject, subdir: str, uri: str) -> FetchedProject:
    if not subdir:
        return fetched
    directory = (fetched.directory / subdir).resolve()
    if not directory.is_dir():
        fetched.cleanup()
        raise errors.not_found(f"The project {uri!r} has no subdirectory {subdir!r}.")
    source = fetched.source_name if "#" in fetched.source_name else f"{fetched.source_name}#{subdir}"
    return FetchedProject(
        directory, source, fetched.git_commit, fetched.git_repo_url, fetched.git_branch, fetched.temp_dir
    )


def _in_place(folder: Path, base: str, subdir: str) -> FetchedProject:
    top = _git(folder, "rev-parse", "--show-toplevel", check=False)
    if top is None:
        return FetchedProject(folder, str(folder))
    commit = _git(folder, "rev-parse", "HEAD", check=False)
    remote = _git(folder, "config", "--get", "remote.origin.url", check=False)
    source = str(folder)
    if remote:
        relative = os.path.relpath(folder / subdir, top).replace(os.sep, "/")
        source = remote if relative == "." else f"{remote}#{relative}"
    return FetchedProject(folder, source, commit, remote)


def _fetch_zip(base: str, local: Path | None, has_subdir: bool) -> FetchedProject:
    temp = Path(tempfile.mkdtemp(prefix="mltrail-project-"))
    try:
        archive = local if local is not None else _download(base, temp / "project.zip")
        root = temp / "project"
        unzip_safely(archive, root)
        entries = list(root.iterdir())
        if not has_subdir and len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
        source = str(local.resolve()) if local is not None else base
        return FetchedProject(root, source, temp_dir=temp)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def unzip_safely(archive: Path, destination: Path) -> None:
    """Extract ``archive`` into ``destination``, refusing members that would land outside it.

    Raises:
        MltrailError: a member has an absolute name or ``..`` that escapes the destination, or the file is not a
            zip archive.
    """
    destination.mkdir(parents=True, exist_ok=True)
    root = destination.resolve()
    try:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                name = member.filename
                target = (root / name).resolve()
                if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or not target.is_relative_to(root):
                    raise errors.invalid(
                        f"Refusing to unpack {archive.name}: member {name!r} would be written outside the project "
                        "folder."
                    )
            zipped.extractall(root)
    except zipfile.BadZipFile as exc:
        raise errors.invalid(f"{archive} is not a valid zip file: {exc}") from exc


def _download(url: str, target: Path) -> Path:
    import httpx

    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60) as response:
            response.raise_for_status()
            with open(target, "wb") as out:
                for chunk in response.iter_bytes(1 << 16):
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise errors.not_found(f"Could not download the project from {url}: {exc}") from exc
    return target


def _clone(url: str, version: str | None) -> FetchedProject:
    temp = Path(tempfile.mkdtemp(prefix="mltrail-project-"))
    work = temp / "repo"
    try:
        work.mkdir()
        _git(work, "init", "--quiet")
        _git(work, "remote", "add", "origin", url)
        branch = None
        if version:
            if _git(work, "fetch", "--quiet", "--depth", "1", "origin", version, check=False) is not None:
                _git(work, "checkout", "--quiet", "FETCH_HEAD")
            else:  # e.g. a short commit id, which a shallow fetch cannot name
                _git(work, "fetch", "--quiet", "--tags", "origin")
                if _git(work, "checkout", "--quiet", version, check=False) is None:
                    raise errors.invalid(
                        f"Unable to checkout version {version!r} of git repository {url}: no such commit, branch "
                        "or tag."
                    )
            heads = _git(work, "ls-remote", "--heads", "origin", version, check=False)
            if heads and any(line.endswith(f"refs/heads/{version}") for line in heads.splitlines()):
                branch = version
        else:
            _git(work, "fetch", "--quiet", "--depth", "1", "origin", "HEAD")
            _git(work, "checkout", "--quiet", "FETCH_HEAD")
        if (work / ".gitmodules").is_file():
            _git(work, "submodule", "update", "--init", "--recursive", "--quiet")
        commit = _git(work, "rev-parse", "HEAD")
        return FetchedProject(work, url, commit, url, branch, temp)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _git(cwd: Path, *args: str, check: bool = True) -> str | None:
    """Run git in ``cwd``; its stripped stdout, or None on failure when ``check`` is False.

    Raises:
        MltrailError: git is not installed, or (with ``check``) the command failed (git's message included).
    """
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=GIT_TIMEOUT_S, check=False
        )
    except FileNotFoundError as exc:
        raise MltrailError(
            "Running a project from a git repository needs the `git` command, which is not installed."
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise MltrailError(f"`git {' '.join(args)}` took longer than {GIT_TIMEOUT_S} s.") from exc
    if done.returncode != 0:
        if not check:
            return None
        message = (done.stderr or done.stdout).strip()
        raise MltrailError(f"`git {' '.join(args)}` failed: {message}")
    return done.stdout.strip()

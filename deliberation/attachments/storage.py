"""Where attachment files live: a small storage interface, the filesystem as the embedded default.

Files are content-addressed: each is named by its SHA-256, written once and never changed, so
two uploads of the same file share one copy and a record that cites a hash can always be checked
against the file. Nothing here deletes a file: a record may still cite it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Storage(Protocol):
    def put(self, data: bytes) -> str:
        """Store ``data``; return its SHA-256 (its name)."""

    def exists(self, sha256: str) -> bool: ...

    def read(self, sha256: str) -> bytes: ...

    def path(self, sha256: str) -> Path | None:
        """A local path to serve the file from, when the storage has one."""

    def relative(self, sha256: str) -> str:
        """The file's name below the storage root (for nginx's X-Accel-Redirect)."""

    def names(self) -> Iterator[str]: ...


class FilesystemStorage:
    """Files under one folder, spread over 256 sub-folders: ``ab/abcdef…``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def relative(self, sha256: str) -> str:
        if not SHA256_RE.match(sha256):
            raise ValueError("not a SHA-256")
        return f"{sha256[:2]}/{sha256}"

    def path(self, sha256: str) -> Path:
        return self.root / self.relative(sha256)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, data: bytes) -> str:
        sha = sha256_of(data)
        target = self.path(sha)
        if target.is_file():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write to a temporary name and rename: a reader never sees half a file, and two
        # processes storing the same file at once both end with the same complete one.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def names(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir():
                for file in sorted(folder.iterdir()):
                    if SHA256_RE.match(file.name):
                        yield file.name

    def copy_into(self, other: FilesystemStorage) -> int:
        """Copy every file ``other`` lacks into it (files never change: names say it all)."""
        copied = 0
        for name in self.names():
            target = other.path(name)
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.path(name), target)
                copied += 1
        return copied


def storage_for(app) -> FilesystemStorage:
    return FilesystemStorage(Path(app.config["ATTACHMENTS_DIR"]))

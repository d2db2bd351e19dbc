"""Consistent backups while the app is serving, and restoring them.

Attachment files go beside the database copy, in ``<backup>.attachments/``: they are written
before the rows that name them and never changed or deleted, so copying them after the database
snapshot gives every file the snapshot names.

SQLite: the online backup API copies a consistent snapshot page by page while other
connections keep reading and writing. PostgreSQL: ``pg_dump`` (custom format) takes a
consistent snapshot in one transaction; ``pg_restore --clean`` brings it back.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    pass


def default_path(url: str, folder: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = ".db" if make_url(url).get_backend_name() == "sqlite" else ".dump"
    return folder / f"deliberation-{stamp}{suffix}"


def _sqlite_file(url: str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return database


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    env = {"PGPASSWORD": u.password} if u.password else {}
    return args, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise BackupError(f"{cmd[0]} is not installed (Debian: apt-get install postgresql-client).")
    # The arguments come from our own configuration (DATABASE_URL), passed as a list: no shell.
    result = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(result.stderr.strip() or f"{cmd[0]} failed")


def private_file(path: Path) -> None:
    """Create ``path`` (or narrow an existing one) readable and writable by its owner only: a
    database or its backup holds who took part in every vote."""
    descriptor = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(descriptor)
    os.chmod(path, 0o600)


def backup(url: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    private_file(path)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        source = sqlite3.connect(_sqlite_file(url), timeout=30)
        target = sqlite3.connect(path)
        try:
            with target:
                source.backup(target, pages=1024)
        finally:
            target.close()
            source.close()
        check_sqlite(path)
    elif backend == "postgresql":
        args, env = _pg_args(url)
        _run(["pg_dump", *args, "-Fc", "-f", str(path), make_url(url).database or "postgres"], env)
        os.chmod(path, 0o600)
    else:
        raise BackupError(f"No backup method for {backend}.")
    return path


def restore(url: str, path: Path) -> None:
    if not path.exists():
        raise BackupError(f"{path} does not exist.")
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        check_sqlite(path)
        source = sqlite3.connect(path)
        target = sqlite3.connect(_sqlite_file(url), timeout=30)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        check_sqlite(Path(_sqlite_file(url)))
    elif backend == "postgresql":
        args, env = _pg_args(url)
        _run(["pg_restore", *args, "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "-d", make_url(url).database or "postgres", str(path)], env)
    else:
        raise BackupError(f"No restore method for {backend}.")


def check_sqlite(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()
    if result != "ok":
        raise BackupError(f"{path} failed the integrity check: {result}")


def files_dir(path: Path) -> Path:
    """Where the attachment files of the backup ``path`` are kept."""
    return path.with_name(path.name + ".attachments")


def backup_files(source: Path, path: Path) -> int:
    """Copy the attachment files into the backup of ``path``; returns how many were copied."""
    from .attachments.storage import FilesystemStorage

    target = files_dir(path)
    target.mkdir(parents=True, exist_ok=True)
    return FilesystemStorage(source).copy_into(FilesystemStorage(target))


def restore_files(path: Path, target: Path) -> int:
    """Put back the attachment files of the backup ``path`` (files already there are kept:
    a name is the hash of the content, so they are the same)."""
    from .attachments.storage import FilesystemStorage

    source = files_dir(path)
    if not source.is_dir():
        return 0
    return FilesystemStorage(source).copy_into(FilesystemStorage(target))

"""Command-line tools: ``flask demo`` and ``flask community create``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import inspect, select

from .extensions import db, internal_request_context


def database_is_empty() -> bool:
    from .accounts.models import User

    if not inspect(db.engine).has_table("users"):
        return True
    empty = db.session.scalar(select(User.id).limit(1)) is None
    db.session.remove()  # end the read: on SQLite it holds the write lock the demo needs
    return empty


def register_cli(app: Flask) -> None:
    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Only load when the database has no users yet.")
    def demo_command(if_empty: bool) -> None:
        """Load the demo community 阳光社区 (run `flask db upgrade` first)."""
        from .demo import load_demo

        if not database_is_empty():
            if if_empty:
                click.echo("The database already has data; the demo was not loaded.")
                return
            raise click.ClickException("The database is not empty. Use a fresh database for the demo.")
        # Services render fragments and links; give them a request to render in.
        with internal_request_context():
            summary = load_demo()
        # End the last (reading) transaction: work outside HTTP begins its transactions with the
        # write lock, and one left open would keep every other connection waiting.
        db.session.rollback()
        click.echo(summary)

    community_cli = click.Group("community", help="Create communities.")

    @community_cli.command("create")
    @click.argument("slug")
    @click.argument("name")
    @click.option("--admin", "admin_contact", required=True, help="Phone or email of the first admin's account.")
    @click.option("--description", default="")
    def create_community_command(slug: str, name: str, admin_contact: str, description: str) -> None:
        """Create a community with SLUG (its address) and NAME, with a first admin."""
        from .accounts.services import find_by_contact
        from .communities.services import create_community
        from .errors import DomainError

        admin = find_by_contact(admin_contact)
        if admin is None:
            raise click.ClickException(f"No account with phone or email {admin_contact!r}; register it first.")
        try:
            community = create_community(name=name, slug=slug, description=description, admin=admin)
        except DomainError as err:
            raise click.ClickException(str(err.message)) from None
        click.echo(f"Created /c/{community.slug}/ with admin {admin.display_name}.")

    app.cli.add_command(community_cli)

    votes_cli = click.Group("votes", help="Votes (measures).")

    @votes_cli.command("close-due")
    def close_due_command() -> None:
        """Close every vote whose closing time has passed and record its result."""
        from .voting.services import close_due_measures

        with internal_request_context():
            closed = close_due_measures()
        db.session.rollback()  # end the last transaction (see demo)
        click.echo(f"Closed {closed} vote(s).")

    app.cli.add_command(votes_cli)

    records_cli = click.Group("records", help="The permanent record of resolutions.")

    @records_cli.command("verify")
    @click.option("--community", "slug", default=None, help="Check one community only (its address, e.g. yangguang).")
    def verify_command(slug: str | None) -> None:
        """Recompute every community's hash chain and recount every closed measure's board against its
        record; exit 1 naming the first broken record and every measure that disagrees."""
        from .communities.services import get_community, list_communities
        from .records.labels import BREAK_REASONS
        from .records.services import verify
        from .voting import services as voting_services

        with internal_request_context(writes=False):  # verifying only reads: no write lock
            broken = False
            for community in [get_community(slug)] if slug else list_communities():
                result = verify(community)
                disagreements = voting_services.result_disagreements(community)
                for measure_id, what in disagreements:
                    click.echo(f"{community.slug}: measure {measure_id}: {what}", err=True)
                if result.ok:
                    if not disagreements:
                        click.echo(f"{community.slug}: intact, {result.check.count} record(s), "
                                   f"head {result.check.head}")
                    else:
                        broken = True
                    continue
                broken = True
                found = result.check.first_break
                if found:
                    number = result.broken.number if result.broken else "?"
                    click.echo(f"{community.slug}: BROKEN at record #{found.seq} (No. {number}): "
                               f"{BREAK_REASONS[found.reason]} {result.check.count} record(s) before it are intact.",
                               err=True)
                if result.unrecorded:
                    click.echo(f"{community.slug}: closed measure(s) without a record (a record was removed): "
                               f"{', '.join(map(str, result.unrecorded))}", err=True)
        if broken:
            raise SystemExit(1)

    app.cli.add_command(records_cli)

    @app.cli.command("backup")
    @click.argument("path", required=False, type=click.Path(path_type=Path))
    def backup_command(path: Path | None) -> None:
        """Write a consistent copy of the database (safe while the app is serving)."""
        from .backup import BackupError, backup, backup_files, default_path, files_dir

        url = current_app.config["SQLALCHEMY_DATABASE_URI"]
        target = path or default_path(url, Path(current_app.instance_path) / "backups")
        try:
            backup(url, target)
        except BackupError as err:
            raise click.ClickException(str(err)) from None
        copied = backup_files(Path(current_app.config["ATTACHMENTS_DIR"]), target)
        click.echo(f"Backup written to {target} (attachment files in {files_dir(target)}, {copied} new)")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(path_type=Path))
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def restore_command(path: Path, yes: bool) -> None:
        """Replace the database's contents with a backup (stop the app first)."""
        from .backup import BackupError, restore, restore_files

        if not yes:
            click.confirm("This replaces everything in the database with the backup. Continue?", abort=True)
        db.session.remove()
        db.engine.dispose()
        try:
            restore(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
        except BackupError as err:
            raise click.ClickException(str(err)) from None
        restore_files(path, Path(current_app.config["ATTACHMENTS_DIR"]))
        click.echo(f"Restored from {path}")

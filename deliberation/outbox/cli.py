"""``flask outbox deliver`` (once, e.g. from cron) and ``flask outbox worker`` (the RQ worker
that ``make worker`` and deploy/deliberation-worker.service run)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from ..privacy.services import prune


def register_outbox_cli(app: Flask) -> None:
    group = click.Group("outbox", help="Deliver outbound email and text messages.")

    @group.command("deliver")
    def deliver_command() -> None:
        """Deliver every message that is due now, once."""
        from .dispatch import deliver_once

        click.echo(f"delivered {deliver_once(current_app._get_current_object())} message(s)")

    @group.command("remind")
    def remind_command() -> None:
        """Plan the reminders that are due (votes closing, meetings starting, reviews due)."""
        from .reminders import send_reminders

        click.echo(f"reminded {send_reminders()} person(s)")

    @group.command("worker")
    @click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
    def worker_command(burst: bool) -> None:
        """Run the delivery worker on the Redis queue (needs REDIS_URL)."""
        from .dispatch import run_worker

        if not current_app.config.get("OUTBOX_REDIS_URL"):
            raise click.ClickException("REDIS_URL is not set: each server process delivers by itself.")
        run_worker(current_app._get_current_object(), burst=burst)

    app.cli.add_command(group)

    privacy = click.Group("privacy", help="Personal information: retention.")

    @privacy.command("prune")
    def prune_command() -> None:
        """Delete what is past its keeping time (sessions, messages, codes, live events)."""
        for table, count in prune().items():
            click.echo(f"{table}: {count} deleted")

    app.cli.add_command(privacy)

"""Capacity and stability (issue 22): statistics kept current on SQLite, and the served app's
configuration (deploy/gunicorn.conf.py) is the one `make serve` and the benchmarks use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from deliberation.agenda.models import AgendaItem
from deliberation.extensions import db
from deliberation.timeutil import utcnow
from tests.conftest import ON_POSTGRES
from tests.factories import make_community, make_member

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(ON_POSTGRES, reason="PRAGMA optimize is SQLite's; PostgreSQL's autovacuum analyses")
def test_sqlite_connections_gather_statistics_for_the_queries_the_app_runs(app, client):
    community = make_community()
    author = make_member(community)
    from deliberation.agenda import services as agenda

    category_id = agenda.categories(community)[0].id
    now = utcnow()
    db.session.execute(insert(AgendaItem), [
        {"community_id": community.id, "author_id": author.id, "category_id": category_id, "title": f"议题{n}",
         "body": "", "status": "submitted", "support_count": 0, "comment_count": 0, "status_reason": "",
         "created_at": now, "submitted_at": now, "updated_at": now} for n in range(300)])
    db.session.commit()
    slug = community.slug
    db.session.remove()
    db.engine.dispose()  # fresh connections: the statistics must come from the app's own runs
    assert client.get(f"/c/{slug}/items").status_code == 200
    db.session.remove()  # the connection goes back to the pool: that is when optimize runs
    stats = db.session.execute(text("SELECT tbl FROM sqlite_stat1")).scalars().all()
    assert "agenda_items" in stats


def test_make_serve_and_the_deployment_use_one_gunicorn_configuration():
    makefile = (ROOT / "Makefile").read_text()
    serve = re.search(r"^serve:.*?(?=^\S)", makefile, re.S | re.M).group(0)
    assert "-c deploy/gunicorn.conf.py" in serve
    assert "-c deploy/gunicorn.conf.py" in (ROOT / "deploy" / "deliberation@.service").read_text()
    assert "gunicorn.conf.py" in (ROOT / "bench" / "soak.py").read_text()

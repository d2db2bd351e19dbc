"""The yardstick: a minimal Flask + SQLAlchemy + Jinja app doing the same queries as the real
list and item pages, on the same database, with nothing else (no sessions, CSRF, i18n, ...)."""

from __future__ import annotations

import os

from flask import Flask, render_template_string
from sqlalchemy import create_engine, text

app = Flask(__name__)
engine = create_engine(os.environ["DATABASE_URL"])

LIST = """<!doctype html><html><body><ul>{% for i in items %}<li><a href="/items/{{ i.id }}">{{ i.title }}</a>
{{ i.status }} {{ i.support_count }} {{ i.comment_count }} {{ i.author }} {{ i.category }}</li>{% endfor %}</ul>
<p>{{ total }}</p></body></html>"""
ITEM = """<!doctype html><html><body><h1>{{ item.title }}</h1><div>{{ item.body }}</div><ul>
{% for c in comments %}<li id="c{{ c.id }}"><b>{{ c.author }}</b> {{ c.stance }} {{ c.body }}</li>{% endfor %}
</ul></body></html>"""


@app.route("/items")
def items():
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT i.id, i.title, i.status, i.support_count, i.comment_count, u.display_name AS author, "
            "c.name AS category FROM agenda_items i JOIN users u ON u.id = i.author_id "
            "JOIN categories c ON c.id = i.category_id WHERE i.community_id = 1 AND i.status != 'draft' "
            "ORDER BY i.id DESC LIMIT 20")).mappings().all()
        total = conn.execute(text(
            "SELECT count(*) FROM agenda_items WHERE community_id = 1 AND status != 'draft'")).scalar()
    return render_template_string(LIST, items=rows, total=total)


@app.route("/items/<int:item_id>")
def item(item_id: int):
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, title, body FROM agenda_items WHERE id = :i"), {"i": item_id}).mappings().one()
        comments = conn.execute(text(
            "SELECT c.id, c.body, c.stance, u.display_name AS author FROM comments c JOIN users u ON u.id = c.author_id "
            "WHERE c.item_id = :i ORDER BY c.id"), {"i": item_id}).mappings().all()
    return render_template_string(ITEM, item=row, comments=comments)

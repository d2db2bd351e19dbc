"""Attachments: photos, plans and PDFs on items and reviews. The kind comes from the content,
images are re-encoded without EXIF, bad files are refused with the form kept, files are read
with the permission of the thing they are on, and the record cites their SHA-256."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from deliberation.agenda import services as agenda
from deliberation.attachments import services as attachments
from deliberation.attachments.models import Attachment
from deliberation.attachments.storage import FilesystemStorage
from deliberation.communities import services as communities
from deliberation.communities.models import Role
from deliberation.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from deliberation.records import services as records
from deliberation.review import services as review
from deliberation.timeutil import utcnow
from deliberation.voting import services as voting
from tests import attachment_files as files
from tests.factories import admin_of, audit_entries, count_rows, make_community, make_item, make_measure, make_member


@pytest.fixture
def app(make_app, tmp_path):
    app = make_app(ATTACHMENTS_DIR=str(tmp_path / "files"))
    with app.app_context():
        yield app


@pytest.fixture
def setup(app):
    community = make_community()
    author = make_member(community, name="发起人")
    item = make_item(community, author)
    return community, author, item


def _stored(app) -> list[str]:
    return list(FilesystemStorage(Path(app.config["ATTACHMENTS_DIR"])).names())


def _add(community, actor, item, data, name="photo.jpg", alt="东门空地", target="item"):
    return attachments.add_attachment(actor=actor, community=community, target_key=target,
                                      target_id=item.id, filename=name, data=data, alt_text=alt)


# ---------------------------------------------------------------- images and PDFs


def test_a_photo_is_oriented_and_loses_its_exif_and_gps(setup, app):
    community, author, item = setup
    added = _add(community, author, item, files.jpeg_with_gps((200, 100), orientation=6))
    storage = FilesystemStorage(Path(app.config["ATTACHMENTS_DIR"]))
    assert added.kind == "image" and added.mimetype == "image/webp" and added.name == "photo.webp"
    for sha in (added.sha256, added.fallback_sha256, added.thumb_sha256, added.thumb_fallback_sha256):
        data = storage.read(sha)
        assert hashlib.sha256(data).hexdigest() == sha  # named by its content
        image = Image.open(io.BytesIO(data))
        assert image.size == (100, 200)  # turned upright as the camera meant
        assert not image.getexif() and "exif" not in image.info and b"PhoneMaker" not in data
    fallback = Image.open(io.BytesIO(storage.read(added.fallback_sha256)))
    assert fallback.format == "JPEG" and (added.width, added.height) == (100, 200)
    # The blue marker was along the top of the sideways photo: upright, it is on the right edge.
    assert fallback.convert("RGB").getpixel((95, 5))[2] > 150


def test_large_photos_are_resized_to_a_display_size_and_a_thumbnail(setup, app):
    community, author, item = setup
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 90, 90)).save(out, "PNG")
    added = _add(community, author, item, out.getvalue(), name="plan.png")
    storage = FilesystemStorage(Path(app.config["ATTACHMENTS_DIR"]))
    assert Image.open(io.BytesIO(storage.read(added.sha256))).size == (1920, 1440)
    assert Image.open(io.BytesIO(storage.read(added.thumb_sha256))).size == (320, 240) == added.thumb_size


@pytest.mark.parametrize("maker, source", [(files.png, "png"), (files.webp, "webp"), (files.heic, "heic")])
def test_png_webp_and_heic_photos_are_taken(setup, maker, source):
    community, author, item = setup
    added = _add(community, author, item, maker(), name=f"x.{source}")
    assert added.kind == "image" and added.thumb_sha256 and added.fallback_sha256


def test_a_transparent_png_falls_back_to_png(setup):
    community, author, item = setup
    added = _add(community, author, item, files.png(alpha=True), name="plan.png")
    assert added.fallback_mimetype == "image/png"


def test_a_pdf_is_kept_as_uploaded_with_its_page_count(setup, app):
    community, author, item = setup
    data = files.pdf(pages=3)
    added = _add(community, author, item, data, name="测量报告.pdf", alt="")
    assert added.kind == "pdf" and added.page_count == 3 and added.name == "测量报告.pdf"
    assert added.sha256 == hashlib.sha256(data).hexdigest()
    storage = FilesystemStorage(Path(app.config["ATTACHMENTS_DIR"]))
    assert storage.read(added.sha256) == data  # exactly as uploaded
    # Its first page, drawn by PDFium, is the thumbnail (A4: 227 × 320).
    first_page = Image.open(io.BytesIO(storage.read(added.thumb_fallback_sha256)))
    assert first_page.format == "JPEG" and first_page.size == (added.width, added.height) == (227, 320)
    assert set(_stored(app)) == {added.sha256, added.thumb_sha256, added.thumb_fallback_sha256}


def test_the_kind_comes_from_the_content_not_the_name(setup):
    community, author, item = setup
    added = _add(community, author, item, files.png(), name="site-plan.pdf")
    assert added.kind == "image" and added.name == "site-plan.webp"


def test_images_need_a_description_and_nothing_is_stored_without_one(setup, app):
    community, author, item = setup
    with pytest.raises(ValidationError) as refused:
        _add(community, author, item, files.png(), alt="  ")
    assert refused.value.field == "alt_text"
    assert count_rows(Attachment) == 0 and _stored(app) == []


def test_at_most_the_configured_number_of_files_per_thing(make_app, tmp_path):
    app = make_app(ATTACHMENTS_DIR=str(tmp_path / "f"), ATTACHMENTS_PER_THING=2,
                   ATTACHMENT_MAX_BYTES=1024 * 1024)
    with app.app_context():
        community = make_community()
        author = make_member(community)
        item = make_item(community, author)
        _add(community, author, item, files.png((10, 10)))
        _add(community, author, item, files.png((11, 11)))
        with pytest.raises(ValidationError, match="最多只能放 2 个文件"):
            _add(community, author, item, files.png((12, 12)))
        other = make_item(community, author, title="另一件事")
        with pytest.raises(ValidationError, match="每个文件最多 1 MB"):
            _add(community, author, other, files.pdf(pages=1) + b" " * (1024 * 1024))
        _add(community, author, other, files.pdf(pages=1) + b" " * 1000)


# ---------------------------------------------------------------- bad input over HTTP


BAD_FILES = {
    "wrong extension": (files.executable, "平面图.pdf", "not a photo"),
    "polyglot": (files.polyglot, "photo.jpg", "also another kind of file"),
    "20000x20000 png": (files.png_bomb, "huge.png", "too many pixels"),
    "truncated jpeg": (files.truncated_jpeg, "cut.jpg", "damaged or incomplete"),
    "zero bytes": (lambda: b"", "empty.jpg", "empty (0 bytes)"),
    "path separators": (files.png, "../../etc/passwd.png", "slash, a backslash"),
    "control characters": (files.png, "plan\x1b[31m.png", "invisible control characters"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_are_refused_with_the_form_kept_and_nothing_changed(setup, app, client, auth, case):
    community, author, item = setup
    maker, name, message = BAD_FILES[case]
    auth.login(author)
    url = f"/c/{community.slug}/attachments/item/{item.id}/new"
    response = client.post(url, data={"file": (io.BytesIO(maker()), name), "alt_text": "东门空地的平面图"},
                           content_type="multipart/form-data", headers={"Accept-Language": "en"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page
    assert message in page
    assert 'value="东门空地的平面图"' in page  # what was typed is still there
    assert count_rows(Attachment) == 0 and _stored(app) == []
    assert client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True).count("gallery-item") == 0


def test_bad_file_messages_are_in_chinese_too(setup, client, auth):
    community, author, item = setup
    auth.login(author)
    response = client.post(f"/c/{community.slug}/attachments/item/{item.id}/new",
                           data={"file": (io.BytesIO(b""), "x.jpg"), "alt_text": "图"},
                           content_type="multipart/form-data", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 400 and "文件是空的" in response.get_data(as_text=True)


def test_a_file_over_the_limit_is_refused_with_a_clear_message(make_app, tmp_path, auth):
    app = make_app(ATTACHMENTS_DIR=str(tmp_path / "f"), ATTACHMENT_MAX_BYTES=1024 * 1024)
    with app.app_context():
        community = make_community()
        author = make_member(community)
        item = make_item(community, author)
        client = app.test_client()
        client.post("/login", data={"contact": author.contact, "password": "password123"})
        response = client.post(f"/c/{community.slug}/attachments/item/{item.id}/new",
                               data={"file": (io.BytesIO(b"\xff\xd8\xff" + b"0" * (3 * 1024 * 1024)), "big.jpg")},
                               content_type="multipart/form-data", headers={"Accept-Language": "en"})
        assert response.status_code == 413 and "at most 1 MB" in response.get_data(as_text=True)
        assert count_rows(Attachment) == 0


def test_adding_over_http_shows_the_photo_in_the_item_gallery(setup, client, auth):
    community, author, item = setup
    auth.login(author)
    response = client.post(f"/c/{community.slug}/attachments/item/{item.id}/new",
                           data={"file": (io.BytesIO(files.jpeg_with_gps()), "lot.jpg"), "alt_text": "东门空地"},
                           content_type="multipart/form-data")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/items/{item.id}#attachments")
    page = client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    added = attachments.attachments_of("item", item.id)[0]
    assert 'alt="东门空地"' in page and 'loading="lazy"' in page and 'type="image/webp"' in page
    assert f"/attachments/{added.id}/thumb-fallback" in page and f"/attachments/{added.id}\"" in page
    full = client.get(f"/c/{community.slug}/attachments/{added.id}")
    assert full.status_code == 200 and added.sha256 in full.get_data(as_text=True)


# ---------------------------------------------------------------- who may attach and read


def test_only_the_author_attaches_to_an_item_and_only_until_the_vote(setup, app):
    community, author, item = setup
    neighbour = make_member(community)
    staff = make_member(community, Role.STAFF)
    for stranger in (neighbour, staff):
        with pytest.raises(PermissionDenied):
            _add(community, stranger, item, files.png())
    added = _add(community, author, item, files.png())
    with pytest.raises(PermissionDenied):
        attachments.remove_attachment(actor=neighbour, community=community, attachment_id=added.id)
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    make_measure(community, item)  # the vote is open: the evidence is what people decide on
    with pytest.raises(InvalidTransition):
        _add(community, author, item, files.png((20, 20)))
    with pytest.raises(InvalidTransition):
        attachments.remove_attachment(actor=author, community=community, attachment_id=added.id)
    assert count_rows(Attachment) == 1


def test_staff_attach_for_a_resident_without_a_phone_and_it_is_audited(setup):
    community, _author, _item = setup
    staff = make_member(community, Role.STAFF)
    qian = communities.create_managed_account(actor=staff, community=community, display_name="钱奶奶",
                                              building="1", entrance="1", room="101")
    item = make_item(community, qian, title="楼道灯坏了")
    added = _add(community, staff, item, files.png(), alt="楼道照片")
    assert audit_entries(community, "attachment.added")[-1].details["attachment_id"] == added.id
    attachments.remove_attachment(actor=staff, community=community, attachment_id=added.id)
    assert audit_entries(community, "attachment.removed")
    with pytest.raises(PermissionDenied):
        _add(community, make_member(community), item, files.png())


def test_a_drafts_photo_is_private_to_its_author(app, client, auth):
    community = make_community()
    author = make_member(community)
    draft = make_item(community, author, submit=False)
    added = _add(community, author, draft, files.png())
    url = f"/c/{community.slug}/attachments/{added.id}/display"
    assert client.get(url).status_code == 404  # anonymous
    auth.login(make_member(community))
    assert client.get(url).status_code == 404  # a neighbour
    auth.logout()
    auth.login(author)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/webp"
    assert response.headers["Cache-Control"] == "private, max-age=86400"


def test_files_are_not_reachable_through_another_community(setup, client):
    community, author, item = setup
    added = _add(community, author, item, files.png())
    other = make_community()
    assert client.get(f"/c/{other.slug}/attachments/{added.id}/display").status_code == 404
    assert client.get(f"/c/{community.slug}/attachments/{added.id}/display").status_code == 200
    with pytest.raises(NotFound):
        attachments.add_attachment(actor=author, community=other, target_key="item", target_id=item.id,
                                   filename="x.png", data=files.png(), alt_text="x")


def test_forged_target_and_removal_ids_are_refused(setup, client, auth):
    community, author, item = setup
    added = _add(community, author, item, files.png())
    other = make_community()
    intruder = make_member(other)
    foreign_item = make_item(other, intruder)
    auth.login(intruder)
    # Removing this community's file through the intruder's own community: not found there.
    assert client.post(f"/c/{other.slug}/attachments/{added.id}/remove").status_code == 404
    assert client.post(f"/c/{community.slug}/attachments/{added.id}/remove").status_code == 403
    # Attaching to an item of another community by its id.
    response = client.post(f"/c/{other.slug}/attachments/item/{item.id}/new",
                           data={"file": (io.BytesIO(files.png()), "x.png"), "alt_text": "x"},
                           content_type="multipart/form-data")
    assert response.status_code == 404
    assert client.get(f"/c/{other.slug}/attachments/item/{foreign_item.id}/new").status_code == 200
    assert count_rows(Attachment) == 1


def test_files_are_served_conditionally_and_through_nginx_when_configured(setup, client, app):
    community, author, item = setup
    added = _add(community, author, item, files.jpeg_with_gps())
    url = f"/c/{community.slug}/attachments/{added.id}/fallback"
    first = client.get(url)
    assert first.status_code == 200 and first.mimetype == "image/jpeg"
    assert hashlib.sha256(first.data).hexdigest() == added.fallback_sha256
    assert "sandbox" in first.headers["Content-Security-Policy"]
    assert client.get(url, headers={"If-None-Match": f'"{added.fallback_sha256}"'}).status_code == 304
    app.config["ATTACHMENTS_ACCEL_PREFIX"] = "/_attachments/"
    accel = client.get(url)
    assert accel.status_code == 200 and accel.data == b""
    assert accel.headers["X-Accel-Redirect"] == f"/_attachments/{added.fallback_sha256[:2]}/{added.fallback_sha256}"
    assert accel.mimetype == "image/jpeg"


# ---------------------------------------------------------------- reviews


def test_the_reviewer_attaches_a_report_to_their_review(setup, client):
    community, author, item = setup
    chair = make_member(community, Role.CHAIR)
    expert = make_member(community, Role.EXPERT, name="吴工程师")
    other_expert = make_member(community, Role.EXPERT)
    request = review.request_review(actor=chair, community=community, item_id=item.id, reviewer_ids=[expert.id],
                                    question="消防通道够宽吗？", due_on=utcnow().date() + timedelta(days=7))[0]
    written = review.submit_review(actor=expert, community=community, request_id=request.id, verdict="conditions",
                                   body="留出 4 米消防通道。")
    report = attachments.add_attachment(actor=expert, community=community, target_key="review",
                                        target_id=written.id, filename="测量报告.pdf", data=files.pdf(2),
                                        alt_text="")
    for someone in (author, other_expert):
        with pytest.raises(PermissionDenied):
            attachments.add_attachment(actor=someone, community=community, target_key="review",
                                       target_id=written.id, filename="x.pdf", data=files.pdf(1), alt_text="")
    page = client.get(f"/c/{community.slug}/items/{item.id}").get_data(as_text=True)
    assert f'id="attachments-review-{written.id}"' in page and "测量报告.pdf" in page
    pdf = client.get(f"/c/{community.slug}/attachments/{report.id}/display")
    assert pdf.mimetype == "application/pdf" and pdf.data == files.pdf(2)
    page_image = client.get(f"/c/{community.slug}/attachments/{report.id}/thumb-fallback")
    assert page_image.mimetype == "image/jpeg" and f"/attachments/{report.id}/thumb\"" in page


# ---------------------------------------------------------------- the record and backups


def test_a_resolution_cites_the_files_of_its_item_and_reviews_by_sha256(setup, app, runner):
    community, author, item = setup
    photo = _add(community, author, item, files.jpeg_with_gps(), alt="东门空地")
    chair = make_member(community, Role.CHAIR)
    expert = make_member(community, Role.EXPERT)
    request = review.request_review(actor=chair, community=community, item_id=item.id, reviewer_ids=[expert.id],
                                    question="可行吗？", due_on=utcnow().date() + timedelta(days=7))[0]
    written = review.submit_review(actor=expert, community=community, request_id=request.id, verdict="supports",
                                   body="可行。")
    report = attachments.add_attachment(actor=expert, community=community, target_key="review",
                                        target_id=written.id, filename="report.pdf", data=files.pdf(1), alt_text="")
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    measure = make_measure(community, item, chair=chair)
    voting.close_measure(actor=chair, community=community, measure_id=measure.id)
    resolution = records.resolution_of(measure)
    cited = json.loads(resolution.canonical)["body"]["attachments"]
    assert [(c["on"], c["sha256"]) for c in cited] == [("item", photo.sha256), ("review", report.sha256)]
    assert cited[1]["review_id"] == written.id and cited[1]["pages"] == 1 and cited[0]["alt"] == "东门空地"
    assert records.verify(community).ok
    assert runner.invoke(args=["records", "verify"]).exit_code == 0
    page = app.test_client().get(f"/c/{community.slug}/records/{resolution.seq}").get_data(as_text=True)
    assert photo.sha256 in page and report.sha256 in page


def test_a_resolution_without_files_keeps_its_earlier_shape(setup):
    community, author, item = setup
    agenda.accept_item(actor=admin_of(community), community=community, item_id=item.id)
    measure = make_measure(community, item)
    voting.close_measure(actor=admin_of(community), community=community, measure_id=measure.id)
    assert "attachments" not in json.loads(records.resolution_of(measure).canonical)["body"]


def test_backup_and_restore_include_the_files(setup, app, runner, tmp_path, db):
    from tests.conftest import ON_POSTGRES

    if ON_POSTGRES:
        import shutil

        if not shutil.which("pg_dump"):
            pytest.skip("pg_dump is not installed")
    community, author, item = setup
    added = _add(community, author, item, files.png())
    names = {added.sha256, added.fallback_sha256, added.thumb_sha256, added.thumb_fallback_sha256}
    url = f"/c/{community.slug}/attachments/{added.id}/display"
    target = tmp_path / ("backup.dump" if ON_POSTGRES else "backup.db")
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert set(FilesystemStorage(target.with_name(target.name + ".attachments")).names()) == names
    folder = Path(app.config["ATTACHMENTS_DIR"])
    import shutil

    shutil.rmtree(folder)  # the disk with the files is lost
    db.session.remove()
    restored = runner.invoke(args=["restore", str(target), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert set(_stored(app)) == names
    assert app.test_client().get(url).status_code == 200


# ---------------------------------------------------------------- the demo


def test_the_demo_parking_item_has_a_plan_a_photo_and_the_experts_report(app, client):
    import re

    import html5lib

    from deliberation.agenda.models import AgendaItem
    from deliberation.communities.services import get_community
    from deliberation.demo import DEMO_PASSWORD, load_demo
    from deliberation.extensions import db
    from deliberation.review.models import Review

    with app.test_request_context("/"):
        load_demo()
    sunshine = get_community("yangguang")
    parking = db.session.scalar(db.select(AgendaItem).where(AgendaItem.title.startswith("东侧消防通道")))
    plan, photo = attachments.attachments_of("item", parking.id)
    (expert_review,) = db.session.scalars(db.select(Review).where(Review.item_id == parking.id))
    (report,) = attachments.attachments_of("review", expert_review.id)
    assert (plan.width, plan.height) == (1920, 1080) and plan.alt_text.startswith("东门内侧空地平面图")
    assert photo.kind == "image" and report.kind == "pdf" and report.page_count == 2
    storage = FilesystemStorage(Path(app.config["ATTACHMENTS_DIR"]))
    assert b"DemoPhone" not in storage.read(photo.fallback_sha256)  # the camera's EXIF is gone
    client.post("/login", data={"contact": "13800000010", "password": DEMO_PASSWORD})
    for language in ("zh-CN", "en"):
        for url in (f"/c/{sunshine.slug}/items/{parking.id}", f"/c/{sunshine.slug}/attachments/{plan.id}"):
            response = client.get(url, headers={"Accept-Language": language})
            assert response.status_code == 200, url
            html = response.get_data(as_text=True)
            parser = html5lib.HTMLParser(namespaceHTMLElements=False)
            parser.parse(html)
            ids = re.findall(r'\sid="([^"]+)"', html)
            assert not parser.errors and len(ids) == len(set(ids)), url
    page = client.get(f"/c/{sunshine.slug}/items/{parking.id}").get_data(as_text=True)
    assert page.count('loading="lazy"') == 3 and "消防通道测量报告.pdf" in page  # 2 pictures, 1 first page
    # The parking plan is being voted on: its evidence is fixed now.
    assert client.get(f"/c/{sunshine.slug}/attachments/item/{parking.id}/new").status_code == 409


def test_a_new_photo_reaches_the_item_page_live(setup, socket_client):
    from deliberation import realtime

    community, author, item = setup
    sc = socket_client()
    assert sc.emit("join", {"room": f"item:{item.id}", "locale": "zh_CN", "last_id": realtime.last_event_id()},
                   callback=True)["ok"]
    sc.get_received()
    added = _add(community, author, item, files.png(), alt="东门空地")
    (event,) = [e["args"][0] for e in sc.get_received() if e["name"] == "attachments.changed"]
    assert event["target"] == f"#attachments-item-{item.id}"
    assert 'alt="东门空地"' in event["html"] and f"/attachments/{added.id}/thumb" in event["html"]
    attachments.remove_attachment(actor=author, community=community, attachment_id=added.id)
    (event,) = [e["args"][0] for e in sc.get_received() if e["name"] == "attachments.changed"]
    assert "gallery-item" not in event["html"]

"""Attachment forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length, Optional

from .services import ALT_MAX

ACCEPT = "image/jpeg,image/png,image/webp,image/heic,image/heif,application/pdf,.heic,.heif"


class AttachmentForm(FlaskForm):
    file = FileField(_l("Photo, plan or PDF document"),
                     validators=[FileRequired(_l("Please choose a photo or a PDF file."))],
                     description=_l("JPEG, PNG, WebP or HEIC photos, or PDF documents. Location and camera "
                                    "details are removed from photos."),
                     render_kw={"accept": ACCEPT})
    alt_text = StringField(_l("What does the picture show?"), validators=[Optional(), Length(max=ALT_MAX)],
                           description=_l("Needed for photos and plans: a few words read aloud to people who "
                                          "cannot see the picture. For a PDF, optional."))

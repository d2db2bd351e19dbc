"""Agenda item forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..communities.services import MAX_PROXIES_LIMIT, THRESHOLD_MAX
from .services import BODY_MAX, REASON_MAX, TITLE_MAX


class ItemForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Please give the item a title.")),
                                                 Length(max=TITLE_MAX)],
                        description=_l("One short sentence, e.g. “Turn the east lane into shared parking at night”."))
    category_id = SelectField(_l("Category"), coerce=int, validate_choice=False,
                              validators=[DataRequired(_l("Please choose a category."))])
    body = TextAreaField(_l("Description"), validators=[Optional(), Length(max=BODY_MAX)],
                         description=_l("What is the problem, what do you propose, who is affected? "
                                        "You can use **bold**, lists and links."))


class ReviseForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Please give the item a title.")),
                                                 Length(max=TITLE_MAX)])
    body = TextAreaField(_l("Description"), validators=[Optional(), Length(max=BODY_MAX)])
    note = TextAreaField(_l("What changed and why (optional)"), validators=[Optional(), Length(max=1000)],
                         description=_l("e.g. “The unlock fee is dropped, as the legal adviser advised.”"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Please give the reason.")),
                                                     Length(max=REASON_MAX)],
                           description=_l("Shown publicly on the item."))


class MergeForm(FlaskForm):
    into_id = IntegerField(_l("Number of the item to merge into"),
                           validators=[DataRequired(_l("Please give the number of the item to merge into."))],
                           description=_l("The number after # on the item's page."))
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=REASON_MAX)])


class SettingsForm(FlaskForm):
    threshold = IntegerField(_l("Supports needed to put an item on the agenda"),
                             validators=[DataRequired(_l("Enter a whole number.")),
                                         NumberRange(min=1, max=THRESHOLD_MAX)])
    max_proxies = IntegerField(_l("Proxies one member may hold (per vote or meeting)"),
                               validators=[InputRequired(_l("Please enter a whole number from 0 to 20.")),
                                           NumberRange(min=0, max=MAX_PROXIES_LIMIT)],
                               description=_l("0: no proxies in this community."))

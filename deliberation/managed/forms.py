"""Forms staff fill in for a managed resident, and the form she claims her account with."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..discussion.forms import STANCES, new_token
from ..discussion.services import BODY_MAX


class CommentForForm(FlaskForm):
    item_id = SelectField(_l("On which item"), coerce=int, validate_choice=False,
                          validators=[DataRequired(_l("Please choose the item."))])
    stance = SelectField(_l("Their position (optional)"), validators=[Optional()], validate_choice=False,
                         choices=[SelectChoice("", "—"), *(SelectChoice(v, label) for v, label in STANCES)])
    body = TextAreaField(_l("What they say"), validators=[DataRequired(_l("Please write something first.")),
                                                          Length(max=BODY_MAX)],
                         description=_l("Write it down as they say it, then read it back to them."))
    client_token = HiddenField(default=new_token)


class ClaimForm(FlaskForm):
    code = StringField(_l("Code from the community staff"),
                       validators=[DataRequired(_l("Please enter the code staff gave you.")), Length(max=20)],
                       description=_l("Eight letters and digits, e.g. K7QM-4XPA."))
    phone = StringField(_l("Your mobile phone number"),
                        validators=[DataRequired(_l("Please enter your mobile phone number.")), Length(max=30)])
    password = PasswordField(_l("Choose a password"),
                             validators=[DataRequired(_l("Please choose a password.")), Length(max=128)],
                             description=_l("At least 8 characters."))

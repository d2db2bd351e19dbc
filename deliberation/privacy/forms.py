"""Privacy forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired


class ConsentForm(FlaskForm):
    version = HiddenField()
    agree = BooleanField(_l("I have read the privacy notice and agree to it"),
                         validators=[DataRequired(_l("Please tick the box to agree, or log out."))])


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(_l("Please enter your password."))])
    confirmation = StringField(_l("Type the words shown above"),
                               validators=[DataRequired(_l("Please type the words exactly as shown."))])

"""Forms for the steps that need a code. The services hold the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..accounts.services import PASSWORD_MAX, PASSWORD_MIN


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Please enter the 6-digit code."))],
                       description=_l("The 6 digits in the message we sent."),
                       render_kw={"inputmode": "numeric", "maxlength": 8})


class ContactForm(FlaskForm):
    contact = StringField(_l("Phone number or email"),
                          validators=[DataRequired(_l("Please enter a phone number or an email address."))])


class ResetForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Please enter the 6-digit code."))],
                       description=_l("The 6 digits in the message we sent."),
                       render_kw={"inputmode": "numeric", "maxlength": 8})
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Please choose a new password.")),
                    Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
                           message=_l("The password must be %(min)d to %(max)d characters."))],
        description=_l("At least %(n)d characters. Every device logged in to this account is logged out.",
                       n=PASSWORD_MIN),
    )

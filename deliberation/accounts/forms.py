"""Account forms. The services hold the real rules; forms give CSRF and early, friendly hints."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .services import NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, normalise_contact


class RegisterForm(FlaskForm):
    display_name = StringField(
        _l("Your name"),
        validators=[DataRequired(_l("Please enter your name.")), Length(max=NAME_MAX)],
        description=_l("Shown to your neighbours, e.g. 王阿姨 or 李建国."),
    )
    contact = StringField(
        _l("Phone number or email"),
        validators=[DataRequired(_l("Please enter a phone number or an email address."))],
        description=_l("You log in with it. It is not shown to others."),
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Please choose a password.")),
            Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
                   message=_l("The password must be %(min)d to %(max)d characters.")),
        ],
        description=_l("At least %(n)d characters.", n=PASSWORD_MIN),
    )
    # Explicit consent to the privacy notice (PIPL): never ticked in advance.
    privacy_consent = BooleanField(
        _l("I have read the privacy notice and agree to it"),
        validators=[DataRequired(_l("Please read the privacy notice and tick the box to agree."))],
    )

    def validate_contact(self, field) -> None:
        # Early, so a wrong number is marked together with any other mistake on the form.
        from wtforms.validators import ValidationError as FieldError

        from ..errors import ValidationError

        try:
            normalise_contact(field.data or "")
        except ValidationError as err:
            raise FieldError(str(err.message)) from None


class LoginForm(FlaskForm):
    contact = StringField(
        _l("Phone number or email"),
        validators=[DataRequired(_l("Please enter a phone number or an email address."))],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Please enter your password."))])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(_l("Please enter your current password."))]
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Please choose a new password.")),
            Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
                   message=_l("The password must be %(min)d to %(max)d characters.")),
        ],
        description=_l("At least %(n)d characters. You will stay logged in here; other devices are logged out.",
                       n=PASSWORD_MIN),
    )

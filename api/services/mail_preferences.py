"""Members' mail preferences: who receives the mail, about what, how often; unsubscribing.

A member without a `MailPreference` row has the defaults; the row is created when it is first
needed (a message decided for it, preferences changed), which gives it its unsubscribe token.
"""

from __future__ import annotations

from sqlmodel import Session, select

from api.mail.message import check_address
from api.services.auth import Principal, require_organisation
from api.services.errors import InvalidInput, NotFound
from models.common import utcnow
from models.mailing import MailPreference, MailPreferencePublic, MailPreferenceUpdate
from models.organisation import Organisation
from models.reference import load_countries
from models.settings import Settings

THEME_MAX = 100
THEMES_MAX = 50


def recipient_of(preference: MailPreference | None, organisation: Organisation) -> str:
    """The address mail goes to: the preference's, else the contact e-mail; "" when neither is
    one plain, usable address."""
    for value in ((preference.recipient if preference else ""), organisation.contact_email):
        value = (value or "").strip()
        if not value:
            continue
        try:
            return check_address(value)
        except ValueError:
            return ""
    return ""


def defaults(organisation_id: int) -> MailPreference:
    """The preferences of a member that has none stored (not added to the session)."""
    return MailPreference(organisation_id=organisation_id)


def ensure_preference(session: Session, organisation_id: int) -> MailPreference:
    """The stored preferences of a member, created with the defaults if it has none."""
    preference = session.get(MailPreference, organisation_id)
    if preference is None:
        preference = defaults(organisation_id)
        session.add(preference)
        session.flush()
    return preference


def unsubscribe_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/unsubscribe/{token}"


def _organisation(session: Session, organisation_id: int) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation", organisation_id)
    return organisation


def _public(preference: MailPreference) -> MailPreferencePublic:
    return MailPreferencePublic.model_validate(preference, from_attributes=True)


def read_preferences(
    session: Session, principal: Principal, organisation_id: int
) -> MailPreferencePublic:
    require_organisation(principal, organisation_id)
    _organisation(session, organisation_id)
    preference = session.get(MailPreference, organisation_id) or defaults(organisation_id)
    return _public(preference)


def _themes(values: list[str]) -> list[str]:
    themes = list(dict.fromkeys(" ".join(v.split()) for v in values if v.strip()))
    if len(themes) > THEMES_MAX or any(len(t) > THEME_MAX for t in themes):
        raise InvalidInput(f"at most {THEMES_MAX} themes of at most {THEME_MAX} characters")
    return themes


def _countries(values: list[str]) -> list[str]:
    known = load_countries()
    codes = list(dict.fromkeys(v.strip().upper() for v in values if v.strip()))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise InvalidInput(f"unknown country code(s): {', '.join(unknown)} (ISO alpha-2)")
    return codes


def update_preferences(
    session: Session, principal: Principal, organisation_id: int, change: MailPreferenceUpdate
) -> MailPreferencePublic:
    """Change the preferences the caller sets (the organisation's own member, or staff)."""
    require_organisation(principal, organisation_id)
    _organisation(session, organisation_id)
    preference = ensure_preference(session, organisation_id)
    values = change.model_dump(exclude_unset=True)
    if values.get("themes") is not None:
        preference.themes = _themes(values["themes"])
    if values.get("countries") is not None:
        preference.countries = _countries(values["countries"])
    if values.get("recipient") is not None:
        recipient = values["recipient"].strip()
        if recipient:
            try:
                check_address(recipient)
            except ValueError as exc:
                raise InvalidInput(f"recipient: {exc}") from exc
        preference.recipient = recipient
    for name in ("frequency", "max_items", "opted_out"):
        if values.get(name) is not None:
            setattr(preference, name, values[name])
    preference.updated_at = utcnow()
    session.add(preference)
    session.commit()
    session.refresh(preference)
    return _public(preference)


def by_token(session: Session, token: str) -> tuple[MailPreference, Organisation]:
    preference = session.exec(
        select(MailPreference).where(MailPreference.unsubscribe_token == token)
    ).first()
    if preference is None or len(token) > 64:
        raise NotFound("unsubscribe link", "given")
    return preference, _organisation(session, preference.organisation_id)


def unsubscribe(session: Session, token: str) -> Organisation:
    """Opt the member of this token out of every mail (idempotent)."""
    preference, organisation = by_token(session, token)
    if not preference.opted_out:
        preference.opted_out = True
        preference.updated_at = utcnow()
        session.add(preference)
        session.commit()
    return organisation

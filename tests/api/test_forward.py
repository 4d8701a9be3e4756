"""Forwarding one call on the test network: the preview with reasons and flags, sending to an
edited list, never twice, opted-out members skipped. Real SQLite, matcher and SMTP server."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from models.db import make_engine, session_scope
from models.mailing import Channel, Delivery, MailPreference
from models.organisation import Organisation
from tests.api.conftest import Indexed
from tests.api.smtp_server import LocalSmtp, smtp_server_fixture  # noqa: F401
from tests.api.test_digest import (  # noqa: F401  (fixtures)
    TODAY,
    Db,
    cli,
    cli_env_fixture,
    network_fixture,
    recipients,
)

MEMBERS = ("malaria_ngo", "tropical", "ministry", "nutrition")


def address(key: str) -> str:
    return f"{key.replace('_', '-')}@members.example"


@pytest.fixture(name="mailed")
def mailed_fixture(network: Db, indexed: Indexed) -> Db:
    """The test network with an address for every member but the ministry."""
    engine = make_engine(network.url)
    with session_scope(engine) as session:
        for key in MEMBERS:
            org = session.get(Organisation, indexed.ids[key])
            assert org is not None
            org.contact_email = "" if key == "ministry" else address(key)
            session.add(org)
    engine.dispose()
    return network


def test_preview_lists_fitting_members_with_reasons_and_flags(
    mailed: Db, indexed: Indexed, smtp_server: LocalSmtp, cli_env: pytest.MonkeyPatch
) -> None:
    call = str(indexed.ids["malaria_call"])
    code, out = cli(cli_env, mailed.env(smtp_server), "forward", call, "--preview")
    assert code == 0, out
    assert "Malaria Action Kenya" in out and "why: matches your project" in out
    assert f"to {address('malaria_ngo')}" in out
    assert "[no e-mail address]" in out  # the ministry
    assert "SunGrid" not in out  # not a member of any network
    assert "preview: nothing sent" in out
    assert smtp_server.received == []
    # a higher bar: fewer members
    code, strict = cli(cli_env, mailed.env(smtp_server), "forward", call, "--min-score", "100")
    assert code == 0 and "no member fits" in strict, strict


def test_send_to_an_edited_list_then_never_twice_and_opt_out(
    mailed: Db, indexed: Indexed, smtp_server: LocalSmtp, cli_env: pytest.MonkeyPatch
) -> None:
    env = mailed.env(smtp_server)
    call = str(indexed.ids["malaria_call"])
    ngo, tropical = indexed.ids["malaria_ngo"], indexed.ids["tropical"]
    code, out = cli(cli_env, env, "forward", call, "--preview")
    assert code == 0 and "Institute of Tropical Medicine" in out, out

    # the edited list: everyone fitting but the tropical institute
    code, out = cli(cli_env, env, "forward", call, "--send", "--exclude", str(tropical))
    assert code == 0, out
    got = recipients(smtp_server.received)
    assert address("malaria_ngo") in got and address("tropical") not in got
    assert max(got.values()) == 1
    assert "no e-mail address" in out  # the ministry, reported
    message = smtp_server.received[0].message()
    assert message["Subject"] == "Funding call: Malaria elimination in East Africa"

    # again, with --only: the one already forwarded is skipped, the other one is sent
    code, out = cli(
        cli_env,
        env,
        "forward",
        call,
        "--send",
        "--only",
        str(ngo),
        "--only",
        str(tropical),
        "--note",
        "Deadline soon: talk to us.",
    )
    assert code == 0, out
    assert f"skipped organisation {ngo}: already forwarded this call" in out
    got = recipients(smtp_server.received)
    assert got[address("malaria_ngo")] == 1 and got[address("tropical")] == 1
    note = smtp_server.received[-1].message().get_body(("plain",))
    assert note is not None and "Deadline soon: talk to us." in note.get_content()

    # an opted-out member is skipped, even when chosen by hand
    engine = make_engine(mailed.url)
    try:
        nutrition = indexed.ids["nutrition"]
        with session_scope(engine) as session:
            session.add(MailPreference(organisation_id=nutrition, opted_out=True))
        nutrition_call = str(indexed.ids["nutrition_call"])
        code, out = cli(cli_env, env, "forward", nutrition_call, "--preview")
        assert "Nutrition First Malawi" in out and "[opted out]" in out, out
        code, out = cli(cli_env, env, "forward", nutrition_call, "--send", "--only", str(nutrition))
        assert code == 0 and f"skipped organisation {nutrition}: opted out" in out, out
        assert address("nutrition") not in recipients(smtp_server.received)
        with Session(engine) as session:
            logged = session.exec(
                select(Delivery.organisation_id).where(Delivery.channel == Channel.FORWARD)
            ).all()
        assert sorted(logged) == sorted([ngo, tropical])
    finally:
        engine.dispose()


def test_unknown_call_or_organisation_is_one_error_line(
    mailed: Db, indexed: Indexed, smtp_server: LocalSmtp, cli_env: pytest.MonkeyPatch
) -> None:
    env = mailed.env(smtp_server)
    code, out = cli(cli_env, env, "forward", "999999")
    assert code == 1 and "error: call 999999 not found" in out, out
    call = str(indexed.ids["malaria_call"])
    code, out = cli(cli_env, env, "forward", call, "--send", "--only", "888888")
    assert code == 1 and "error: organisation 888888 not found" in out, out
    code, out = cli(cli_env, env, "forward", call, "--send", "--only", str(indexed.ids["solar"]))
    assert code == 0 and "not a member of any network" in out, out
    assert smtp_server.received == []

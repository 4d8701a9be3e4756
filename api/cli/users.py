"""`healthmatch users` and `healthmatch keys`: who may use the API, and their keys."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlmodel import Session

from api.cli.common import app, cli_errors
from api.services import users
from api.services.errors import Conflict, InvalidInput, NotFound
from api.services.passwords import check_strength, hash_password
from api.services.web_sessions import close_user_sessions
from models.db import session_scope, temporary_engine
from models.migrate import require_current
from models.user import Role

users_app = typer.Typer(help="Users of the API and their roles.")
keys_app = typer.Typer(help="API keys (Bearer tokens); only their hashes are stored.")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")


@contextmanager
def user_session() -> Iterator[Session]:
    """One transaction on the configured database; domain errors become one line and exit 1."""
    with cli_errors(), temporary_engine() as engine:
        require_current(engine)
        try:
            with session_scope(engine) as session:
                yield session
        except (Conflict, InvalidInput, NotFound) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The user's e-mail (their login name).")],
    role: Annotated[Role, typer.Option(help="admin, secretariat or member.")] = Role.MEMBER,
    org: Annotated[
        int | None, typer.Option(help="Organisation id (required for a member).")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Add a user with a role; a member is bound to one organisation."""
    with user_session() as session:
        user = users.add_user(session, email=email, role=role, organisation_id=org, name=name)
        line = f"added user {user.id}: {user.email} ({user.role}"
        line += f", organisation {user.organisation_id})" if user.organisation_id else ")"
    typer.echo(line)


@users_app.command("list")
def users_list() -> None:
    """List the users."""
    with user_session() as session:
        rows = [
            f"{u.id:>5}  {u.email}  {u.role}"
            + (f"  organisation {u.organisation_id}" if u.organisation_id else "")
            + ("" if u.is_active else "  (inactive)")
            for u in users.list_users(session)
        ]
    typer.echo("\n".join(rows) if rows else "no users")


@users_app.command("set-password")
def users_set_password(
    email: Annotated[str, typer.Argument(help="The user who signs in to the web pages.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (one line).")
    ] = False,
) -> None:
    """Set the password of the web sign-in (asked twice, hidden); signs out its sessions."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_strength(password)
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    with user_session() as session:
        user = users.get_user(session, email)
        user.password_hash = hash_password(password)
        session.add(user)
        session.flush()
        assert user.id is not None
        user_id, address = user.id, user.email
    with user_session() as session:
        close_user_sessions(session, user_id)
    typer.echo(f"password set for {address}")


@keys_app.command("create")
def keys_create(
    email: Annotated[str, typer.Argument(help="The user the key acts as.")],
    name: Annotated[str, typer.Option(help="A label to tell keys apart.")] = "",
) -> None:
    """Create an API key; it is printed once on stdout and never stored in clear."""
    with user_session() as session:
        issued = users.create_key(session, email=email, name=name)
    typer.echo(f"key {issued.prefix} for {issued.user_email} (shown once; keep it safe):", err=True)
    typer.echo(issued.key)


@keys_app.command("list")
def keys_list(
    user: Annotated[str | None, typer.Option(help="Only this user's keys.")] = None,
) -> None:
    """List keys by prefix (never the keys themselves)."""
    with user_session() as session:
        rows = []
        for key, owner in users.list_keys(session, user):
            state = "revoked" if key.revoked_at else "active"
            used = key.last_used_at.isoformat(timespec="minutes") if key.last_used_at else "never"
            rows.append(f"{key.prefix}  {owner.email}  {state}  last used {used}  {key.name}")
    typer.echo("\n".join(rows) if rows else "no keys")


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (keys list).")],
) -> None:
    """Revoke a key: it stops working at once."""
    with user_session() as session:
        revoked = users.revoke_key(session, prefix).prefix
    typer.echo(f"key {revoked} revoked")

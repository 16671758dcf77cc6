"""User commands of ``medianest``: log in, upload photo libraries, browse, search, follow jobs.

They sit next to the server/admin commands (``serve``, ``up``, ``migrate``, ``user``,
``worker``) and talk HTTP only, through :class:`~medianest.client.MediaNestClient`.

Session: ``medianest login`` saves the tokens in ``$MEDIANEST_CONFIG_DIR/credentials.json``
(default ``$XDG_CONFIG_HOME/medianest/``, mode 0600); later commands refresh them as needed.
``medianest login --api-key KEY`` saves an API key instead (no password kept).
``MEDIANEST_TOKEN`` or ``MEDIANEST_API_KEY`` overrides the saved session; ``MEDIANEST_AUTH_URL``,
``MEDIANEST_MEDIA_STORE_URL`` and ``MEDIANEST_INFERENCE_URL`` override the saved URLs.

Every command takes ``--json`` (one JSON document on stdout; ``job --watch --json`` prints one
JSON object per line). Messages and progress go to stderr.

Exit codes:

* 0: success
* 1: the request failed, or some items failed (e.g. ``upload`` with failed files)
* 2: usage error (bad option or argument)
* 3: not logged in, session expired, or not allowed (401/403)
* 4: not found (404)
* 5: server error or service unreachable
* 130: interrupted with Ctrl-C (``upload`` resumes when run again)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from medianest.client import _cli_inference as inference_cmds
from medianest.client import _cli_keys as key_cmds
from medianest.client import _cli_people as people_cmds
from medianest.client import _cli_store as store_cmds
from medianest.client import _cli_store_admin as store_admin_cmds
from medianest.client._cli_common import (
    EXIT_AUTH,
    EXIT_CODES_HELP,
    EXIT_FAILED,
    err,
    fail,
    handled,
    open_client,
    out,
    print_json,
    size,
    table,
)
from medianest.client.config import (
    Credentials,
    ServiceUrls,
    Tokens,
    credentials_path,
    delete_credentials,
    load_credentials,
    save_credentials,
    session_urls,
)
from medianest.client.errors import Unauthorized
from medianest.client.sync import MediaNestClient
from medianest.client.upload import Status, Uploader, UploadSummary

Json = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (for scripts).")]


def login(
    username: Annotated[str | None, typer.Option("--username", "-u")] = None,
    password: Annotated[
        str | None, typer.Option(hide_input=True, envvar="MEDIANEST_PASSWORD")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="Use an API key (from `POST /users/me/api-keys`) instead of a password",
        ),
    ] = None,
    auth_url: Annotated[str | None, typer.Option(help="Authentication service URL")] = None,
    store_url: Annotated[str | None, typer.Option(help="Media store URL")] = None,
    inference_url: Annotated[str | None, typer.Option(help="Inference service URL")] = None,
    json_out: Json = False,
) -> None:
    """Log in (password, or an API key) and save the session (mode 0600) for other commands."""
    env = session_urls(None)
    urls = ServiceUrls(
        auth_url=auth_url or env.auth_url,
        store_url=store_url or env.store_url,
        inference_url=inference_url or env.inference_url,
    )
    args = (urls.auth_url, urls.store_url, urls.inference_url)
    if api_key is not None:
        with handled(), MediaNestClient(*args, api_key=api_key.strip()) as client:
            user = client.me()  # checks the key before saving it
        tokens = Tokens(access_token=api_key.strip())
    else:
        username = username or typer.prompt("Username")
        password = password or typer.prompt("Password", hide_input=True)
        with handled(), MediaNestClient(*args) as client:
            tokens = client.login(username, password)
            user = client.me()
    path = save_credentials(Credentials(username=user.username, urls=urls, tokens=tokens))
    if json_out:
        return print_json({"user": user, "credentials": str(path), "urls": urls})
    out.print(f"logged in as {user.username} · session saved in {path}")


def logout(json_out: Json = False) -> None:
    """Revoke the saved session on the server and delete it locally."""
    saved = load_credentials()
    revoked = False
    if saved is not None:
        with open_client() as client:
            try:
                client.logout()
                revoked = True
            except Exception as exc:  # the local session goes anyway
                err.print(f"warning: could not revoke on the server: {exc}")
    removed = delete_credentials()
    if json_out:
        return print_json({"logged_out": removed, "revoked": revoked})
    out.print("logged out" if removed else "not logged in")


def whoami(json_out: Json = False) -> None:
    """Show the logged-in user and their permissions."""
    env_credential = os.environ.get("MEDIANEST_TOKEN") or os.environ.get("MEDIANEST_API_KEY")
    if load_credentials() is None and not env_credential:
        fail("not logged in (run `medianest login`)", EXIT_AUTH)
    with handled(), open_client() as client:
        user = client.me()
    if json_out:
        return print_json(user)
    perms = "admin" if user.is_admin else ", ".join(user.permissions) or "none"
    out.print(f"{user.username} (id {user.id}) · permissions: {perms} · {credentials_path()}")


def upload(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (walked recursively)")],
    collection: Annotated[
        int | None, typer.Option("--collection", "-c", help="Put new uploads in this collection")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-j", min=1, max=64)] = 4,
    progress: Annotated[bool, typer.Option(help="Show the progress bar")] = True,
    json_out: Json = False,
) -> None:
    """Upload photos and videos, skipping what the store already has (re-run to resume).

    Files are hashed first and the store is asked which it holds, so running the same command
    after an interruption uploads only what is missing. Prints a summary; exit 1 if any failed.
    """
    try:
        with handled(), open_client() as client:
            uploader = Uploader(
                client,
                concurrency=concurrency,
                parent_id=collection,
                console=err,
                show_progress=progress and not json_out,
            )
            summary = uploader.run(paths)
    except KeyboardInterrupt:
        err.print("interrupted: run the same command again to upload what is missing")
        raise typer.Exit(130) from None
    if json_out:
        print_json(summary.as_dict())
    else:
        _print_summary(summary)
    if summary.failed:
        raise typer.Exit(EXIT_FAILED)


def _print_summary(summary: UploadSummary) -> None:
    counts = ", ".join(f"{summary.count(s)} {s.value}" for s in Status)
    uploaded = sum(
        o.path.stat().st_size
        for o in summary.outcomes
        if o.status is Status.uploaded and o.path.exists()
    )
    out.print(f"{counts} · {size(uploaded)} sent")
    if summary.failed:
        table(("file", "reason"), [[o.path, o.reason] for o in summary.failed], title="failed")


COMMANDS: dict[str, Callable[..., None]] = {
    "login": login,
    "logout": logout,
    "whoami": whoami,
    "upload": upload,
    "ls": store_cmds.ls,
    "show": store_cmds.show,
    "download": store_cmds.download,
    "versions": store_cmds.versions,
    "restore": store_cmds.restore,
    "mkdir": store_cmds.mkdir,
    "mv": store_cmds.mv,
    "rm": store_cmds.rm,
    "duplicates": store_cmds.duplicates,
    "similar": inference_cmds.similar,
    "faces": inference_cmds.faces,
    "search": inference_cmds.search,
    "jobs": inference_cmds.jobs,
    "job": inference_cmds.job,
}


def register(app: typer.Typer) -> None:
    """Add the user commands to the ``medianest`` app."""
    for name, command in COMMANDS.items():
        app.command(name=name, epilog=EXIT_CODES_HELP)(command)
    app.add_typer(store_admin_cmds.admin_app, name="admin", epilog=EXIT_CODES_HELP)
    app.add_typer(key_cmds.app, name="api-key")
    app.add_typer(people_cmds.app, name="people")


__all__ = ["COMMANDS", "Unauthorized", "register"]

"""`massline accounts check`: run the registry's health checks now, through the running system, and print what
they found (new findings, and overdue ones escalated to the office above)."""

from __future__ import annotations

from typing import Any

import typer

accounts_app = typer.Typer(help="The account registry: health checks of the filed accounts.", no_args_is_help=True)

DEFAULT_URL = "http://127.0.0.1:8000"
GATEWAY_URL_ENV = "MASSLINE_GATEWAY_URL"


def _line(f: dict[str, Any]) -> str:
    return (f"{f['code']:<22} {f['verified_name'] or f['account_id']}  unit {f['unit_id']}  "
            f"deadline {f['deadline']}  followed by {f['followed_by'] or '-'}\n    {f['message']} / {f['message_en']}")


@accounts_app.command("check")
def accounts_check(
    url: str = typer.Option(DEFAULT_URL, envvar=GATEWAY_URL_ENV, help="Entry URL of a running system."),
    username: str = typer.Option("admin", envvar="MASSLINE_ADMIN_USER"),
    password: str = typer.Option("admin-demo-password", envvar="MASSLINE_ADMIN_PASSWORD"),
    on: str | None = typer.Option(None, help="Judge as of this day (YYYY-MM-DD) instead of today."),
) -> None:
    """Run the checks over every filed or active account now; print the findings opened and escalated.
    Exit 0 when the run completed (whatever it found), 1 when refused, 2 when the system cannot be reached."""
    from .cli import _admin_token, _refused, _request

    r = _request(url, "POST", "/api/registry/checks/run", _admin_token(url, username, password),
                 json={"on": on} if on else {})
    if r.status_code != 200:
        _refused(r)
    run = r.json()
    typer.echo(f"checked as of {run['on']}: {len(run['opened'])} finding(s) opened, "
               f"{len(run['escalated'])} escalated")
    for title, findings in (("opened", run["opened"]), ("escalated", run["escalated"])):
        if findings:
            typer.echo(f"{title}:")
            for f in findings:
                typer.echo(f"  {_line(f)}")

"""The massline command line: run the system, serve one service, migrate, replay, documents, campaigns."""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import typer

from .accounts_cli import accounts_app
from .audit_cli import audit_app
from .devstack import SERVICES, Stack
from .users import users_app

# The gateway a command talks to: --url, else MASSLINE_GATEWAY_URL, which the system `massline run` started
# here records (on whatever PORT it was given), else the default port.
GATEWAY_URL_ENV = "MASSLINE_GATEWAY_URL"
DEFAULT_URL = "http://127.0.0.1:8000"
URL_HELP = "Entry URL of a running system (env MASSLINE_GATEWAY_URL; found from `massline run` here when unset)."

LOOPBACK = "127.0.0.1/32,::1/128"


def gateway_env(environ: Mapping[str, str]) -> dict[str, str]:
    """What `run` adds to the gateway's environment: it listens on loopback only, so whatever reaches it runs on this
    machine, and a local proxy's or load generator's X-Forwarded-For is believed (each voter's own address reaches
    anti-fraud and the SMS limits) unless MASSLINE_TRUSTED_PROXIES says otherwise (empty: the connecting address)."""
    return {"MASSLINE_TRUSTED_PROXIES": environ.get("MASSLINE_TRUSTED_PROXIES", LOOPBACK)}

app = typer.Typer(help="massline: public selection campaigns, from nomination to published results.",
                  no_args_is_help=True, add_completion=False)
campaign_app = typer.Typer(help="Validate, load, list campaigns and advance their phases.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
dead_letters_app = typer.Typer(
    help="List the messages consumers could not apply (each topic's .dlq twin) and send them back once fixed.",
    no_args_is_help=True,
)
outbox_app = typer.Typer(help="Maintain the services' outboxes.", no_args_is_help=True)
topics_app = typer.Typer(
    help="Create the declared Kafka topics (partitions, retention) or check the broker holds them.",
    no_args_is_help=True,
)
app.add_typer(campaign_app, name="campaign")
app.add_typer(demo_app, name="demo")
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(outbox_app, name="outbox")
app.add_typer(topics_app, name="topics")
app.add_typer(users_app, name="users")
app.add_typer(accounts_app, name="accounts")
verify_app = typer.Typer(
    help="Check a vote receipt or the tally from published data alone (the sealed vote log, docs/transparency.md).",
    no_args_is_help=True,
)
app.add_typer(verify_app, name="verify")
app.add_typer(audit_app, name="audit")

ALL = [*SERVICES, "gateway"]


def _say(msg: str) -> None:
    typer.echo(f"[massline] {msg}", err=True)


def _service_module(name: str):
    if name not in ALL:
        raise typer.BadParameter(f"unknown service {name!r}; one of {', '.join(ALL)}")
    return importlib.import_module(f"services.{name}.app")


@app.command()
def serve(
    service: str = typer.Argument(..., help=f"One of: {', '.join(ALL)}"),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8080, help="Port to bind."),
    home: Path | None = typer.Option(None, help="Data folder of the launcher that started this process."),
    workers: int = typer.Option(1, envvar="MASSLINE_WORKERS", help="Worker processes (each a full service instance)."),
) -> None:
    """Serve one service over HTTP, with its consumers and outbox relay."""
    import uvicorn

    _service_module(service)
    uvicorn.run(
        f"services.{service}.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        # The services read the voter's address from X-Real-IP, which only the gateway sets; the gateway
        # itself believes X-Forwarded-For only from MASSLINE_TRUSTED_PROXIES. So no rewriting here.
        proxy_headers=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
        # Longer than the gateway keeps an idle connection: the gateway always closes first, so it never sends
        # a request on a connection the service is closing at that moment (an answerless 502).
        timeout_keep_alive=75,
    )


@app.command("lag-exporter")
def lag_exporter(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(9308, help="Port to bind."),
) -> None:
    """Serve every consumer group's lag, read from the broker (MASSLINE_KAFKA_BOOTSTRAP_SERVERS), on /metrics."""
    import uvicorn

    uvicorn.run("services.operations.lag_exporter:create_app", factory=True, host=host, port=port, log_config=None,
                access_log=False)


@app.command()
def migrate(service: str | None = typer.Option(None, help="Only this service.")) -> None:
    """Apply every service's migrations (each in its own schema)."""
    from massline.db import migrate as run_migrations
    from massline.settings import ServiceSettings

    settings = ServiceSettings()
    names = [service] if service else SERVICES

    async def go() -> None:
        for name in names:
            module = _service_module(name)
            applied = await run_migrations(settings.database_url, name, module.MIGRATIONS)
            _say(f"{name}: {len(applied)} migration(s) applied" + (f" ({', '.join(applied)})" if applied else ""))

    asyncio.run(go())


@app.command()
def replay(
    service: str | None = typer.Option(None, help="Only this service's outbox."),
    since: str | None = typer.Option(None, help="Only events recorded at or after this ISO time."),
) -> None:
    """Publish every recorded event again from the outboxes; consumers apply each event once.

    How far back: published events are kept MASSLINE_OUTBOX_RETENTION_DAYS days (default 14) after they were recorded;
    the relay then deletes them (`massline outbox prune` does it by hand), so replay reaches back that far.
    Events not yet published are never deleted.
    """
    from massline.db import create_pool
    from massline.outbox import replay as replay_outbox
    from massline.settings import ServiceSettings

    settings = ServiceSettings()
    names = [service] if service else SERVICES

    async def go() -> None:
        for name in names:
            pool = await create_pool(settings.database_url, name, min_size=1, max_size=2)
            try:
                count = await replay_outbox(pool, since=since)
            finally:
                await pool.close()
            _say(f"{name}: {count} event(s) queued for republishing")

    asyncio.run(go())


@app.command()
def asyncapi(
    output: Path = typer.Option(Path("docs/asyncapi.json"), help="Where the document goes."),
    check: bool = typer.Option(False, help="Fail if the committed document differs from the code."),
) -> None:
    """Generate the AsyncAPI document of every service from the code."""
    from .docs import asyncapi_document

    text = asyncapi_document()
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            _say(f"{output} is out of date; run `massline asyncapi` and commit it")
            raise typer.Exit(1)
        _say(f"{output} matches the code")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    _say(f"wrote {output}")


def _generated(path: Path, text: str, check: bool, command: str) -> None:
    from .k8s import write_or_check

    if write_or_check(path, text, check=check):
        _say(f"{path} matches its source" if check else f"wrote {path}")
        return
    _say(f"{path} is out of date; run `massline {command}` and commit it")
    raise typer.Exit(1)


@app.command("k8s-rules")
def k8s_rules(
    rules: Path = typer.Option(Path("deploy/prometheus/rules/massline.rules.yml"), help="The Prometheus rule file."),
    output: Path = typer.Option(Path("deploy/k8s/prometheus-rule.yaml"), help="Where the PrometheusRule goes."),
    check: bool = typer.Option(False, help="Fail if the committed manifest differs from the rule file."),
) -> None:
    """Build the Prometheus Operator's PrometheusRule from the Prometheus rule file."""
    from .k8s import prometheus_rule

    _generated(output, prometheus_rule(rules.read_text(encoding="utf-8")), check, "k8s-rules")


@app.command("kafka-topics")
def kafka_topics(
    output: Path = typer.Option(Path("deploy/k8s/kafka-topics.yaml"), help="Where the KafkaTopics go."),
    check: bool = typer.Option(False, help="Fail if the committed manifest differs from the topic catalog."),
) -> None:
    """Build the Strimzi KafkaTopics from the topic catalog and the topic retention setting."""
    from .k8s import kafka_topics as build

    _generated(output, build(), check, "kafka-topics")


def _banner(stack: Stack) -> str:
    """What `massline run` prints once everything is up: where each part answers."""
    alerts = (f"http://127.0.0.1:{stack.prometheus_port}/alerts (Prometheus with deploy/prometheus/rules; also on "
              f"the operations page)" if stack.prometheus_port else
              "not evaluated (no prometheus binary: apt-get install prometheus)")
    return (f"\n  massline is running: {stack.gateway_url}\n"
            f"  health:   {stack.gateway_url}/health\n"
            f"  API docs: {stack.gateway_url}/docs\n"
            f"  lag:      http://127.0.0.1:{stack.lag_exporter_port}/metrics (consumer lag as the broker sees it)\n"
            f"  alerts:   {alerts}\n"
            f"  logs:     {stack.log_dir}\n"
            f"  processes: massline status · massline restart <name>\n\n  Press Ctrl-C to stop.\n")


@app.command()
def run(
    port: int = typer.Option(int(os.environ.get("PORT", "8000")), help="Entry port (env PORT)."),
    home: Path = typer.Option(Path(os.environ.get("MASSLINE_HOME", ".massline")), help="Data and logs folder."),
    demo: bool = typer.Option(True, help="Load the demo campaign and nominations."),
) -> None:
    """Start the whole system on this machine: database, broker, every service, the entry point, demo data.

    supervisord keeps every process running: one that dies is started again (with backoff when it keeps dying),
    and the rest go on. `massline status` shows them, `massline restart <name>` restarts one.
    """
    from .supervision import SupervisedStack

    stack = Stack(
        home=home.resolve(),
        gateway_port=port,
        database_url=os.environ.get("MASSLINE_DATABASE_URL") or None,
        kafka_bootstrap=os.environ.get("MASSLINE_KAFKA_BOOTSTRAP_SERVERS") or None,
        progress=_say,
        service_env={"gateway": gateway_env(os.environ)},
    )
    supervised = SupervisedStack(stack, _say)
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise KeyboardInterrupt

    # Explicit handlers: a launcher started from a script may inherit an ignored SIGINT.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    started = time.monotonic()
    try:
        supervised.start()
        if demo:
            from .demo import load_demo

            load_demo(stack.gateway_url, _say)
        _say(f"ready in {time.monotonic() - started:.1f}s")
        typer.echo(_banner(stack), err=True)
        code = supervised.watch()
        _say(f"supervisord ended with code {code}")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        _say("stopping")
    except RuntimeError as exc:
        _say(f"could not start: {exc}")
        raise typer.Exit(1) from None
    finally:
        supervised.stop()
        _say("stopped every process started by this run")


PROCESSES = ["postgres", "tansu", *ALL, "lag-exporter", "prometheus"]


@app.command()
def restart(
    name: str = typer.Argument(..., help=f"One of: {', '.join(PROCESSES)}."),
    home: Path = typer.Option(Path(os.environ.get("MASSLINE_HOME", ".massline")), help="Data and logs folder."),
) -> None:
    """Restart one process of the system `massline run` started from this folder."""
    from .supervision import restart as restart_process

    if name not in PROCESSES:
        _say(f"unknown process {name!r}; one of: {', '.join(PROCESSES)}")
        raise typer.Exit(2)
    try:
        _say(restart_process(home.resolve(), name))
    except RuntimeError as exc:
        _say(str(exc))
        raise typer.Exit(1) from None


@app.command()
def status(
    home: Path = typer.Option(Path(os.environ.get("MASSLINE_HOME", ".massline")), help="Data and logs folder."),
) -> None:
    """Every process of the system `massline run` started from this folder: state, pid, uptime."""
    from .supervision import status as process_status

    try:
        rows = process_status(home.resolve())
    except RuntimeError as exc:
        _say(str(exc))
        raise typer.Exit(1) from None
    for row in rows:
        typer.echo(f"{row['name']:<14}{row['statename']:<10}{row['description']}")


@demo_app.command("load")
def demo_load(url: str = typer.Option(DEFAULT_URL, envvar=GATEWAY_URL_ENV, help=URL_HELP)) -> None:
    """Load the demo campaign (seed 000, Shaanxi 2024 accounts) and a handful of nominations."""
    from .demo import load_demo

    load_demo(url, _say)


@campaign_app.command("validate")
def campaign_validate(path: Path) -> None:
    """Check a campaign definition file; errors name the field and say what is wrong."""
    from services.submission.domain.campaign import CampaignDefinitionError, load_campaign_file

    try:
        definition = load_campaign_file(path)
    except CampaignDefinitionError as exc:
        for err in exc.errors:
            typer.echo(f"{path}: {err['field']}: {err['message']}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{path}: valid ({definition.id} v{definition.version}, {len(definition.categories)} categories)")


def _client(url: str, token: str | None):
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


def _request(url: str, method: str, path: str, token: str | None = None, **kw):
    """One call to a running system; an unreachable system is a clear message, not a traceback."""
    import httpx

    try:
        with _client(url, token) as c:
            return c.request(method, path, **kw)
    except httpx.HTTPError as exc:
        _say(f"cannot reach {url}: {exc}")
        raise typer.Exit(2) from None


def _refused(r) -> None:
    """Print a refusal: its code and message, then each field it names."""
    try:
        error = r.json()["error"]
    except (ValueError, KeyError, TypeError):
        _say(f"HTTP {r.status_code}: {r.text[:500]}")
        raise typer.Exit(1) from None
    typer.echo(f"refused: {error['code']}: {error.get('message')} / {error.get('message_zh')}", err=True)
    details = error.get("details")
    for item in details if isinstance(details, list) else []:
        if isinstance(item, dict):
            typer.echo(f"  {item.get('field') or '(document)'}: {item.get('message')}", err=True)
    raise typer.Exit(1)


def _admin_token(url: str, username: str, password: str) -> str:
    r = _request(url, "POST", "/api/submission/auth/login", json={"username": username, "password": password})
    if r.status_code != 200:
        _refused(r)
    return r.json()["access_token"]


@campaign_app.command("load")
def campaign_load(
    path: Path,
    url: str = typer.Option(DEFAULT_URL, envvar=GATEWAY_URL_ENV, help=URL_HELP),
    username: str = typer.Option("admin", envvar="MASSLINE_ADMIN_USER"),
    password: str = typer.Option("admin-demo-password", envvar="MASSLINE_ADMIN_PASSWORD"),
) -> None:
    """Load (or load a new version of) a campaign definition into the running system.

    The file is checked here first; a definition with any error is refused whole and nothing is sent.
    """
    from services.submission.domain.campaign import CampaignDefinitionError, parse_campaign

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        _say(f"cannot read {path}: {exc.strerror}")
        raise typer.Exit(1) from None
    try:
        parse_campaign(text, source=str(path))
    except CampaignDefinitionError as exc:
        for err in exc.errors:
            typer.echo(f"{path}: {err['field'] or '(document)'}: {err['message']}", err=True)
        _say("refused: nothing was loaded")
        raise typer.Exit(1) from None
    r = _request(url, "POST", "/api/submission/campaigns", _admin_token(url, username, password),
                 json={"definition_yaml": text})
    if r.status_code >= 300:
        _refused(r)
    body = r.json()
    typer.echo(f"loaded {body['id']} v{body['version']} (phase {body['current_phase'] or '-'}): {body['title']}")


@campaign_app.command("list")
def campaign_list(url: str = typer.Option(DEFAULT_URL, envvar=GATEWAY_URL_ENV, help=URL_HELP)) -> None:
    """List loaded campaigns with their version and current phase."""
    r = _request(url, "GET", "/api/submission/campaigns")
    if r.status_code >= 300:
        _refused(r)
    for item in r.json().get("campaigns", []):
        typer.echo(f"{item['id']}\tv{item['version']}\t{item['current_phase'] or '-'}\t{item['title']}")


@campaign_app.command("phase")
def campaign_phase(
    campaign_id: str,
    phase: str,
    url: str = typer.Option(DEFAULT_URL, envvar=GATEWAY_URL_ENV, help=URL_HELP),
    username: str = typer.Option("admin", envvar="MASSLINE_ADMIN_USER"),
    password: str = typer.Option("admin-demo-password", envvar="MASSLINE_ADMIN_PASSWORD"),
) -> None:
    """Move a campaign into a phase (nomination, initial_review, voting, expert_review, final_review, publication)."""
    r = _request(url, "POST", f"/api/submission/campaigns/{campaign_id}/phase", _admin_token(url, username, password),
                 json={"phase": phase})
    if r.status_code >= 300:
        _refused(r)
    body = r.json()
    if body.get("changed"):
        typer.echo(f"{campaign_id}: {body.get('previous_phase') or '-'} -> {body['current_phase']}")
    else:
        typer.echo(f"{campaign_id}: already in {body['current_phase']}")


def _quiet_kafka_client() -> None:
    # The client logs each failed connection attempt; the command reports the failure once, with its code.
    import logging

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def _dead_letter_failure(exc) -> None:
    typer.echo(f"error: {exc.code}: {exc.message} / {exc.message_zh}", err=True)
    raise typer.Exit(exc.exit_code)


@dead_letters_app.command("list")
def dead_letters_list(
    topic: str | None = typer.Option(None, help="Only this topic's dead letters (the topic or its .dlq twin)."),
    limit: int = typer.Option(100, min=1, help="Print at most this many letters (oldest first)."),
    reason: str | None = typer.Option(None, help="Only letters dead-lettered for this reason."),
) -> None:
    """One line per dead letter: topic, partition:offset, reason, detail, event_type/event_id, consumer, status.

    Status is `redriven` once `massline dead-letters redrive` sent the letter back, else `pending`.
    Message bodies are never printed. Reading commits nothing.
    """
    from massline.deadletters import DeadLetterError, list_dead_letters
    from massline.settings import ServiceSettings

    _quiet_kafka_client()

    try:
        listings = asyncio.run(list_dead_letters(ServiceSettings(), topic=topic, reason=reason, limit=limit))
    except DeadLetterError as exc:
        _dead_letter_failure(exc)
    for listing in listings:
        for letter in listing.letters:
            typer.echo(letter.line())
    for listing in listings:
        if not listing.exists:
            if topic:
                _say(f"{listing.topic}: not on the broker (no service has used the topic since the broker started)")
            continue
        if not listing.total and not topic:
            continue
        shown = f"listed {len(listing.letters)}" + ("" if listing.complete else " (--limit reached)")
        pending = sum(not letter.redriven for letter in listing.letters)
        _say(f"{listing.topic}: {listing.total} dead letter(s), {shown}, {pending} of them pending")
    if not topic and not any(listing.total for listing in listings):
        _say("no dead letters on any topic")


@dead_letters_app.command("redrive")
def dead_letters_redrive(
    topic: str = typer.Option(..., help="The topic whose dead letters go back to it (the topic or its .dlq twin)."),
    reason: str | None = typer.Option(None, help="Only letters dead-lettered for this reason; others stay."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be sent; send and commit nothing."),
) -> None:
    """Send dead letters back to their topic once the cause is fixed; each letter is sent back once.

    Key and headers are the original ones, less the x-dead-letter-* and x-original-* headers,
    plus x-redriven-from (dead-letter topic:partition:offset).
    What was sent is remembered in the broker (a consumer group of its own): a second run sends only newer letters.
    Consumers apply each event once, so a letter whose event was applied meanwhile changes nothing.
    """
    from massline.deadletters import DeadLetterError, redrive
    from massline.settings import ServiceSettings

    _quiet_kafka_client()

    def show(letter) -> None:
        typer.echo(("would re-drive\t" if dry_run else "re-driving\t") + letter.line())

    try:
        summary = asyncio.run(redrive(ServiceSettings(), topic=topic, reason=reason, dry_run=dry_run, progress=show))
    except DeadLetterError as exc:
        _dead_letter_failure(exc)
    if not summary.exists:
        _say(f"{summary.topic}.dlq: not on the broker (no service has used the topic since the broker started)")
    _say(f"{summary.topic}: {summary.line()}")


@outbox_app.command("prune")
def outbox_prune(
    service: str | None = typer.Option(None, help="Only this service's outbox."),
    older_than_days: int | None = typer.Option(
        None, min=0, help="Delete published events recorded more than this many days ago "
        "(default MASSLINE_OUTBOX_RETENTION_DAYS, 14)."),
) -> None:
    """Delete published outbox events past retention, in chunks; unpublished events are never deleted.

    Each service's relay does this by itself every few minutes with MASSLINE_OUTBOX_RETENTION_DAYS.
    Afterwards `massline replay` reaches back only to the oldest event left, which this prints.
    """
    from datetime import timedelta

    import asyncpg

    from massline.db import create_pool
    from massline.outbox import prune
    from massline.settings import ServiceSettings

    settings = ServiceSettings()
    days = settings.outbox_retention_days if older_than_days is None else older_than_days
    names = [service] if service else SERVICES
    for name in names:
        _service_module(name)

    async def go() -> None:
        for name in names:
            try:
                pool = await create_pool(settings.database_url, name, min_size=1, max_size=2)
            except (OSError, asyncpg.PostgresError) as exc:
                typer.echo(f"error: database_unreachable: cannot reach the database ({type(exc).__name__}: {exc})"
                           " / 无法连接数据库", err=True)
                raise typer.Exit(3) from None
            try:
                deleted = await prune(pool, older_than=timedelta(days=days))
                oldest = await pool.fetchval("SELECT min(created_at) FROM outbox")
            except asyncpg.UndefinedTableError:
                _say(f"{name}: no outbox (service not migrated); nothing to prune")
                continue
            finally:
                await pool.close()
            reach = f"replay reaches back to {oldest.isoformat(timespec='seconds')}" if oldest else "outbox is empty"
            _say(f"{name}: pruned {deleted} published event(s) recorded more than {days} day(s) ago; {reach}")

    asyncio.run(go())


@app.command()
def seal(
    campaign: str | None = typer.Option(None, help="Only this campaign."),
    grace_s: float | None = typer.Option(
        None, min=0, help="Seconds after a day's midnight, or after the last vote once voting closed "
        "(default MASSLINE_SEAL_GRACE_S, 30)."),
) -> None:
    """Seal the vote log of every day that is due now (the voting service does it by itself every minute).

    Idempotent: a day already sealed with all its votes is left alone. Each new seal's VoteLogSealed goes out
    through the voting service's outbox.
    """
    from datetime import UTC, datetime, timedelta

    import asyncpg

    from massline.db import create_pool
    from massline.outbox import Outbox
    from services.voting.services.seals import seal_due
    from services.voting.settings import VotingSettings

    settings = VotingSettings()
    grace = timedelta(seconds=settings.seal_grace_s if grace_s is None else grace_s)

    async def go() -> None:
        try:
            pool = await create_pool(settings.database_url, "voting", min_size=1, max_size=2)
        except (OSError, asyncpg.PostgresError) as exc:
            typer.echo(f"error: database_unreachable: cannot reach the database ({type(exc).__name__})"
                       " / 无法连接数据库", err=True)
            raise typer.Exit(3) from None
        try:
            made = await seal_due(pool, Outbox("voting", "voting"), settings.secret_key, datetime.now(UTC), grace,
                                  campaign)
        finally:
            await pool.close()
        for event in made:
            typer.echo(f"{event.campaign_id}\t{event.day}\tseq {event.seq}\t{event.leaf_count} votes\t{event.root}")
        if not made:
            _say("nothing to seal now")

    asyncio.run(go())


def _verify_fetch(url: str):
    from massline.votelog import http_fetch

    return http_fetch(url)


@verify_app.command("receipt")
def verify_receipt(
    campaign: str = typer.Option(..., help="The campaign id."),
    vote_id: str = typer.Option(..., help="The receipt's vote id (回执编号)."),
    leaf: str | None = typer.Option(None, help="The receipt's leaf hash, to check the sealed vote is the receipt's."),
    url: str = typer.Option(DEFAULT_URL, envvar=GATEWAY_URL_ENV, help=URL_HELP),
) -> None:
    """Fetch the vote's inclusion proof and the published roots, and check the proof here."""
    from massline.votelog import CheckFailed, check_receipt

    try:
        found = check_receipt(_verify_fetch(url), campaign, vote_id, leaf)
    except CheckFailed as exc:
        typer.echo(f"FAILED: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"OK: vote {vote_id} is leaf {found['index']} of {found['tree_size']} in the seal of {found['day']} "
               f"(seq {found['seq']}, root {found['root']}); sealed as {found['status']}: "
               f"{found['count']} vote(s) for {found['entry_id']}")


@verify_app.command("tally")
def verify_tally(
    campaign: str = typer.Option(..., help="The campaign id."),
    url: str = typer.Option(DEFAULT_URL, envvar=GATEWAY_URL_ENV, help=URL_HELP),
) -> None:
    """Recompute each entry's votes from the sealed leaves (each day's root checked) and the published decisions,
    and compare with the public standings."""
    from massline.votelog import CheckFailed, check_tally

    try:
        problems = check_tally(_verify_fetch(url), campaign)
    except CheckFailed as exc:
        typer.echo(f"FAILED: {exc}", err=True)
        raise typer.Exit(1) from None
    for problem in problems:
        typer.echo(f"DIFFERS: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"OK: the standings of {campaign} agree with the sealed vote log and the published decisions")


def _topics_report(run) -> list:
    from massline.settings import ServiceSettings
    from massline.topic_admin import TopicsError, table

    _quiet_kafka_client()
    try:
        states = asyncio.run(run(ServiceSettings()))
    except TopicsError as exc:
        typer.echo(f"error: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(exc.exit_code) from None
    typer.echo(table(states))
    return states


@topics_app.command("apply")
def topics_apply(
    increase_partitions: bool = typer.Option(
        False, "--increase-partitions", help="Add partitions to topics that have fewer than declared (never fewer)."),
) -> None:
    """Create the declared topics that are missing; report those whose partitions or retention differ.

    Safe to run again: existing topics are left as they are, unless --increase-partitions raises their
    partition count to the declared one. Exit 0 when the broker then holds every topic as declared, 1 when
    something still differs, 3 when the broker cannot be reached.
    """
    from massline.topic_admin import apply_topics

    states = _topics_report(lambda settings: apply_topics(settings, increase_partitions=increase_partitions))
    created = sum(s.done == "created" for s in states)
    differ = [s for s in states if not s.ok]
    _say(f"{created} topic(s) created, {len(states) - created - len(differ)} already as declared, "
         f"{len(differ)} differ")
    if differ:
        raise typer.Exit(1)


@topics_app.command("check")
def topics_check() -> None:
    """Compare the broker's topics with the declarations; change nothing.

    Exit 0 when every declared topic exists with its partitions and retention, 1 when one is missing or
    differs, 3 when the broker cannot be reached.
    """
    from massline.topic_admin import check_topics

    states = _topics_report(check_topics)
    differ = [s for s in states if not s.ok]
    _say(f"{len(states) - len(differ)} of {len(states)} topic(s) as declared"
         + (f"; run `massline topics apply` for: {', '.join(s.declared.name for s in differ[:5])}" if differ else ""))
    if differ:
        raise typer.Exit(1)


def _use_running_stack(argv: list[str]) -> None:
    """Commands run beside `make run` reach its gateway, database and broker without any setting, on whatever
    port it was started; MASSLINE_GATEWAY_URL (or --url) still says another gateway."""
    if len(argv) < 2 or argv[1] in ("run", "serve") or os.environ.get("MASSLINE_DATABASE_URL") \
            or os.environ.get("MASSLINE_KAFKA_BOOTSTRAP_SERVERS"):
        return
    from .devstack import running_stack_env

    found = running_stack_env(Path(os.environ.get("MASSLINE_HOME", ".massline")))
    if found:
        for name, value in found.items():
            os.environ.setdefault(name, value)
        gateway = os.environ.get(GATEWAY_URL_ENV, "")
        _say(f"using the system started by `massline run` here (its database and broker; gateway {gateway or '-'})")


def main() -> None:
    sys.path.insert(0, os.getcwd())  # the services package lives at the project root
    _use_running_stack(sys.argv)
    app()

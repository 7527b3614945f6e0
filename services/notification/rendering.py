"""The notice templates: loaded, compiled and checked once at start, then rendered per recipient."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta

from .domain import (
    DEFAULT_LOCALE,
    LOCALES,
    NOTICE_KINDS,
    CampaignNames,
    Notice,
    NoticeKind,
    resolve_locale,
    template_context,
)

# A template file is `<template>.<locale>.txt`: the first line is the subject, the second is empty,
# the rest is the body; both are Jinja2 with autoescape on and StrictUndefined.
#
# Why escape plain text: the in-app inbox is shown in web pages, and entry names and reasons are
# typed by units and reviewers. The stored subject and body are therefore HTML-safe text (`&`, `<`,
# `>` and quotes escaped) that a page may insert as markup without running anything. A channel
# that needs raw text (SMS, later) unescapes with `markupsafe.Markup(...).unescape()`.
TEMPLATES = Path(__file__).with_name("templates")
_FILE_NAME = re.compile(r"^(?P<template>[a-z][a-z0-9_]*)\.(?P<locale>[a-z]{2})\.txt$")


class TemplateLoadError(Exception):
    """A template file that cannot be used; the message starts with the file's path."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    body: str


@dataclass(frozen=True)
class _Compiled:
    path: Path
    subject: Template
    body: Template


def _environment() -> Environment:
    return Environment(
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )


class TemplateCatalog:
    """Every notice template in every locale, compiled. Build it with `load`."""

    def __init__(self, directory: Path, compiled: Mapping[tuple[str, str], _Compiled]) -> None:
        self.directory = directory
        self._compiled = dict(compiled)

    @classmethod
    def load(cls, directory: Path = TEMPLATES, kinds: Mapping[str, NoticeKind] = NOTICE_KINDS) -> TemplateCatalog:
        """Compile every file and try each with sample data; any problem raises TemplateLoadError."""
        if not directory.is_dir():
            raise TemplateLoadError(directory, "template directory not found")
        env = _environment()
        compiled: dict[tuple[str, str], _Compiled] = {}
        for path in sorted(directory.iterdir()):
            if path.name.startswith(".") or path.is_dir():
                continue
            match = _FILE_NAME.match(path.name)
            if not match:
                raise TemplateLoadError(path, "not a template file name; expected <template>.<locale>.txt")
            template, locale = match["template"], match["locale"]
            if template not in kinds:
                raise TemplateLoadError(path, f"no notice is called {template!r}; known: {', '.join(sorted(kinds))}")
            if locale not in LOCALES:
                raise TemplateLoadError(path, f"locale {locale!r} is not one of {', '.join(LOCALES)}")
            compiled[(template, locale)] = _compile(env, path, kinds[template])
        for template in kinds:
            for locale in LOCALES:
                if (template, locale) not in compiled:
                    raise TemplateLoadError(directory / f"{template}.{locale}.txt", "template file missing")
        catalog = cls(directory, compiled)
        for (template, locale), item in compiled.items():
            try:
                catalog.render(template, locale, kinds[template].sample)
            except (TemplateError, TypeError, ValueError) as exc:
                raise TemplateLoadError(item.path, f"does not render with sample data: {exc}") from exc
        return catalog

    @property
    def templates(self) -> list[str]:
        return sorted({t for t, _ in self._compiled})

    def render(self, template: str, locale: str, context: Mapping[str, Any]) -> RenderedNotice:
        """Render one notice. A locale without its own text gets the English one."""
        item = self._compiled[(template, resolve_locale(locale))]
        # A subject is one line whatever the template did; mail headers will rely on it.
        subject = " ".join(item.subject.render(context).split())
        body = "\n".join(line.rstrip() for line in item.body.render(context).strip().splitlines())
        return RenderedNotice(subject, body)

    def render_notice(
        self, notice: Notice, campaign_id: str, campaign: CampaignNames | None, locale: str = DEFAULT_LOCALE
    ) -> RenderedNotice:
        """Render a notice built from an event, its text neutralised for that locale."""
        locale = resolve_locale(locale)
        return self.render(notice.template, locale, template_context(notice, campaign_id, campaign, locale))


def _compile(env: Environment, path: Path, kind: NoticeKind) -> _Compiled:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateLoadError(path, f"cannot be read as UTF-8 text: {exc}") from exc
    lines = text.splitlines()
    if len(lines) < 3 or not lines[0].strip() or lines[1].strip() or not "\n".join(lines[2:]).strip():
        raise TemplateLoadError(path, "expected a subject line, an empty line, then the body")
    parts = {"subject": (lines[0], 1), "body": ("\n".join(lines[2:]), 3)}
    out: dict[str, Template] = {}
    for part, (source, first_line) in parts.items():
        try:
            ast = env.parse(source)
        except TemplateSyntaxError as exc:
            line = (exc.lineno or 1) + first_line - 1
            raise TemplateLoadError(path, f"line {line}: {exc.message}") from exc
        unknown = meta.find_undeclared_variables(ast) - kind.variables
        if unknown:
            raise TemplateLoadError(
                path,
                f"uses {', '.join(sorted(unknown))}, which the {kind.template} notice does not provide "
                f"(it provides {', '.join(sorted(kind.variables))})",
            )
        try:
            out[part] = env.from_string(ast)
        except TemplateError as exc:
            raise TemplateLoadError(path, f"{part}: {exc}") from exc
    return _Compiled(path, out["subject"], out["body"])

"""What the voting service's routes, subscribers and vote path work with, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from massline.service import ServiceRuntime

from .batcher import VoteBatcher
from .caches import RulesCache, StandingsCache
from .captcha import CaptchaProvider, build_captcha
from .metrics import Metrics
from .services.seals import SealTrees
from .settings import VotingSettings
from .sms import SmsProvider
from .wechat import WechatClient


@dataclass
class VotingDeps:
    rt: ServiceRuntime[VotingSettings]
    metrics: Metrics
    sms: SmsProvider
    rules: RulesCache
    standings_cache: StandingsCache
    batcher: VoteBatcher
    captcha: CaptchaProvider
    wechat: WechatClient
    seal_trees: SealTrees

    @property
    def settings(self) -> VotingSettings:
        return self.rt.settings

    @classmethod
    def build(cls, rt: ServiceRuntime[VotingSettings]) -> VotingDeps:
        """The service's dependencies over its runtime; the pool is reached through it once the service started."""
        s = rt.settings
        return cls(
            rt=rt,
            metrics=Metrics(rt),
            sms=SmsProvider(s),
            rules=RulesCache(lambda: rt.pool, ttl_s=s.rules_cache_s),
            standings_cache=StandingsCache(ttl_s=s.standings_cache_s),
            batcher=VoteBatcher(lambda: rt.pool, rt.outbox, max_batch=s.vote_batch_max,
                                max_wait_s=s.vote_batch_wait_s, concurrency=s.vote_batch_concurrency),
            captcha=build_captcha(s),
            wechat=WechatClient(s),
            seal_trees=SealTrees(),
        )


def deps_of(request: Request) -> VotingDeps:
    """FastAPI dependency: the voting service's dependencies."""
    deps: VotingDeps = request.app.state.deps
    return deps


Deps = Annotated[VotingDeps, Depends(deps_of)]

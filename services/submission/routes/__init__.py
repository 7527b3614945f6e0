"""Submission HTTP routes, one module per area; every router answers a refusal of the rules as an API error."""

from __future__ import annotations

from fastapi import APIRouter

from . import campaigns, images, nominations, people, reports

ROUTERS: tuple[APIRouter, ...] = (people.router, campaigns.router, nominations.router, reports.router, images.router)

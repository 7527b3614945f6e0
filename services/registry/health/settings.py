"""The health checks' and monthly report's settings (the registry's settings include them)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from massline.settings import ServiceSettings

from ..domain.health import HealthRules


class HealthSettings(ServiceSettings):
    check_interval_days: int = Field(7, ge=1, description="Days between scheduled health checks (一周一检).")
    stale_days: int = Field(14, ge=1, description="An account with no post for more than this many days is idle.")
    period_days: int = Field(14, ge=1, description="The period the posts and interaction rules look back over.")
    min_posts: int = Field(1, ge=0, description="Fewer posts than this in the period is a finding.")
    finding_deadline_days: int = Field(7, ge=1, description="Days a unit has to fix a finding (and an office after "
                                                           "an escalation).")
    holidays: str = Field("", description="Comma-separated public holidays (YYYY-MM-DD) that are not working days.")
    schedule_poll_s: float = Field(3600.0, gt=0, description="How often the scheduler looks for a due check, "
                                                             "escalation or monthly report.")
    schedule_enabled: bool = Field(True, description="Run the checks, escalations and monthly reports on schedule.")
    report_timezone: str = Field("Asia/Shanghai", description="The zone whose calendar days the checks count.")

    def health_rules(self) -> HealthRules:
        holidays = frozenset(date.fromisoformat(d.strip()) for d in self.holidays.split(",") if d.strip())
        return HealthRules(stale_days=self.stale_days, period_days=self.period_days, min_posts=self.min_posts,
                           deadline_days=self.finding_deadline_days, holidays=holidays)

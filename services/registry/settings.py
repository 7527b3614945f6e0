"""Registry service settings."""

from pydantic import Field

from .health.settings import HealthSettings


class RegistrySettings(HealthSettings):
    platforms: str = Field(
        "wechat,weibo,douyin,toutiao,kuaishou,bilibili,website,app,other",
        description="Comma-separated platforms accounts may be opened on (seed 002: only approved platforms).")
    extra_regions: str = Field(
        "", description="Comma-separated region names (a county, a district) a verified name may carry besides the "
                        "provinces and prefecture-level cities the registry knows.")
    page_size: int = Field(100, ge=1, le=1000, description="Accounts or requests per page unless the caller asks.")

    def platform_list(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.platforms.split(",") if p.strip())

    def region_list(self) -> tuple[str, ...]:
        return tuple(r.strip() for r in self.extra_regions.split(",") if r.strip())

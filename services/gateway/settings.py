"""Gateway settings: where each service answers."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MASSLINE_", extra="ignore")

    submission_url: str = "http://127.0.0.1:8101"
    voting_url: str = "http://127.0.0.1:8102"
    antifraud_url: str = "http://127.0.0.1:8103"
    scoring_url: str = "http://127.0.0.1:8104"
    notification_url: str = "http://127.0.0.1:8105"
    registry_url: str = "http://127.0.0.1:8106"
    log_level: str = "INFO"
    public_url: str = Field(
        "", description="The site's address as voters reach it (https://vote.example.org): WeChat sends voters back "
                        "to <public_url>/c/<campaign>/wechat/return. Empty: the address the request came to.")
    env: str = Field("development", description="`production` switches the API docs off unless MASSLINE_API_DOCS.")
    api_docs: bool | None = Field(
        None, description="Serve /docs and /openapi.json: on outside production, off in production unless true.")
    proxy_timeout_s: float = 30.0
    upstream_connect_wait_s: float = Field(
        15.0, ge=0, description="How long a request waits for a service that does not accept connections (restarting) "
                               "before it is answered 503 service_unavailable; nothing reached the service meanwhile.")
    trusted_proxies: str = Field(
        "", description="Comma-separated networks of load balancers in front of the gateway (e.g. 10.0.0.0/8); "
        "the voter's address is then read from their X-Forwarded-For. Empty: the connecting address."
    )

    prometheus_url: str = Field(
        "", description="A Prometheus that scrapes the services and evaluates deploy/prometheus's alert rules; the "
        "operations page lists its firing and pending alerts. Empty: the page says alerting is not connected.")

    def upstreams(self) -> dict[str, str]:
        return {
            "submission": self.submission_url,
            "voting": self.voting_url,
            "antifraud": self.antifraud_url,
            "scoring": self.scoring_url,
            "notification": self.notification_url,
            "registry": self.registry_url,
        }

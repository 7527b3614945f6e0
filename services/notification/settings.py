"""Notification service settings."""

from pathlib import Path

from pydantic import Field

from massline.sms import SmsSettings, sms_problem


class NotificationSettings(SmsSettings):
    templates_dir: Path | None = Field(
        None, description="Directory of notice templates; the templates shipped with the service when unset."
    )
    inbox_page_size: int = Field(50, ge=1, le=500, description="Notices per inbox page unless the caller asks.")
    smtp_host: str = Field("127.0.0.1", description="SMTP server for e-mail notices.")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_start_tls: bool = Field(False, description="Upgrade the connection with STARTTLS.")
    smtp_sender: str = Field("noreply@massline.invalid", description="From address of e-mail notices.")
    sms_notice_template: str = Field(
        "", description="The vendor's template id for SMS notices; its one parameter is the notice's subject "
                        "(`subject`), cut to `sms_notice_param_max` characters.")
    sms_notice_param_max: int = Field(20, ge=1, le=500, description="Longest subject a notice SMS carries.")
    max_attempts: int = Field(6, ge=1, le=50, description="Attempts before an e-mail or SMS is dead-lettered.")
    retry_base_s: float = Field(5.0, gt=0, description="First retry step; doubles each attempt, full jitter.")
    retry_cap_s: float = Field(3600.0, gt=0, description="Longest delay between two attempts.")
    webhook_max_age_s: int = Field(86400, ge=60, le=7 * 86400,
                                   description="A webhook delivery is retried until this long after it was recorded "
                                               "(per subscription; this is the default).")
    webhook_max_attempts: int | None = Field(None, ge=1, le=1000,
                                             description="Default bound on a webhook delivery's attempts; "
                                                         "unset: only the age bounds them.")
    webhook_timeout_s: float = Field(10.0, gt=0, description="A webhook attempt that takes longer is retried.")
    webhook_per_endpoint: int = Field(4, ge=1, description="Deliveries in flight to one subscription at once.")
    dispatch_concurrency: int = Field(64, ge=1, description="Outbound deliveries in flight in this process.")
    dispatch_poll_s: float = Field(0.5, gt=0, description="How often due deliveries are looked for when idle.")
    dispatch_lease_s: float = Field(120.0, gt=0, description="A claimed delivery not finished by then is taken again.")
    email_per_hour: int = Field(30, ge=1, description="E-mails to one recipient in any hour; more wait.")
    sms_per_hour: int = Field(5, ge=1, description="SMS to one recipient in any hour; more wait.")
    reminder_days: int = Field(3, ge=1, description="Days before a deadline that a reminder goes out.")

    def production_problem(self) -> str | None:
        return super().production_problem() or sms_problem(self, {"sms_notice_template": self.sms_notice_template})

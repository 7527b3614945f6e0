"""Text messages through a vendor: Alibaba Cloud SMS (Dysmsapi) or Tencent Cloud SMS, behind one interface.

A message is a vendor template (approved in the vendor's console, with the sign name) and its parameters, in order:
vendors send no free text. `build_sender(settings)` gives the configured sender; voting sends codes with it and
notification sends notices. A refusal raises `SmsSendError` with a stable code (`sms_throttled`,
`phone_number_invalid`, `sms_rejected`, `sms_unavailable`); numbers appear in logs only masked (`mask_phone`).
"""

from .base import SmsSender, SmsSendError, mask_phone
from .build import build_sender
from .settings import SmsSettings, sms_problem

__all__ = ["SmsSendError", "SmsSender", "SmsSettings", "build_sender", "mask_phone", "sms_problem"]

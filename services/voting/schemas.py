"""What the voting API reads and answers: request bodies and the public answers, as clients see them."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field, field_validator

from massline.errors import RequestBody

PHONE_PATTERN = r"^1[3-9]\d{9}$"
# Said on an answer that repeats the first answer to an idempotency key (status and body are the first's).
REPLAYED_HEADER = "Idempotent-Replayed"


# --- requests ------------------------------------------------------------------------------

class SmsCodeRequest(RequestBody):
    phone: str = Field(pattern=PHONE_PATTERN, description="Mainland mobile number; never stored, only hashed.",
                       examples=["13800138000"])
    captcha_id: str | None = Field(None, max_length=300, description="The challenge (`POST …/voters/captcha`) "
                                   "answered, when the last answer was `captcha_required` or `captcha_wrong`.")
    captcha_answer: str | None = Field(None, max_length=100, description="What the image shows (case and spaces "
                                       "do not matter).")


class SmsConfirmRequest(RequestBody):
    phone: str = Field(pattern=PHONE_PATTERN)
    code: str = Field(pattern=r"^\d{6}$")


class WechatRequest(RequestBody):
    open_id: str = Field(min_length=6, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class WechatReturn(RequestBody):
    code: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_-]+$",
                      description="The authorisation code WeChat gave the return address.")
    state: str = Field(min_length=1, max_length=128, description="The state WeChat gave back with it.")
    redirect_uri: str = Field(min_length=8, max_length=1000, pattern=r"^https?://",
                              description="The return address the state was issued for.")


class WechatAuthorize(BaseModel):
    authorize_url: str = Field(description="Where the voter's WeChat browser goes to authorise (snsapi_base).")
    expires_in_s: int


class VerificationMethods(BaseModel):
    sms: bool
    wechat: bool = Field(description="WeChat sign-in is configured (offered inside WeChat's browser).")


class CastVote(RequestBody):
    entry_id: uuid.UUID = Field(description="The entry (an approved nomination) to vote for.")
    count: int = Field(1, ge=1, le=1000, description="Votes to give now: 1 to what is left today.")
    idempotency_key: str = Field(
        min_length=1, max_length=100,
        description="Names this vote: sent again with the same entry and count, the first answer comes back "
                    "(counted once); with another entry or count, 422 `idempotency_key_reused`.")
    device: str | None = Field(None, max_length=200, description="Device fingerprint from the page, if any.")

    @field_validator("count", mode="before")
    @classmethod
    def _int_only(cls, v: Any) -> Any:
        if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
            raise ValueError("count must be a whole number")
        return v


# --- answers -------------------------------------------------------------------------------

class SmsCodeSent(BaseModel):
    sent: bool
    expires_in_s: int = Field(description="How long the code stays valid.")
    resend_after_s: int = Field(description="How long until another code may be asked for this number "
                                            "(earlier: 429 `code_recently_sent`).")


class CaptchaChallenge(BaseModel):
    captcha_id: str = Field(description="Send it back with the answer as `captcha_id` of the code request.")
    kind: str = Field(description="How the page shows it: `image`.")
    image: str | None = Field(None, description="For `image`: the picture, a data URL (PNG).")
    expires_in_s: int = Field(description="How long the challenge can be answered; it takes one answer.")


class TicketIssued(BaseModel):
    ticket: str = Field(description="Signed voter ticket: send it as `Authorization: Bearer …` when voting.")
    expires_in_s: int
    voter: str = Field(description="The first characters of the pseudonymous voter id.")


class Receipt(BaseModel):
    """What a voter keeps to check later that the vote is in the sealed vote log (docs/transparency.md)."""

    vote_id: str
    day: str = Field(description="The voting day whose sealed log will hold the vote.")
    leaf: str = Field(description="Hex SHA-256 leaf hash of the vote's leaf as sealed while it counts.")


class VoteAnswer(BaseModel):
    """The answer to a vote (201). The same request under a key answered before gets this answer again, the same
    status and body, with the header `Idempotent-Replayed: true`."""

    vote_id: str
    entry_id: str
    count: int
    remaining_today: int
    votes_per_day: int
    day: str = Field(description="The voting day (campaign time zone), YYYY-MM-DD.")
    receipt: Receipt | None = Field(None, description="The vote's receipt; absent from answers given before "
                                    "receipts existed (replayed as first given).")


class VoterQuota(BaseModel):
    remaining_today: int
    votes_per_day: int
    day: str
    ticket: str | None = Field(None, description="The ticket stamped with this page view; only when it had none.")


class ReasonCount(BaseModel):
    reason_code: str
    votes: int | None = Field(None, description="Votes per reason; null where the campaign shows ranks only.")
    reason: str
    reason_zh: str


class EntryStandingView(BaseModel):
    """One entry of the public standings; counts and rank only where the campaign shows them."""

    entry_id: str
    name: str
    unit_name: str
    rank: int | None = None
    votes: int | None = None
    held: int | None = None
    invalidated: int | None = None
    reasons: dict[str, list[ReasonCount]] | None = Field(
        None, description="Held and invalidated votes per reason (`held`, `invalidated`); where the campaign shows "
                          "ranks only, the reasons without their votes.")
    has_held: bool | None = Field(
        None, description="Some of the entry's votes are held for review (where ranks show; null where nothing does).")
    has_invalidated: bool | None = Field(None, description="Some of the entry's votes are invalidated (likewise).")


class Standings(BaseModel):
    campaign_id: str
    phase: str | None
    categories: dict[str, list[EntryStandingView]]
    counts_shown: bool


class EntryView(BaseModel):
    entry_id: str
    category_id: str
    name: str
    unit_name: str


class Entries(BaseModel):
    entries: list[EntryView]


# --- the sealed vote log -----------------------------------------------------------------------

class SealView(BaseModel):
    day: str = Field(description="The voting day (campaign time zone).")
    seq: int = Field(description="1, or higher when the day was sealed again (voting reopened that day).")
    root: str = Field(description="Hex SHA-256 Merkle tree head (RFC 6962) of the day's leaves.")
    leaf_count: int
    sealed_at: str


class SealList(BaseModel):
    campaign_id: str
    complete: bool = Field(description="Voting is closed and every vote is in a seal.")
    seals: list[SealView] = Field(description="The latest seal of each sealed day, by day.")


class SealedLeaf(BaseModel):
    """A vote as sealed: no personal data. Its bytes are its canonical JSON (docs/transparency.md)."""

    campaign_id: str
    count: int
    day: str
    entry_id: str
    status: str = Field(description="The vote's state when the day was sealed: counted, held or invalidated.")
    vote_id: str
    voter: str = Field(description="Keyed hash of the voter under the campaign's secret key: the same for every "
                                   "vote of one voter in the campaign, never reversible to a phone number.")


class VoteProof(BaseModel):
    campaign_id: str
    vote_id: str
    day: str
    seq: int
    index: int = Field(description="The leaf's index in the tree (0-based).")
    tree_size: int
    root: str
    leaf: SealedLeaf
    audit_path: list[str] = Field(description="Sibling hashes from the leaf up (RFC 6962 PATH), hex.")


class SealedLeaves(SealView):
    campaign_id: str
    offset: int
    leaves: list[SealedLeaf]


class VoteDecisionView(BaseModel):
    vote_id: str
    state: str = Field(description="The vote's state now: held, invalidated, or counted (reinstated).")
    reason_code: str | None
    reason: str | None
    reason_zh: str | None


class VoteDecisions(BaseModel):
    campaign_id: str
    votes: list[VoteDecisionView]

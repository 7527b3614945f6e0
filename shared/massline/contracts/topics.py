"""The topic catalog: every topic the system uses, its key, its partitions, and its dead-letter twin."""

from __future__ import annotations

from dataclasses import dataclass

DEAD_LETTER_SUFFIX = ".dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    partitions: int
    description: str
    public: bool = False  # public topics are promised to downstream systems (docs/integration.md)
    # The key is a shard number below `partitions`, and the shard is the partition: the default partitioner would
    # hash the keys "0" to "11" onto only some of the partitions, leaving the others (and their consumers) idle.
    sharded: bool = False

    def partition_of(self, key: bytes | str | None) -> int | None:
        """The partition a message with this key goes to, or None to leave it to the producer's partitioner."""
        if not self.sharded or key is None:
            return None
        try:
            return int(key) % self.partitions
        except ValueError:
            return None

    @property
    def dead_letter(self) -> str:
        return dead_letter_topic(self.name)


def dead_letter_topic(topic: str) -> str:
    """Where a message goes when it cannot be applied; key and headers are kept."""
    return f"{topic}{DEAD_LETTER_SUFFIX}"


def partition_for(topic: str, key: bytes | str | None) -> int | None:
    """The partition a producer sends a message with this key to, or None to leave it to its partitioner."""
    spec = TOPICS.get(topic)
    return spec.partition_of(key) if spec else None


# Votes are keyed by network shard (one message carries a micro-batch of one shard's votes): tallies
# are commutative sums, so no per-entry order is needed, and all of a network's votes on one partition
# keep anti-fraud's per-network windows local to the one instance that owns the partition.
TOPICS: dict[str, TopicSpec] = {
    spec.name: spec
    for spec in (
        TopicSpec("massline.campaign.v1", "campaign_id", 1, "Campaign definitions loaded and phases changed.", True),
        TopicSpec(
            "massline.nomination.v1",
            "nomination_id",
            3,
            "Nomination lifecycle, activity summaries and account metrics.",
            True,
        ),
        TopicSpec("massline.vote.v1", "network_shard", 12,
                  "Every accepted vote, in batches per network shard (internal: carries network signals).",
                  sharded=True),
        TopicSpec(
            "massline.vote-decision.v1",
            "vote_id",
            6,
            "Anti-fraud decisions on votes: flagged, invalidated, reinstated.",
        ),
        TopicSpec("massline.fraud-alert.v1", "campaign_id", 1, "Alerts for operators about suspected brushing."),
        TopicSpec("massline.tally.v1", "category_id", 3, "Standings per category, and the final tally at close.", True),
        TopicSpec("massline.scoring.v1", "category_id", 3, "Computed scores and rankings per category.", True),
        TopicSpec("massline.result.v1", "campaign_id", 1, "Published results (immutable, versioned).", True),
        TopicSpec("massline.review.v1", "expert_id", 3, "Expert review work (internal: names experts)."),
        TopicSpec("massline.notification.v1", "recipient", 3, "Notifications sent or failed."),
        TopicSpec("massline.registry.v1", "account_id", 3,
                  "The account registry: accounts filed, changed, suspended, closed; activity snapshots; "
                  "health findings; monthly reports.", True),
        TopicSpec("massline.organisation.v1", "organisation_id", 1,
                  "Units and offices as submission saves them (internal: the registry learns the hierarchy here)."),
    )
}

CAMPAIGN = "massline.campaign.v1"
NOMINATION = "massline.nomination.v1"
VOTE = "massline.vote.v1"
VOTE_DECISION = "massline.vote-decision.v1"
FRAUD_ALERT = "massline.fraud-alert.v1"
TALLY = "massline.tally.v1"
SCORING = "massline.scoring.v1"
RESULT = "massline.result.v1"
REVIEW = "massline.review.v1"
NOTIFICATION = "massline.notification.v1"
REGISTRY = "massline.registry.v1"
ORGANISATION = "massline.organisation.v1"

# One record: an id for the broker's life. A broker that restarted empty, or a new cluster, has another.
EPOCH_TOPIC = "massline.broker-epoch"


@dataclass(frozen=True)
class TopicDeclaration:
    """A topic as the broker must hold it: `massline topics apply` creates it, services check or create it."""

    name: str
    partitions: int
    retention_ms: int  # -1: kept forever


def declared_topic(name: str, retention_ms: int) -> TopicDeclaration:
    """The declaration of a catalog topic, its dead-letter twin (one partition) or the epoch topic (kept forever)."""
    if name == EPOCH_TOPIC:
        return TopicDeclaration(name, 1, -1)
    return TopicDeclaration(name, TOPICS[name].partitions if name in TOPICS else 1, retention_ms)


def declared_topics(retention_ms: int) -> list[TopicDeclaration]:
    """Every topic the system uses: the catalog, each topic's dead-letter twin, and the broker-epoch topic."""
    names = [n for spec in TOPICS.values() for n in (spec.name, spec.dead_letter)] + [EPOCH_TOPIC]
    return [declared_topic(n, retention_ms) for n in names]

"""How many messages a group has not read on a partition, from its committed offset and the partition's bounds."""

from __future__ import annotations

from massline.broker_lag import lag_of


def test_lag_counts_the_messages_after_the_committed_offset() -> None:
    assert lag_of(committed=4, begin=0, end=10) == 6
    assert lag_of(committed=10, begin=0, end=10) == 0


def test_a_partition_the_group_never_committed_on_counts_whole() -> None:
    assert lag_of(committed=-1, begin=2, end=10) == 8


def test_messages_deleted_by_retention_are_not_counted() -> None:
    # Committed before what the broker still holds: only what is still there can be read.
    assert lag_of(committed=3, begin=7, end=10) == 3


def test_a_partition_the_broker_lost_counts_whole_again() -> None:
    # The embedded broker restarted empty and received 5 messages: the old committed offset (40) is past the end,
    # and the services read such a partition from its start.
    assert lag_of(committed=40, begin=0, end=5) == 5

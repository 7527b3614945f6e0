"""The network windows an anti-fraud instance holds in memory: bounded, pruned, and dropped when they may be stale."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.antifraud import domain

T = domain.Thresholds()
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY0 = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)  # T0's campaign day began at midnight, China Standard Time
ENTRY = uuid.UUID(int=3)


def vote(subnet: str, at: datetime, partition: int = 0) -> domain.VoteSignal:
    return domain.VoteSignal(uuid.uuid4(), "c", f"voter-{uuid.uuid4().hex[:6]}", ENTRY, "cases", 1, at, "ip", subnet,
                             "dev", None, False, partition=partition)


def commit(nets: domain.NetworkState, votes: list[domain.VoteSignal], offsets: dict[int, tuple[int, int]]) -> None:
    counters, members = domain.network_increments(votes)
    nets.committed(offsets, counters, members, {("c", v.subnet): v.cast_at for v in votes},
                   {("c", v.subnet): v.partition for v in votes})


def test_beyond_its_capacity_an_instance_keeps_the_networks_seen_most_recently() -> None:
    nets = domain.NetworkState(T, capacity=2)
    for i, subnet in enumerate(["10.0.1.0/24", "10.0.2.0/24", "10.0.1.0/24", "10.0.3.0/24"]):
        commit(nets, [vote(subnet, T0 + timedelta(seconds=i))], {0: (i, i)})
    assert list(nets.nets) == [("c", "10.0.1.0/24"), ("c", "10.0.3.0/24")] and nets.dropped == 1
    # a dropped network is missing again, to be rebuilt from the stored votes of its day
    assert nets.missing([vote("10.0.2.0/24", T0)]) == {("c", "10.0.2.0/24"): (0, DAY0)}


def test_ended_windows_are_dropped_and_the_day_is_kept() -> None:
    nets = domain.NetworkState(T)
    commit(nets, [vote("10.0.1.0/24", T0)], {0: (0, 0)})
    commit(nets, [vote("10.0.1.0/24", T0 + timedelta(minutes=30))], {0: (1, 1)})
    net = nets.nets[("c", "10.0.1.0/24")]
    kinds = {(k[1], k[3]) for k in net.counters}
    assert ("subnet_minute", T0) not in kinds  # ended more than ten minutes before the latest vote
    assert ("subnet_votes_day", DAY0) in kinds and ("subnet_votes_hour", T0) in kinds
    assert net.counters[("c", "subnet_votes_day", "10.0.1.0/24", DAY0)] == 2
    # a vote cast the day before is older than what the network holds: it is rebuilt, not guessed
    assert ("c", "10.0.1.0/24") in nets.missing([vote("10.0.1.0/24", T0 - timedelta(days=1))])


def test_a_partition_whose_offsets_jump_loses_its_networks_and_the_other_keeps_its_own() -> None:
    nets = domain.NetworkState(T)
    commit(nets, [vote("10.0.1.0/24", T0, partition=0)], {0: (0, 4)})
    commit(nets, [vote("10.0.2.0/24", T0, partition=1)], {1: (0, 9)})
    nets.follow({0: (5, 7), 1: (10, 12)})  # both carry on where they were: nothing is dropped
    assert set(nets.nets) == {("c", "10.0.1.0/24"), ("c", "10.0.2.0/24")}
    nets.follow({0: (40, 41)})  # partition 0 was away: another instance applied offsets 5-39
    assert set(nets.nets) == {("c", "10.0.2.0/24")} and nets.dropped == 1


def test_a_networks_identities_are_counted_once_each_however_many_it_holds() -> None:
    nets = domain.NetworkState(T)
    voters = [f"voter-{i}" for i in range(20)]
    for i, voter in enumerate(voters + voters[:5]):  # 20 identities, five of them twice
        v = domain.VoteSignal(uuid.uuid4(), "c", voter, ENTRY, "cases", 1, T0 + timedelta(seconds=i), "ip",
                              "10.0.1.0/24", "dev", None, False)
        commit(nets, [v], {0: (i, i)})
    net = nets.nets[("c", "10.0.1.0/24")]
    day = ("c", "subnet_voters_day", "10.0.1.0/24", DAY0)
    assert len(net.members[day]) == 20 and set(net.members[day]) == set(voters)

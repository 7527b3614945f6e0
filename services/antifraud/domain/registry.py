"""One registry of rules: each rule's code, what it means in English and Chinese, what it does on its own
(invalidate, hold for review, or only raise an alert), and the thresholds it reads.

Adding a rule means an entry here, its check in the module of its signal family, and a test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from pydantic import ConfigDict

Level = Literal["invalidate", "hold", "alert"]


@dataclass(frozen=True)
class Thresholds:
    """Detector limits, by name. The service's differ from these by `MASSLINE_THRESHOLDS__<name>=<value>` (its
    settings read this class as a nested model), and a campaign's from the service's by its own overrides
    (`PUT /campaigns/{id}/policy`); both are checked against these names.

    A plain frozen dataclass, not a pydantic model: the detectors read these fields for every vote, and a
    dataclass attribute is the cheaper read."""

    # How pydantic (the settings) reads it: a name that is not a threshold is an error.
    __pydantic_config__ = ConfigDict(extra="forbid")

    voter_per_minute: int = 30
    device_per_minute: int = 20
    ip_per_minute: int = 120
    subnet_per_minute: int = 300
    # Identities voting from one device in a day, held for a person to judge when they came through this many networks
    # (a farm's phone hopping addresses by proxy or airplane mode; a community centre's tablet and an office PC stay
    # on the line of the place they are in); `device_voters_fast` within ten minutes, faster than people can hand a
    # device over and each verify their own number, are invalidated on their own from that many networks, and on one
    # only held, at `device_voters_placed` (identical machines in an office send one fingerprint).
    device_voters_per_day: int = 5
    device_networks: int = 2
    # … and at least this share as many networks as identities: a farm's phone changes address between its
    # identities (proxies, airplane mode), while a person carrying a phone among the people they help (a village grid
    # worker going door to door) keeps their carrier's address for a while, one or two changes in an hour. Off (0)
    # by default: at 0.33 the independent mix's human-paced phone farm on real SIM cards, which changes address as
    # seldom, kept 10-15 % of its votes and moved ranks; a campaign whose helpers vote door to door sets it.
    device_hop_share: float = 0.0
    device_voters_fast: int = 8
    # … and on one network (placed), held only at this many within ten minutes: people taking turns at one PC each sit
    # down, type their own number, wait for the code, vote and stand up for the next, about a minute apart at the
    # quickest (a hospital's nurses at a shift change reached eight in ten minutes on a few of thirty PCs); one
    # person typing in numbers whose codes others read out, or a script, is faster.
    device_voters_placed: int = 10
    # … and this share of them voted for one entry from it (a fingerprint many phones send alike is not one device),
    # which identities voting as the campaign's others do would match only with this chance, read among the
    # fingerprints that reached `device_voters_per_day` identities in the campaign that day (each is such a draw:
    # a few families' and farms' phones, or hundreds of values where fingerprints tell only a phone's model) as
    # Benjamini and Hochberg read many tests (`devices.beyond_chance`)
    device_focus: float = 0.8
    device_focus_chance: float = 0.0001
    # A fingerprint that came through this many networks within one minute, or `device_class_burst` within ten
    # seconds, is many phones' (one model and system, fingerprinted with too little entropy): its requests are not one
    # device's pace that day (`velocity_device`). A phone is on one network at a time.
    device_class_networks: int = 6
    device_class_burst: int = 3
    focus_min_votes_minute: int = 40
    focus_min_votes_hour: int = 150
    focus_share: float = 0.9
    entry_share: float = 0.2
    burst_min: int = 20
    burst_ratio: float = 6.0
    lockstep_min_shared: int = 3
    fresh_window_s: int = 300
    fresh_min_votes: int = 10
    fresh_focus_share: float = 0.8
    fresh_entry_alert: int = 50
    # … when the entry's share of the campaign's identities in those ten minutes is this many times its share
    # earlier that day (in a busy hour every entry gets its newcomers; a mention, a share or a farm jumps)
    fresh_entry_jump: float = 2.0
    # … or this many identities beyond that share, read cautiously (`cautious_excess`): an entry already drawing a
    # third of everyone cannot double, but a farm can add hundreds to it
    fresh_entry_excess: int = 50
    # Network findings need the entry's voters to be most of the identities the network showed today:
    # a campus rally of 40 among its 3,000 students is not a takeover, a botnet's own /24 is.
    takeover_share: float = 0.5
    # Synchronised networks: most of the identities a network showed that day back one entry, and most of those
    # came back to vote for it again within the same 20 s (minutes after their first vote for it), while several
    # times as many from other networks came back too. A crowd told at once arrives together, but its people come
    # back each when they think of it; a farm's waves bring its identities back at once.
    sync_min_identities: int = 10
    sync_share: float = 0.8  # … of the network's identities that voted for the entry today
    sync_others: float = 3.0  # identities from other networks in those 20 s, per identity of this one
    # A network's wave: at least `wave_min_identities` identities voting for one entry within 30 s, and this share of
    # its identities for the entry with the 40 s before and after. People told at once (an assembly, a class group)
    # each find the page, verify and read at their own pace: their busiest half-minute holds at most about three in
    # four of the two minutes around it, however sudden the notice. A farm's wave arrives on cue.
    wave_min_identities: int = 15
    wave_share: float = 0.8
    # … judged sooner, once the 20 s after it have passed, when it is this share of the network's identities for the
    # entry over those and the 40 s before: next to nobody around it. People told at once have come to at most about
    # five in six of those seconds; a farm's wave fired on cue, all of them.
    wave_share_soon: float = 0.95
    # A wave across networks: a farm spreading each wave over several /24s (fewer than `wave_min_identities` each)
    # fires them on one cue. Networks whose busiest 30 s for the entry hold at least `wave_min_network` identities,
    # nearly all of theirs around it (`wave_share_soon`), and start within 10 s of one another, are one wave when
    # together they are at least `wave_min_together`. Rooms told at once on separate networks each arrive at their
    # own pace: two or three of them doing so as one cue and nobody before or after is a script's.
    wave_min_network: int = 8
    wave_min_together: int = 20
    regular_min_votes: int = 6  # five gaps: reminders at random are that even (5 %) about once in 10,000
    regular_min_gap_s: float = 20.0
    regular_max_cv: float = 0.05
    # A person who comes back to vote again and again does so when something reminds them, at random: gaps drawn
    # that way vary by about their own length. An identity coming back every few minutes (mean gap of at least
    # `regular_slow_gap_s`) whose last `regular_slow_min_votes` or more votes are spaced varying by less than
    # `regular_slow_max_cv` is a timer with jitter (a slow drip): reminders at random, at least half a minute
    # apart, give that a few times in 10,000 over seven gaps (over four gaps, several times in 1,000: too few votes
    # to tell). Gaps inside one sitting (reading one entry after another) can be that even, so the looser bound is
    # only for slow gaps.
    regular_slow_gap_s: float = 120.0
    regular_slow_min_votes: int = 8
    regular_slow_max_cv: float = 0.12
    # Co-voting (CopyCatch-like, over the day): nearly every identity a network showed today voted for one entry,
    # with most of the network's votes. Measured over the day, not the hour, so that a campus rally (every
    # student of one class within minutes) is a small part of the thousands the campus NAT showed; an honest
    # campus peaks at about 85 % of its identities and 58 % of its votes for its own university in our traffic.
    covote_min_identities: int = 10
    covote_min_votes: int = 40
    covote_share: float = 0.95
    covote_focus: float = 0.5
    # A timer shared by a network (SynchroTrap-like): identities voting again for one entry after the same
    # interval (within timer_tolerance), most of the network's identities that voted for it more than once today.
    timer_min_identities: int = 3
    timer_share: float = 0.8
    timer_tolerance: float = 0.005
    # Gaps a person leaves between clicks in one sitting (mostly under a minute) are not compared: a timer that fast
    # makes an identity trip regular_gaps within a few minutes anyway. Nor gaps of half an hour and more, here or by
    # any timer reading (`regular_gaps`, the clock trait): the wall clock's, a person's routine as even as a timer's —
    # an alarm on the hour, a class's breaks (students voting on the hour, a minute or so either side, share intervals
    # that close by chance: a network's thirty such had ten held at an hour; twenty fans on hourly alarms were all
    # held as a drip), while a drip that slow takes a day for an identity's ten votes.
    timer_min_gap_s: float = 60.0
    timer_max_gap_s: float = 1500.0

    # Coordination (cohort contrast): the identities of a cohort — one entry's voters from one network today, or
    # one entry's voters in ten minutes anywhere — are compared with the campaign's other identities today on how
    # they behave: user agent, how long after verifying they voted (fresh identities only), whether they had
    # loaded the campaign's page. A crowd behaves like everyone else; a farm shares its script's traits.
    contrast_cohort_min: int = 10  # identities in the cohort before it is compared at all
    # Other identities of the campaign today to compare against. The comparison reads small counts cautiously
    # (`contrast_sigmas`, `contrast_prior`), so a few dozen suffice: a farm striking in a campaign's opening minutes,
    # before hundreds have voted, is judged too.
    contrast_baseline_min: int = 20
    contrast_min_identities: int = 8  # identities sharing a trait before the trait is evidence
    contrast_ratio: float = 4.0  # how much more common in the cohort than elsewhere a strong trait is
    # A user agent is a script's one string only when this share of an entry's voters in ten minutes send it. A crowd
    # from one app (a live stream's viewers in its in-app browser) sends the app's strings, which name the phone's
    # model and system: each is commoner among them than among everyone, but the commonest phone is under a tenth
    # (a farm's pool of five strings shares its cohort among them).
    ua_min_share: float = 0.15
    contrast_support: float = 2.5  # … and a supporting one (needs a strong trait beside it)
    single_trait_share: float = 0.05  # a lone trait selects an entry's voters only if rarer than this elsewhere
    # A code platform's kinds of number (virtual operators', data SIMs') in this share of a network's identities
    # backing an entry whose number is known, with at least `platform_data_min` data SIMs among them, more than the
    # campaign's other voters would carry but with this chance: its stock, not a place's (an employer's group plan is
    # one operator's numbers).
    platform_share: float = 0.5
    platform_data_min: int = 3
    platform_data_chance: float = 0.001
    # … or, without data SIMs, with the cohort's votes from this many addresses of the network (a cloud-phone farm's
    # phones have one each, or one for a handful; an office's staff share its one or few NAT addresses) and more of
    # its identities on a platform's kinds than the campaign's other voters would carry but with that chance.
    platform_addresses_min: int = 8
    # Votes from a data centre's network (`hosting`: cloud servers, not a home, a phone or an office line). A few
    # people vote through a VPN or an accelerator whose exits are there, for every entry alike; a cloud-phone farm's
    # phones (云手机) each have an address there. Standing out `host_ratio` times among an entry's voters, from
    # `host_addresses_min` addresses or more of the vote's network backing the entry that day, it is two pieces of
    # evidence, like a rush; from fewer it is a place's (a company whose internet goes out through a cloud NAT
    # gateway's one or two addresses) and weighs only.
    host_ratio: float = 16.0
    host_addresses_min: int = 4
    # Voting within two seconds of verifying (`signals.INSTANT_BIN`): a few people in a hundred do, having picked the
    # count before verifying; a script's sleep puts a third or more of its identities there. Standing out this many
    # times among an entry's voters it is two pieces of evidence, like a rush, and so it is for the cohort's
    # identities that voted a moment later with the page loaded (a script's random sleep straddles the two seconds).
    # Standing out as a strong trait does (`contrast_ratio`), it makes those a moment later strong, not hurried.
    instant_ratio: float = 16.0
    # … and a strong trait at all only when this share of the cohort's quick newcomers (those voting within 15 s of
    # verifying; the slower ones do not dilute a script beside a popular entry's people) voted that fast: on the
    # public page a person may pick the count before verifying and tap the moment the code is accepted (an outside
    # check gave a live stream's viewers one in ten), while a script's random sleep puts a third or more of its
    # identities there.
    instant_min_share: float = 0.2
    network_share: float = 0.8  # a network whose identities that day back the entry this much supports a trait
    contrast_prior: float = 10.0  # pseudo-identities of the baseline added to a cohort (small cohorts shrink to it)
    contrast_sigmas: float = 1.5  # counts are read this many standard deviations towards "no difference"
    hold_odds: float = 20.0  # the product of the likelihood ratios that holds an identity's votes for review
    invalidate_odds: float = 1000.0  # … and that invalidates them on its own (with three pieces of evidence)
    fresh_delay_max_s: int = 3600  # verified at most this long before voting: the delay is a trait
    # Devices an identity votes from in a day before its fingerprint counts as rotating (a trait): a phone and a
    # computer make two; a script that changes its fingerprint with every vote makes one per vote.
    rotate_devices: int = 3
    # Changing fingerprints that stands out this many times among an entry's voters (at least
    # `contrast_min_identities` of them) is two pieces of evidence, like a rush: people with fingerprinting
    # protection are a few in a hundred everywhere, not a crowd backing one entry.
    rotation_ratio: float = 16.0
    # An identity on a clock: `clock_visits` visits in a row (requests at least `clock_min_gap_s` apart) whose gaps
    # vary by no more than `clock_max_cv`. People come back when something reminds them; among devoted fans coming
    # back every few minutes about two in a hundred are ever that even in a day, while a slow drip's identities (a
    # timer with up to a sixth of its interval in jitter) nearly all are. Alone (`regular_gaps`) it takes more
    # visits; as a trait of a cohort it is compared like the others, and standing out `clock_ratio` times it is two
    # pieces of evidence.
    clock_visits: int = 5
    clock_min_gap_s: float = 60.0
    clock_max_cv: float = 0.12
    clock_ratio: float = 16.0
    # A surge: an entry's share of the campaign's identities in ten minutes against its share earlier that day.
    surge_min_identities: int = 30
    surge_ratio: float = 4.0
    # The entry's own voters who share a script's traits come at the entry's pace, some in the minutes before the
    # script starts or after it stops; its identities come close together. At either end of an entry cohort's
    # identities, no more than `apart_max_identities` beyond a gap longer than `apart_s` (and four times the
    # cohort's median gap) are not covered by its finding.
    apart_s: float = 30.0
    apart_max_identities: int = 3
    # A script sends its identities' requests alike (the day's whole ballot at once, say); a person gives theirs as
    # they please. When all but `apart_max_identities` (or this share of them, if more) of an entry cohort's
    # identities covered by a finding gave one number of ballots in their first covered vote for the entry, those
    # who gave another are not covered (`coordination.odd_ballots`), unless the finding is on three habits or more (a
    # rush is two): an identity with all of those is the farm's whatever its requests.
    odd_ballots_share: float = 0.05
    # When all but this share of the identities an entry cohort's finding covers share their networks with others of
    # them, the script runs on those networks: an identity alone on its own is not covered (`off_its_networks`).
    alone_share: float = 0.2
    # A script dripping fresh identities, too few in any ten minutes to compare, still sends one browser string and
    # votes in a rush: over the entry's day, when this share or more of its identities in a rush send one string,
    # from this share of as many networks at least, and the string is `hold_odds` times commoner among them than among
    # the campaign's others, they are held (`coordination.script_day`).
    drip_ua_share: float = 0.5
    # One browser, one identity after another (`turns`): someone typing colleagues' numbers in turn on one PC, a new
    # private window for each (代投). A sitting runs from asking for the code to the identity's first vote from the
    # browser (an address and a user agent); a turn follows the previous sitting within `turn_gap_s` without
    # overlapping it. `turns_min` such sittings in a row, `turn_focus` of them for one entry, are held for review.
    # People who merely share a browser string behind one address (an office's PCs of one image) overlap as soon as
    # they come that often; a nurse station's PC passes between a shift's few. A sitting longer than ten minutes
    # (`signals.SITTING_MAX_S`: a code asked on another day) is no turn, and breaks none.
    turns_min: int = 12
    turn_gap_s: int = 60
    # … or, `turn_own_code_min` in a row on one device, three in four of them `turn_own_code_s` or shorter (the code
    # arriving on the phone that asked for it: a drawer of SIM cards swapped in one by one, the phone restarted),
    # within `turn_device_gap_s`. A clerk taking villagers in turn on their own phone waits for each code to be read
    # off the villager's handset; a nurse station's PC passes between nurses reading theirs off their own phones (half
    # a minute a sitting). Fewer in a row than on a browser: no one but a drawer's keeper reads a string of codes on
    # one device, so the run is read from its sixth card instead of its twelfth.
    turn_device_gap_s: int = 180
    turn_own_code_s: int = 20
    turn_own_code_min: int = 6
    turn_focus: float = 0.8
    # One address, whatever the browser (`address_turns`): `address_turns_min` sittings in a row, each following the
    # last within `address_turn_gap_s` and none from a device another of them came from (a cloud phone given a new
    # identity for each number, on an address of its own); `turn_focus` of them for one entry.
    address_turns_min: int = 10
    address_turn_gap_s: int = 90
    # An address with more sittings than this in its two hours read (one every 20 s: a carrier NAT's, a campus's) is a
    # crowd's: sittings open all the time there, and it is not read for turns (a cloud phone runs one a minute).
    address_turns_crowd: int = 360

    def __post_init__(self) -> None:
        negative = [f.name for f in fields(self) if getattr(self, f.name) < 0]
        if negative:
            raise ValueError(f"thresholds must be numbers ≥ 0: {', '.join(negative)}")


def threshold_names() -> list[str]:
    return [f.name for f in fields(Thresholds)]


@dataclass(frozen=True)
class Rule:
    code: str
    text: str
    text_zh: str
    level: Level
    thresholds: tuple[str, ...]
    family: str


RULES: dict[str, Rule] = {r.code: r for r in (
    Rule("velocity_voter", "one identity voting faster than a person can", "同一身份投票速度超出常人",
         "invalidate", ("voter_per_minute",), "velocity"),
    Rule("velocity_device", "one device casting votes faster than a person can", "同一设备投票速度超出常人",
         "hold", ("device_per_minute", "device_class_networks", "device_class_burst"), "velocity"),
    Rule("velocity_ip", "many votes from one address (alert only: shared NAT is common)",
         "同一地址大量投票（仅提示：共享出口较为常见）", "alert", ("ip_per_minute",), "velocity"),
    Rule("velocity_subnet", "many votes from one network (alert only: campus and carrier NAT)",
         "同一网段大量投票（仅提示：校园网和运营商共享出口）", "alert", ("subnet_per_minute",), "velocity"),
    Rule("device_shared", "many identities voting from one device", "多个身份使用同一设备投票",
         "invalidate", ("device_voters_per_day", "device_networks", "device_hop_share", "device_voters_fast",
                        "device_voters_placed", "device_focus", "device_focus_chance"),
         "devices"),
    Rule("concentration_subnet",
         "one network giving almost all its votes to one entry (alert only: a campus votes for its own)",
         "同一网段几乎全部选票投给同一作品（仅提示：校园为本校投票很常见）", "alert",
         ("focus_min_votes_minute", "focus_min_votes_hour", "focus_share", "entry_share", "takeover_share"),
         "networks"),
    Rule("covoting_subnet",
         "nearly every identity of one network voting for one entry (alert only: a loyal campus does too)",
         "同一网段几乎所有身份都投给同一作品（仅提示：忠诚的校园也会如此）", "alert",
         ("covote_min_identities", "covote_min_votes", "covote_share", "covote_focus"), "networks"),
    Rule("fresh_identity_surge", "freshly verified identities from one network all voting for one entry (alert only)",
         "同一网段新验证的身份集中为同一作品投票（仅提示）", "alert",
         ("fresh_window_s", "fresh_min_votes", "fresh_focus_share", "takeover_share"), "networks"),
    Rule("fresh_identity_entry_surge", "many freshly verified identities voting for one entry (alert only)",
         "大量新验证的身份为同一作品投票（仅提示）", "alert",
         ("fresh_entry_alert", "fresh_entry_jump", "fresh_entry_excess"), "networks"),
    Rule("lockstep_group",
         "identities voting for one entry in the same seconds from a shared network or device (alert only; "
         "evidence for coordination)",
         "多个身份在同一时刻、通过同一网段或设备为同一作品投票（仅提示；作为协同的证据）", "alert",
         ("burst_min", "burst_ratio", "lockstep_min_shared"), "timing"),
    Rule("synchronised_networks",
         "most identities of a network backing one entry coming back to it in the same seconds as many from other "
         "networks", "同一网段为同一作品投票的身份大多与其他网段的大量身份在同一时刻再次为它投票", "hold",
         ("sync_min_identities", "sync_share", "sync_others", "network_share"), "timing"),
    Rule("network_wave",
         "identities of one network, or of a few networks on one cue, voting for one entry within half a minute, "
         "with hardly any in the minutes around: a wave on cue, not a crowd finding the page at its own pace",
         "同一网段（或按同一口令行动的几个网段）的多个身份在半分钟内集中为同一作品投票，前后几分钟内几乎没有："
         "按口令发出的一波，而不是各自找到页面的人群",
         "hold", ("wave_min_identities", "wave_share", "wave_share_soon", "wave_min_network", "wave_min_together"),
         "timing"),
    Rule("regular_gaps", "one identity voting at machine-regular intervals", "同一身份按机器般固定的间隔投票",
         "hold", ("regular_min_votes", "regular_min_gap_s", "regular_max_cv", "regular_slow_gap_s",
                  "regular_slow_min_votes", "regular_slow_max_cv", "timer_max_gap_s"), "timing"),
    Rule("timer_subnet", "identities of one network voting again for one entry after the same machine interval",
         "同一网段的多个身份按相同的机器间隔再次为同一作品投票", "hold",
         ("timer_min_identities", "timer_share", "timer_tolerance", "timer_min_gap_s", "timer_max_gap_s"),
         "timing"),
    Rule("browser_turns",
         "one browser voting for many identities one after another, each sitting starting as the last one voted "
         "(someone voting for others in turn)",
         "同一浏览器依次为多个身份投票，每个身份的验证都紧接在上一个身份投票之后开始（疑似代投）", "hold",
         ("turns_min", "turn_gap_s", "turn_device_gap_s", "turn_own_code_s", "turn_own_code_min", "turn_focus"),
         "turns"),
    Rule("address_turns",
         "one address voting for many identities one after another, each from a device none of the others came from "
         "(a cloud phone given a new identity for each number)",
         "同一地址依次为多个身份投票，每个身份使用互不相同的设备（疑似云手机逐个号码“一键新机”投票）", "hold",
         ("address_turns_min", "address_turn_gap_s", "address_turns_crowd", "turn_focus"), "turns"),
    Rule("coordinated_cohort",
         "identities backing one entry that share traits of a script (user agent, time from verifying to voting, "
         "never loading the page, the kind of phone number, changing device fingerprints, coming back on a clock, "
         "voting from a data centre) far more than the "
         "campaign's other voters, with bursts, a surge against the entry's own history or the same habit found for "
         "the entry earlier that day as further evidence",
         "为同一作品投票的一批身份在多项特征上高度一致（浏览器标识、验证到投票的时间、未打开活动页面、号码类型、"
         "频繁更换设备指纹、按固定间隔反复回来投票、从数据中心网段投票），"
         "远超活动中其他投票者；突发、相对作品自身历史的激增或当天早些时候已在该作品上查获的同一习惯"
         "作为补充证据", "hold",
         ("contrast_cohort_min", "contrast_baseline_min", "contrast_min_identities", "contrast_ratio",
          "contrast_support", "ua_min_share", "contrast_prior", "contrast_sigmas", "hold_odds", "single_trait_share",
          "platform_share", "platform_data_min", "platform_data_chance", "platform_addresses_min",
          "network_share", "covote_min_identities", "invalidate_odds", "fresh_delay_max_s", "rotate_devices",
          "rotation_ratio", "clock_visits", "clock_min_gap_s", "clock_max_cv", "clock_ratio", "timer_max_gap_s",
          "host_ratio", "host_addresses_min", "instant_ratio", "instant_min_share",
          "surge_min_identities", "surge_ratio", "burst_ratio", "apart_s", "apart_max_identities",
          "odd_ballots_share", "alone_share", "drip_ua_share"),
         "coordination"),
)}

# Reasons that are no rule's: an operator holding an entry's votes of a window by hand (a jump no rule explained).
MANUAL_HOLD = "manual_hold"
OPERATOR_REASONS: dict[str, tuple[str, str]] = {
    MANUAL_HOLD: ("held by an operator: an entry's votes of a time window, pending review",
                  "运营人员人工暂缓计入：某作品某时段的选票，待复核"),
}

REASONS: dict[str, str] = {code: r.text for code, r in RULES.items()} | {
    code: en for code, (en, _) in OPERATOR_REASONS.items()}
REASONS_ZH: dict[str, str] = {code: r.text_zh for code, r in RULES.items()} | {
    code: zh for code, (_, zh) in OPERATOR_REASONS.items()}


def validate_overrides(overrides: dict[str, float], base: Thresholds | None = None) -> dict[str, float]:
    """Threshold overrides by name, each checked for what it means: a known name; a finite number, not true or
    false; a whole number for a count, at least 1 (a device's identities at least 2: every device has one); a share
    at most 1; `hold_odds` at least 1 and not above `invalidate_odds` (either as overridden, or `base`'s)."""
    known = set(threshold_names())
    for name, value in overrides.items():
        if name not in known:
            raise ValueError(f"unknown threshold {name!r}; known: {', '.join(sorted(known))}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"threshold {name!r} must be a number ≥ 0 (finite)")
        least = _AT_LEAST.get(name, 1 if name in _WHOLE else 0)
        if value < least:
            raise ValueError(f"threshold {name!r} must be a number ≥ {least:g}")
        if name in _WHOLE and value != int(value):
            raise ValueError(f"threshold {name!r} counts identities, votes or seconds: a whole number")
        if name in _SHARES and value > 1:
            raise ValueError(f"threshold {name!r} is a share: at most 1")
        if value > _LARGEST:
            raise ValueError(f"threshold {name!r} must be at most {_LARGEST:g}")
    t = base or Thresholds()
    hold, invalidate = (overrides.get(n, getattr(t, n)) for n in ("hold_odds", "invalidate_odds"))
    if hold > invalidate:
        raise ValueError(f"hold_odds ({hold:g}) must not be above invalidate_odds ({invalidate:g}): a finding "
                         "strong enough to invalidate is strong enough to hold")
    return overrides


def with_overrides(t: Thresholds, overrides: dict[str, float] | None) -> Thresholds:
    if not overrides:
        return t
    validate_overrides(overrides, t)
    changes: dict[str, Any] = {k: int(v) if k in _WHOLE else float(v) for k, v in overrides.items()}
    return replace(t, **changes)


_WHOLE = frozenset(f.name for f in fields(Thresholds) if f.type in (int, "int"))
# Shares of identities, votes or chances (at most 1), and the least each other threshold may be.
_SHARES = frozenset(n for n in threshold_names() if any(w in n for w in ("share", "focus", "chance", "tolerance")))
_AT_LEAST: dict[str, float] = {"device_voters_per_day": 2, "device_voters_fast": 2, "device_voters_placed": 2,
                               "hold_odds": 1, "invalidate_odds": 1, "apart_max_identities": 0, "turns_min": 2,
                               "turn_own_code_min": 2}
_LARGEST = 1e9

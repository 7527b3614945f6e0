"""Administrative regions a verified account name must carry (seed 002: 名称要体现县级以上行政区域名称).

The registry knows the provinces and, for the provinces the seeds come from (Shaanxi, Guangxi), their
prefecture-level cities; a deployment adds counties and districts through MASSLINE_EXTRA_REGIONS. A name carries a
region when it contains the region's full name or its short form (陕西省 or 陕西); the most specific region found
(a county before a city before a province) is the one recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PROVINCES = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省", "浙江省",
    "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省", "四川省", "贵州省",
    "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区", "广西壮族自治区", "西藏自治区",
    "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区",
)
CITIES = (
    # Shaanxi
    "西安市", "铜川市", "宝鸡市", "咸阳市", "渭南市", "延安市", "汉中市", "榆林市", "安康市", "商洛市",
    # Guangxi
    "南宁市", "柳州市", "桂林市", "梧州市", "北海市", "防城港市", "钦州市", "贵港市", "玉林市", "百色市",
    "贺州市", "河池市", "来宾市", "崇左市",
)
_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")


def short_form(region: str) -> str:
    """陕西省 → 陕西, 广西壮族自治区 → 广西, 西安市 → 西安; a short name stays as it is."""
    for suffix in _SUFFIXES:
        if region.endswith(suffix) and len(region) > len(suffix) + 1:
            return region[: -len(suffix)]
    return region


@dataclass(frozen=True)
class Gazetteer:
    """The regions a name may carry, each under its full and its short form."""

    # Most specific first: the extra (county-level) regions, the cities, the provinces.
    regions: tuple[str, ...]

    @classmethod
    def with_extra(cls, extra: Iterable[str] = ()) -> Gazetteer:
        return cls((*(r for r in extra if r), *CITIES, *PROVINCES))

    def region_of(self, name: str) -> str | None:
        """The most specific region the name carries (its full name), or None."""
        return next((r for r in self.regions if r in name or short_form(r) in name), None)

"""A deterministic, fictional demo dataset for the CRM.

Defence-electronics and manufacturing companies in multi-level corporate
groups (a holding at the top, subsidiaries down to five levels, some companies
with a second shareholder inside the group), standalone private suppliers and
research institutes, and 2-5 contacts per company. All names are invented;
the codes (USCC, 居民身份证号) are structurally valid but random.

Pure: no I/O. ``build_demo_dataset(seed)`` always returns the same dataset for
the same seed; accounts and ownerships are listed parents before children.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from services.id_numbers import resident_id_check_digit
from services.uscc import make_uscc
from services.vocabulary import LIFECYCLE_STAGES

__all__ = [
    "CITIES",
    "INDUSTRIES",
    "TAGS",
    "City",
    "DemoAccount",
    "DemoContact",
    "DemoDataset",
    "DemoOwnership",
    "build_demo_dataset",
]

INDUSTRIES = (
    "国防电子", "雷达与电子对抗", "航空航天", "精密制造", "卫星通信",
    "船舶装备", "集成电路", "特种材料", "军工软件", "测试测量",
)  # fmt: skip
TAGS = (
    "军工资质", "重点客户", "国企", "民参军", "保密资质一级", "保密资质二级",
    "上市公司", "高新技术企业", "专精特新",
)  # fmt: skip


@dataclass(frozen=True)
class City:
    """A city: its region, the division code used in USCCs, and a district
    code (used in 居民身份证号)."""

    name: str
    region: str
    division: str
    district: str
    slug: str


@dataclass(frozen=True)
class DemoAccount:
    key: str
    name: str
    uscc: str
    region: str
    industry: str
    lifecycle_stage: str
    tags: tuple[str, ...]
    annual_revenue: Decimal
    city: str


@dataclass(frozen=True)
class DemoContact:
    account_key: str
    name: str
    title: str
    phone: str
    email: str
    id_number: str | None


@dataclass(frozen=True)
class DemoOwnership:
    parent_key: str
    child_key: str
    share_pct: Decimal  # percentage: 60 means 60 %


@dataclass(frozen=True)
class DemoDataset:
    accounts: tuple[DemoAccount, ...]
    contacts: tuple[DemoContact, ...]
    ownerships: tuple[DemoOwnership, ...]


CITIES: tuple[City, ...] = tuple(
    City(*row)
    for row in (
        ("北京", "华北", "110000", "110108", "bj"), ("天津", "华北", "120000", "120116", "tj"),
        ("石家庄", "华北", "130100", "130102", "sjz"), ("太原", "华北", "140100", "140105", "ty"),
        ("上海", "华东", "310000", "310115", "sh"), ("南京", "华东", "320100", "320106", "nj"),
        ("苏州", "华东", "320500", "320505", "suz"), ("无锡", "华东", "320200", "320214", "wx"),
        ("杭州", "华东", "330100", "330106", "hz"), ("合肥", "华东", "340100", "340104", "hf"),
        ("济南", "华东", "370100", "370102", "jn"), ("青岛", "华东", "370200", "370212", "qd"),
        ("深圳", "华南", "440300", "440305", "sz"), ("广州", "华南", "440100", "440106", "gz"),
        ("珠海", "华南", "440400", "440402", "zh"), ("武汉", "华中", "420100", "420111", "wh"),
        ("长沙", "华中", "430100", "430104", "cs"), ("郑州", "华中", "410100", "410105", "zz"),
        ("洛阳", "华中", "410300", "410305", "ly"), ("成都", "西南", "510100", "510107", "cd"),
        ("绵阳", "西南", "510700", "510703", "my"), ("重庆", "西南", "500000", "500106", "cq"),
        ("贵阳", "西南", "520100", "520102", "gy"), ("昆明", "西南", "530100", "530102", "km"),
        ("西安", "西北", "610100", "610113", "xa"), ("宝鸡", "西北", "610300", "610302", "baoji"),
        ("兰州", "西北", "620100", "620102", "lz"), ("沈阳", "东北", "210100", "210102", "sy"),
        ("大连", "东北", "210200", "210204", "dl"), ("哈尔滨", "东北", "230100", "230103", "hrb"),
        ("长春", "东北", "220100", "220104", "cc"),
    )
)  # fmt: skip
_CITY = {city.name: city for city in CITIES}


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """Parse "王wang 欧阳ouyang" into (("王", "wang"), ("欧阳", "ouyang"))."""
    return tuple(
        ("".join(c for c in token if not c.isascii()), "".join(c for c in token if c.isascii()))
        for token in text.split()
    )


# Domain word → (e-mail abbreviation, industry).
_DOMAINS: dict[str, tuple[str, str]] = {
    "防务电子": ("def", "国防电子"), "电子科技": ("elec", "国防电子"),
    "电子信息": ("info", "国防电子"), "雷达技术": ("radar", "雷达与电子对抗"),
    "电子对抗": ("ew", "雷达与电子对抗"), "微波技术": ("mw", "雷达与电子对抗"),
    "航空装备": ("aero", "航空航天"), "航天科技": ("space", "航空航天"),
    "精密制造": ("prec", "精密制造"), "精密机械": ("mech", "精密制造"),
    "卫星通信": ("satcom", "卫星通信"), "导航技术": ("nav", "卫星通信"),
    "船舶装备": ("marine", "船舶装备"), "海洋装备": ("ocean", "船舶装备"),
    "微电子": ("micro", "集成电路"), "半导体": ("semi", "集成电路"),
    "特种材料": ("mat", "特种材料"), "复合材料": ("comp", "特种材料"),
    "软件技术": ("soft", "军工软件"), "仿真技术": ("sim", "军工软件"),
    "测控技术": ("mc", "测试测量"), "仪器仪表": ("inst", "测试测量"),
}  # fmt: skip
_DOMAIN_WORDS = tuple(_DOMAINS)
# Group core, pinyin, headquarters, domain word of the holding, depth in levels.
_GROUPS = (
    ("锐芯", "ruixin", "成都", "防务电子", 5), ("华瑞", "huarui", "北京", "精密制造", 4),
    ("天衡", "tianheng", "西安", "航天科技", 5), ("北辰", "beichen", "南京", "雷达技术", 4),
    ("海擎", "haiqing", "上海", "船舶装备", 3), ("星拓", "xingtuo", "武汉", "卫星通信", 4),
    ("鼎芯", "dingxin", "深圳", "微电子", 3), ("凌霄", "lingxiao", "沈阳", "航空装备", 5),
    ("恒材", "hengcai", "哈尔滨", "特种材料", 3), ("擎宇", "qingyu", "杭州", "仿真技术", 4),
)  # fmt: skip
_CORES = _pairs(
    "金鹏jinpeng 宏图hongtu 泰岳taiyue 天诚tiancheng 博睿borui 恒远hengyuan 致远zhiyuan "
    "华芯huaxin 启航qihang 长风changfeng 瑞达ruida 航宇hangyu 精工jinggong 同创tongchuang "
    "海峰haifeng 云峰yunfeng 卓越zhuoyue 弘毅hongyi 蓝海lanhai 远航yuanhang 鸿鹄honghu "
    "华拓huatuo 中睿zhongrui 星河xinghe 新元xinyuan 德润derun 铭科mingke 银河yinhe"
)
_SUFFIXES = ("有限公司", "有限公司", "有限责任公司", "股份有限公司")
_SURNAMES = _pairs(
    "王wang 李li 张zhang 刘liu 陈chen 杨yang 黄huang 赵zhao 吴wu 周zhou 徐xu 孙sun 马ma "
    "朱zhu 胡hu 郭guo 何he 高gao 林lin 罗luo 郑zheng 梁liang 谢xie 宋song 唐tang 许xu "
    "韩han 冯feng 邓deng 曹cao 彭peng 曾zeng 肖xiao 田tian 董dong 袁yuan 潘pan 蒋jiang "
    "蔡cai 余yu 杜du 叶ye 程cheng 苏su 魏wei 吕lv 丁ding 任ren 沈shen 姚yao 卢lu 姜jiang "
    "崔cui 钟zhong 谭tan 陆lu 汪wang 范fan 金jin 石shi 廖liao 贾jia 夏xia 韦wei 方fang "
    "白bai 邹zou 孟meng 熊xiong 秦qin 邱qiu 江jiang 尹yin 薛xue 段duan 雷lei 侯hou 龙long "
    "史shi 陶tao 贺he 顾gu 毛mao 郝hao 龚gong 邵shao 万wan 钱qian 严yan 武wu 戴dai 欧阳ouyang"
)
_GIVEN = _pairs(
    "伟wei 芳fang 娜na 敏min 静jing 丽li 强qiang 磊lei 军jun 洋yang 勇yong 艳yan 杰jie "
    "涛tao 明ming 超chao 秀xiu 霞xia 平ping 刚gang 英ying 华hua 建jian 国guo 文wen 辉hui "
    "鹏peng 宇yu 浩hao 晨chen 婷ting 博bo 志zhi 海hai 红hong 斌bin 亮liang 飞fei 玲ling "
    "峰feng 雪xue 琳lin 颖ying 凯kai 俊jun 慧hui 晓xiao 东dong 振zhen 立li 新xin 卫wei "
    "春chun 云yun 嘉jia 思si 佳jia 欣xin 睿rui 雨yu 梓zi 涵han 航hang 毅yi 彬bin"
)
_TITLES = (
    "副总经理", "总工程师", "技术总监", "财务总监", "采购部部长", "采购经理", "项目经理",
    "质量部经理", "科研管理处处长", "市场部经理", "研发中心主任", "保密办主任", "供应链总监",
)  # fmt: skip
_PHONE_PREFIXES = (
    "130", "131", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "155", "158", "159", "177", "180", "181", "186", "187", "189", "199",
)  # fmt: skip
_STAGE_WEIGHTS = (20, 25, 35, 10, 10)
_REVENUE = {1: (3e9, 8e10), 2: (5e8, 8e9), 3: (1e8, 1.5e9), 4: (3e7, 4e8), 5: (1e7, 1.2e8)}
_FANOUT = {2: (3, 4), 3: (1, 3), 4: (0, 2), 5: (0, 2)}
_SOLE_SHARES = ("100", "100", "100", "100", "80", "75", "65.5", "60", "51", "40", "35")
_MAJORITY_SHARES = ("51", "55", "60", "65.5", "70", "75", "80")
_MINORITY_SHARES = ("10", "15", "20", "24.5", "30", "35", "45", "49")
_MIN_ACCOUNTS = 225
_MIN_STANDALONE = 36
_MIN_CONTACTS = 660
_BIRTH_FROM, _BIRTH_TO = date(1965, 1, 1), date(1995, 12, 31)


_AUTHORITY: dict[str, dict[str, str]] = {
    "holding": {"authority": "9", "org_type": "1"},
    "member": {"authority": "9", "org_type": "1"},
    "private": {"authority": "9", "org_type": "1"},
    "institute": {"authority": "1", "org_type": "2"},  # 事业单位 registered by 机构编制
}


def _money(value: float) -> Decimal:
    return Decimal(round(value * 100)).scaleb(-2)


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.accounts: list[DemoAccount] = []
        self.ownerships: list[tuple[int, DemoOwnership]] = []  # (child level, edge)
        self.meta: dict[str, tuple[str, int]] = {}  # key → (e-mail domain, level)
        self.used: set[str] = set()  # names, (city, core, domain) triples, codes, e-mails…

    def _claim(self, value: str) -> bool:
        if value in self.used:
            return False
        self.used.add(value)
        return True

    def _first_free(self, candidates: Iterator[str]) -> str:
        return next(candidate for candidate in candidates if self._claim(candidate))

    def _place(self, city: City, core: str, domain: str | None) -> tuple[City, str]:
        """A (city, domain word) whose (city, core, domain) combination is still free."""
        for attempt in range(500):
            word = domain if domain and attempt == 0 else self.rng.choice(_DOMAIN_WORDS)
            if attempt > 20:
                city = self.rng.choice(CITIES)
            if self._claim(f"{city.name}|{core}|{word}"):
                return city, word
        raise RuntimeError("name space exhausted")  # pragma: no cover

    def _account(
        self, *, city: City, core: tuple[str, str], domain: str | None, level: int, kind: str
    ) -> DemoAccount:
        rng = self.rng
        city, word = self._place(city, core[0], domain)
        if kind == "holding":
            name, site = f"{core[0]}{word}集团有限公司", f"{core[1]}-{_DOMAINS[word][0]}"
        else:
            suffix = "研究所" if kind == "institute" else rng.choice(_SUFFIXES)
            name = f"{city.name}{core[0]}{word}{suffix}"
            site = f"{city.slug}{core[1]}-{_DOMAINS[word][0]}"
        if not self._claim(name):  # pragma: no cover - the triple is already unique
            raise RuntimeError(f"duplicate name {name}")
        site = self._first_free(f"{site}{n if n > 1 else ''}.com.cn" for n in count(1))
        uscc = self._first_free(
            make_uscc(rng, division=city.division, **_AUTHORITY[kind]) for _ in count()
        )
        key = f"acc-{len(self.accounts) + 1:04d}"
        stage = rng.choices(LIFECYCLE_STAGES, _STAGE_WEIGHTS)[0]
        if kind == "holding":
            stage = rng.choice(("CUSTOMER", "CUSTOMER", "LOYAL"))
        low, high = _REVENUE[level] if kind in ("holding", "member") else (2e7, 1.5e9)
        revenue = _money(math.exp(rng.uniform(math.log(low), math.log(high))))
        account = DemoAccount(
            key=key, name=name, uscc=uscc, region=city.region, industry=_DOMAINS[word][1],
            lifecycle_stage=stage, tags=self._tags(kind, level, stage, joint_stock="股份" in name),
            annual_revenue=revenue, city=city.name,
        )  # fmt: skip
        self.accounts.append(account)
        self.meta[key] = (site, level)
        return account

    def _tags(self, kind: str, level: int, stage: str, *, joint_stock: bool) -> tuple[str, ...]:
        rng = self.rng
        state = kind != "private"  # institutes are state-run 事业单位, not 国企
        chosen = {"民参军"} if kind == "private" else {"国企"} if kind != "institute" else set()
        if rng.random() < (0.85 if state else 0.6):
            chosen.add("军工资质")
        if rng.random() < (0.7 if state else 0.35):
            first = state and (level <= 2 or kind == "institute") and rng.random() < 0.6
            chosen.add("保密资质一级" if first else "保密资质二级")
        if stage in ("CUSTOMER", "LOYAL") and (level <= 2 or rng.random() < 0.2):
            chosen.add("重点客户")
        if joint_stock and rng.random() < 0.6:
            chosen.add("上市公司")
        if rng.random() < 0.5:
            chosen.add("高新技术企业")
        if kind == "private" and rng.random() < 0.3:
            chosen.add("专精特新")
        return tuple(tag for tag in TAGS if tag in chosen)

    def _own(self, parent: DemoAccount, child: DemoAccount, share: str, level: int) -> None:
        edge = DemoOwnership(parent_key=parent.key, child_key=child.key, share_pct=Decimal(share))
        self.ownerships.append((level, edge))

    def group(self, core: str, pinyin: str, hq: str, word: str, depth: int) -> None:
        rng = self.rng
        holding = self._account(
            city=_CITY[hq], core=(core, pinyin), domain=word, level=1, kind="holding"
        )
        levels: list[list[DemoAccount]] = [[holding]]
        for level in range(2, depth + 1):
            current: list[DemoAccount] = []
            for index, parent in enumerate(levels[-1]):
                children = rng.randint(*_FANOUT[level])
                # The first company of each level always has a child: the group reaches `depth`.
                for _ in range(max(children, 1) if index == 0 else children):
                    current.append(self._member(parent, levels, (core, pinyin), word))
            levels.append(current)

    def _member(
        self,
        parent: DemoAccount,
        levels: list[list[DemoAccount]],
        brand: tuple[str, str],
        word: str,
    ) -> DemoAccount:
        """A new company one level below ``parent``; ``levels`` are the levels above it."""
        rng = self.rng
        level = len(levels) + 1
        city = _CITY[parent.city] if rng.random() < 0.5 else rng.choice(CITIES)
        # Most members carry the group's brand; some are acquisitions that kept their own.
        brand = brand if rng.random() < 0.8 else rng.choice(_CORES)
        domain = word if rng.random() < 0.4 else None
        child = self._account(city=city, core=brand, domain=domain, level=level, kind="member")
        above = [node for row in levels for node in row if node.key != parent.key]
        if level >= 3 and rng.random() < 0.25:
            majority = rng.choice(_MAJORITY_SHARES)
            minority = [s for s in _MINORITY_SHARES if Decimal(s) + Decimal(majority) <= 100]
            self._own(parent, child, majority, level)
            self._own(rng.choice(above), child, rng.choice(minority), level)
        else:
            self._own(parent, child, rng.choice(_SOLE_SHARES), level)
        return child

    def standalone(self, kind: str) -> None:
        """A company outside every group; it is sized and tagged like a level-3 member."""
        core = self.rng.choice(_CORES)
        self._account(city=self.rng.choice(CITIES), core=core, domain=None, level=3, kind=kind)

    def contacts(self) -> list[DemoContact]:
        rng = self.rng
        counts = [5 if self.meta[a.key][1] == 1 else rng.randint(2, 5) for a in self.accounts]
        while sum(counts) < _MIN_CONTACTS:  # only for unusual seeds
            index = rng.randrange(len(counts))
            counts[index] = min(counts[index] + 1, 5)
        result: list[DemoContact] = []
        for account, size in zip(self.accounts, counts, strict=True):
            site, level = self.meta[account.key]
            head = (
                "董事长" if level == 1 else "所长" if account.name.endswith("研究所") else "总经理"
            )
            titles = [head, *rng.sample(_TITLES, size - 1)]
            result.extend(self._contact(account, site, title) for title in titles)
        return result

    def _contact(self, account: DemoAccount, site: str, title: str) -> DemoContact:
        rng = self.rng
        surname = rng.choice(_SURNAMES)
        given = rng.sample(_GIVEN, 2 if rng.random() < 0.7 else 1)
        name = surname[0] + "".join(char for char, _ in given)
        local = surname[1] + "".join(sound for _, sound in given)
        email = self._first_free(f"{local}{n if n > 1 else ''}@{site}" for n in count(1))
        phone = self._first_free(
            rng.choice(_PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}" for _ in count()
        )
        district = _CITY[account.city].district
        id_number = (
            self._first_free(self._resident_id(district) for _ in count())
            if rng.random() < 0.7
            else None
        )
        return DemoContact(account.key, name, title, phone, email, id_number)

    def _resident_id(self, district: str) -> str:
        days = self.rng.randint(0, (_BIRTH_TO - _BIRTH_FROM).days)
        birth = _BIRTH_FROM + timedelta(days=days)
        first17 = f"{district}{birth:%Y%m%d}{self.rng.randint(1, 999):03d}"
        return first17 + resident_id_check_digit(first17)


def build_demo_dataset(seed: int = 2026) -> DemoDataset:
    """The demo dataset for ``seed``: 10 groups (3-5 levels), standalone
    suppliers and research institutes, 225+ accounts, 660+ contacts."""
    builder = _Builder(seed)
    for spec in _GROUPS:
        builder.group(*spec)
    for _ in range(6):
        builder.standalone("institute")
    for _ in range(max(_MIN_STANDALONE, _MIN_ACCOUNTS - len(builder.accounts))):
        builder.standalone("private")
    contacts = builder.contacts()
    ownerships = [edge for _, edge in sorted(builder.ownerships, key=lambda item: item[0])]
    return DemoDataset(tuple(builder.accounts), tuple(contacts), tuple(ownerships))

"""Contacts, 2-4 per account, with their protected fields sealed the way the app stores them:
SM4-GCM envelopes bound to (contact id, field) and keyed SM3 blind indexes. Sealing costs
~30 µs a field, so the accounts are split into slices that worker processes seal in parallel.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from auth.field_cipher import FieldCipher
from auth.keys import load_or_create
from bench.dataset import copy_text, new_uuid
from relational.models import PROTECTED_CONTACT_FIELDS
from services.demo_data import CITIES
from services.id_numbers import resident_id_check_digit
from settings import Settings


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """"王:wang 李:li" → (("王", "wang"), ("李", "li"))."""
    return tuple((word.split(":")[0], word.split(":")[1]) for word in text.split())


_SURNAMES = _pairs(
    "王:wang 李:li 张:zhang 刘:liu 陈:chen 杨:yang 黄:huang 赵:zhao 吴:wu 周:zhou 徐:xu 孙:sun "
    "马:ma 朱:zhu 胡:hu 郭:guo 何:he 高:gao 林:lin 罗:luo 欧阳:ouyang 司马:sima")
_GIVEN = _pairs(
    "伟:wei 芳:fang 娜:na 敏:min 静:jing 丽:li 强:qiang 磊:lei 军:jun 洋:yang 勇:yong 艳:yan "
    "杰:jie 娟:juan 涛:tao 明:ming 超:chao 秀:xiu 霞:xia 平:ping 刚:gang 桂:gui 建:jian 国:guo")
_TITLES = ("总经理", "副总经理", "采购总监", "技术总监", "财务总监", "项目经理", "采购经理",
           "总工程师", "质量部长", "市场总监", "保密办主任")
_PHONE_PREFIXES = ("138", "139", "158", "186", "137", "150", "188", "135")
_BORN_FROM = date(1960, 1, 1)
_BORN_DAYS = 40 * 365
COLUMNS = ("id", "account_id", "name", "title", *(
    f"{name}_{part}" for name in PROTECTED_CONTACT_FIELDS for part in ("enc", "bidx")))


def key_settings(workdir: Path) -> Settings:
    """Settings naming the key file the app under test reads (`$DATA_DIR/keys.env`)."""
    return Settings(data_dir=workdir, _env_file=None)  # type: ignore[call-arg]


def cipher_for(workdir: Path) -> FieldCipher:
    """The app's keys (generated into `workdir` on first use), as the app loads them."""
    keyring, blind_key = load_or_create(key_settings(workdir))
    return FieldCipher(keyring, blind_key)


def _person(bits: int) -> tuple[str, str, str, str]:
    """Name, e-mail local part, title and phone from one random number (fast: no rng calls)."""
    bits, surname = divmod(bits, len(_SURNAMES))
    bits, first = divmod(bits, len(_GIVEN))
    bits, second = divmod(bits, len(_GIVEN) * 10 // 7)  # out of range: a one-character name
    bits, title = divmod(bits, len(_TITLES))
    bits, prefix = divmod(bits, len(_PHONE_PREFIXES))
    chosen = [_GIVEN[first]] + ([_GIVEN[second]] if second < len(_GIVEN) else [])
    name = _SURNAMES[surname][0] + "".join(char for char, _ in chosen)
    local = _SURNAMES[surname][1] + "".join(sound for _, sound in chosen) + str(bits % 100)
    phone = _PHONE_PREFIXES[prefix] + f"{bits // 100 % 10**8:08d}"
    return name, local, _TITLES[title], phone


def _id_number(rng: random.Random) -> str | None:
    """A valid 居民身份证号 for 70 % of the contacts."""
    if rng.random() >= 0.7:
        return None
    born = _BORN_FROM + timedelta(days=rng.randrange(_BORN_DAYS))
    first17 = f"{rng.choice(CITIES).district}{born:%Y%m%d}{rng.randint(1, 999):03d}"
    return first17 + resident_id_check_digit(first17)


def _rows(cipher: FieldCipher, rng: random.Random, account_ids: list[str],
          first_number: int) -> Iterator[list[str | None]]:
    for number, account_id in enumerate(account_ids, start=first_number):
        for _ in range(2 + rng.getrandbits(8) % 3):
            name, local, title, phone = _person(rng.getrandbits(96))
            contact_id = new_uuid(rng)
            clear = {"phone": phone, "email": f"{local}@corp{number:06d}.com.cn",
                     "id_number": _id_number(rng)}
            row: list[str | None] = [contact_id, account_id, name, title]
            record = uuid.UUID(contact_id)
            for field in PROTECTED_CONTACT_FIELDS:
                value = clear[field]
                sealed = None if value is None else cipher.seal(record, field, value)
                row += [None, None] if sealed is None else [sealed.envelope, sealed.index]
            yield row


def contacts(workdir: Path, account_ids: list[str], first_number: int,
             seed: int) -> tuple[bytes, int]:
    """COPY text of the contacts of `account_ids` (in `COLUMNS` order) and their number; run in
    a worker process."""
    cipher = cipher_for(workdir)
    rng = random.Random(f"{seed}:contacts:{first_number}")
    rows = list(_rows(cipher, rng, account_ids, first_number))
    return copy_text(rows), len(rows)

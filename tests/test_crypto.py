"""Known-answer vectors and behaviour of the crypto layer (auth.crypto, auth.sm2)."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl import func as gm_func
from gmssl import sm3 as gm_sm3
from gmssl import sm4 as gm_sm4

from auth.crypto import (
    CryptoError,
    KeyRing,
    blind_index,
    decrypt_field,
    encrypt_field,
    envelope_key_version,
    hmac_sm3,
    needs_rotation,
    normalize_for_index,
    reencrypt_field,
    sm3_hex,
)
from auth.sm2 import generate_sm2_keypair, sm2_sign, sm2_verify

GBT_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
KEY_1 = "000102030405060708090a0b0c0d0e0f"
KEY_2 = "f0e0d0c0b0a090807060504030201000"
INDEX_KEY = b"blind-index-key-0123456789abcdef"
SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
SM2_P = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
SM2_B = int("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)

# Written once by encrypt_field under key 3 = GBT_KEY; must decrypt forever (data at rest).
GOLDEN_ENVELOPE = "sm4gcm:v3:w1nFGVGDo6mtjiOY:qSo43FqRkIbZ-zntQZw2aJK557h-V0jhu2hk"

# Produced by OpenSSL 3.0 (`pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:1234567812345678`).
OPENSSL_SM2_PUBLIC = (
    "8915917b94cff55191590ee1a8691304460dce7918b35cd587a6300e8a7aef83"
    "84980988e3c04b381afc06ba45ef69d4ebf3156e4984940db3b09965b24f7ce3"
)
OPENSSL_SM2_SIGNATURE = (
    "1b754927b739218c36fbb1111453c9e9ef6dd082c07512cccb9d127c2f7eb1c5"
    "475bc65a80841edb5f9bdbaa7db19b172328cedc4872ab62db37404f4fec5589"
)
OPENSSL_SM2_MESSAGE = b"GB/T 32918 interop: signed by OpenSSL"

# d = 11: its public key starts with "04", which gmssl's own constructor would mangle.
SM2_PRIVATE_11 = f"{11:064x}"
SM2_PUBLIC_11 = (
    "04b3cb10c9c6d8e27c1aab770f67f543125dcdd589c2ff82668c74d78ce20ace"
    "63516355287e39fe4918e5c02e2b0b930c94816e63c4bc72739a8fd805174a4b"
)


def ring_v1() -> KeyRing:
    return KeyRing.parse(f"1:{KEY_1}")


def ring_v1_v2() -> KeyRing:
    return KeyRing.parse(f"1:{KEY_1},2:{KEY_2}")


def sm4_ecb(key: bytes, data: bytes, *, decrypt: bool = False) -> bytes:
    cipher = Cipher(algorithms.SM4(key), modes.ECB())  # noqa: S305 - test vectors are ECB
    ctx = cipher.decryptor() if decrypt else cipher.encryptor()
    return ctx.update(data) + ctx.finalize()


def pkcs7(data: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    return padder.update(data) + padder.finalize()


def unpkcs7(data: bytes) -> bytes:
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(data) + unpadder.finalize()


# --- SM4 (GB/T 32907-2016) ---------------------------------------------------------------


def test_sm4_single_block_vector() -> None:
    assert sm4_ecb(GBT_KEY, GBT_KEY).hex() == "681edf34d206965e86b3e94f536e4246"
    assert sm4_ecb(GBT_KEY, bytes.fromhex("681edf34d206965e86b3e94f536e4246"), decrypt=True) == (
        GBT_KEY
    )


def test_sm4_million_iterations_vector() -> None:
    # ~0.5 s: one reused OpenSSL context, so no SLOW_TESTS gate is needed.
    encryptor = Cipher(algorithms.SM4(GBT_KEY), modes.ECB()).encryptor()  # noqa: S305
    block = GBT_KEY
    for _ in range(1_000_000):
        block = encryptor.update(block)
    assert block.hex() == "595298c7c6fd271f0402f804c33d3f66"


def test_sm4_gcm_rfc8998_vector() -> None:
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex("".join(c * 16 for c in "ABCDEFEA"))
    encryptor = Cipher(algorithms.SM4(GBT_KEY), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    assert ciphertext.hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    )
    assert encryptor.tag.hex().upper() == "83DE3541E4C2B58177E065A9BF7B62EC"


def test_sm4_ecb_interoperates_with_gmssl() -> None:
    message = "合同编号 HT-2024-0001 SM4 ok".encode()
    assert len(message) == 32
    gm = gm_sm4.CryptSM4()  # PKCS7 by default: an aligned message gains a whole pad block
    gm.set_key(GBT_KEY, gm_sm4.SM4_ENCRYPT)
    from_gmssl = gm.crypt_ecb(message)
    assert len(from_gmssl) == 48
    assert from_gmssl == sm4_ecb(GBT_KEY, pkcs7(message))
    assert unpkcs7(sm4_ecb(GBT_KEY, from_gmssl, decrypt=True)) == message

    gm.set_key(GBT_KEY, gm_sm4.SM4_DECRYPT)
    assert gm.crypt_ecb(sm4_ecb(GBT_KEY, pkcs7(message))) == message


def test_sm4_cbc_interoperates_with_gmssl() -> None:
    message, iv = bytes(range(48)), bytes.fromhex("fedcba98765432100123456789abcdef")
    cipher = Cipher(algorithms.SM4(GBT_KEY), modes.CBC(iv))
    encryptor, decryptor = cipher.encryptor(), cipher.decryptor()
    ours = encryptor.update(pkcs7(message)) + encryptor.finalize()

    gm = gm_sm4.CryptSM4()
    gm.set_key(GBT_KEY, gm_sm4.SM4_ENCRYPT)
    assert gm.crypt_cbc(iv, message) == ours
    assert unpkcs7(decryptor.update(gm.crypt_cbc(iv, message)) + decryptor.finalize()) == message
    gm.set_key(GBT_KEY, gm_sm4.SM4_DECRYPT)
    assert gm.crypt_cbc(iv, ours) == message


# --- SM3 (GB/T 32905-2016) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "digest"),
    [
        (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
        (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
    ],
)
def test_sm3_vectors(message: bytes, digest: str) -> None:
    assert sm3_hex(message) == digest
    assert gm_sm3.sm3_hash(gm_func.bytes_to_list(message)) == digest


def test_hmac_sm3_matches_rfc2104_construction() -> None:
    key, message = b"k" * 20, "客户 13800138000".encode()
    block = key.ljust(64, b"\0")
    inner = bytes.fromhex(sm3_hex(bytes(b ^ 0x36 for b in block) + message))
    expected = sm3_hex(bytes(b ^ 0x5C for b in block) + inner)
    assert hmac_sm3(key, message).hex() == expected


# --- KeyRing -------------------------------------------------------------------------------


def test_keyring_parses_hex_and_base64_and_defaults_to_highest_version() -> None:
    key_2 = bytes.fromhex(KEY_2)
    std = base64.b64encode(key_2).decode()
    url_unpadded = base64.urlsafe_b64encode(key_2).decode().rstrip("=")
    for text in (KEY_2, KEY_2.upper(), std, url_unpadded):
        ring = KeyRing.parse(f" 1:{KEY_1} , 2:{text} ")
        assert ring.versions == (1, 2)
        assert ring.current == 2
        assert ring.key(2) == key_2
        assert ring.key(1) == bytes.fromhex(KEY_1)


def test_keyring_explicit_current() -> None:
    assert KeyRing.parse(f"1:{KEY_1},2:{KEY_2}", current=1).current == 1
    with pytest.raises(CryptoError, match="current key version 3"):
        KeyRing.parse(f"1:{KEY_1},2:{KEY_2}", current=3)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (f"1:{KEY_1[:-2]}", "must be 32 hex chars, got 30"),
        ("1:not*base64*or*hex", "neither 32 hex chars nor base64"),
        (f"1:{KEY_1}00", "must be 32 hex chars, got 34"),
        (f"1:{base64.b64encode(b'x' * 24).decode()}", "must be 16 bytes, got 24"),
        ("1:", "must be 16 bytes, got 0"),
        (f"1:{KEY_1},1:{KEY_2}", "appears twice"),
        (f"0:{KEY_1}", "'<version>:<key>'"),
        (KEY_1, "'<version>:<key>'"),
        ("", "'<version>:<key>'"),
    ],
)
def test_keyring_rejects_bad_specs_without_echoing_keys(spec: str, message: str) -> None:
    with pytest.raises(CryptoError, match=re.escape(message)) as caught:
        KeyRing.parse(spec)
    assert KEY_1[:16] not in str(caught.value)


def test_keyring_repr_hides_key_material() -> None:
    ring = ring_v1_v2()
    assert repr(ring) == str(ring) == "KeyRing(versions=[1, 2], current=2)"


def test_generate_key_is_fresh_and_parseable() -> None:
    first, second = KeyRing.generate_key(), KeyRing.generate_key()
    assert first != second
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert KeyRing.parse(f"7:{first}").key(7) == bytes.fromhex(first)


def test_keyring_unknown_version() -> None:
    with pytest.raises(CryptoError, match="unknown key version 9"):
        ring_v1().key(9)


# --- Envelope encryption -----------------------------------------------------------------


@pytest.mark.parametrize("plaintext", ["13800138000", "张三，华东区 · 军工配套", "", "🙂\x00tab\t"])
def test_envelope_round_trip(plaintext: str) -> None:
    ring = ring_v1()
    envelope = encrypt_field(ring, plaintext, record_id="acct-1", field="name")
    assert re.fullmatch(r"sm4gcm:v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22,}", envelope)
    assert decrypt_field(ring, envelope, record_id="acct-1", field="name") == plaintext


def test_nonce_differs_each_time() -> None:
    ring = ring_v1()
    envelopes = {encrypt_field(ring, "same", record_id="r", field="f") for _ in range(50)}
    assert len({e.split(":")[2] for e in envelopes}) == 50


def test_golden_envelope_layout_and_associated_data() -> None:
    ring = KeyRing.parse(f"3:{GBT_KEY.hex()}")
    assert decrypt_field(ring, GOLDEN_ENVELOPE, record_id="acct-42", field="phone") == (
        "13800138000"
    )
    # Decrypt by hand to pin the documented format: nonce, ciphertext || tag, AAD.
    _, _, nonce_text, sealed_text = GOLDEN_ENVELOPE.split(":")
    nonce = base64.urlsafe_b64decode(nonce_text)
    sealed = base64.urlsafe_b64decode(sealed_text + "=" * (-len(sealed_text) % 4))
    decryptor = Cipher(algorithms.SM4(GBT_KEY), modes.GCM(nonce, sealed[-16:])).decryptor()
    decryptor.authenticate_additional_data(b"acct-42\x1fphone")
    assert decryptor.update(sealed[:-16]) + decryptor.finalize() == b"13800138000"


def _flip_ciphertext_byte(envelope: str) -> str:
    head, sealed_text = envelope.rsplit(":", 1)
    sealed = bytearray(base64.urlsafe_b64decode(sealed_text + "=" * (-len(sealed_text) % 4)))
    sealed[0] ^= 0x01
    return f"{head}:{base64.urlsafe_b64encode(bytes(sealed)).decode().rstrip('=')}"


def test_tampering_fails_authentication() -> None:
    ring = ring_v1()
    envelope = encrypt_field(ring, "机密", record_id="acct-1", field="phone")
    cases = [
        (envelope, "acct-2", "phone"),
        (envelope, "acct-1", "email"),
        (_flip_ciphertext_byte(envelope), "acct-1", "phone"),
    ]
    for candidate, record_id, field in cases:
        with pytest.raises(CryptoError, match="failed authentication") as caught:
            decrypt_field(ring, candidate, record_id=record_id, field=field)
        assert "机密" not in str(caught.value)
        assert KEY_1 not in str(caught.value)


def test_unknown_key_version() -> None:
    envelope = encrypt_field(ring_v1_v2(), "x", record_id="r", field="f")
    with pytest.raises(CryptoError, match="unknown key version 2"):
        decrypt_field(ring_v1(), envelope, record_id="r", field="f")


def test_envelope_under_other_key_fails() -> None:
    envelope = encrypt_field(ring_v1(), "x", record_id="r", field="f")
    other = KeyRing.parse(f"1:{KEY_2}")
    with pytest.raises(CryptoError, match="failed authentication"):
        decrypt_field(other, envelope, record_id="r", field="f")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "garbage",
        "13800138000",
        "sm4gcm:v1:AAAA:BBBB",
        "sm4gcm:v0:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA",
        "sm4gcm:v01:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA",
        "sm4gcm:v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAA",
        "sm4gcm:v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAA=",
        "sm4gcm:v1:AAAAAAAAAAAAAAA+:AAAAAAAAAAAAAAAAAAAAAA",
        "sm4gcm:v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA\n",
        "sm4gcm:v١:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA",
        "aes256:v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_garbage_envelopes(garbage: str) -> None:
    with pytest.raises(CryptoError, match="malformed encrypted field envelope"):
        decrypt_field(ring_v1(), garbage, record_id="r", field="f")
    with pytest.raises(CryptoError, match="malformed"):
        envelope_key_version(garbage)


def test_well_formed_but_forged_envelope_fails_authentication() -> None:
    forged = "sm4gcm:v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA"
    with pytest.raises(CryptoError, match="failed authentication"):
        decrypt_field(ring_v1(), forged, record_id="r", field="f")


@pytest.mark.parametrize(("record_id", "field"), [("", "f"), ("r", ""), ("a\x1fb", "f")])
def test_ambiguous_binding_rejected(record_id: str, field: str) -> None:
    with pytest.raises(ValueError, match="record_id and field"):
        encrypt_field(ring_v1(), "x", record_id=record_id, field=field)


def test_rotation_to_new_key() -> None:
    old = encrypt_field(ring_v1(), "13800138000", record_id="acct-9", field="phone")
    ring = ring_v1_v2()
    assert ring.current == 2
    assert envelope_key_version(old) == 1
    assert needs_rotation(ring, old) is True
    assert decrypt_field(ring, old, record_id="acct-9", field="phone") == "13800138000"

    new = reencrypt_field(ring, old, record_id="acct-9", field="phone")
    assert envelope_key_version(new) == 2
    assert needs_rotation(ring, new) is False
    assert reencrypt_field(ring, new, record_id="acct-9", field="phone") == new
    assert decrypt_field(ring, new, record_id="acct-9", field="phone") == "13800138000"
    new_only = KeyRing.parse(f"2:{KEY_2}")
    assert decrypt_field(new_only, new, record_id="acct-9", field="phone") == "13800138000"


def test_reencrypt_keeps_binding() -> None:
    old = encrypt_field(ring_v1(), "x", record_id="acct-9", field="phone")
    with pytest.raises(CryptoError, match="failed authentication"):
        reencrypt_field(ring_v1_v2(), old, record_id="acct-10", field="phone")


# --- Blind index ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "normalized"),
    [
        ("phone", "+86 138-0013-8000", "13800138000"),
        ("phone", "86 13800138000", "13800138000"),
        ("phone", "0086 138 0013 8000", "13800138000"),
        ("phone", "１３８００１３８０００", "13800138000"),
        ("phone", "13800138000", "13800138000"),
        ("phone", "(010) 8888-6666", "01088886666"),
        ("email", " A@B.com ", "a@b.com"),
        ("email", "Ａ@b．COM", "a@b.com"),
        ("id_number", "11010519491231002x", "11010519491231002X"),
        ("id_number", " 110105 19491231 002x ", "11010519491231002X"),
    ],
)
def test_normalize_for_index(field: str, raw: str, normalized: str) -> None:
    assert normalize_for_index(field, raw) == normalized


def test_blind_index_is_deterministic_and_normalised() -> None:
    phone = blind_index(INDEX_KEY, "13800138000", field="phone")
    assert phone == blind_index(INDEX_KEY, "13800138000", field="phone")
    assert phone == blind_index(INDEX_KEY, "+86 138-0013-8000", field="phone")
    assert phone == hmac_sm3(INDEX_KEY, b"phone\x1f13800138000").hex()
    assert re.fullmatch(r"[0-9a-f]{64}", phone)
    assert blind_index(INDEX_KEY, " A@B.com ", field="email") == blind_index(
        INDEX_KEY, "a@b.com", field="email"
    )


def test_blind_index_differs_by_key_field_and_value() -> None:
    base = blind_index(INDEX_KEY, "13800138000", field="phone")
    assert blind_index(b"another-index-key-0123456789abcd", "13800138000", field="phone") != base
    assert blind_index(INDEX_KEY, "13800138000", field="id_number") != base
    assert blind_index(INDEX_KEY, "13800138001", field="phone") != base


def test_blind_index_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no blind-index normaliser"):
        blind_index(INDEX_KEY, "x", field="name")
    with pytest.raises(ValueError, match="empty after normalisation"):
        blind_index(INDEX_KEY, "n/a", field="phone")
    with pytest.raises(ValueError, match="at least 16 bytes"):
        blind_index(b"short", "13800138000", field="phone")


# --- SM2 -----------------------------------------------------------------------------------


def _flip_hex(text: str, index: int) -> str:
    flipped = format(int(text[index], 16) ^ 0x1, "x")
    return text[:index] + flipped + text[index + 1 :]


def test_sm2_keypair_shape() -> None:
    private, public = generate_sm2_keypair()
    assert 1 <= int(private, 16) <= SM2_N - 2
    assert re.fullmatch(r"[0-9a-f]{64}", private)
    assert re.fullmatch(r"[0-9a-f]{128}", public)
    x, y = int(public[:64], 16), int(public[64:], 16)
    assert (y * y - (x**3 - 3 * x + SM2_B)) % SM2_P == 0
    assert generate_sm2_keypair()[0] != private


def test_sm2_sign_verify_round_trip_and_tampering() -> None:
    private, public = generate_sm2_keypair()
    data = "供货合同 HT-2024-0001 金额 ¥1,000,000".encode()
    signature = sm2_sign(private, public, data)
    assert re.fullmatch(r"[0-9a-f]{128}", signature)
    assert sm2_verify(public, data, signature) is True
    assert sm2_verify("04" + public, data, signature) is True
    assert sm2_verify(public, data + b" ", signature) is False
    assert sm2_verify(public, data, _flip_hex(signature, 10)) is False
    assert sm2_verify(public, data, _flip_hex(signature, 127)) is False
    assert sm2_verify(generate_sm2_keypair()[1], data, signature) is False
    assert sm2_sign(private, public, data) != signature  # fresh K every time


def test_sm2_verifies_openssl_signature() -> None:
    assert sm2_verify(OPENSSL_SM2_PUBLIC, OPENSSL_SM2_MESSAGE, OPENSSL_SM2_SIGNATURE) is True
    assert sm2_verify(OPENSSL_SM2_PUBLIC, OPENSSL_SM2_MESSAGE + b"!", OPENSSL_SM2_SIGNATURE) is (
        False
    )


def test_sm2_public_key_starting_with_04() -> None:
    signature = sm2_sign(SM2_PRIVATE_11, SM2_PUBLIC_11, b"data")
    assert sm2_verify(SM2_PUBLIC_11, b"data", signature) is True
    assert sm2_verify("04" + SM2_PUBLIC_11, b"data", signature) is True


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "zz" * 64,
        "00" * 63,
        "00" * 65,
        "0" * 128,
        f"{SM2_N:064x}{1:064x}",
        f"{1:064x}{SM2_N:064x}",
        f"{1:064x}{SM2_N - 1:064x}",
        " " + "1" * 127,
    ],
)
def test_sm2_malformed_signature_is_false(signature: str) -> None:
    _, public = generate_sm2_keypair()
    assert sm2_verify(public, b"data", signature) is False


def test_sm2_rejects_bad_keys() -> None:
    private, public = generate_sm2_keypair()
    other_public = generate_sm2_keypair()[1]
    with pytest.raises(CryptoError, match="does not belong"):
        sm2_sign(private, other_public, b"data")
    with pytest.raises(CryptoError, match="not a point on the curve"):
        sm2_verify(_flip_hex(public, 127), b"data", "1" * 128)
    with pytest.raises(CryptoError, match="128 hex chars"):
        sm2_verify(public[:-2], b"data", "1" * 128)
    with pytest.raises(CryptoError, match="out of range"):
        sm2_sign(f"{SM2_N - 1:064x}", public, b"data")
    with pytest.raises(CryptoError, match="64 hex chars"):
        sm2_sign(private[:-1], public, b"data")

"""Signatures as the Stem codec makes and checks them (protocol/PROTOCOL.md, "Signing").

A signature covers the canonical JSON of a stored envelope or record without its
`signature` member: object keys sorted by code point, no whitespace, strings escaped as
JavaScript's JSON.stringify escapes them, numbers written as JavaScript's
Number.prototype.toString writes them. It reads `ALGORITHM:KEY_ID:BASE64`. This module
signs and verifies HMAC-SHA256 (stdlib only); Ed25519 signatures are made and checked by
the Rust codec and the Node SDK, not here. tests/test_signing.py replays
protocol/vectors/signing.jsonl.
"""

import base64
import hashlib
import hmac
import math
from decimal import Decimal
from typing import Any, Dict, List, Mapping, Union

Key = Union[bytes, str]

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class SignatureError(ValueError):
    """A signature that is missing, malformed, by an unknown key, or does not match."""


def _string(s: str) -> str:
    out: List[str] = ['"']
    for c in s:
        esc = _ESCAPES.get(c)
        if esc is not None:
            out.append(esc)
        elif ord(c) < 0x20:
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def ecma_number(f: float) -> str:
    """`Number.prototype.toString()` of a finite float."""
    if not math.isfinite(f):
        raise ValueError("signature: a number that JSON cannot hold: %r" % (f,))
    if f == 0:
        return "0"
    _, digit_tuple, exp = Decimal(repr(abs(f))).as_tuple()
    assert isinstance(exp, int)
    all_digits = "".join(map(str, digit_tuple))
    digits = all_digits.rstrip("0")
    # The value is DIGITS x 10^(exp + trailing zeros) = 0.DIGITS x 10^n.
    n = len(all_digits) + exp
    k = len(digits)
    neg = "-" if f < 0 else ""
    if k <= n <= 21:
        return neg + digits + "0" * (n - k)
    if 0 < n <= 21:
        return neg + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return neg + "0." + "0" * (-n) + digits
    e = n - 1
    mant = digits[0] + ("." + digits[1:] if k > 1 else "")
    return neg + mant + "e" + ("-" if e < 0 else "+") + str(abs(e))


def _write(value: Any, out: List[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(ecma_number(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, Mapping):
        _write_object(value, None, out)
    else:
        raise TypeError("signature: not a JSON value: %r" % (type(value).__name__,))


def _write_object(obj: Mapping[str, Any], skip: Union[str, None], out: List[str]) -> None:
    out.append("{")
    # Python orders str by code point, as the protocol does.
    for i, key in enumerate(sorted(k for k in obj if k != skip)):
        if i:
            out.append(",")
        out.append(_string(key))
        out.append(":")
        _write(obj[key], out)
    out.append("}")


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of `value` (as `json.loads` gives it)."""
    out: List[str] = []
    _write(value, out)
    return "".join(out).encode("utf-8")


def signed_form(obj: Mapping[str, Any]) -> bytes:
    """What a signature covers: the canonical form of `obj` without its `signature`."""
    if not isinstance(obj, Mapping):
        raise TypeError("signature: only a JSON object is signed")
    out: List[str] = []
    _write_object(obj, "signature", out)
    return "".join(out).encode("utf-8")


def _bytes(key: Key) -> bytes:
    return key if isinstance(key, bytes) else base64.b64decode(key)


def sign_hmac(obj: Mapping[str, Any], key_id: str, secret: Key) -> str:
    """`hmac-sha256:KEY_ID:BASE64` of `obj` (an envelope or record as stored)."""
    mac = hmac.new(_bytes(secret), signed_form(obj), hashlib.sha256).digest()
    return "hmac-sha256:%s:%s" % (key_id, base64.b64encode(mac).decode("ascii"))


def verify_hmac(obj: Mapping[str, Any], keys: Dict[str, Key]) -> None:
    """Checks `obj`'s `signature` against HMAC secrets by key id; raises SignatureError."""
    sig = obj.get("signature")
    if not isinstance(sig, str):
        raise SignatureError("signature: missing (signing is required)")
    parts = sig.split(":")
    if len(parts) != 3:
        raise SignatureError("signature: not ALGORITHM:KEY:BASE64")
    alg, key_id, b64 = parts
    if alg != "hmac-sha256":
        raise SignatureError("signature: algorithm %r, expected hmac-sha256" % (alg,))
    if key_id not in keys:
        raise SignatureError("signature: unknown key %r" % (key_id,))
    want = sign_hmac(obj, key_id, keys[key_id])
    if not hmac.compare_digest(want.encode("ascii"), sig.encode("utf-8")):
        raise SignatureError(
            "signature: does not match (key %r): the payload was changed or signed by another key" % (key_id,)
        )

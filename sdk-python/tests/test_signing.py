"""Replays protocol/vectors/signing.jsonl: canonical texts, signed forms and HMAC signatures
must be exactly the vectors'; a changed field or a missing signature must fail. (Ed25519 cases
are checked for their signed form only: this SDK signs and verifies HMAC.)"""

import json

import pytest

from conftest import VECTORS_DIR
from stem_sdk.signing import SignatureError, canonical, ecma_number, sign_hmac, signed_form, verify_hmac

CASES = [json.loads(line) for line in (VECTORS_DIR / "signing.jsonl").read_text("utf-8").split("\n") if line.strip()]


def test_the_signing_vectors_are_there():
    assert sum("canonical" in c for c in CASES) >= 5
    assert sum("signature" in c for c in CASES) >= 8


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_signing_vector(case):
    if "canonical" in case:
        assert canonical(case["value"]).decode("utf-8") == case["canonical"]
        return
    assert signed_form(case["value"]).decode("utf-8") == case["signed_form"]
    key = case["key"]
    if key["algorithm"] != "hmac-sha256":
        return
    sig = sign_hmac(case["value"], key["id"], key["secret"])
    assert sig == case["signature"]
    stored = dict(case["value"], signature=sig)
    keys = {key["id"]: key["secret"]}
    verify_hmac(stored, keys)
    with pytest.raises(SignatureError, match="^signature: does not match"):
        verify_hmac(dict(stored, attempt=99), keys)
    with pytest.raises(SignatureError, match="^signature: missing"):
        verify_hmac({k: v for k, v in stored.items() if k != "signature"}, keys)


def test_numbers_follow_ecmascript():
    assert [ecma_number(x) for x in (1.0, 0.1, 1e21, -0.0, 1.5e-7, 1e20)] == [
        "1", "0.1", "1e+21", "0", "1.5e-7", "100000000000000000000"]

"""The encrypted-payload example's task: it sees the card number in plaintext (the worker opened
the envelope) and reports which of the worker's secrets reached its environment (none should)."""

import os
import sys

try:
    import stem_sdk  # noqa: F401  (installed with `pip install ./sdk-python`)
except ImportError:  # running from a checkout without installing the SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))

from stem_sdk import run, task

SECRETS = ("STEM_SIGNING_KEYS", "STEM_ENCRYPTION_KEYS", "STEM_TLS_CLIENT_KEY", "STEM_BROKER_URL")


@task("charge")
def charge(card: str, amount: int) -> dict:
    if not (card.isdigit() and 12 <= len(card) <= 19):
        raise ValueError("not a card number")
    return {
        "approved": True,
        "amount": amount,
        "card": "**** " + card[-4:],
        "secrets_in_child_env": [name for name in SECRETS if name in os.environ],
    }


if __name__ == "__main__":
    run()

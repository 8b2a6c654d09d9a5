"""The order workflow of the workflows example: charge the card (a step, with a stable
idempotency key), render the invoice with a Node task (`ctx.call`), sleep through a cooling-off
period, wait for the `shipment.ORDER` event, and return a summary with its tracking number.

Every resume replays this function from the top: the calls to `ctx` return what the run's
journal recorded, so the card is charged once and the invoice rendered once however many times
the code runs (docs/workflows.md)."""

import sys

from stem_sdk import run, workflow


def charge_card(ctx, order):
    """Stands in for a payment API. A real one is given `ctx.idempotency_key` (`RUN/charge/1`):
    the key is the same if this step runs again after a crash, so the card is charged once."""
    key = ctx.idempotency_key
    print("charging %s cents for order %s (idempotency key %s)" % (order["total_cents"], order["id"], key),
          file=sys.stderr)
    return {"charge": "ch-" + order["id"], "amount_cents": order["total_cents"], "idempotency_key": key}


@workflow("order")
def order_flow(ctx, order):
    oid = order["id"]
    charge = ctx.step("charge", charge_card, ctx, order, retries=2)
    invoice = ctx.call("render_invoice", [order])  # a Node task (invoice.js), run once per run
    # Two seconds so the example runs quickly; in production a cooling-off period of days
    # ("3d"): nothing is held meanwhile, the run is a row in the store and a delayed resume.
    ctx.sleep("cool_off", "2s")
    shipped = ctx.wait_for_event("shipment", "shipment." + oid, timeout="14d")
    if shipped.timed_out:
        return {"order": oid, "state": "not shipped", "charge": charge["charge"]}
    return {
        "order": oid,
        "state": "shipped",
        "charge": charge["charge"],
        "idempotency_key": charge["idempotency_key"],
        "invoice": invoice["invoice"],
        "total": invoice["total"],
        "tracking": shipped.payload["tracking"],
    }


if __name__ == "__main__":
    run()

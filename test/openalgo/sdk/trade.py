"""
An OpenAlgo client, unchanged: OpenAlgo's own Python SDK (pip openalgo) trading paper on our
gateway. OPENALGO_HOST and OPENALGO_API_KEY say where and with which key (the test sets them);
the market's ticks are the test's. Prints the first answer, then (its last line) one JSON object: every answer, by step.
"""
import json
import os
import time

from openalgo import api

client = api(api_key=os.environ["OPENALGO_API_KEY"], host=os.environ["OPENALGO_HOST"])
response = client.placeorder(strategy="Python", symbol="SBIN", action="BUY", exchange="NSE", price_type="MARKET", product="MIS", quantity=1)
print(response)

answers = {"placeorder": response}


def wait(what, ask, ready, seconds=15.0):
    """Asks until ready(answer), as a script polling orderstatus does; the last answer."""
    deadline = time.time() + seconds
    while True:
        answer = ask()
        if ready(answer) or time.time() > deadline:
            answers[what] = answer
            return answer
        time.sleep(0.25)


def status_of(orderid):
    return client.orderstatus(order_id=orderid, strategy="Python")


first = response["orderid"]
wait("orderstatus_complete", lambda: status_of(first), lambda a: a.get("data", {}).get("order_status") == "complete")

limit = client.placeorder(strategy="Python", symbol="INFY", action="BUY", exchange="NSE", price_type="LIMIT", product="MIS", quantity=10, price=1800.0)
answers["placeorder_limit"] = limit
wait("orderstatus_open", lambda: status_of(limit["orderid"]), lambda a: a.get("data", {}).get("order_status") == "open")
answers["modifyorder"] = client.modifyorder(order_id=limit["orderid"], strategy="Python", symbol="INFY", action="BUY", exchange="NSE", price_type="LIMIT", product="MIS", quantity=4, price=1810.5)
wait("orderstatus_modified", lambda: status_of(limit["orderid"]), lambda a: a.get("data", {}).get("quantity") == 4 and a["data"].get("price") == 1810.5)

smart = client.placesmartorder(strategy="Python", symbol="RELIANCE", action="BUY", exchange="NSE", price_type="MARKET", product="MIS", quantity=1, position_size=5)
answers["placesmartorder"] = smart
wait("openposition_smart", lambda: client.openposition(strategy="Python", symbol="RELIANCE", exchange="NSE", product="MIS"), lambda a: int(a.get("quantity", 0)) == 5)
answers["placesmartorder_again"] = client.placesmartorder(strategy="Python", symbol="RELIANCE", action="BUY", exchange="NSE", price_type="MARKET", product="MIS", quantity=1, position_size=5)

answers["basketorder"] = client.basketorder(strategy="Python", orders=[
    {"symbol": "SBIN", "exchange": "NSE", "action": "BUY", "quantity": 1, "pricetype": "MARKET", "product": "MIS"},
    {"symbol": "RELIANCE", "exchange": "NSE", "action": "SELL", "quantity": 1, "pricetype": "MARKET", "product": "MIS"},
])
answers["splitorder"] = client.splitorder(strategy="Python", symbol="SBIN", action="BUY", exchange="NSE", quantity=5, splitsize=2, price_type="MARKET", product="MIS")

answers["cancelallorder"] = client.cancelallorder(strategy="Python")
wait("orderstatus_cancelled", lambda: status_of(limit["orderid"]), lambda a: a.get("data", {}).get("order_status") == "cancelled")

# Whatever of the basket and the split is still filling settles before the square-off.
time.sleep(1.0)
answers["closeposition"] = client.closeposition(strategy="Python")
for symbol in ("SBIN", "RELIANCE"):
    wait(f"openposition_flat_{symbol}", lambda: client.openposition(strategy="Python", symbol=symbol, exchange="NSE", product="MIS"), lambda a: int(a.get("quantity", 1)) == 0)

print(json.dumps(answers))

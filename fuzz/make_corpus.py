#!/usr/bin/python3
"""Writes the fuzz seed corpora (fuzz/corpus/<target>/) from the conformance vectors.

Run from anywhere: /usr/bin/python3 fuzz/make_corpus.py. The output is committed; rerun only when
the vectors or the input formats in fuzz_targets.hpp change.
"""
import base64
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
CORPUS = ROOT / "fuzz" / "corpus"


def compact(obj):
    # JSON.stringify form: no spaces, raw UTF-8, key order kept.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def write(target, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    (folder / hashlib.sha1(raw).hexdigest()).write_bytes(raw)


def main():
    headers = json.loads((VECTORS / "x402_headers.json").read_text())
    official = json.loads((VECTORS / "official_client.json").read_text())

    # payment_required: "<header>\n<body>", empty first line = no header.
    write("payment_required", headers["payment_required"]["header_PAYMENT_REQUIRED"] + "\n{}")
    for case in official["cases"]:
        required = case["payment_required"]
        if required["x402Version"] == 2:
            write("payment_required", b64(compact(required)) + "\n")
            write("payment_required", "\n" + compact(required))  # refused: v2 body alone
            with_nulls = json.loads(compact(required))
            with_nulls["error"] = None
            with_nulls["extensions"] = {"bazaar": {"info": {}, "schema": {}}}
            with_nulls["accepts"][0]["extra"] = None
            with_nulls["accepts"].append(dict(required["accepts"][0], scheme="upto", amount="1"))
            write("payment_required", b64(compact(with_nulls)) + "\n")
            write("payment_required", "!" + compact(with_nulls) + "\n")
            write("payment_required", "!" + compact(required) + "\n")
            write("payment_required", "!" + compact(headers["payment_required"]["json"]) + "\n")
        else:
            write("payment_required", "\n" + compact(required))
            write("payment_required", "garbage\n" + compact(required))

    # payment_header: header values and the JSON they carry.
    write("payment_header", headers["payment_payload"]["header_PAYMENT_SIGNATURE"])
    write("payment_header", compact(headers["payment_payload"]["json"]))
    for case in official["cases"]:
        for value in case["headers"].values():
            write("payment_header", value)
        write("payment_header", compact(case["payment_payload"]))

    # settle_response: PAYMENT-RESPONSE values, settle and verify bodies.
    write("settle_response", headers["settlement_response"]["header_PAYMENT_RESPONSE"])
    write("settle_response", compact(headers["settlement_response"]["json"]))
    write("settle_response", compact({"success": False, "errorReason": "insufficient_funds",
                                      "transaction": "", "network": "eip155:84532"}))
    write("settle_response", compact({"success": True, "transaction": "", "network": "eip155:84532",
                                      "amount": "900", "extra": {"chargedAmount": "900",
                                      "channelState": {"channelId": "0x01", "balance": "5000"}}}))
    write("settle_response", compact({"isValid": False, "invalidReason": "invalid_exact_evm_signature",
                                      "payer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks a running credithub node's answers against docs/openapi.json, as a client
that is not ours would: every answer is validated by openapi-core (status, content
type, body schema), whatever its status.

    check.py BASE_URL CERT KEY CA --role client|public|auditor --company USCC
             [--person ID --purpose TEXT] [--name FRAGMENT] [--metrics URL]

BASE_URL is the read API (https://localhost:PORT); CERT and KEY the caller's client
certificate and key (PEM), CA the federation CA. The routes are asked as the role's
audience allows: what the role may not read must be refused with 403. Prints one line
per request and `N passed, N failed`; exits 1 when any answer does not conform.
"""

import argparse
import json
import pathlib
import sys

import requests
from jsonschema import Draft202012Validator
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
AUDIENCES = {"client": "government", "public": "public", "auditor": "auditor"}


def load_spec(base, metrics):
    """The document, its servers pointed at the node under test."""
    doc = json.loads(SPEC.read_text(encoding="utf-8"))
    doc["servers"] = [{"url": base}]
    for item in doc["paths"].values():
        if "servers" in item:
            item["servers"] = [{"url": metrics or "http://127.0.0.1:9100"}]
    return doc


def error_validator(doc):
    """A validator of the Error schema, for answers of routes the document cannot
    name (a 404 of an unknown path)."""
    registry = Registry().with_resource("urn:openapi", Resource.from_contents(doc, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": "urn:openapi#/components/schemas/Error"}, registry=registry)


class Checker:
    """Sends requests and validates each answer."""

    def __init__(self, args):
        self.args = args
        doc = load_spec(args.base, args.metrics)
        # The OpenMetrics text format is text, as text/plain is.
        text = {"application/openmetrics-text": lambda data, **parameters: data.decode(parameters.get("charset", "utf-8"))}
        self.openapi = OpenAPI.from_dict(doc, config=Config(extra_media_type_deserializers=text))
        self.error_schema = error_validator(doc)
        self.session = requests.Session()
        # Only what the command line says: no CA bundle or proxy from the environment
        # (REQUESTS_CA_BUNDLE would otherwise replace the federation CA).
        self.session.trust_env = False
        self.session.cert = (args.cert, args.key)
        self.session.verify = args.ca
        self.passed = 0
        self.failed = 0

    def get(self, path, params=None, expect=200, documented=True, base=None, check=None):
        url = (base or self.args.base) + path
        try:
            response = self.session.get(url, params=params or {}, timeout=30)
        except requests.RequestException as e:
            return self.fail(path, params, f"no answer: {e}")
        problems = []
        if response.status_code != expect:
            problems.append(f"status {response.status_code}, expected {expect}: {response.text[:300]}")
        if documented:
            try:
                self.openapi.validate_response(
                    RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
                )
            except Exception as e:  # openapi-core raises one of many validation errors
                problems.append(f"does not conform: {e!r} {getattr(e, '__cause__', '')!r}"[:1500])
        else:
            try:
                errors = [e.message for e in self.error_schema.iter_errors(response.json())]
            except ValueError:
                errors = ["not JSON"]
            if errors:
                problems.append(f"error answer does not conform: {errors}")
        if not problems and check is not None:
            why = check(response)
            if why:
                problems.append(why)
        if problems:
            return self.fail(path, params, "; ".join(problems))
        self.passed += 1
        print(f"ok   {expect} GET {path} {params or ''}")
        return response

    def fail(self, path, params, why):
        self.failed += 1
        print(f"FAIL GET {path} {params or ''}: {why}")
        return None


def masked(response):
    """For readers who may not see personal numbers: the person's number is masked."""
    for r in response.json().get("records", []):
        if "*" not in r["subject_id"]:
            return f"personal number shown in full: {r['subject_id']}"
    return None


def run(args):
    c = Checker(args)
    role, audience = args.role, AUDIENCES[args.role]
    company = f"/v1/subjects/{args.company}"
    c.get(f"{company}/records")
    c.get(f"{company}/records", {"audience": audience})
    c.get(f"{company}/records", {"audience": "public", "fresh": "true"})
    c.get(f"{company}/records", {"audience": "auditor"}, expect=200 if role == "auditor" else 403)
    c.get(f"{company}/records", {"audience": "everyone"}, expect=400)
    c.get("/v1/subjects/123/records", expect=400)
    c.get(f"{company}/measures")
    c.get(f"{company}/measures", {"action": "government-procurement"})
    c.get(f"{company}/measures", {"action": "no-such-action"}, expect=400)
    c.get(f"{company}/report")
    c.get(f"{company}/report", {"format": "text"})
    if args.person:
        person = f"/v1/subjects/{args.person}"
        c.get(f"{person}/records", expect=400)
        c.get(f"{person}/records", {"purpose": args.purpose},
              check=None if role == "auditor" else masked)
        c.get(f"{person}/measures", {"purpose": args.purpose})
        c.get(f"{person}/report", {"purpose": args.purpose})
    if args.name:
        c.get("/v1/search", {"name": args.name})
        c.get("/v1/search", {"name": args.name, "page": "2", "per_page": "1"})
    c.get("/v1/search", expect=400)
    c.get("/v1/search", {"name": "示"}, expect=400)
    c.get("/v1/search", {"name": "示例", "page": "x"}, expect=400)

    def paged(response):
        body = response.json()
        if body["more"] != (body["next_after"] is not None):
            return "more and next_after disagree"
        return None

    for name in ("red-list", "black-list", "dishonest-debtors"):
        first = c.get(f"/v1/lists/{name}", check=paged)
        c.get(f"/v1/lists/{name}", {"per_page": "1"}, check=paged)
        page = c.get(f"/v1/lists/{name}", {"per_page": "1", "page": "2"}, check=paged)
        c.get(f"/v1/lists/{name}", {"origin": "32", "since": "2000-01-01", "until": "2100-12-31"})
        c.get(f"/v1/lists/{name}", {"audience": "auditor"}, expect=200 if role == "auditor" else 403)
        if first is not None and page is not None:
            after = first.json()["entries"][:1]
            if after:
                c.get(f"/v1/lists/{name}", {"per_page": "1", "after": after[0]["key"]})
    c.get("/v1/lists/black-list", {"per_page": "0"}, expect=400)
    c.get("/v1/lists/black-list", {"per_page": "101"}, expect=400)
    c.get("/v1/lists/black-list", {"page": "0"}, expect=400)
    c.get("/v1/lists/black-list", {"page": "9999"}, expect=400)
    c.get("/v1/lists/black-list", {"origin": "3"}, expect=400)
    c.get("/v1/lists/black-list", {"origin": "990000"}, expect=400)
    c.get("/v1/lists/black-list", {"since": "2025-02-30"}, expect=400)
    c.get("/v1/lists/black-list", {"since": "2025-02-01", "until": "2025-01-01"}, expect=400)
    c.get("/v1/lists/black-list", {"after": "not-a-key"}, expect=400)
    def in_order(response):
        body = response.json()
        seqs = [e["seq"] for e in body["events"]]
        if seqs != sorted(seqs) or any(s > body["next"] for s in seqs):
            return f"events out of order or past next: {seqs} next {body['next']}"
        for e in body["events"]:
            if (e["op"] == "put") != (e["record"] is not None):
                return f"event {e['seq']}: op {e['op']} with record {e['record'] is not None}"
        return None

    first = c.get("/v1/changes", check=in_order)
    c.get("/v1/changes", {"limit": "2", "kinds": "penalty,black-list"}, check=in_order)
    if first is not None:
        c.get("/v1/changes", {"since": str(first.json()["next"]), "wait": "1"}, check=in_order)
    c.get("/v1/changes", {"audience": "auditor"}, expect=200 if role == "auditor" else 403)
    c.get("/v1/changes", {"since": "-1"}, expect=400)
    c.get("/v1/changes", {"kinds": "fines"}, expect=400)
    c.get("/v1/changes", {"limit": "0"}, expect=400)
    c.get("/v1/changes", {"wait": "600"}, expect=400)
    c.get("/v1/lists/grey-list", expect=404)
    c.get("/v1/nothing", expect=404, documented=False)
    c.get(f"{company}/history", expect=404, documented=False)
    if args.metrics:
        def families(response):
            for family in ("credithub_records", "credithub_ready 1", "credithub_api_requests_total"):
                if family not in response.text:
                    return f"{family} missing from the metrics"
            return None
        c.get("/metrics", base=args.metrics, check=families)
        c.get("/health", base=args.metrics)
        c.get("/health", {"ready": "1"}, base=args.metrics)
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", help="the read API, https://localhost:PORT")
    p.add_argument("cert", help="the caller's certificate (PEM)")
    p.add_argument("key", help="the caller's private key (PEM)")
    p.add_argument("ca", help="the federation CA certificate (PEM)")
    p.add_argument("--role", required=True, choices=sorted(AUDIENCES), help="the certificate's role")
    p.add_argument("--company", required=True, help="a company's USCC with records at the node")
    p.add_argument("--person", help="a natural person's number with records at the node")
    p.add_argument("--purpose", default="核查", help="the purpose stated for the person")
    p.add_argument("--name", help="a fragment of a name held at the node")
    p.add_argument("--metrics", help="the operators' endpoint, http://127.0.0.1:PORT")
    sys.exit(run(p.parse_args()))


if __name__ == "__main__":
    main()

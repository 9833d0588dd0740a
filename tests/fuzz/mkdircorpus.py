#!/usr/bin/env python3
"""mkdircorpus.py — writes the named seeds of fuzz_directory: small valid
directories cut out of data/demo-county.json (a few communities with only the
teams, squads, plans, terminals and companies they refer to), and broken
variants of them, one fault each.

    tests/fuzz/mkdircorpus.py [DEMO_JSON] OUT_DIR

Each seed is named seed-*.json (must load) or bad-*.json (must be refused);
fuzz_directory prints nothing for either, so check a new seed by hand with
`build/fuzz/fuzz_directory -runs=0 FILE` (see README.md). Rerun this after a
change to the directory format, then `make fuzz-merge`.
"""
import copy
import json
import os
import sys


def trim(demo, communities, grids_per=2, compounds_per=2, squads_per=3, terminals_max=3,
         categories_per=2, members_max=1):
    """The part of demo that concerns the given communities, still valid."""
    d = {"version": demo["version"], "county": demo["county"]}
    cats = {k: v[:categories_per] for k, v in demo["categories"].items()}
    # Keep one claimable request category, so that claims are routed.
    if not any(c.get("claimable") for c in cats["request"]):
        cats["request"] += [c for c in demo["categories"]["request"] if c.get("claimable")][:1]
    alert_ids = {c["id"] for c in cats["alert"]}
    # Plans name categories; keep the alert categories the kept plans need.
    comms = []
    for c in demo["communities"]:
        if c["id"] not in communities:
            continue
        c = copy.deepcopy(c)
        c["grids"] = c["grids"][:grids_per]
        grid_ids = {g["id"] for g in c["grids"]}
        kept, models = [], set()
        # Prefer one compound of each model, then fill up.
        for cp in c["compounds"]:
            if cp["grid"] in grid_ids and cp["model"] not in models:
                kept.append(cp)
                models.add(cp["model"])
        for cp in c["compounds"]:
            if cp["grid"] in grid_ids and cp not in kept and len(kept) < compounds_per:
                kept.append(cp)
        c["compounds"] = kept[:max(compounds_per, len(models))]
        comms.append(c)
    d["categories"] = cats
    d["communities"] = comms
    grid_ids = {g["id"] for c in comms for g in c["grids"]}
    compound_ids = {cp["id"] for c in comms for cp in c["compounds"]}

    squads = []
    per = {}
    claim = {t for c in comms for t in c.get("claim_teams", [])}
    for s in demo["squads"]:
        if s.get("community") not in communities:
            continue
        n = per.get(s["community"], 0)
        if n < squads_per or s["team"] in claim:
            squads.append(s)
            per[s["community"]] = n + 1
    squad_teams = {s["team"] for s in squads}
    for c in comms:
        if "claim_teams" in c:
            c["claim_teams"] = [t for t in c["claim_teams"] if t in squad_teams]

    plans = []
    for p in demo["plans"]:
        if p["category"] not in alert_ids:
            continue
        if p["scope"] == "community" and p["community"] not in communities:
            continue
        if p["scope"] == "grid" and p["grid"] not in grid_ids:
            continue
        p = copy.deepcopy(p)
        p["steps"] = [st for st in p["steps"] if st["team"] in squad_teams]
        if p["steps"]:
            plans.append(p)

    props = {cp.get("property") for c in comms for cp in c["compounds"]}
    companies = [pc for pc in demo["property_companies"] if pc["id"] in props]
    owners = [o for o in demo["owners_committees"] if o["compound"] in compound_ids]
    terminals = [t for t in demo["terminals"]
                 if t.get("community") in communities or t.get("grid") in grid_ids][:terminals_max]

    used = {"county-triage", "county-coordinators"}
    for c in comms:
        used |= {c["office"], c["duty"], c["branch"]}
        used |= {g["team"] for g in c["grids"]}
        used |= {cp["custodian"] for cp in c["compounds"] if cp.get("custodian")}
    used |= {pc["team"] for pc in companies}
    used |= {o["team"] for o in owners}
    used |= squad_teams
    teams = []
    for t in demo["teams"]:
        if t["id"] in used:
            t = dict(t)
            if "members" in t:
                t["members"] = t["members"][:members_max]
            teams.append(t)

    d["teams"] = teams
    d["property_companies"] = companies
    d["owners_committees"] = owners
    d["squads"] = squads
    d["plans"] = plans
    d["terminals"] = terminals
    order = ["version", "county", "teams", "categories", "communities", "property_companies",
             "owners_committees", "squads", "plans", "terminals"]
    return {k: d[k] for k in order if d.get(k) or k in ("teams", "communities")}


def dump(obj, pretty=False):
    if pretty:
        return json.dumps(obj, ensure_ascii=False, indent=1) + "\n"
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def main():
    args = sys.argv[1:]
    if len(args) == 1:
        here = os.path.dirname(os.path.abspath(__file__))
        args.insert(0, os.path.join(here, "..", "..", "data", "demo-county.json"))
    if len(args) != 2:
        sys.exit(__doc__)
    demo = json.load(open(args[0], encoding="utf-8"))
    out = args[1]
    os.makedirs(out, exist_ok=True)
    seeds = {}

    def put(name, text):
        seeds[name] = text.encode("utf-8") if isinstance(text, str) else text

    minimal = {"version": 1, "county": {"id": "c", "name": "C"},
               "teams": [{"id": "county-triage", "name": "T", "kind": "triage"},
                         {"id": "county-coordinators", "name": "K", "kind": "coordinators"}],
               "categories": {"request": [], "alert": [], "feedback": []},
               "communities": []}
    put("seed-minimal.json", dump(minimal, True))
    one = trim(demo, {"heping"}, grids_per=1, compounds_per=1, squads_per=2, terminals_max=2)
    put("seed-heping-one.json", dump(one))
    put("seed-heping.json", dump(trim(demo, {"heping"}, grids_per=3, categories_per=3)))
    put("seed-yuhuangge.json", dump(trim(demo, {"yuhuangge"}, compounds_per=3, categories_per=4)))
    two = trim(demo, {"xijie", "taixi"}, grids_per=1, compounds_per=3, squads_per=2)
    put("seed-xijie-taixi.json", dump(two))
    anju = trim(demo, {"anju"}, squads_per=0, terminals_max=0, categories_per=1)
    put("seed-anju-bare.json", dump(anju))

    # One fault each, on top of a valid seed.
    text = dump(one)

    def bad(name, obj):
        put("bad-" + name + ".json", dump(obj) if not isinstance(obj, (str, bytes)) else obj)

    def edit(fn, base=one):
        o = copy.deepcopy(base)
        fn(o)
        return o

    bad("truncated", text[: len(text) * 2 // 3])
    bad("trailing", text + "{}")
    bad("top-array", "[" + text + "]")
    bad("dup-key", text.replace('"version":1,', '"version":1,"version":1,', 1))
    bad("invalid-utf8", text.encode("utf-8").replace(b'"name":"', b'"name":"\xc3\x28', 1))
    bad("nul-name", text.replace('"name":"', '"name":"\\u0000', 1))
    bad("huge-int", text.replace('"version":1', '"version":123456789012345678901234567890', 1))
    bad("float-int", edit(lambda o: o["communities"][0].__setitem__("stars", 5.0)))
    bad("version-2", edit(lambda o: o.__setitem__("version", 2)))
    bad("unknown-key", edit(lambda o: o["communities"][0].__setitem__("comunity", "x")))
    bad("no-coordinators", edit(lambda o: o.__setitem__(
        "teams", [t for t in o["teams"] if t["id"] != "county-coordinators"])))
    bad("dup-team", edit(lambda o: o["teams"].append(dict(o["teams"][0]))))
    bad("grid-team-kind", edit(lambda o: o["communities"][0]["grids"][0].__setitem__(
        "team", o["communities"][0]["office"])))
    bad("unknown-team", edit(lambda o: o["communities"][0].__setitem__("duty", "nobody")))
    bad("not-slug", edit(lambda o: o["communities"][0].__setitem__("id", "he ping")))
    bad("long-id", edit(lambda o: o["county"].__setitem__("id", "x" * 65)))
    bad("plan-no-steps", edit(lambda o: o["plans"][0].__setitem__("steps", [])))
    bad("plan-dup-step", edit(lambda o: o["plans"][0]["steps"].append(o["plans"][0]["steps"][0])))
    bad("claim-emergency", edit(lambda o: o["communities"][0].__setitem__(
        "claim_teams", [s["team"] for s in o["squads"] if s["kind"] == "emergency"][:1])))
    bad("terminal-both", edit(lambda o: o["terminals"][0].update(
        {"grid": o["communities"][0]["grids"][0]["id"], "community": o["communities"][0]["id"]})))
    bad("custodian-on-property", edit(lambda o: o["communities"][0]["compounds"][0].__setitem__(
        "custodian", "county-triage")))
    bad("remind-late", edit(lambda o: o["categories"]["request"][0].update(
        {"resolve_within_s": 3600, "remind_before_s": 3600})))
    bad("lease-unclaimable", edit(lambda o: o["categories"]["alert"][0].update({"lease_s": 60})))
    bad("claimable-alert", edit(lambda o: o["categories"]["alert"][0].update({"claimable": True})))
    bad("dup-community", edit(lambda o: o["communities"].append(copy.deepcopy(o["communities"][0])),
                              anju))
    bad("dup-company", edit(lambda o: o["property_companies"].append(o["property_companies"][0])))
    bad("property-missing", edit(lambda o: o["communities"][0]["compounds"][0].pop("property")))
    bad("custodian-missing", edit(lambda o: [cp.pop("custodian") for cp in
                                             o["communities"][0]["compounds"]
                                             if cp["model"] == "custodial"],
                                  trim(demo, {"yuhuangge"}, compounds_per=3)))
    bad("red-branch", edit(lambda o: [cp.update({"red_property": True}) for cp in
                                      o["communities"][0]["compounds"]
                                      if cp["model"] == "branch"], anju))
    bad("claims-16", edit(lambda o: o["communities"][0].__setitem__(
        "claim_teams", ["t%d" % i for i in range(16)])))

    # The most claim teams a community may have: 15, beside its grid team.
    def many_claims(o):
        c = o["communities"][0]
        for i in range(15 - len(c["claim_teams"])):
            o["teams"].append({"id": "sq-x%d-team" % i, "name": "X", "kind": "squad"})
            o["squads"].append({"id": "sq-x%d" % i, "team": "sq-x%d-team" % i,
                                "community": c["id"], "kind": "service", "volunteers": 1})
            c["claim_teams"].append("sq-x%d-team" % i)
    put("seed-many-claims.json", dump(edit(many_claims)))
    bad("other-grid", edit(lambda o: o["communities"][0]["compounds"][0].__setitem__(
        "grid", o["communities"][1]["grids"][0]["id"]), two))
    # Comments are ignored however deep, but jansson stops at 2048 levels.
    deep = "[" * 100 + "]" * 100
    put("seed-deep-comment.json", text.replace('{"version":1', '{"_c":' + deep + ',"version":1', 1))
    bad("too-deep", "[" * 2100 + "]" * 2100)

    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("mkdircorpus: %d seeds in %s" % (len(seeds), out))


if __name__ == "__main__":
    main()

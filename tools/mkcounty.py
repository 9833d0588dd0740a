#!/usr/bin/env python3
"""mkcounty.py — generate data/demo-county.json, the demo directory.

The figures come from the seed report on Pingluo County (平罗县, Ningxia):
29 communities (7 five-star, 18 four-star, 4 three-star), 61 grid party
groups, 53 emergency-rescue volunteer squads (about 1160 volunteers),
51 owners' committees (261 members), 3 property companies with party
organisations, 12 "red property" compounds, 8 old compounds in custodial
care. data/README.md explains the mapping. The output is deterministic:
there is no randomness, so running this twice gives the same bytes.

Usage: tools/mkcounty.py [OUTPUT]   (default: data/demo-county.json next to
this script's parent directory)
"""
import json
import os
import sys

# (id, Chinese name, stars, grids, compounds). The first ten are named in the
# seed report; the other nineteen are invented, plausible names.
COMMUNITIES = [
    ("heping", "和平社区", 5, 3, 3),
    ("mingzhu", "明珠社区", 5, 2, 3),
    ("xinsheng", "鑫盛社区", 5, 2, 3),
    ("xijie", "西街社区", 5, 2, 3),
    ("xinshiji", "新世纪社区", 5, 3, 3),
    ("yinmahu", "饮马湖社区", 5, 3, 3),
    ("mingyue", "明月社区", 5, 2, 3),
    ("yuhuangge", "玉皇阁社区", 4, 2, 4),
    ("taixi", "太西社区", 4, 2, 3),
    ("kanghu", "康湖社区", 4, 2, 3),
    ("dongjie", "东街社区", 4, 2, 3),
    ("nanjie", "南街社区", 4, 2, 2),
    ("beijie", "北街社区", 4, 2, 2),
    ("gulou", "鼓楼社区", 4, 2, 2),
    ("shahu", "沙湖社区", 4, 2, 2),
    ("tanglai", "唐徕社区", 4, 2, 2),
    ("changrun", "昌润社区", 4, 2, 2),
    ("xingping", "兴平社区", 4, 2, 2),
    ("zhenxing", "振兴社区", 4, 2, 2),
    ("wenyuan", "文苑社区", 4, 2, 2),
    ("lijing", "丽景社区", 4, 2, 2),
    ("huimin", "惠民社区", 4, 2, 2),
    ("minle", "民乐社区", 4, 2, 2),
    ("tuanjie", "团结社区", 4, 2, 2),
    ("yangguang", "阳光社区", 4, 2, 2),
    ("anju", "安居社区", 3, 2, 2),
    ("jinshui", "金水社区", 3, 2, 2),
    ("xinghai", "星海社区", 3, 2, 2),
    ("xingfu", "幸福社区", 3, 2, 2),
]

# Compounds without a property company, per community: (custodial, branch).
# 玉皇阁社区 is where the report's "物业专项服务托管" model started.
NO_PROPERTY = {
    "yuhuangge": (3, 1), "xijie": (1, 0), "dongjie": (1, 0), "nanjie": (1, 0),
    "beijie": (1, 0), "gulou": (1, 0),
    "taixi": (0, 1), "tanglai": (0, 1), "changrun": (0, 1), "minle": (0, 1),
    "tuanjie": (0, 1), "anju": (0, 2), "jinshui": (0, 2), "xinghai": (0, 2),
    "xingfu": (0, 2),
}
CUSTODIAN_SOUTH = {"xijie", "dongjie", "nanjie"}

# Red-property compounds per community (the first N with a property company).
# 饮马湖社区 "红色物业扩规增面", 新世纪社区 three-party cross appointments.
RED_PROPERTY = {"yinmahu": 3, "xinshiji": 3, "mingzhu": 1, "heping": 1,
                "xinsheng": 1, "mingyue": 1, "kanghu": 1, "taixi": 1}

# Branch-led compounds that also elected a "red owners' committee".
RED_OWNERS = {"taixi", "tanglai", "changrun"}

PROPERTY_COMPANIES = [
    ("pc-anhe", "平罗县安和物业服务有限公司"),
    ("pc-huize", "平罗县惠泽物业服务有限公司"),
    ("pc-shahu", "平罗县沙湖物业服务有限公司"),
]

# Communities with a single emergency squad; every other one has two.
ONE_RESCUE_SQUAD = {"kanghu", "anju", "jinshui", "xinghai", "xingfu"}

CN_NUM = "一二三四五六七八九十"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["建国", "秀英", "志强", "海燕", "军", "丽", "伟", "芳", "磊", "敏", "静", "强",
         "洋", "艳", "勇", "娟", "杰", "霞", "涛", "明", "超", "玲", "斌", "红梅",
         "建华", "玉兰", "国庆", "文华", "春花", "卫东", "小龙", "雪梅", "金山",
         "翠兰", "宏伟", "淑珍", "振华", "桂英", "晓东", "永红", "德福"]

_name_no = [0]


def person():
    """A fictional name; deterministic because it only counts up."""
    n = _name_no[0]
    _name_no[0] += 1
    return SURNAMES[(n * 7) % len(SURNAMES)] + GIVEN[(n * 11) % len(GIVEN)]


def team(tid, name, kind, members=None):
    t = {"id": tid, "name": name, "kind": kind}
    if members:
        t["members"] = members
    return t


def build():
    teams = [
        team("county-triage", "平罗县网格化服务管理中心受理台", "triage",
             ["受理员 " + person() for _ in range(3)]),
        team("county-coordinators", "平罗县应急处置协调组", "coordinators",
             ["县应急管理局 " + person(), "县消防救援大队 " + person(),
              "县公安局指挥中心 " + person(), "城关镇应急办 " + person()]),
        team("custodian-north", "城北片区老旧小区托管服务队", "custodian",
             ["托管服务员 " + person() for _ in range(3)]),
        team("custodian-south", "城南片区老旧小区托管服务队", "custodian",
             ["托管服务员 " + person() for _ in range(3)]),
    ]
    for pid, pname in PROPERTY_COMPANIES:
        teams.append(team(pid + "-team", pname + "客服部", "property",
                          ["物业管家 " + person() for _ in range(3)]))

    communities, squads, owners, plans, terminals = [], [], [], [], []
    property_compounds = []  # (compound id, grid id) in order, for the desks
    pc_turn = 0

    for ci, (cid, cname, stars, ngrids, ncompounds) in enumerate(COMMUNITIES):
        office, duty, branch = cid + "-office", cid + "-duty", cid + "-branch"
        teams.append(team(office, cname + "党群服务中心", "community",
                          ["社区书记 " + person(), "社区工作者 " + person()]))
        teams.append(team(duty, cname + "应急值班", "duty",
                          ["值班社区干部 " + person(), "值班社区干部 " + person()]))
        teams.append(team(branch, cname + "小区党支部领办组", "branch",
                          ["小区党支部书记 " + person()]))

        grids = []
        for g in range(ngrids):
            gid = "%s-g%d" % (cid, g + 1)
            # "1+4+X": grid worker, community police, firefighter, community
            # worker, plus compound volunteers and party members.
            teams.append(team(gid + "-team", "%s第%s网格“1+4+X”队伍" % (cname, CN_NUM[g]),
                              "grid",
                              ["网格员 " + person(), "社区民警 " + person(),
                               "消防员 " + person(), "社区工作者 " + person(),
                               "小区志愿者 " + person(), "党员中心户 " + person()]))
            grids.append({"id": gid, "name": "%s第%s网格党小组" % (cname, CN_NUM[g]),
                          "team": gid + "-team"})

        custodial, branch_led = NO_PROPERTY.get(cid, (0, 0))
        red_left = RED_PROPERTY.get(cid, 0)
        compounds = []
        for k in range(ncompounds):
            kid = "%s-c%d" % (cid, k + 1)
            grid = grids[k % ngrids]["id"]
            c = {"id": kid, "name": "%s第%s小区" % (cname, CN_NUM[k]), "grid": grid}
            if k < custodial:
                c["name"] = "%s老旧小区%s号院" % (cname, CN_NUM[k])
                c["model"] = "custodial"
                c["custodian"] = ("custodian-south" if cid in CUSTODIAN_SOUTH
                                  else "custodian-north")
            elif k < custodial + branch_led:
                c["name"] = "%s无物业小区%s" % (cname, CN_NUM[k])
                c["model"] = "branch"
                if cid in RED_OWNERS:
                    owners.append((kid, 5))
            else:
                pid = PROPERTY_COMPANIES[pc_turn % len(PROPERTY_COMPANIES)][0]
                pc_turn += 1
                c["model"] = "property"
                c["property"] = pid
                if red_left > 0:
                    c["red_property"] = True
                    red_left -= 1
                # 饮马湖社区's "five-party" councils are larger.
                owners.append((kid, 7 if cid == "yinmahu" else 5))
                property_compounds.append((kid, grid, pid))
            compounds.append(c)

        # Emergency-rescue squads, then the two service squads that claim
        # micro-wishes: "red vest" volunteers and in-service party members.
        nrescue = 1 if cid in ONE_RESCUE_SQUAD else 2
        for r in range(nrescue):
            sid = "sq-%s-rescue-%d" % (cid, r + 1)
            teams.append(team(sid + "-team", "%s应急救援志愿者%s队" % (cname, CN_NUM[r]),
                              "squad", ["队长 " + person()]))
            skills = ["first-aid", "evacuation"]
            skills += [["fire"], ["gas-safety"], ["water-rescue"], ["patrol"]][(ci + r) % 4]
            squads.append({"id": sid, "name": "%s应急救援志愿者%s队" % (cname, CN_NUM[r]),
                           "team": sid + "-team", "community": cid, "kind": "emergency",
                           "skills": skills, "volunteers": 0})
        claim = []
        for sfx, label, skills in (("redvest", "“红马甲”志愿服务队", ["mediation", "eldercare", "errands"]),
                                   ("party", "在职党员服务队", ["micro-wish", "service-post"])):
            sid = "sq-%s-%s" % (cid, sfx)
            teams.append(team(sid + "-team", cname + label, "squad", ["队长 " + person()]))
            squads.append({"id": sid, "name": cname + label, "team": sid + "-team",
                           "community": cid, "kind": "service", "skills": skills,
                           "volunteers": 0})
            claim.append(sid + "-team")

        communities.append({"id": cid, "name": cname, "stars": stars, "office": office,
                            "duty": duty, "branch": branch, "claim_teams": claim,
                            "grids": grids, "compounds": compounds})

        terminals.append({"id": cid + "-desk", "name": cname + "服务大厅电脑",
                          "kind": "service-desk", "community": cid})
        for g in grids:
            terminals.append({"id": g["id"] + "-phone", "name": g["name"] + "网格员手机",
                              "kind": "grid-phone", "grid": g["id"]})
        if cid == "heping":
            # 和平社区 "一键式呼叫系统": call boxes in elderly residents' homes.
            for b in range(12):
                terminals.append({"id": "heping-callbox-%02d" % (b + 1),
                                  "name": "和平社区一键式呼叫器%02d号（独居老人家中）" % (b + 1),
                                  "kind": "call-box", "grid": grids[b % ngrids]["id"]})

    # Volunteers: emergency squads 17..27 each, summing to 1163 ("1160余人");
    # service squads: red vests 18..32, in-service party members 2117 in all
    # ("2100余名在职党员").
    rescue = [s for s in squads if s["kind"] == "emergency"]
    for i, s in enumerate(rescue):
        s["volunteers"] = 17 + (i * 5) % 11
    rescue[-1]["volunteers"] += 1163 - sum(s["volunteers"] for s in rescue)
    redvest = [s for s in squads if s["id"].endswith("-redvest")]
    for i, s in enumerate(redvest):
        s["volunteers"] = 18 + (i * 3) % 15
    party = [s for s in squads if s["id"].endswith("-party")]
    for i, s in enumerate(party):
        s["volunteers"] = 60 + (i * 13) % 27
    party[-1]["volunteers"] += 2117 - sum(s["volunteers"] for s in party)

    property_companies = [{"id": pid, "name": pname, "team": pid + "-team"}
                          for pid, pname in PROPERTY_COMPANIES]
    names = {c["id"]: c["name"] for cm in communities for c in cm["compounds"]}
    owners_committees = []
    for kid, members in owners:
        oid = "oc-" + kid
        teams.append(team(oid + "-team", names[kid] + "业主委员会", "owners",
                          ["业委会主任 " + person()]))
        owners_committees.append({"id": oid, "compound": kid, "members": members,
                                  "team": oid + "-team"})

    for pid, _ in PROPERTY_COMPANIES:
        kid, grid, _ = next(p for p in property_compounds if p[2] == pid)
        terminals.append({"id": pid + "-desk", "name": names[kid] + "物业服务台",
                          "kind": "property-desk", "grid": grid})

    # Response plans. County defaults draw on the squads of the town centre;
    # every community has its own fire plan ("一社(网格)一策"), five-star
    # communities a medical plan too, and some grids a plan for their risk.
    def rescue_team(cid, n=1):
        return "sq-%s-rescue-%d-team" % (cid, n)

    def steps(*pairs):
        return [{"team": t, "ack_within_s": s} for t, s in pairs]

    county_steps = {
        "fire": steps((rescue_team("gulou"), 120), (rescue_team("xijie"), 180),
                      (rescue_team("heping", 2), 300)),
        "medical": steps((rescue_team("heping"), 90), (rescue_team("mingzhu"), 180)),
        "fall": steps((rescue_team("heping"), 90), (rescue_team("xinsheng"), 180)),
        "gas": steps((rescue_team("dongjie"), 90), (rescue_team("nanjie"), 180),
                     (rescue_team("gulou", 2), 300)),
        "flood": steps((rescue_team("yinmahu"), 120), (rescue_team("shahu"), 240)),
        "security": steps((rescue_team("beijie"), 120), (rescue_team("gulou"), 240)),
    }
    for cat, st in county_steps.items():
        plans.append({"id": "plan-county-" + cat, "scope": "county", "category": cat,
                      "steps": st})
    n = len(COMMUNITIES)
    for ci, (cid, _, stars, _, _) in enumerate(COMMUNITIES):
        neighbour = COMMUNITIES[(ci + 1) % n][0]
        own = [rescue_team(cid)]
        if cid not in ONE_RESCUE_SQUAD:
            own.append(rescue_team(cid, 2))
        fire = [(own[0], 60)] + ([(own[1], 120)] if len(own) > 1 else [])
        fire.append((rescue_team(neighbour), 240))
        plans.append({"id": "plan-%s-fire" % cid, "scope": "community", "community": cid,
                      "category": "fire", "steps": steps(*fire)})
        if stars == 5:
            plans.append({"id": "plan-%s-medical" % cid, "scope": "community",
                          "community": cid, "category": "medical",
                          "steps": steps((own[-1], 60), (own[0], 120))})
    for g in range(3):
        # The call boxes' grids: the nearest squad first, fast.
        gid = "heping-g%d" % (g + 1)
        first = rescue_team("heping", 1 + g % 2)
        second = rescue_team("heping", 2 - g % 2)
        plans.append({"id": "plan-%s-fall" % gid, "scope": "grid", "grid": gid,
                      "category": "fall", "steps": steps((first, 45), (second, 90),
                                                         (rescue_team("xinsheng"), 180))})
    for gid in ("yinmahu-g1", "yinmahu-g2"):
        plans.append({"id": "plan-%s-flood" % gid, "scope": "grid", "grid": gid,
                      "category": "flood",
                      "steps": steps((rescue_team("yinmahu", 2), 60),
                                     (rescue_team("yinmahu"), 120))})
    for gid in ("yuhuangge-g1", "yuhuangge-g2"):
        plans.append({"id": "plan-%s-gas" % gid, "scope": "grid", "grid": gid,
                      "category": "gas",
                      "steps": steps((rescue_team("yuhuangge"), 60),
                                     (rescue_team("yuhuangge", 2), 120),
                                     (rescue_team("dongjie"), 240))})

    # Time limits in the spirit of the 12345 hotline rules (签收时限 / 办结时限):
    # sign-for within minutes to an hour, resolve within a day to a month, a
    # reminder before due; claims on micro-wishes and service orders hold a
    # lease. Seconds. Alerts are timed by their response plans instead.
    H, D = 3600, 86400
    POLICY = {
        "repair": (1800, 2 * D, 4 * H, None), "dispute": (H, 7 * D, D, None),
        "eldercare": (1800, D, 4 * H, None), "paperwork": (H, 5 * D, D, None),
        "micro-wish": (None, 30 * D, 3 * D, 7 * D), "service-order": (None, 14 * D, 2 * D, 3 * D),
        "daily-help": (None, 3 * D, 12 * H, D), "environment": (H, 3 * D, 12 * H, None),
        "consultation": (H, 2 * D, 4 * H, None),
        "elevator": (1800, D, 4 * H, None), "leak": (H, 3 * D, 12 * H, None),
        "parking": (H, 7 * D, D, None), "cleaning": (H, 2 * D, 6 * H, None),
        "fees": (H, 7 * D, D, None), "property-staff": (H, 3 * D, 12 * H, None),
    }

    def cats(items, claimable=()):
        out = []
        for i, nm in items:
            c = {"id": i, "name": nm}
            if i in claimable:
                c["claimable"] = True
            for key, value in zip(("sign_within_s", "resolve_within_s", "remind_before_s",
                                   "lease_s"), POLICY.get(i, ())):
                if value:
                    c[key] = value
            out.append(c)
        return out

    categories = {
        "request": cats([("repair", "报修"), ("dispute", "矛盾纠纷调解"),
                         ("eldercare", "助老服务"), ("paperwork", "证明与办事"),
                         ("micro-wish", "微心愿"), ("service-order", "订单式服务"),
                         ("daily-help", "生活帮办"), ("environment", "环境卫生"),
                         ("consultation", "政策咨询")],
                        claimable={"micro-wish", "service-order", "daily-help"}),
        "alert": cats([("fire", "火情"), ("medical", "急病"), ("fall", "跌倒 / 一键呼叫"),
                       ("gas", "燃气泄漏"), ("flood", "汛情内涝"), ("security", "治安")]),
        "feedback": cats([("elevator", "电梯"), ("leak", "漏水"), ("parking", "停车"),
                          ("cleaning", "保洁"), ("fees", "物业收费"),
                          ("property-staff", "物业人员")]),
    }

    return {
        "_comment": "Generated by tools/mkcounty.py from the seed report; edit the "
                    "script, not this file. Format: data/README.md.",
        "version": 1,
        "county": {"id": "pingluo", "name": "平罗县",
                   "region": "宁夏回族自治区石嘴山市"},
        "categories": categories,
        "teams": teams,
        "communities": communities,
        "property_companies": property_companies,
        "owners_committees": owners_committees,
        "squads": squads,
        "plans": plans,
        "terminals": terminals,
    }


def is_scalar(v):
    return not isinstance(v, (dict, list))


def dump(v, indent=0):
    """JSON with one line per leaf object (a team, a grid, a terminal), so the
    file reads as a table and diffs stay small."""
    if is_scalar(v):
        return json.dumps(v, ensure_ascii=False)
    if all(is_scalar(x) or (isinstance(x, list) and all(map(is_scalar, x)))
           for x in (v.values() if isinstance(v, dict) else v)):
        return json.dumps(v, ensure_ascii=False)
    pad = " " * (indent + 1)
    if isinstance(v, dict):
        items = ["%s%s: %s" % (pad, json.dumps(k, ensure_ascii=False), dump(x, indent + 1))
                 for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + dump(x, indent + 1) for x in v]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "data",
                                                             "demo-county.json")
    doc = build()
    text = dump(doc) + "\n"
    assert json.loads(text) == doc
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(out + ".tmp", out)

    cms = doc["communities"]
    compounds = [c for cm in cms for c in cm["compounds"]]
    sq = doc["squads"]
    summary = {
        "communities": len(cms),
        "stars 5/4/3": [sum(1 for c in cms if c["stars"] == s) for s in (5, 4, 3)],
        "grids": sum(len(c["grids"]) for c in cms),
        "compounds": len(compounds),
        "property / branch / custodial": [sum(1 for c in compounds if c["model"] == m)
                                          for m in ("property", "branch", "custodial")],
        "red property": sum(1 for c in compounds if c.get("red_property")),
        "owners' committees (members)": [len(doc["owners_committees"]),
                                         sum(o["members"] for o in doc["owners_committees"])],
        "emergency squads (volunteers)": [
            sum(1 for s in sq if s["kind"] == "emergency"),
            sum(s["volunteers"] for s in sq if s["kind"] == "emergency")],
        "service squads (volunteers)": [
            sum(1 for s in sq if s["kind"] == "service"),
            sum(s["volunteers"] for s in sq if s["kind"] == "service")],
        "teams": len(doc["teams"]),
        "plans": len(doc["plans"]),
        "terminals": len(doc["terminals"]),
    }
    for k, v in summary.items():
        print("%-32s %s" % (k, v))


if __name__ == "__main__":
    main()

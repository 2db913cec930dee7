#!/usr/bin/python3
"""Out-of-scope figures of one `edgelm eval --report DIR` run, from its predictions.jsonl and the case file.

Prints, over the cases typed out_of_scope: how many got no call (the right answer where out-of-scope
requests expect none), and how many got a state-changing call: a call to any function but the
device's read-only queries (--read-only, default: the air purifier's get_* functions), the failure
that matters most. Also the overall functional success from report.json.

Usage: bench/oos_rates.py REPORT_DIR CASES.jsonl [--read-only get_air_quality,get_filter_status,get_wellness_tip]
"""
import argparse
import json
import os


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report_dir")
    ap.add_argument("cases")
    ap.add_argument("--read-only", default="get_air_quality,get_filter_status,get_wellness_tip")
    a = ap.parse_args()
    read_only = set(a.read_only.split(","))
    oos = set()
    with open(a.cases) as f:
        for line in f:
            if line.strip():
                c = json.loads(line)
                if "out_of_scope" in c.get("types", []):
                    oos.add(c["id"])
    n = no_call = changing = 0
    with open(os.path.join(a.report_dir, "predictions.jsonl")) as f:
        for line in f:
            p = json.loads(line)
            if p["id"] not in oos:
                continue
            n += 1
            calls = [c["name"] for c in p["calls"]]
            no_call += not calls
            changing += any(name not in read_only for name in calls)
    with open(os.path.join(a.report_dir, "report.json")) as f:
        overall = json.load(f)["overall"]
    print(json.dumps({"overall": overall, "out_of_scope": n, "no_call": no_call,
                      "no_call_rate": no_call / n if n else None, "state_changing_call": changing,
                      "state_changing_rate": changing / n if n else None}))


if __name__ == "__main__":
    main()

"""The peer side of bench/catalog-search: the same facet queries with pandas over the
intake-esm CSV, the way scientists query an intake-esm catalog locally (intake-esm keeps
the catalog as a pandas DataFrame read with pd.read_csv, and its search is boolean masks).

Load once, then per query: a boolean mask per constraint (== or isin, ~ for !=), the
subset, numFound, value_counts for each requested facet and the first 10 rows. Timed per
query with time.perf_counter. Run twice: with the default dtypes read_csv gives (object
columns: what intake-esm uses) and, for information, with every string column converted to
pandas' category dtype (a tuned DataFrame). Writes one JSON document to --out.
"""
import argparse
import json
import time

import pandas as pd


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def mask_of(df, q):
    m = None
    for col, vals in q["eq"].items():
        c = df[col] == vals[0] if len(vals) == 1 else df[col].isin(vals)
        m = c if m is None else m & c
    for col, vals in q["ne"].items():
        c = df[col] != vals[0] if len(vals) == 1 else ~df[col].isin(vals)
        m = c if m is None else m & c
    for col, want in q["flags"].items():
        c = df[col] == want
        m = c if m is None else m & c
    return m


def run(df, q):
    m = mask_of(df, q)
    sub = df[m] if m is not None else df
    n = len(sub)
    counts = {f: sub[f].value_counts() for f in q["facets"]}
    sub.head(10).to_dict("records")
    return n, counts


def results(df, queries):
    out = []
    for q in queries:
        n, counts = run(df, q)
        out.append({"numFound": int(n), "facets": {f: {str(k): int(v) for k, v in c.items() if v > 0} for f, c in counts.items()}})
    return out


def timed(df, queries, reps):
    for q in queries:  # warm-up
        run(df, q)
    times = [[] for _ in queries]
    for _ in range(reps):
        for i, q in enumerate(queries):
            t0 = time.perf_counter()
            run(df, q)
            times[i].append((time.perf_counter() - t0) * 1000)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-category", action="store_true")
    a = ap.parse_args()
    queries = json.load(open(a.queries))
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    df = pd.read_csv(a.csv)
    load_s = time.perf_counter() - t0
    doc = {
        "pandas_version": pd.__version__,
        "rows": len(df),
        "load_s": load_s,
        "df_memory_bytes": int(df.memory_usage(deep=True).sum()),
        "rss_delta_bytes": rss_bytes() - rss0,
        "object": {"times_ms": timed(df, queries, a.reps), "results": results(df, queries)},
    }
    if not a.no_category:
        t0 = time.perf_counter()
        dfc = df.copy()
        for col in dfc.columns:
            if dfc[col].dtype == object:
                dfc[col] = dfc[col].astype("category")
        doc["category_convert_s"] = time.perf_counter() - t0
        doc["category_memory_bytes"] = int(dfc.memory_usage(deep=True).sum())
        doc["category"] = {"times_ms": timed(dfc, queries, a.reps), "results": results(dfc, queries)}
    with open(a.out, "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main()

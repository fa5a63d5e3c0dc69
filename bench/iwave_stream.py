"""IWAVE from Parquet streamed (``stream=True``) vs loaded into memory (issue 15).

Writes a graded response model's --rows simulated rows (--factors x --items
items, torchfit.datasets.simulate_grm, int8 columns) as Parquet with row groups
of --row-group rows, then fits it twice, each in a fresh process so that its
peak RSS is its own:

  memory   pandas.read_parquet of the file, then the in-memory IWAVE path;
  stream   the path with stream=True (a buffer of --buffer row groups in memory);

with the same settings (iteration cap, OPG standard errors on se_rows rows, the
log-likelihood of every row at --logl-samples draws; final_samples=0 in both,
so that the cost rule cannot run the final pass in one and not the other).
Writes bench/out/iwave_stream.json and .md.

    .venv/bin/python bench/iwave_stream.py                  # 1M x 20, a few minutes
    .venv/bin/python bench/iwave_stream.py --quick          # smoke run
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from workers import header, load, peak_rss_mb, run_json

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "python"))


def settings(args) -> dict:
    return dict(std_lv=True, estimator="IWAVE", ordered=True, seed=0, quiet=True,
                batch_size=256, max_iterations=args.iterations, final_samples=0,
                logl_samples=args.logl_samples)


def worker(kind: str, args) -> dict:
    import pandas as pd

    import torchfit
    truth = json.loads(Path(args.path + ".json").read_text())
    t = time.perf_counter()
    if kind == "memory":
        data = pd.read_parquet(args.path)
        fit = torchfit.cfa(truth["syntax"], data, **settings(args))
    else:
        fit = torchfit.cfa(truth["syntax"], args.path, stream=True, stream_buffer=args.buffer,
                           **settings(args))
    fitted = time.perf_counter() - t
    logl = fit.fit_measures()["logl"]  # the log-likelihood pass over every row
    pe = fit.parameter_estimates()
    ld = pe[pe["op"] == "=~"]
    true = np.asarray(truth["loadings"]).sum(1)[[truth["items"].index(v) for v in ld["rhs"]]]
    return {"wall_seconds": time.perf_counter() - t, "fit_seconds": fitted,
            "train_seconds": fit.info["seconds"], "iterations": fit.info["iterations"],
            "rss_mb": peak_rss_mb(), "logl": logl,
            "loading_rmse": float(np.sqrt(np.mean((ld["est"].to_numpy() - true) ** 2))),
            "mean_se": float(ld["se"].mean()), "rows_in_memory": fit.info.get("rows_in_memory"),
            "nobs": fit.nobs}


def run_worker(kind: str, args) -> dict:
    cmd = ["--worker", kind, "--path", args.path]
    for name in ("iterations", "logl_samples", "buffer"):
        cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    return run_json(__file__, kind, cmd)


def write(path: str, args) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from torchfit.datasets import simulate_grm
    data, truth = simulate_grm(args.rows, n_factors=args.factors,
                               items_per_factor=args.items, seed=0)
    pq.write_table(pa.Table.from_pandas(data.astype(np.int8), preserve_index=False), path,
                   row_group_size=args.row_group)
    items = list(data.columns)
    Path(path + ".json").write_text(json.dumps(
        {"syntax": truth["syntax"], "items": items,
         "loadings": np.asarray(truth["loadings"]).tolist()}))


def markdown(res: dict) -> str:
    a = res["args"]
    lines = [f"# bench/iwave_stream.py ({res['date']}, {res['machine']})", "",
             f"load average at the start: {res['load']}; at the end: {res['load_end']}", "",
             f"Graded response model, {a['factors']} factors x {a['items']} items, "
             f"{a['rows']:,} rows (int8 Parquet, {res['file_mb']:.1f} MB, row groups of "
             f"{a['row_group']:,}); batches of 256, {a['iterations']} iterations (a cap), OPG "
             f"SEs on 50,000 rows, log-likelihood of every row at {a['logl_samples']} draws, "
             "no final pass; each path in a fresh process, 1 thread.", "",
             "| path | wall s | training s | ms / step | peak RSS (MB) | rows in memory | "
             "loading RMSE | mean loading SE | logl |", "|---|---|---|---|---|---|---|---|---|"]
    for kind in ("memory", "stream"):
        r = res[kind]
        held = r["rows_in_memory"] if r["rows_in_memory"] is not None else r["nobs"]
        lines.append(f"| {kind} | {r['wall_seconds']:.1f} | {r['train_seconds']:.1f} | "
                     f"{1000 * r['train_seconds'] / max(1, r['iterations']):.1f} | "
                     f"{r['rss_mb']:.0f} | {held:,} | {r['loading_rmse']:.4f} | "
                     f"{r['mean_se']:.4f} | {r['logl']:.1f} |")
    lines += ["", "memory: wall includes pandas.read_parquet; stream: the scan pass, the "
              f"training from a buffer of {a['buffer']} row groups, and the OPG and "
              "log-likelihood passes a buffer at a time."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--factors", type=int, default=2)
    ap.add_argument("--items", type=int, default=10, help="items per factor")
    ap.add_argument("--row-group", type=int, default=10_000)
    ap.add_argument("--buffer", type=int, default=4)
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--logl-samples", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="20K rows, 300 iterations")
    ap.add_argument("--tmp", default=None, help="where the data set is written")
    ap.add_argument("--worker"), ap.add_argument("--path")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return
    if args.quick:
        args.rows, args.row_group, args.iterations = 20_000, 1_000, 300
    res = header()
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        args.path = str(Path(tmp) / "grm.parquet")
        t = time.perf_counter()
        write(args.path, args)
        res["file_mb"] = Path(args.path).stat().st_size / 1e6
        print(f"wrote {args.rows:,} rows ({res['file_mb']:.1f} MB) in "
              f"{time.perf_counter() - t:.0f} s", flush=True)
        for kind in ("memory", "stream"):
            res[kind] = run_worker(kind, args)
    res["args"] = {k: v for k, v in vars(args).items() if k not in ("worker", "path")}
    res["load_end"] = load()
    OUT.mkdir(parents=True, exist_ok=True)
    name = "iwave_stream_quick" if args.quick else "iwave_stream"
    (OUT / f"{name}.json").write_text(json.dumps(res, indent=1))
    (OUT / f"{name}.md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()

"""Big-Five at scale: on ONE simulated 621,307 x 50 five-category data set
(torchfit.datasets.simulate_big5, a confirmatory five-factor logistic graded
response model with a known truth), in one run:

  numpy forming S                     the reference of the ML target (fit <= 2x S)
  torchfit ML on moments              5-factor CFA, items continuous, std_lv; from an
                                      in-memory frame and from a memory-mapped .npy
  torchfit ML mini-batch (Adam)       the tensorsem way
  lavaan cfa() via Rscript            only the cfa() call is timed
  torchfit IWAVE GRM                  loading RMSE vs truth, held-out log-likelihood
  DeepIRTools 0.2.1 IWAVE GRM         its own venv (bench/.venv-deepirtools), same data
  time vs N                           ML on moments and IWAVE (per 1000 iterations)

and writes bench/out/big5.json, bench/out/big5.md (the table, date, machine)
and bench/out/big5_loss.png (loss curves of the two IWAVE implementations).

    .venv/bin/python bench/big5.py                 # the full run (tens of minutes)
    .venv/bin/python bench/big5.py --quick         # smoke run, about two minutes
    .venv/bin/python bench/big5.py --skip-deepirtools --sizes 10000,100000

The held-out rows (--holdout, a fraction of --n) are drawn with the data set
and kept out of every fit; the log-likelihood per person of both IWAVE fits
is estimated on the same --ll-rows of them with the same number of
importance samples (--ll-samples).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DIT_VENV = BENCH / ".venv-deepirtools"
DIT_PY = DIT_VENV / "bin" / "python"

sys.path.insert(0, str(ROOT / "python"))
import torch  # noqa: E402

import torchfit  # noqa: E402
from torchfit.datasets import simulate_big5  # noqa: E402

# torchfit IWAVE settings chosen for 2 CPU cores (see the README / report):
IWAVE_DEFAULTS = dict(batch_size=256, lr=0.01, iw_samples=10, hidden=(100,), n_intervals=5)

LAVAAN = r"""
suppressPackageStartupMessages(library(lavaan))
a <- commandArgs(trailingOnly = TRUE)
n <- as.integer(a[2]); items <- strsplit(a[3], ",")[[1]]
model <- paste(readLines(a[4]), collapse = "\n")
con <- file(a[1], "rb"); x <- readBin(con, "double", n = n * length(items)); close(con)
df <- as.data.frame(matrix(x, nrow = n)); names(df) <- items; rm(x)
invisible(gc())
t <- system.time(fit <- cfa(model, data = df, std.lv = TRUE))[["elapsed"]]
pe <- parameterEstimates(fit)
write.csv(pe[, c("lhs", "op", "rhs", "est", "se")], a[5], row.names = FALSE)
cat(sprintf('{"seconds": %.6f, "iterations": %d, "version": "%s", "converged": %s}\n', t,
            lavInspect(fit, "iterations"), as.character(packageVersion("lavaan")),
            tolower(as.character(lavInspect(fit, "converged")))))
"""

# Memory of the fit from a memory map: the peak of numpy's and Python's heap
# allocations during a second, traced fit (tracemalloc sees numpy arrays; the
# mapped file's pages are page cache, not the process's own memory), and the
# peak resident set (VmHWM, which counts mapped file pages too).
MMAP_CHILD = r"""
import json, sys, time, tracemalloc
sys.path.insert(0, sys.argv[4])
import numpy as np, torchfit
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
npy, syntax, cols = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3].split(",")
before = status("VmHWM")
torchfit.cfa(syntax, npy, columns=cols, std_lv=True)  # warm-up, as for the frame
t = time.perf_counter()
fit = torchfit.cfa(syntax, npy, columns=cols, std_lv=True)
s = time.perf_counter() - t
tracemalloc.start()
torchfit.cfa(syntax, npy, columns=cols, std_lv=True)
heap = tracemalloc.get_traced_memory()[1] / 2**20
tracemalloc.stop()
print(json.dumps({"seconds": s, "maxrss_mb": status("VmHWM"), "rss_before_mb": before,
                  "heap_peak_mb": heap, "iterations": fit.info["iterations"],
                  "est": fit.parameter_estimates()["est"].tolist()}))
"""


# -- helpers -----------------------------------------------------------------------------------

def machine() -> Dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip())
    except (OSError, ValueError):
        nproc = os.cpu_count()
    return {"nproc": nproc, "cpu": cpu, "python": platform.python_version(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "numpy": np.__version__, "torchfit": torchfit.__version__,
            "platform": platform.platform()}


def best_of(fn, reps: int):
    """(median seconds, last result) over ``reps`` calls after one warm-up."""
    out = fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def numpy_S(X: np.ndarray) -> np.ndarray:
    Xc = X - X.mean(axis=0)
    return Xc.T @ Xc / X.shape[0]


def loadings_of(pe: pd.DataFrame, truth: Dict):
    """(estimated, true) loadings in the table's order."""
    ld = pe[pe["op"] == "=~"]
    f, it = truth["factors"], truth["items"]
    true = truth["loadings"][[it.index(v) for v in ld["rhs"]], [f.index(x) for x in ld["lhs"]]]
    return ld["est"].to_numpy(), true


def corr_of(pe: pd.DataFrame, truth: Dict):
    cv = pe[(pe["op"] == "~~") & (pe["lhs"] != pe["rhs"]) & pe["lhs"].isin(truth["factors"])]
    f = truth["factors"]
    true = truth["corr"][[f.index(x) for x in cv["lhs"]], [f.index(x) for x in cv["rhs"]]]
    return cv["est"].to_numpy(), true


def rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def gaussian_ll(fit, train: np.ndarray, hold: np.ndarray, items: List[str]) -> float:
    """Held-out normal log-density per person under an ML fit (items continuous;
    without a mean structure the means are the training means)."""
    imp = fit.implied()
    sigma = imp["cov"].loc[items, items].to_numpy()
    mu = imp["mean"].loc[items].to_numpy() if "mean" in imp else train.mean(axis=0)
    L = np.linalg.cholesky(sigma)
    z = np.linalg.solve(L, (hold - mu).T)
    p = len(items)
    return float(-0.5 * p * np.log(2 * np.pi) - np.log(np.diag(L)).sum()
                 - 0.5 * (z * z).sum(0).mean())


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- the pieces --------------------------------------------------------------------------------

def run_lavaan(bin_path: Path, n: int, items: List[str], syntax_file: Path, tmp: Path):
    if shutil.which("Rscript") is None:
        return None, "Rscript not found"
    csv = tmp / "lavaan_pe.csv"
    r = subprocess.run(["Rscript", "-e", LAVAAN, str(bin_path), str(n), ",".join(items),
                        str(syntax_file), str(csv)], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["pe"] = pd.read_csv(csv, keep_default_na=False, na_values=["NA"])
    return out, None


def max_diff(pe_a: pd.DataFrame, pe_b: pd.DataFrame) -> float:
    key = ["lhs", "op", "rhs"]
    m = pe_a[key + ["est"]].merge(pe_b[key + ["est"]], on=key, suffixes=("_a", "_b"))
    return float(np.abs(m["est_a"] - m["est_b"]).max()) if len(m) else float("nan")


def run_iwave(syntax: str, frame: pd.DataFrame, settings: Dict, seed: int, ll_samples: int,
              max_iterations: Optional[int] = None):
    t = time.perf_counter()
    fit = torchfit.cfa(syntax, frame, std_lv=True, estimator="IWAVE", ordered=True,
                       batch_size=settings["batch_size"], lr=settings["lr"],
                       iw_samples=settings["iw_samples"], hidden=tuple(settings["hidden"]),
                       n_intervals=settings["n_intervals"], seed=seed, quiet=True,
                       logl_samples=ll_samples, max_iterations=max_iterations)
    return time.perf_counter() - t, fit


def first_measures(fit) -> float:
    """Seconds of the first fit_measures(): the log-likelihood of every row at the
    default draws (the held-out rows keep --ll-samples)."""
    samples = fit.tests.logl_samples
    fit.tests.logl_samples = torchfit.options.BY_NAME["logl_samples"].default
    t = time.perf_counter()
    fit.fit_measures()
    fit.tests.logl_samples = samples
    return time.perf_counter() - t


def run_deepirtools(train_codes: Path, hold_codes: Optional[Path], batch: int, args, tmp: Path):
    out = tmp / f"dit_{batch}.json"
    cmd = [str(DIT_PY), str(BENCH / "deepirtools_fit.py"), "--train", str(train_codes),
           "--batch-size", str(batch), "--lr", str(args.dit_lr),
           "--iw-samples", str(args.dit_iw_samples), "--hidden", *map(str, args.dit_hidden),
           "--ll-samples", str(args.ll_samples), "--seed", str(args.seed), "--out", str(out)]
    if hold_codes is not None:
        cmd += ["--holdout", str(hold_codes)]
    if args.dit_max_iterations:
        cmd += ["--max-iterations", str(args.dit_max_iterations)]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        return None, (r.stderr.strip().splitlines() or ["failed"])[-1]
    res = json.loads(out.read_text())
    res["process_wall_s"] = wall
    return res, None


def deepirtools_setup_hint() -> str:
    return (f"no DeepIRTools environment at {DIT_VENV}; create it with\n"
            f"  python3 -m venv {DIT_VENV}\n"
            f"  {DIT_VENV}/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch\n"
            f"  {DIT_VENV}/bin/pip install deepirtools==0.2.1 pandas matplotlib 'setuptools<80'\n"
            "or pass --install-deepirtools (or --skip-deepirtools)")


def install_deepirtools() -> None:
    subprocess.run([sys.executable, "-m", "venv", str(DIT_VENV)], check=True)
    pip = [str(DIT_VENV / "bin" / "pip"), "install", "--quiet"]
    subprocess.run(pip + ["--index-url", "https://download.pytorch.org/whl/cpu", "torch"],
                   check=True)
    # deepirtools 0.2.1 imports pandas without declaring it
    subprocess.run(pip + ["deepirtools==0.2.1", "pandas", "matplotlib", "setuptools<80"],
                   check=True)


# -- report ------------------------------------------------------------------------------------

def fmt(x, digits=3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "—"
    if isinstance(x, (int, np.integer)):
        return f"{x:,}"
    if abs(x) >= 100:
        return f"{x:,.1f}"
    return f"{x:.{digits}g}" if abs(x) < 0.01 else f"{x:.{digits}f}"


def table(rows: List[Dict]) -> str:
    head = ("| method | setting | wall s | iterations | held-out LL / person | loading RMSE "
            "| factor-corr RMSE | ratio to torchfit | notes |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append("| " + " | ".join([
            r["method"], r.get("setting", ""), fmt(r.get("seconds")),
            fmt(r.get("iterations")), fmt(r.get("holdout_ll")), fmt(r.get("loading_rmse")),
            fmt(r.get("corr_rmse")), fmt(r.get("ratio"), 2), r.get("notes", "")]) + " |")
    return "\n".join(lines)


def scaling_table(rows: List[Dict]) -> str:
    lines = ["| N | numpy S s | torchfit ML s | ML s per 1M rows | IWAVE setup s "
             "| IWAVE s / 1000 it | IWAVE s / epoch | IWAVE epoch s per 1M rows |",
             "|" + "---|" * 8]
    for r in rows:
        lines.append("| " + " | ".join([
            f"{r['n']:,}", fmt(r.get("numpy_s")), fmt(r.get("ml_s")),
            fmt(r["ml_s"] / r["n"] * 1e6 if r.get("ml_s") else None),
            fmt(r.get("iwave_setup_s")), fmt(r.get("iwave_s_per_1000")),
            fmt(r.get("iwave_s_per_epoch")),
            fmt(r["iwave_s_per_epoch"] / r["n"] * 1e6 if r.get("iwave_s_per_epoch") else None),
        ]) + " |")
    return "\n".join(lines)


def plot_losses(curves: Dict[str, Dict], path: Path) -> Optional[str]:
    """Loss per 100 iterations against iterations and against (pro-rated) seconds."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        spec = path.with_suffix(".curves.json")
        spec.write_text(json.dumps(curves))
        code = ("import json,sys,matplotlib;matplotlib.use('Agg');import matplotlib.pyplot as plt;"
                "c=json.load(open(sys.argv[1]));f,a=plt.subplots(1,2,figsize=(11,4));"
                "[(a[0].plot([100*(i+1) for i in range(len(v['loss']))],v['loss'],label=k),"
                "a[1].plot([v['seconds']*(i+1)/len(v['loss']) for i in range(len(v['loss']))],"
                "v['loss'],label=k)) for k,v in c.items() if v['loss']];"
                "[x.set_xscale('log') or x.legend() for x in a];"
                "a[0].set_xlabel('iteration');a[1].set_xlabel('seconds');"
                "a[0].set_ylabel('loss per person (mean of 100 iterations)');"
                "f.tight_layout();f.savefig(sys.argv[2],dpi=120)")
        if DIT_PY.exists():
            r = subprocess.run([str(DIT_PY), "-c", code, str(spec), str(path)],
                               capture_output=True, text=True)
            return None if r.returncode == 0 else r.stderr.strip()[-300:]
        return "matplotlib not available"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, c in curves.items():
        loss = np.asarray(c["loss"], dtype=float)
        if not len(loss):
            continue
        its = 100 * np.arange(1, len(loss) + 1)
        secs = c["seconds"] * its / (100 * len(loss))
        axes[0].plot(its, loss, label=name)
        axes[1].plot(secs, loss, label=name)
    for ax, xl in zip(axes, ("iteration", "seconds (pro rata)")):
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(xl)
        ax.set_ylabel("loss per person, mean of 100 iterations")
        ax.legend(fontsize=8)
        lo = min(np.min(c["loss"]) for c in curves.values() if len(c["loss"]))
        hi = max(np.percentile(c["loss"], 75) for c in curves.values() if len(c["loss"]))
        ax.set_ylim(lo - 0.02 * (hi - lo + 1), hi + 0.05 * (hi - lo + 1))
    fig.suptitle("IWAVE GRM on the simulated Big-Five data (torchfit: -IW-ELBO; "
                 "DeepIRTools: its DReG surrogate)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None


# -- main --------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=621_307, help="rows fitted (default 621307)")
    ap.add_argument("--holdout", type=float, default=0.02,
                    help="held-out rows, as a fraction of --n, drawn besides them (default 0.02)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sizes", default="10000,100000,621307,2500000",
                    help="N of the time-vs-N part, comma-separated ('' to skip)")
    ap.add_argument("--quick", action="store_true",
                    help="small smoke run: N 5000, few iterations, sizes 2000,5000,20000")
    ap.add_argument("--skip-deepirtools", action="store_true")
    ap.add_argument("--install-deepirtools", action="store_true",
                    help=f"create {DIT_VENV} when it is missing (needs the network)")
    ap.add_argument("--skip-lavaan", action="store_true")
    ap.add_argument("--skip-minibatch", action="store_true")
    ap.add_argument("--reps", type=int, default=3, help="median of this many for numpy S and ML")
    ap.add_argument("--iwave-batch", type=int, default=IWAVE_DEFAULTS["batch_size"])
    ap.add_argument("--iwave-lr", type=float, default=IWAVE_DEFAULTS["lr"])
    ap.add_argument("--iwave-iw-samples", type=int, default=IWAVE_DEFAULTS["iw_samples"])
    ap.add_argument("--iwave-hidden", type=int, nargs="+", default=list(IWAVE_DEFAULTS["hidden"]))
    ap.add_argument("--iwave-n-intervals", type=int, default=IWAVE_DEFAULTS["n_intervals"],
                    help="windows of 100 iterations without a new best loss before stopping")
    ap.add_argument("--iwave-max-iterations", type=int, default=None)
    ap.add_argument("--scaling-iterations", type=int, default=1000,
                    help="IWAVE iterations timed per N in the time-vs-N part")
    ap.add_argument("--minibatch-batch", type=int, default=1024)
    ap.add_argument("--minibatch-lr", type=float, default=0.01)
    ap.add_argument("--minibatch-max-epochs", type=int, default=20)
    ap.add_argument("--dit-batches", default="32,256",
                    help="DeepIRTools batch sizes, comma-separated (32: its tutorial setting)")
    ap.add_argument("--dit-lr", type=float, default=0.001)
    ap.add_argument("--dit-iw-samples", type=int, default=10)
    ap.add_argument("--dit-hidden", type=int, nargs="+", default=[100])
    ap.add_argument("--dit-max-iterations", type=int, default=0,
                    help="cap DeepIRTools' iterations (0: its own convergence rule)")
    ap.add_argument("--ll-rows", type=int, default=5000,
                    help="held-out rows on which the log-likelihoods are estimated")
    ap.add_argument("--ll-samples", type=int, default=1000,
                    help="importance samples per person for the held-out log-likelihood")
    ap.add_argument("--out", default=str(BENCH / "out"))
    ap.add_argument("--keep-data", action="store_true", help="keep the .npy/.bin files")
    args = ap.parse_args()
    if args.quick:
        if args.n == 621_307:
            args.n = 5000
        args.holdout = max(args.holdout, 0.2)
        if args.sizes == "10000,100000,621307,2500000":
            args.sizes = "2000,5000,20000"
        args.scaling_iterations = min(args.scaling_iterations, 100)
        args.iwave_max_iterations = args.iwave_max_iterations or 1000
        args.dit_max_iterations = args.dit_max_iterations or 300
        args.minibatch_max_epochs = min(args.minibatch_max_epochs, 10)
        args.ll_rows = min(args.ll_rows, 1000)
        args.ll_samples = min(args.ll_samples, 200)
        args.reps = 1
    if not args.skip_deepirtools and not DIT_PY.exists():
        if args.install_deepirtools:
            install_deepirtools()
        else:
            sys.exit(deepirtools_setup_hint())

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="big5_"))
    started = datetime.datetime.now()
    info = machine()
    info["loadavg_start"] = os.getloadavg()
    log(f"machine: {info['nproc']} x {info['cpu']}, load {info['loadavg_start']}")

    # -- one data set ----------------------------------------------------------------------
    n_hold = max(1, int(round(args.holdout * args.n)))
    t = time.perf_counter()
    everything, truth = simulate_big5(args.n + n_hold, seed=args.seed)
    items, syntax = truth["items"], truth["syntax"]
    frame = everything.iloc[:args.n].reset_index(drop=True)
    hold = everything.iloc[args.n:].reset_index(drop=True)
    del everything
    X = frame.to_numpy()
    H = hold.to_numpy()
    ll_hold = hold.iloc[:args.ll_rows]
    npy = tmp / "train.npy"
    np.save(npy, X)
    bin_path = tmp / "train_colmajor.bin"
    X.T.tofile(bin_path)  # column-major doubles, read by R's readBin without a transpose
    syntax_file = tmp / "big5.lav"
    syntax_file.write_text(syntax + "\n")
    codes, hold_codes = tmp / "train_codes.npy", tmp / "hold_codes.npy"
    np.save(codes, (X - 1).astype(np.int8))
    np.save(hold_codes, (ll_hold.to_numpy() - 1).astype(np.int8))
    log(f"data: {args.n:,} x {len(items)} (+{n_hold:,} held out) drawn and written in "
        f"{time.perf_counter() - t:.1f} s")

    rows: List[Dict] = []
    results: Dict = {"args": vars(args), "machine": info, "date": started.isoformat(),
                     "n": args.n, "n_holdout": n_hold, "ll_rows": len(ll_hold)}

    # -- numpy S and torchfit ML -----------------------------------------------------------
    s_np, _ = best_of(lambda: numpy_S(X), args.reps)
    log(f"numpy S: {s_np:.3f} s")
    s_ml, ml = best_of(lambda: torchfit.cfa(syntax, frame, std_lv=True), args.reps)
    pe_ml = ml.parameter_estimates()
    ll_ml = gaussian_ll(ml, X, H, items)
    log(f"torchfit ML (frame): {s_ml:.3f} s, {ml.info['iterations']} iterations")
    rows.append({"method": "numpy: centre + X'X/N", "setting": "float64, in memory",
                 "seconds": s_np, "ratio": s_np / s_ml,
                 "notes": f"reference of the ML target: torchfit ML = {s_ml / s_np:.2f} x this"})
    ml_row = {"method": "torchfit ML, moments", "setting": "in-memory frame, std_lv",
              "seconds": s_ml, "iterations": ml.info["iterations"], "ratio": 1.0,
              "gaussian_holdout_ll": ll_ml}
    rows.append(ml_row)

    r = subprocess.run([sys.executable, "-c", MMAP_CHILD, str(npy), str(syntax_file),
                        ",".join(items), str(ROOT / "python")], capture_output=True, text=True)
    if r.returncode == 0:
        mm = json.loads(r.stdout.strip().splitlines()[-1])
        diff = float(np.abs(np.asarray(mm["est"]) - pe_ml["est"].to_numpy()).max())
        rows.append({"method": "torchfit ML, moments", "setting": "memory-mapped .npy (child)",
                     "seconds": mm["seconds"], "iterations": mm["iterations"],
                     "ratio": mm["seconds"] / s_ml,
                     "notes": f"data {X.nbytes / 2**20:.0f} MB on disk; peak heap of the fit "
                              f"{mm['heap_peak_mb']:.0f} MB (tracemalloc); peak RSS "
                              f"{mm['maxrss_mb']:.0f} MB incl. mapped pages (after imports "
                              f"{mm['rss_before_mb']:.0f} MB); max abs diff vs frame {diff:.1e}"})
        log(f"torchfit ML (mmap .npy): {mm['seconds']:.3f} s, peak heap "
            f"{mm['heap_peak_mb']:.0f} MB")
    else:
        rows.append({"method": "torchfit ML, moments", "setting": "memory-mapped .npy",
                     "notes": "failed: " + r.stderr.strip()[-200:]})

    if not args.skip_minibatch:
        t = time.perf_counter()
        mb = torchfit.cfa(syntax, frame, std_lv=True, batch_size=args.minibatch_batch,
                          lr=args.minibatch_lr, max_epochs=args.minibatch_max_epochs,
                          seed=args.seed)
        s_mb = time.perf_counter() - t
        d = max_diff(mb.parameter_estimates(), pe_ml)
        rows.append({"method": "torchfit ML, mini-batch Adam",
                     "setting": f"batch {args.minibatch_batch}, lr {args.minibatch_lr}",
                     "seconds": s_mb, "iterations": mb.info["iterations"], "ratio": s_mb / s_ml,
                     "gaussian_holdout_ll": gaussian_ll(mb, X, H, items),
                     "notes": f"{mb.info.get('epochs')} epochs, converged {mb.info['converged']};"
                              f" max abs diff vs ML on moments {d:.1e}"})
        results["minibatch_loss"] = list(mb.info.get("loss_history", []))
        log(f"torchfit ML mini-batch: {s_mb:.1f} s, {mb.info['iterations']} iterations, "
            f"max diff {d:.1e}")

    if not args.skip_lavaan:
        lav, err = run_lavaan(bin_path, args.n, items, syntax_file, tmp)
        if lav is None:
            rows.append({"method": "lavaan cfa()", "notes": "failed: " + str(err)})
        else:
            d = max_diff(lav["pe"], pe_ml)
            rows.append({"method": f"lavaan {lav['version']} cfa()",
                         "setting": "std.lv, items continuous (Rscript; cfa() call timed)",
                         "seconds": lav["seconds"], "iterations": lav["iterations"],
                         "ratio": lav["seconds"] / s_ml,
                         "notes": f"max abs diff vs torchfit ML {d:.1e}"})
            log(f"lavaan: {lav['seconds']:.2f} s, max diff {d:.1e}")
    ml_row["notes"] = ("Gaussian held-out LL/person "
                       f"{ll_ml:.3f} (a density, not comparable with the GRM rows)")
    del X

    # -- IWAVE ---------------------------------------------------------------------------------
    settings = {"batch_size": args.iwave_batch, "lr": args.iwave_lr,
                "iw_samples": args.iwave_iw_samples, "hidden": args.iwave_hidden,
                "n_intervals": args.iwave_n_intervals}
    wall, iw = run_iwave(syntax, frame, settings, args.seed, args.ll_samples,
                         args.iwave_max_iterations)
    pe = iw.parameter_estimates()
    t = time.perf_counter()
    ll_iw = iw.log_likelihood(ll_hold) / len(ll_hold)
    ll_iw_s = time.perf_counter() - t
    measures_s = first_measures(iw)
    est, true = loadings_of(pe, truth)
    cest, ctrue = corr_of(pe, truth)
    iw_row = {"method": "torchfit IWAVE GRM",
              "setting": f"batch {settings['batch_size']}, lr {settings['lr']}, "
                         f"{settings['iw_samples']} IW samples, encoder {settings['hidden']}, "
                         f"n_intervals {settings['n_intervals']}",
              "seconds": wall, "iterations": iw.info["iterations"], "holdout_ll": ll_iw,
              "loading_rmse": rmse(est, true), "corr_rmse": rmse(cest, ctrue), "ratio": 1.0,
              "notes": f"the default call (SEs included); {iw.info['epochs']} epochs, training "
                       f"{iw.info['seconds']:.1f} s, converged {iw.info['converged']}; "
                       f"first fit_measures() (log-likelihood of every row, "
                       f"{torchfit.options.BY_NAME['logl_samples'].default} draws) "
                       f"{measures_s:.1f} s; held-out LL took {ll_iw_s:.1f} s"}
    rows.append(iw_row)
    curves = {"torchfit IWAVE (batch %d)" % settings["batch_size"]:
              {"loss": list(map(float, iw.loss_history)), "seconds": iw.info["seconds"]}}
    results["iwave"] = {"settings": settings, "info": {k: v for k, v in iw.info.items()
                                                       if isinstance(v, (int, float, str, bool))},
                        "loadings": est.tolist(), "true_loadings": true.tolist(),
                        "loss_history": curves[next(iter(curves))]["loss"]}
    log(f"torchfit IWAVE: {wall:.1f} s, {iw.info['iterations']} iterations, loading RMSE "
        f"{iw_row['loading_rmse']:.4f}, held-out LL {ll_iw:.4f}")
    del iw

    if not args.skip_deepirtools:
        f_idx = [truth["factors"].index(x) for x in pe[pe["op"] == "=~"]["lhs"]]
        i_idx = [items.index(v) for v in pe[pe["op"] == "=~"]["rhs"]]
        iu = np.triu_indices(len(truth["factors"]), 1)
        for batch in [int(b) for b in args.dit_batches.split(",") if b.strip()]:
            log(f"DeepIRTools, batch {batch} ...")
            dit, err = run_deepirtools(codes, hold_codes, batch, args, tmp)
            name = "DeepIRTools 0.2.1 IWAVE GRM"
            setting = (f"batch {batch}, lr {args.dit_lr}, {args.dit_iw_samples} IW samples, "
                       f"encoder {args.dit_hidden}" + (" (its tutorial setting)"
                                                       if batch == 32 else ""))
            if dit is None:
                rows.append({"method": name, "setting": setting, "notes": "failed: " + err})
                continue
            L = np.asarray(dit["loadings"])
            C = np.asarray(dit["corr"])
            rows.append({"method": name, "setting": setting, "seconds": dit["fit_s"],
                         "iterations": dit["iterations"],
                         "holdout_ll": dit.get("holdout_ll", np.nan) / len(ll_hold),
                         "loading_rmse": rmse(L[i_idx, f_idx], true),
                         "corr_rmse": rmse(C[iu], truth["corr"][iu]),
                         "ratio": dit["fit_s"] / wall,
                         "notes": f"~{dit['epochs']} epochs, stopped by its rule "
                                  f"{dit['converged']}; torch {dit['torch']}, "
                                  f"{dit['threads']} threads"})
            curves[f"DeepIRTools (batch {batch})"] = {"loss": dit["loss_history"],
                                                      "seconds": dit["fit_s"]}
            results[f"deepirtools_{batch}"] = {k: v for k, v in dit.items()
                                               if k not in ("intercepts",)}
            log(f"DeepIRTools batch {batch}: {dit['fit_s']:.1f} s, {dit['iterations']} "
                f"iterations, loading RMSE {rows[-1]['loading_rmse']:.4f}")

    # -- time vs N -------------------------------------------------------------------------------
    scaling = []
    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    for N in sizes:
        if N <= len(frame):
            data_N = frame.iloc[:N]
        else:
            data_N, _ = simulate_big5(N, seed=args.seed + 1)
        XN = data_N.to_numpy()
        s_np_N, _ = best_of(lambda: numpy_S(XN), 1)
        del XN
        s_ml_N, _ = best_of(lambda: torchfit.cfa(syntax, data_N, std_lv=True), 1)
        its = args.scaling_iterations
        wall_N, fit_N = run_iwave(syntax, data_N, settings, args.seed, args.ll_samples, its)
        train_s = fit_N.info["seconds"]
        per_it = train_s / max(fit_N.info["iterations"], 1)
        scaling.append({"n": N, "numpy_s": s_np_N, "ml_s": s_ml_N,
                        "iwave_wall_s": wall_N, "iwave_setup_s": wall_N - train_s,
                        "iwave_iterations": fit_N.info["iterations"],
                        "iwave_s_per_1000": 1000 * per_it,
                        "iwave_s_per_epoch": per_it * np.ceil(N / settings["batch_size"])})
        log(f"N {N:,}: numpy S {s_np_N:.3f} s, ML {s_ml_N:.3f} s, IWAVE setup "
            f"{wall_N - train_s:.2f} s, {1000 * per_it:.2f} s / 1000 it")
        del data_N, fit_N
    results["scaling"] = scaling

    # -- outputs ---------------------------------------------------------------------------------
    info["loadavg_end"] = os.getloadavg()
    results["rows"] = rows
    png = out_dir / "big5_loss.png"
    perr = plot_losses(curves, png)
    results["curves"] = curves
    if perr:
        log(f"loss plot not written: {perr}")

    targets = []
    ml_secs = [r_["seconds"] for r_ in rows if r_["method"] == "torchfit ML, moments"
               and r_.get("seconds")]
    targets.append("- ML: torchfit ML on moments / numpy S = "
                   + ", ".join(f"{s / s_np:.2f}" for s in ml_secs)
                   + " (frame, memory-mapped .npy); target <= 2")
    dits = [r_ for r_ in rows if r_["method"].startswith("DeepIRTools") and r_.get("seconds")]
    for d in dits:
        targets.append(f"- IWAVE: DeepIRTools ({d['setting'].split(',')[0]}) / torchfit = "
                       f"{d['ratio']:.1f}x (target >= 5); loading RMSE torchfit "
                       f"{iw_row['loading_rmse']:.4f} vs {d['loading_rmse']:.4f} "
                       f"(target <= 0.026); held-out LL/person {ll_iw:.4f} vs "
                       f"{d['holdout_ll']:.4f}")
    if not dits:
        targets.append(f"- IWAVE: loading RMSE {iw_row['loading_rmse']:.4f} (target <= 0.026)")
    results["targets"] = targets

    md = [f"# Big-Five benchmark ({'quick smoke run' if args.quick else 'full run'})", "",
          f"Date: {started:%Y-%m-%d %H:%M}. Machine: {info['nproc']} cores (`nproc`), "
          f"{info['cpu']}; Python {info['python']}, torch {info['torch']} "
          f"({info['torch_threads']} threads), numpy {info['numpy']}, torchfit "
          f"{info['torchfit']}. Load average at start {tuple(round(x, 2) for x in info['loadavg_start'])}"
          f", at end {tuple(round(x, 2) for x in info['loadavg_end'])}.", "",
          f"One data set: `simulate_big5(n={args.n + n_hold}, seed={args.seed})`, the first "
          f"{args.n:,} rows fitted, {n_hold:,} held out (log-likelihoods on {len(ll_hold):,} of "
          f"them with {args.ll_samples} importance samples per person). Five-factor CFA "
          "EXT EST AGR CSN OPN, ten items each, std.lv. ML rows treat the 1-5 responses as "
          "continuous; IWAVE rows fit the logistic graded response model, whose truth gives "
          "the loading and factor-correlation RMSE. Ratio: wall time over torchfit's "
          "(ML rows: torchfit ML from the frame; IWAVE rows: torchfit IWAVE; numpy row: "
          "numpy / torchfit ML).", "",
          table(rows), "", "Targets:", *targets,
          *(["", "(Quick run: iterations are capped, so the ratios and accuracies say "
              "nothing about the targets.)"] if args.quick else []),
          "", "## Time vs N", "",
          f"IWAVE timed over {args.scaling_iterations} iterations at batch "
          f"{settings['batch_size']} (setup: coding the data and start values); an epoch is "
          f"ceil(N / {settings['batch_size']}) iterations.", "", scaling_table(scaling), "",
          f"Loss curves: `{png.name}`.", ""]
    (out_dir / "big5.md").write_text("\n".join(md))
    (out_dir / "big5.json").write_text(json.dumps(results, indent=1, default=float))
    print("\n".join(md))
    if not args.keep_data:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        log(f"data kept in {tmp}")


if __name__ == "__main__":
    main()

"""Search at scale on one machine: 1,000,000 unit vectors of dimension 384 (random, clustered; the index part), and a real
encode of 20,000 SciFact-like passages with the packaged all-MiniLM-L6-v2 (the encode part). Each index runs in its own
process, so each peak RSS is its own. Reported: peak RSS against the vectors' own size (goal: <= 1.5x), build and search
time, and recall@10 of IVF and HNSW against exact search. Run:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/search_scale.py [--n 1000000] [--queries 1000] [--encode 20000]
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np

def peak_gb():
    "Peak RSS of this process since the last reset (VmHWM; ru_maxrss would carry the parent's RSS over fork and exec)."
    from finetune_nb.core import _proc_status_gb
    return _proc_status_gb('VmHWM')          # GiB (kB / 1024**2)

def make(path, n, dim, seed=0):
    "n clustered unit vectors (1,000 centres) written block by block into a .npy memmap; queries drawn near random rows."
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, dim)).astype('float32')
    X = np.lib.format.open_memmap(path, mode='w+', dtype='float32', shape=(n, dim))
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        x = centres[rng.integers(0, 1000, hi - lo)] + 0.5 * rng.standard_normal((hi - lo, dim)).astype('float32')
        X[lo:hi] = x / np.linalg.norm(x, axis=1, keepdims=True)
    X.flush(); del X

def child(kind, path, qpath, k):
    "One index in this process: build, search, report time and peak RSS (JSON on stdout)."
    from finetune_nb.core import _reset_rss_peak
    from finetune_nb.search import faiss_topk
    _reset_rss_peak()                 # from here on, this process's own peak (imports included)
    X = np.load(path, mmap_mode='r'); Q = np.load(qpath)
    t = time.perf_counter(); S, I = faiss_topk(Q, X, k, index=kind); secs = time.perf_counter() - t
    np.save(qpath.replace('.npy', f'-{kind}.npy'), I)
    print(json.dumps({'kind': kind, 'seconds': secs, 'peak_gb': peak_gb()}))

def encode_part(n):
    "Encode n passages (the SciFact corpus repeated with a numbered note, or shell passages when SciFact is absent) to a memmap."
    os.environ['HF_HUB_OFFLINE'] = '1'
    from finetune_nb.embed import load_embedder
    from finetune_nb.data import shell_commands
    from finetune_nb.core import read_jsonl
    sci = Path(__file__).resolve().parent.parent.parent/'shared'/'data'/'scifact'/'corpus.jsonl'
    base = [f"{r.get('title', '')} {r['text']}".strip() for r in read_jsonl(sci)] if sci.is_file() else list(shell_commands()['corpus'].values())
    texts = [f'{base[i % len(base)]} (note {i})' for i in range(n)]
    emb = load_embedder('minilm', device='cpu')
    from finetune_nb.core import _reset_rss_peak
    _reset_rss_peak(); before = peak_gb()
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter(); P = emb.encode_passages(texts, out=Path(d)/'p.npy', batch_size=64, progress=True); secs = time.perf_counter() - t
        size = P.nbytes / 2**30
    return {'n': n, 'seconds': secs, 'peak_gb': peak_gb(), 'peak_before_gb': before, 'vectors_gb': size, 'source': 'SciFact' if sci.is_file() else 'shell set'}

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--n', type=int, default=1_000_000); p.add_argument('--dim', type=int, default=384)
    p.add_argument('--queries', type=int, default=1000); p.add_argument('--encode', type=int, default=20_000)
    p.add_argument('--child', nargs=4, default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child: return child(a.child[0], a.child[1], a.child[2], int(a.child[3]))
    if a.n: index_part(a)
    if a.encode:
        e = encode_part(a.encode)
        print(f'encode: {e["n"]:,} {e["source"]} passages in {e["seconds"]:.0f} s ({e["n"] / e["seconds"]:.0f}/s), vectors {e["vectors_gb"] * 1024:.0f} MiB '
              f'to a memmap; peak RSS {e["peak_gb"]:.2f} GiB ({e["peak_before_gb"]:.2f} GiB with the model loaded, before encoding)')

def index_part(a):
    with tempfile.TemporaryDirectory() as d:
        path, qpath = f'{d}/x.npy', f'{d}/q.npy'
        t = time.perf_counter(); make(path, a.n, a.dim)
        X = np.load(path, mmap_mode='r'); rng = np.random.default_rng(1)
        q = X[np.sort(rng.choice(a.n, a.queries, replace=False))] + 0.05 * rng.standard_normal((a.queries, a.dim)).astype('float32')
        np.save(qpath, (q / np.linalg.norm(q, axis=1, keepdims=True)).astype('float32')); del X
        gb = a.n * a.dim * 4 / 2**30
        print(f'{a.n:,} vectors x {a.dim} float32 = {gb:.2f} GiB on disk, made in {time.perf_counter() - t:.0f} s; {a.queries:,} queries, top 10', flush=True)
        res = {}
        for kind in ('flat', 'ivf', 'hnsw'):
            r = subprocess.run([sys.executable, __file__, '--child', kind, path, qpath, '10'], capture_output=True, text=True)
            if r.returncode: print(r.stderr[-2000:]); raise SystemExit(1)
            res[kind] = json.loads(r.stdout.strip().splitlines()[-1])
        exact = np.load(qpath.replace('.npy', '-flat.npy'))
        for kind, r in res.items():
            I = np.load(qpath.replace('.npy', f'-{kind}.npy'))
            r['recall'] = float(np.mean([len(set(x) & set(e)) / 10 for x, e in zip(I.tolist(), exact.tolist())]))
            print(f'{kind:>5}: build + search {r["seconds"]:7.1f} s, peak RSS {r["peak_gb"]:.2f} GiB = {r["peak_gb"] / gb:.2f}x the vectors, '
                  f'recall@10 vs exact {r["recall"]:.4f}, time ratio vs flat {r["seconds"] / res["flat"]["seconds"]:.2f}', flush=True)

if __name__ == '__main__': main()

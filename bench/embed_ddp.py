"""Training an embedder on several processes, and GradCache's memory, on this CPU.

1. Throughput: the packaged all-MiniLM-L6-v2, the course's shell rows with 3 hard negatives each (group 4), dropout off,
   the same global batch of 32 queries (128 passages) for 8 steps: one process with 2 threads vs two processes
   (torchrun, gloo, 1 thread each, 16 queries each, --negatives-cross-device). Reported: query-passage groups per second
   of the training loop (model loading excluded), the ratio, and the largest difference between the two loss curves.
2. Memory: one training step at batch 256 (256 queries, 512 passages: the shell passages as they are, and each repeated 6 times), plain vs GradCache in
   chunks of 32, each in a fresh process; peak RSS (VmHWM) and time of the step (a run the kernel kills is reported so). (On a GPU the same comparison would read CUDA peaks;
   none was lent for this measurement.)

    HF_HUB_OFFLINE=1 .venv/bin/python bench/embed_ddp.py            # both parts, about 6 minutes on 2 cores
    HF_HUB_OFFLINE=1 .venv/bin/python bench/embed_ddp.py --part 1   # throughput only
"""
import argparse, json, os, random, subprocess, sys, tempfile, time
from pathlib import Path

STEPS, GLOBAL, GROUP = 8, 32, 4

def rows(rep=1):
    from finetune_nb.data import shell_commands
    sh = shell_commands(); texts = sorted({r['pos'][0] for r in sh['train']}); rng = random.Random(0)
    pad = lambda t: ' '.join([t] * rep)                           # longer passages for the memory part
    return [{'query': r['query'], 'pos': [pad(r['pos'][0])], 'neg': [pad(t) for t in rng.sample([t for t in texts if t != r['pos'][0]], GROUP - 1)]}
            for r in sh['train']]

def worker(a):
    "Runs inside each process: train, then the main process prints one JSON line."
    import torch
    from finetune_nb.core import _proc_status_gb, _reset_rss_peak
    from finetune_nb.embed import load_embedder, train_embedder, EmbedArgs
    from finetune_nb.distributed import is_main_process
    torch.set_num_threads(a.threads)
    data = rows(a.rep)
    emb = load_embedder('minilm', device='cpu'); _reset_rss_peak(); base = _proc_status_gb('VmRSS')
    args = EmbedArgs(output_dir=a.out, max_steps=a.steps, batch_size=a.batch, train_group_size=GROUP, dropout=0.0, logging_steps=1,
                     lr=2e-5, negatives_cross_device=True, mini_batch_size=a.mini)
    r = train_embedder(emb, data, args=args)
    if is_main_process():
        ptoks = [min(len(t), emb.contract.passage_max_len) for t in emb.tokenize([x for r_ in data for x in r_['pos'] + r_['neg']], 'passage')]
        print('@@' + json.dumps({'tokens': sum(ptoks) / len(ptoks), 'runtime': r.runtime_s, 'losses': [x['loss'] for x in r.losses], 'peak_gb': _proc_status_gb('VmHWM'), 'base_gb': base}))

def launch(n, threads, batch, steps, part, mini=None, rep=1):
    out = tempfile.mkdtemp()
    cmd = [sys.executable, __file__, '--worker', '--threads', str(threads), '--batch', str(batch), '--steps', str(steps), '--part', str(part), '--out', out, '--rep', str(rep)]
    if mini: cmd += ['--mini', str(mini)]
    if n > 1: cmd = [str(Path(sys.executable).parent/'torchrun'), '--standalone', '--nproc_per_node', str(n)] + cmd[1:]
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'HF_HUB_OFFLINE': '1'}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    line = [l for l in r.stdout.splitlines() if l.startswith('@@')]
    if r.returncode == -9: return None                    # killed by the kernel: out of memory
    if r.returncode or not line: sys.exit(f'failed ({r.returncode}):\n{r.stderr[-3000:]}')
    return json.loads(line[-1][2:])

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--worker', action='store_true'); p.add_argument('--threads', type=int, default=2); p.add_argument('--batch', type=int)
    p.add_argument('--steps', type=int, default=STEPS); p.add_argument('--part', type=int, default=0); p.add_argument('--out'); p.add_argument('--mini', type=int); p.add_argument('--rep', type=int, default=1)
    a = p.parse_args()
    if a.worker: return worker(a)
    if a.part in (0, 1):
        one = launch(1, 2, GLOBAL, STEPS, 1); two = launch(2, 1, GLOBAL // 2, STEPS, 1)
        r1, r2 = STEPS * GLOBAL / one['runtime'], STEPS * GLOBAL / two['runtime']
        diff = max(abs(x - y) for x, y in zip(one['losses'], two['losses']))
        print(f'throughput, global batch {GLOBAL} x group {GROUP}, {STEPS} steps, MiniLM, CPU (2 cores):')
        print(f'  1 process x 2 threads:            {r1:6.2f} groups/s ({one["runtime"]:.1f} s)')
        print(f'  2 processes x 1 thread (gloo):    {r2:6.2f} groups/s ({two["runtime"]:.1f} s)')
        print(f'  ratio 2 processes / 1 process:    {r2 / r1:.3f}; largest loss difference between the runs {diff:.1e}')
    if a.part in (0, 2):
        import psutil
        print(f'memory, one step at batch 256 (256 queries + 512 passages), MiniLM fp32, peak RSS (VmHWM); this machine has {psutil.virtual_memory().total / 2**30:.0f} GiB:')
        for rep in (1, 6):
            plain = launch(1, 2, 256, 1, 2, rep=rep); gc = launch(1, 2, 256, 1, 2, mini=32, rep=rep)
            show = lambda r: 'killed: out of memory' if r is None else f'{r["peak_gb"]:.2f} GiB ({r["peak_gb"] - r["base_gb"]:.2f} above the loaded model), step {r["runtime"]:.1f} s, loss {r["losses"][0]:.5f}'
            what = f'{gc["tokens"]:.0f}' if gc else '?'
            print(f'  passages of {what} tokens on average, plain:                 {show(plain)}')
            print(f'  passages of {what} tokens on average, GradCache chunks of 32: {show(gc)}')
            if plain and gc: print(f'  ratio GradCache / plain: peak {gc["peak_gb"] / plain["peak_gb"]:.3f}, above the model '
                                   f'{(gc["peak_gb"] - gc["base_gb"]) / (plain["peak_gb"] - plain["base_gb"]):.3f}, time {gc["runtime"] / plain["runtime"]:.2f}')

if __name__ == '__main__': main()

"""SciFact end to end through the library's own commands, as a user would run them: `finetune_nb mine` on the BEIR
folder's train judgements, `finetune_nb embed`, then `finetune_nb eval` of the tuned model against the base model
(with BM25 and the per-query bootstrap CI). The data is SciFact by name: BEIR's zip (2.7 MB), downloaded once, MD5
checked and cached (`load_beir('scifact')`); a local BEIR folder works too (--data). Tests never need it. The recipe is the one in 11_tutorial.retrieval_finetune (section 4):

    finetune_nb mine  --data SCIFACT --split train --out OUT/train.jsonl --range 10 100 --negatives 15 --cache OUT/cache
    finetune_nb embed --data OUT/train.jsonl --out OUT/embed --epochs 3 --batch 32 --group 4 --lr 5e-5 --dropout 0 [--bf16 where the CPU has bf16 instructions]
    finetune_nb eval  --data SCIFACT --model OUT/embed/model --baseline minilm --cache OUT/cache --out OUT/report.md

Published nDCG@10 on SciFact test: all-MiniLM-L6-v2 0.645, BM25 0.687, bge-small-en-v1.5 0.713, gte-small 0.727. Run:

    .venv/bin/python bench/embed_scifact.py [--data scifact | path/to/scifact] [--out runs/bench-scifact]
"""
import argparse, os, time
from pathlib import Path

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', default='scifact', help="a BEIR folder, or 'scifact' (downloaded once into the cache)")
    p.add_argument('--out', default='runs/bench-scifact')
    a = p.parse_args(); d, out = a.data, Path(a.out)
    from finetune_nb.cli import main as cli
    from finetune_nb.embed import cpu_bf16
    t0, steps = time.time(), [
        ['mine', '--data', str(d), '--split', 'train', '--out', str(out/'train.jsonl'), '--range', '10', '100', '--negatives', '15', '--cache', str(out/'cache')],
        ['embed', '--data', str(out/'train.jsonl'), '--out', str(out/'embed'), '--epochs', '3', '--batch', '32', '--group', '4', '--lr', '5e-5',
         '--dropout', '0'] + (['--bf16'] if cpu_bf16() else []),    # bf16 autocast only where the CPU has bf16 instructions
        ['eval', '--data', str(d), '--model', str(out/'embed'/'model'), '--baseline', 'minilm', '--cache', str(out/'cache'), '--out', str(out/'report.md')]]
    for argv in steps:
        t = time.time(); print('$ finetune_nb ' + ' '.join(argv), flush=True)
        if cli(argv): raise SystemExit(f'finetune_nb {argv[0]} failed')
        print(f'({time.time() - t:.0f} s)', flush=True)
    print(f'whole run {(time.time() - t0) / 60:.1f} min on CPU ({os.cpu_count()} cores); published: MiniLM 0.645, BM25 0.687, bge-small 0.713, gte-small 0.727')

if __name__ == '__main__': main()

import sys, json, tempfile, torch, time
sys.path.insert(0, 'scratch')
import engine as E
from pathlib import Path
from finetune_nb.embed import load_embedder, shell_commands
shell = shell_commands()
tmp = Path(tempfile.mkdtemp())
def run(out='a', steps=4, resume=False, **kw):
    emb = load_embedder('minilm', device='cpu')
    a = dict(output_dir=str(tmp/out), max_steps=steps, batch_size=8, train_group_size=3, lr=1e-4, logging_steps=1, dropout=0.0, warmup_ratio=0.0); a.update(kw)
    r = E.train_embedder(emb, shell['train'][:40], args=E.EmbedArgs(**a), resume=resume)
    return r, emb
for kw in ({}, {'dropout': 0.1}, {'dropout': 0.1, 'learn_temperature': True}):
    (r1, e1), (r2, e2) = run(**kw), run(mini_batch_size=100, **kw)
    (r3, e3) = run(mini_batch_size=5, **kw)
    print(kw, [round(x['loss'], 6) for x in r1.losses], [round(x['loss'], 6) for x in r2.losses], [round(x['loss'], 6) for x in r3.losses],
          max((a - b).abs().max().item() for a, b in zip(e1.parameters(), e2.parameters())), max((a - b).abs().max().item() for a, b in zip(e1.parameters(), e3.parameters())))
# resume
(rf, ef) = run('full', steps=4, save_steps=2, dropout=0.1)
import shutil; shutil.rmtree(tmp/'full'/'checkpoint-4', ignore_errors=True)
(rr, er) = run('full', steps=4, save_steps=2, dropout=0.1, resume=True)
print('resume', [x['loss'] for x in rf.losses], [x['loss'] for x in rr.losses], max((a - b).abs().max().item() for a, b in zip(ef.parameters(), er.parameters())))
print(sorted(p.name for p in (tmp/'full').iterdir()), sorted(p.name for p in (tmp/'full'/'checkpoint-2').iterdir()))

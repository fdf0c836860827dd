import sys, json, os, torch
sys.path.insert(0, '/work/wt-engine/scratch')
import engine as E
from pathlib import Path
from finetune_nb.embed import load_embedder, shell_commands
out, bs = sys.argv[1], int(sys.argv[2]); extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
shell = shell_commands()
emb = load_embedder('minilm', device='cpu')
a = dict(output_dir=out, max_steps=4, batch_size=bs, train_group_size=2, lr=1e-4, logging_steps=1, dropout=0.0, warmup_ratio=0.0, learn_temperature=True); a.update(extra)
r = E.train_embedder(emb, shell['train'][:48], args=E.EmbedArgs(**a))
sd = {k: (v.full_tensor() if hasattr(v, 'full_tensor') else v) for k, v in emb.model.state_dict().items()}
if int(os.environ.get('RANK', 0)) == 0:
    p = next(emb.model.parameters()); print('PARAM', type(p).__name__, getattr(p, 'placements', None), tuple(p.shape), tuple(getattr(p, 'to_local', lambda: p)().shape))
    print('LOSSES', json.dumps([(round(x['loss'], 6), x['tau']) for x in r.losses]))
    torch.save({k: v.detach().clone() for k, v in sd.items()}, out + '/w.pt')

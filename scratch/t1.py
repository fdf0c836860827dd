import sys, json, tempfile, torch, time
sys.path.insert(0, 'scratch')
from engine import *
from finetune_nb.embed import load_embedder, shell_commands
import finetune_nb.embed as fe
shell = shell_commands()
tmp = Path(tempfile.mkdtemp())
def run(**kw):
    emb = load_embedder('minilm', device='cpu')
    a = EmbedArgs(output_dir=str(tmp/'a'), max_steps=kw.pop('steps', 3), batch_size=8, train_group_size=2, lr=1e-4, logging_steps=1, dropout=0.0, **kw)
    r = train_embedder(emb, shell['train'][:40], args=a)
    return r
t=time.time(); r1 = run(); print('plain', [x['loss'] for x in r1.losses], time.time()-t)
t=time.time(); r2 = run(mini_batch_size=5); print('cached', [x['loss'] for x in r2.losses], time.time()-t)
r3 = run(learn_temperature=True); print('tau', [(x['loss'], x['tau']) for x in r3.losses])
r4 = run(learn_temperature=True, mini_batch_size=4); print('tau cached', [(x['loss'], x['tau']) for x in r4.losses])

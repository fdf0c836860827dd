import sys, json, tempfile, torch, time
sys.path.insert(0, 'scratch')
import engine as E
from pathlib import Path
import finetune_nb.embed as fe
from finetune_nb.embed import load_embedder, shell_commands
shell = shell_commands()
tmp = Path(tempfile.mkdtemp())
for bf in (False, True):
    emb = load_embedder('minilm', device='cpu')
    t=time.time(); r = E.train_embedder(emb, shell['train'][:64], args=E.EmbedArgs(output_dir=str(tmp/'a'), max_steps=4, batch_size=16, train_group_size=2, lr=1e-4, logging_steps=1, dropout=0.0, bf16=bf)); print('new bf16', bf, [round(x['loss'],5) for x in r.losses], time.time()-t)
    emb = load_embedder('minilm', device='cpu')
    t=time.time(); r = fe.train_embedder(emb, shell['train'][:64], args=fe.EmbedArgs(output_dir=str(tmp/'b'), max_steps=4, batch_size=16, train_group_size=2, lr=1e-4, logging_steps=1, dropout=0.0, bf16=bf)); print('old bf16', bf, [round(x['loss'],5) for x in r.losses], time.time()-t)

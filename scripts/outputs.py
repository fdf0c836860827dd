"""Execute notebooks and save their outputs, so a learner reads results before running anything.

    .venv/bin/python scripts/outputs.py nbs/05_sft.ipynb [more.ipynb ...] [--slow] [--cuda]
    .venv/bin/python scripts/outputs.py nbs/05_sft.ipynb --slow-cells ID,ID   # these slow cells only (by cell id)
    .venv/bin/python scripts/outputs.py nbs/*.ipynb --count     # how many code cells carry outputs; runs nothing

Cells run in order in one kernel (execnb), from the notebook's folder, as `nbdev_test` runs them. Cells flagged
`#| slow` run only with --slow and `#| cuda` only with --cuda; otherwise they keep the outputs they had (a GPU run's
outputs are not wiped by a CPU refresh). `#| eval: false` cells never run. Progress bars are reduced to their final
state and plots are stored as palette PNGs, so outputs stay small. The notebook is written only if every cell succeeds.

What a cell wrote on stderr is sorted before it is saved (`clean_stderr`): other libraries' warnings and progress bars
("Loading weights", FutureWarnings from transformers and peft) are noise a reader should not wade through, and are
dropped; what this library said (its progress bars' final state, its warnings and log lines) is kept, as plain output.

    .venv/bin/python scripts/outputs.py nbs/*.ipynb --clean     # only sort the saved stderr; runs nothing
"""
import argparse, os, re, sys
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

def _flags(src):
    return {f for l in src.splitlines() if (m := re.match(r'\s*#\|\s*(.*)', l)) for f in m.group(1).split()}

def _squash(text):
    "Keep what a terminal would show: the text after the last carriage return of each line."
    return '\n'.join(l.rsplit('\r', 1)[-1] for l in text.split('\n'))

def _small_png(b64, colors=128):
    "A plot as a palette PNG (matplotlib figures have few colours): about a third of the bytes, the same picture."
    import base64, io
    from PIL import Image
    raw = base64.b64decode(b64)
    buf = io.BytesIO(); Image.open(io.BytesIO(raw)).convert('RGB').quantize(colors=colors).save(buf, format='PNG', optimize=True)
    return base64.b64encode(buf.getvalue()).decode() if buf.tell() < len(raw) else b64

# this library's progress bars (`LossBar`, encoding, masking, downloads, teacher scores); any other bar is another library's
_OUR_BARS = re.compile(r'^(training|training embedder|GRPO|masking|encoding \w+|downloading .+|teacher scores .+):\s+\d+%\|')
_BAR = re.compile(r'^[^|]{0,80}:\s+\d+%\||^\w[\w ]*: \d+ examples \[')
_WARNING = re.compile(r'^(\S.*?):\d+: (\w+Warning): (.*)$')
_NOISE = ('Different max_seq_lengths detected', 'The `tokenize` method is deprecated')   # sentence-transformers', bm25s' log lines

def clean_stderr(text):
    "What is kept of a cell's stderr: this library's bars, warnings (as `Category: message`) and log lines; other libraries' are dropped."
    out, lines, i = [], text.split('\n'), 0
    while i < len(lines):
        l = lines[i]; i += 1
        if m := _WARNING.match(l):
            while i < len(lines) and lines[i].startswith('  '): i += 1          # the source line(s) Python prints under a warning
            if '/finetune_nb/' in m.group(1): out.append(f'{m.group(2)}: {m.group(3)}')
        elif _BAR.match(l.strip()):
            if _OUR_BARS.match(l.strip()): out.append(l)
        elif l.strip() and not l.startswith(_NOISE): out.append(l)
    return '\n'.join(out)

def clean_outputs(cells):
    "Sort every cell's stderr (`clean_stderr`): an empty result is dropped, the rest becomes plain output. Returns the lines dropped."
    dropped = 0
    for c in cells:
        outs = []
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream' and o.get('name') == 'stderr':
                t = _squash(''.join(o['text'])); kept = clean_stderr(t)
                dropped += len([l for l in t.split('\n') if l.strip()]) - len([l for l in kept.split('\n') if l.strip()])
                if not kept.strip(): continue
                o['name'], o['text'] = 'stdout', kept.rstrip('\n') + '\n'
            outs.append(o)
        if 'outputs' in c: c['outputs'] = outs
    return dropped

def refresh(path, slow=False, cuda=False, slow_cells=()):
    path = Path(path).resolve()
    nb = read_nb(path)
    skip = {'cuda'} - ({'cuda'} if cuda else set()) | ({'slow'} - ({'slow'} if slow else set()))
    keep = {}
    for i, c in enumerate(nb.cells):
        f = _flags(c.source) if c.cell_type == 'code' else set()
        if c.cell_type == 'code' and ((f & skip and not ('cuda' not in f and c.get('id') in slow_cells)) or 'eval:' in c.source and re.search(r'#\|\s*eval:\s*false', c.source)):
            keep[i] = c.get('outputs', [])
            c.source = '#| skip\n' + c.source          # executed as a no-op below
    # execnb drops *all* printed output of a cell whose last line ends with ';' (Jupyter drops only the result), so such
    # a cell runs with a trailing `pass`: its prints are kept and its last value is still not shown
    semi = {i for i, c in enumerate(nb.cells) if i not in keep and c.cell_type == 'code' and c.source.rstrip().endswith(';')}
    for i in semi: nb.cells[i].source += '\npass'
    cwd = os.getcwd(); os.chdir(path.parent)
    try:
        sh = CaptureShell()
        sh.run_all(nb, exc_stop=True, preproc=lambda c: c.source.startswith('#| skip\n'))
    finally: os.chdir(cwd)
    for i, c in enumerate(nb.cells):
        if i in keep: c.source = c.source[len('#| skip\n'):]; c.outputs = keep[i]
        if i in semi: c.source = c.source[:-len('\npass')]
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream': o['text'] = _squash(''.join(o['text']))
            if i not in keep and 'image/png' in o.get('data', {}): o['data']['image/png'] = _small_png(''.join(o['data']['image/png']))
    clean_outputs(nb.cells)
    write_nb(nb, path)
    print(f'{path.name}: outputs saved')

def count(paths):
    "Print, per notebook and in all, how many code cells that are not `#| export` carry an output."
    tot = out = 0
    for p in paths:
        cells = [c for c in read_nb(p).cells if c.cell_type == 'code' and 'export' not in _flags(c.source)]
        n = sum(bool(c.get('outputs')) for c in cells); tot += len(cells); out += n
        print(f'{Path(p).name:45} {n:3} of {len(cells):3}')
    print(f'{"all notebooks":45} {out:3} of {tot:3} ({100 * out / tot:.1f}%)')

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('nbs', nargs='+'); p.add_argument('--slow', action='store_true'); p.add_argument('--cuda', action='store_true')
    p.add_argument('--slow-cells', default='', help='ids of the `#| slow` cells to run (the other slow cells keep their outputs)')
    p.add_argument('--count', action='store_true', help='only count the code cells with outputs')
    p.add_argument('--clean', action='store_true', help="only sort the saved outputs' stderr (clean_stderr); runs nothing")
    a = p.parse_args()
    if a.count: count(a.nbs)
    elif a.clean:
        for n in a.nbs:
            nb = read_nb(n); d = clean_outputs(nb.cells); write_nb(nb, n); print(f'{Path(n).name}: {d} stderr lines dropped')
    else:
        for n in a.nbs: refresh(n, a.slow, a.cuda, set(filter(None, a.slow_cells.split(','))))

"""Build the course website from the notebooks, with their saved outputs: `make docs` writes `_site/`.

    .venv/bin/python scripts/site.py [--out _site]

One page per notebook, `index.ipynb` (the course map) as the home page, and a sidebar in course order (the
notebooks' file names). Nothing is executed: the pages show the outputs saved in the notebooks (`make outputs`
refreshes them). The site needs no network, to build or to view: no CDN scripts, no web fonts, maths turned into
MathML at build time (browsers draw it natively), plots written next to the pages as PNG files.

Why nbconvert and not mkdocs-material + mkdocs-jupyter or Quarto: Quarto cannot be installed from PyPI here, and
mkdocs-material pulls web fonts and mkdocs-jupyter require.js from CDNs unless both are configured around. nbconvert
is the Jupyter project's own converter, already how every notebook viewer renders outputs (streams, images, HTML
tables, the mask view), and its `basic` template gives just the cells, so the page around them is ours and small.
"""
import argparse, html, json, os, re, shutil, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
HERE = Path(__file__).resolve().parent

def course_order(nbs=NBS):
    "The notebooks in course order: the course map first, then by file name; `_`-prefixed ones are not pages."
    nbs = sorted(p for p in Path(nbs).glob('*.ipynb') if not p.name.startswith('_'))
    return sorted(nbs, key=lambda p: (p.stem != 'index', p.name))

def page_name(nb):
    "`nbs/05_sft.ipynb` -> `05_sft.html` (names may hold dots: `10_tutorial.chat_sft`)."
    stem = re.sub(r'\.ipynb$', '', Path(nb).name)
    return 'index.html' if stem == 'index' else f'{stem}.html'

def _directives(src):
    "`(flags, body)` of a code cell: the words of its `#|` lines, and its source without them."
    lines = src.splitlines()
    flags = {f for l in lines if (m := re.match(r'\s*#\|\s*(.*)', l)) for f in m.group(1).split()}
    return flags, '\n'.join(l for l in lines if not re.match(r'\s*#\|', l)).strip('\n')

def nb_title(nb):
    "The notebook's `# ` heading, as plain text."
    for c in nb['cells']:
        if c['cell_type'] == 'markdown':
            for l in ''.join(c['source']).splitlines():
                if l.startswith('# '): return re.sub(r'`|\*\*', '', l[2:]).strip()
    raise ValueError('no "# title" heading in any markdown cell')

_MATH = re.compile(r'\$\$(.+?)\$\$|(?<![\\$\w])\$([^$\n]+?)\$(?!\w)', re.S)
_CODE = re.compile(r'(```.*?```|`[^`\n]*`)', re.S)

def math_to_mathml(md):
    "Turn `$...$` and `$$...$$` in markdown (not in code) into MathML, so that pages need no MathJax."
    from latex2mathml.converter import convert
    def one(m):
        block = m.group(1) is not None
        return convert((m.group(1) or m.group(2)).strip(), display='block' if block else 'inline')
    return ''.join(p if i % 2 else _MATH.sub(one, p) for i, p in enumerate(_CODE.split(md)))

def _links(md):
    "Links between notebooks (`05_sft.ipynb`, or `nbs/05_sft.ipynb` in the README's copy of the map) point at pages."
    return re.sub(r'\]\((?:nbs/)?([\w.]+)\.ipynb(#[\w-]+)?\)', lambda m: f']({page_name(m.group(1))}{m.group(2) or ""})', md)

def _keep(c):
    "Which cells a reader sees: not `#| hide` ones, nor the `default_exp` line or the export call."
    if c['cell_type'] == 'raw': return False
    if c['cell_type'] != 'code': return True
    f, body = _directives(''.join(c['source']))
    if 'hide' in f or 'include:' in f and 'false' in f: return False
    return bool(body.strip()) or bool(c.get('outputs'))

def prepare(nb):
    "A copy of `nb` as it is shown: hidden cells dropped, `#|` lines removed, maths as MathML, links to pages."
    nb = json.loads(json.dumps(nb))
    cells = []
    for c in nb['cells']:
        if not _keep(c): continue
        src = ''.join(c['source'])
        if c['cell_type'] != 'code':
            c['source'] = _links(math_to_mathml(src)); cells.append(c); continue
        f, c['source'] = _directives(src)
        tags = [t for t in ('slow', 'cuda') if t in f]
        if tags: c.setdefault('metadata', {})['tags'] = tags
        drew = [l.strip() for l in c['source'].splitlines() if re.search(r'plot|plt\.|\bax\.|mining_report', l)][-1:]
        alt = f'Plot drawn by: {drew[0][:120]}' if drew else 'Plot drawn by the code cell above'
        for o in c.get('outputs', []):
            data = o.get('data', {})
            for mime in ('image/png', 'image/jpeg'):   # alt text for plots: the call that drew them
                if mime in data: o.setdefault('metadata', {}).setdefault(mime, {}).setdefault('alt', alt)
            if 'text/markdown' in data: data['text/markdown'] = _links(''.join(data['text/markdown']))   # tables that link notebooks
        cells.append(c)
    nb['cells'] = cells
    return nb

def _exporter():
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    cfg = Config()
    cfg.HTMLExporter.exclude_input_prompt = cfg.HTMLExporter.exclude_output_prompt = True
    cfg.ExtractOutputPreprocessor.enabled = True
    cfg.ExtractOutputPreprocessor.extract_output_types = {'image/png', 'image/jpeg', 'image/svg+xml'}
    return HTMLExporter(template_name='basic', config=cfg)

def _nav(pages, current):
    items = []
    for name, title, _ in pages:
        cls = ' class="current"' if name == current else ''
        items.append(f'<li><a href="{name}"{cls}>{html.escape(title)}</a></li>')
    return '<ol class="toc">' + ''.join(items) + '</ol>'

def _page(title, body, nav, prev, nxt, source):
    links = ''.join(f'<a class="{k}" href="{p[0]}">{a} {html.escape(p[1])}</a>' for k, a, p in
                    (('prev', '←', prev), ('next', '→', nxt)) if p)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · finetune_nb</title><link rel="stylesheet" href="site.css"></head>
<body><nav class="side"><a class="home" href="index.html">finetune_nb</a>{nav}</nav>
<main><p class="source">Notebook: <code>nbs/{html.escape(source)}</code>. Cells marked <span class="tag">slow</span> or
<span class="tag">cuda</span> are skipped by the tests; their outputs are from a saved run.</p>
{body}<footer>{links}</footer></main></body></html>
"""

def build(out=ROOT/'_site', nbs=NBS, quiet=False):
    "Build the site into `out` (replaced whole, atomically); return the list of (page, title, notebook)."
    from pygments.formatters import HtmlFormatter
    import nbformat
    t0 = time.time()
    out = Path(out); out.parent.mkdir(parents=True, exist_ok=True)
    order = course_order(nbs)
    if not order: raise FileNotFoundError(f'no notebooks in {nbs}')
    loaded = [(p, json.loads(p.read_text())) for p in order]
    pages = []
    for p, nb in loaded:
        try: pages.append((page_name(p), nb_title(nb), p.name))
        except ValueError as e: raise ValueError(f'{p}: {e}') from None
    tmp = Path(tempfile.mkdtemp(prefix='.site-', dir=out.parent))
    try:
        ex = _exporter()
        for i, (p, nb) in enumerate(loaded):
            name, title, _ = pages[i]
            body, res = ex.from_notebook_node(nbformat.reads(json.dumps(prepare(nb)), as_version=4),
                                              resources={'output_files_dir': f'{Path(name).stem}_files'})
            for f, data in res.get('outputs', {}).items():
                (tmp/f).parent.mkdir(parents=True, exist_ok=True); (tmp/f).write_bytes(data)
            prev = pages[i-1] if i else None
            nxt = pages[i+1] if i + 1 < len(pages) else None
            (tmp/name).write_text(_page(title, body, _nav(pages, name), prev, nxt, p.name))
        css = (HERE/'site.css').read_text() + '\n' + HtmlFormatter(style='friendly').get_style_defs('.highlight')
        (tmp/'site.css').write_text(css)
        for d in [tmp, *(x for x in tmp.rglob('*') if x.is_dir())]: d.chmod(0o755)   # mkdtemp made it 0700
        old = out.with_name(out.name + '.old')
        if out.exists(): shutil.rmtree(old, ignore_errors=True); out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True); raise
    if not quiet: print(f'{len(pages)} pages written to {out} in {time.time()-t0:.1f} s')
    return pages

if __name__ == '__main__':
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument('--out', default=str(ROOT/'_site'))
    build(Path(a.parse_args().out))

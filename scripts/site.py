"""Build the course website from the notebooks, with their saved outputs: `make docs` writes `_site/`.

    .venv/bin/python scripts/site.py [--out _site]

One page per notebook, `index.ipynb` (the course map) as the home page, and a sidebar in course order (the
notebooks' file names). Nothing is executed: the pages show the outputs saved in the notebooks (`make outputs`
refreshes them). The site needs no network, to build or to view: no CDN scripts, no web fonts, maths turned into
MathML at build time (browsers draw it natively), plots written next to the pages as PNG files.

Each page has a table of contents of its own (its `##` and `###` headings, opened under the chapter in the sidebar), and every
page has a search box: `pagefind` (PyPI: `pagefind[bin]`, a Rust binary in a wheel) indexes the built pages into
`_site/pagefind/`, and its script searches that index in the browser, with no server but the one serving the files.

Tests stay in the notebooks, next to the code they check: fastcore's docs keep them there as examples a reader can
run, and nbdev's docs hide (`#| hide`) the ones that teach nothing. Here a cell that only checks (every line a
`test_*` call, `show_error` or an `assert`, and no output) is folded on the site under "Tests", one click away; cells
that teach with a check at the end are shown as they are. `#| echo: false` (nbdev's flag) shows a cell's output
without its code, as the article map does for its tables.

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

def imports_only(src):
    "Is this code the module's own setup: imports, and a logger (`_log = logging.getLogger(...)`)?"
    import ast
    try: body = ast.parse(src).body
    except SyntaxError: return False
    return bool(body) and all(isinstance(n, (ast.Import, ast.ImportFrom)) or (isinstance(n, ast.Assign) and ast.unparse(n.value).startswith('logging.getLogger('))
                              for n in body)

def _keep(c):
    "Which cells a reader sees: not `#| hide` ones, nor the `default_exp` line or the export call, nor a module's exported imports."
    if c['cell_type'] == 'raw': return False
    if c['cell_type'] != 'code': return True
    f, body = _directives(''.join(c['source']))
    if 'hide' in f or 'include:' in f and 'false' in f: return False
    if 'export' in f and imports_only(body): return False     # the module's plumbing, as nbdev's own docs hide it
    return bool(body.strip()) or bool(c.get('outputs'))

def _is_check(node):
    import ast
    return isinstance(node, ast.Assert) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                                            and isinstance(node.value.func, ast.Name) and node.value.func.id.startswith('test_'))

def split_checks(src):
    "`(code, checks)`: a cell's top-level checks (`test_*` calls and asserts, whole statements) apart from the rest of its code."
    import ast
    try: body = ast.parse(src).body
    except SyntaxError: return src, ''                    # IPython syntax: shown as it is
    lines = src.splitlines()
    rows = lambda n: set(range(n.lineno - 1, n.end_lineno))
    taken = set().union(*(rows(n) for n in body if _is_check(n)))
    if not taken or taken & set().union(*(rows(n) for n in body if not _is_check(n))):   # a line shared with other code (`x = 1; assert x`)
        return src, ''
    code = '\n'.join(l for i, l in enumerate(lines) if i not in taken)
    return re.sub(r'\n{3,}', '\n\n', code).strip('\n'), '\n'.join(lines[i] for i in sorted(taken))

def _folded(src):
    "A test-only cell as a closed `<details>` block of highlighted code."
    from pygments import highlight
    from pygments.lexers import PythonLexer
    from pygments.formatters import HtmlFormatter
    n = len(src.splitlines())
    return (f'<details class="tests"><summary>Checks ({n} line{"s" * (n > 1)})</summary>\n'
            f'{highlight(src, PythonLexer(), HtmlFormatter(cssclass="highlight"))}</details>')

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
        code, checks = split_checks(c['source'])
        fold = {'cell_type': 'markdown', 'id': c.get('id', 'x') + '-checks', 'metadata': {}, 'source': _folded(checks)} if checks else None
        if fold and not code:
            if not c.get('outputs'): cells.append(fold); continue
            fold = None                                   # checks that printed something stay with their output
        elif fold: c['source'] = code
        tags = [t for t in ('slow', 'cuda') if t in f]
        if re.search(r'#\|\s*echo:\s*false', src): tags.append('remove_input')
        if tags: c.setdefault('metadata', {})['tags'] = tags
        drew = [l.strip() for l in c['source'].splitlines() if re.search(r'plot|plt\.|\bax\.|mining_report', l)][-1:]
        alt = f'Plot drawn by: {drew[0][:120]}' if drew else 'Plot drawn by the code cell above'
        for o in c.get('outputs', []):
            data = o.get('data', {})
            for mime in ('image/png', 'image/jpeg'):   # alt text for plots: the call that drew them
                if mime in data: o.setdefault('metadata', {}).setdefault(mime, {}).setdefault('alt', alt)
            if 'text/markdown' in data: data['text/markdown'] = _links(''.join(data['text/markdown']))   # tables that link notebooks
        cells.append(c)
        if fold: cells.append(fold)
    nb['cells'] = cells
    return nb

def _exporter():
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    cfg = Config()
    cfg.HTMLExporter.exclude_input_prompt = cfg.HTMLExporter.exclude_output_prompt = True
    cfg.ExtractOutputPreprocessor.enabled = True
    cfg.ExtractOutputPreprocessor.extract_output_types = {'image/png', 'image/jpeg', 'image/svg+xml'}
    cfg.TagRemovePreprocessor.enabled = True
    cfg.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    return HTMLExporter(template_name='basic', config=cfg)

def _nav(pages, current, toc=''):
    "The sidebar: the chapters in course order, the current one opened on its own headings (`page_toc`)."
    items = []
    for name, title, _ in pages:
        cls = ' class="current"' if name == current else ''
        items.append(f'<li><a href="{name}"{cls}>{html.escape(title)}</a>{toc if name == current else ""}</li>')
    return '<ol class="toc">' + ''.join(items) + '</ol>'

_HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)(?:<a [^>]*class="anchor-link"[^>]*>.*?</a>)?</h\1>', re.S)

def page_toc(body):
    "The page's own table of contents: a link to each `##` and `###` heading (nbconvert gives each an id)."
    items = [(int(lvl), hid, re.sub(r'<[^>]+>', '', text).strip()) for lvl, hid, text in _HEADING.findall(body)]
    if len(items) < 2: return ''
    lis = ''.join(f'<li class="h{lvl}"><a href="#{hid}">{t}</a></li>' for lvl, hid, t in items)
    return f'<ul class="pagetoc" aria-label="On this page">{lis}</ul>'

_SEARCH = ('<div id="search"></div><script src="pagefind/pagefind-ui.js"></script>'
           '<script>window.addEventListener("DOMContentLoaded", () => new PagefindUI({element: "#search", showImages: false, resetStyles: false}));</script>')

def _page(title, body, nav, prev, nxt, source):
    links = ''.join(f'<a class="{k}" href="{p[0]}">{a} {html.escape(p[1])}</a>' for k, a, p in
                    (('prev', '←', prev), ('next', '→', nxt)) if p)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · finetune_nb</title><link rel="stylesheet" href="pagefind/pagefind-ui.css"><link rel="stylesheet" href="site.css"></head>
<body><nav class="side"><a class="home" href="index.html">finetune_nb</a>{_SEARCH}{nav}</nav>
<main data-pagefind-body><p class="source">Notebook: <code>nbs/{html.escape(source)}</code>. Cells marked <span class="tag">slow</span> or
<span class="tag">cuda</span> are skipped by the tests; their outputs are from a saved run.</p>
{body}<footer>{links}</footer></main></body></html>
"""

def index_pages(folder):
    "Index the pages for search: `pagefind` writes `folder/pagefind/` (the index and the search box's script)."
    import subprocess
    r = subprocess.run([sys.executable, '-m', 'pagefind', '--site', str(folder), '--output-subdir', 'pagefind'], capture_output=True, text=True)
    if r.returncode or not (Path(folder)/'pagefind'/'pagefind-ui.js').is_file():
        raise RuntimeError(f'pagefind could not index {folder} (pip install "pagefind[bin]"): {(r.stderr or r.stdout).strip()[-300:]}')

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
            body = body.replace('<a class="anchor-link"', '<a data-pagefind-ignore class="anchor-link"')   # no ¶ in search results
            (tmp/name).write_text(_page(title, body, _nav(pages, name, page_toc(body)), prev, nxt, p.name))
        index_pages(tmp)
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

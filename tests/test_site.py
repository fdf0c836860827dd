"The course website: `make docs` builds it from the notebooks offline, and headless Chromium checks every page."
import functools, http.server, importlib.util, json, os, re, shutil, subprocess, threading, urllib.request
from pathlib import Path
from urllib.parse import urldefrag

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync']

def _site_module():
    spec = importlib.util.spec_from_file_location('site_builder', ROOT/'scripts'/'site.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m

def _apt(package):
    "Install a Debian package (CI starts from a bare machine); return apt-get's last error, or ''."
    sudo = [] if os.geteuid() == 0 else ['sudo', '-n']
    env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
    for cmd in (['apt-get', 'install', '-y', '-q', package], ['apt-get', 'update', '-q'], ['apt-get', 'install', '-y', '-q', package]):
        r = subprocess.run(sudo + cmd, capture_output=True, text=True, env=env)
        if r.returncode == 0 and cmd[1] == 'install': return ''
    return r.stderr.strip()[-500:]

def chromium():
    "Debian's Chromium, a Korean font for the articles' Korean (fonts-noto-cjk) and an emoji font (🤗 in headings), installed when missing."
    if not subprocess.run(['fc-list', ':lang=ko'], capture_output=True, text=True).stdout.strip():
        assert not (err := _apt('fonts-noto-cjk')), f'fonts-noto-cjk could not be installed with apt-get: {err}'
    if 'Emoji' not in subprocess.run(['fc-list'], capture_output=True, text=True).stdout:
        assert not (err := _apt('fonts-noto-color-emoji')), f'fonts-noto-color-emoji could not be installed with apt-get: {err}'
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    if exe: return exe
    err = _apt('chromium'); exe = shutil.which('chromium')
    assert exe, f"Chromium is needed for the site test and could not be installed with apt-get: {err}"
    return exe

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

def serve(folder):
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}/'

def _status(url):
    try:
        with urllib.request.urlopen(url) as r: return r.status, r.read().decode('utf-8', 'replace')
    except urllib.error.HTTPError as e: return e.code, ''

_HANGUL = """() => {
    const txt = Array.from(document.querySelectorAll('main p, main li, main td')).map(e => e.textContent).find(t => /[\\uac00-\\ud7a3]/.test(t));
    if (!txt) return null;
    const font = getComputedStyle(document.querySelector('main p')).font;
    const draw = ch => { const c = document.createElement('canvas'); c.width = c.height = 48; const x = c.getContext('2d');
                         x.font = font.replace(/\\d+px/, '32px'); x.fillText(ch, 4, 36); return x.getImageData(0, 0, 48, 48).data.join(); };
    const [a, b] = txt.match(/[\\uac00-\\ud7a3]/g).filter((v, i, s) => s.indexOf(v) === i);
    return b !== undefined && draw(a) !== draw(b);
}"""

def search(page, base, shots):
    "Type into the search box as a reader would; the problems found (none: results that link to the right pages)."
    page.goto(base + 'index.html', wait_until='load')
    page.fill('.pagefind-ui__search-input', 'InfoNCE temperature')
    try: page.wait_for_selector('.pagefind-ui__result-link', timeout=15_000)
    except Exception: return ['search: no results for "InfoNCE temperature"']
    page.wait_for_timeout(500)
    hrefs = page.eval_on_selector_all('.pagefind-ui__result-link', 'els => els.map(e => e.getAttribute("href"))')
    page.screenshot(path=str(shots/'search.png'))
    return [] if any('06_embed' in h for h in hrefs) else [f'search: "InfoNCE temperature" does not find 06_embed: {hrefs[:5]}']

def test_site_renders_in_chromium():
    from playwright.sync_api import sync_playwright
    site = ROOT/'_site'
    pages = _site_module().build(site, quiet=True)
    names = [p for p, _, _ in pages]
    nbs = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    assert len(pages) == len(nbs) and names[0] == 'index.html', (names, nbs)
    assert not list(site.rglob('*.ipynb')), 'the site should hold pages, not notebooks'
    html = {n: (site/n).read_text() for n in names}
    for n, h in html.items():   # nothing fetched from elsewhere: no CDN scripts, styles or fonts
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', h), f'{n} loads something from the network'
    shots = site/'screenshots'; shots.mkdir(exist_ok=True)
    srv, base = serve(site)
    problems, outside, korean = [], [], []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={'width': 1280, 'height': 900})
            def route(r):
                if r.request.url.startswith(base) or r.request.url.startswith('data:'): return r.continue_()
                outside.append(r.request.url); r.abort()
            page.route('**/*', route)
            errors = []
            page.on('pageerror', lambda e: errors.append(str(e)))
            page.on('console', lambda m: m.type == 'error' and errors.append(m.text))
            for name, title, nb in pages:
                page.goto(base + name, wait_until='load')
                if page.title() != f'{title} · finetune_nb': problems.append(f'{name}: title {page.title()!r}')
                h1 = page.locator('main h1').first
                if not h1.count() or title not in h1.inner_text(): problems.append(f'{name}: no <h1> with {title!r}')
                imgs = page.evaluate('Array.from(document.images).map(i => [i.getAttribute("src"), i.complete && i.naturalWidth > 0])')
                problems += [f'{name}: image {src} did not load' for src, ok in imgs if not ok]
                maths = page.evaluate('Array.from(document.querySelectorAll("math")).map(m => m.getBoundingClientRect().width)')
                problems += [f'{name}: a formula has no width (MathML not rendered)' for w in maths if w <= 0]
                for href in set(page.evaluate('Array.from(document.links).map(a => a.href)')):
                    if not href.startswith(base): continue
                    url, frag = urldefrag(href)
                    code, text = _status(url)
                    if code != 200: problems.append(f'{name}: link {href} -> HTTP {code}'); continue
                    if frag and f'id="{frag}"' not in text: problems.append(f'{name}: link {href} -> no element with id {frag!r}')
                if page.locator('.output_stderr').count(): problems.append(f'{name}: a stderr block (outputs.py sorts stderr when saving)')
                heads = page.locator('main h2[id], main h3[id]').count()
                if heads >= 2 and page.locator('nav.side ul.pagetoc a').count() != heads: problems.append(f'{name}: the page TOC does not list its {heads} headings')
                if name == 'index.html': page.screenshot(path=str(shots/'home.png'))
                if name == '06_embed.html': page.screenshot(path=str(shots/'06_embed.png'))
                hangul = page.evaluate(_HANGUL)   # Korean in the prose: two different syllables must draw differently (a missing font draws boxes)
                if hangul is not None: korean.append(name)
                if hangul is False: problems.append(f'{name}: Korean text renders as boxes (no CJK font)')
                if name == '04_masking.html':
                    view = page.locator('div:has(> b:text-matches("trained \\\\d+ of \\\\d+ tokens"))').first
                    if not view.count(): problems.append('04_masking.html: no mask view')
                    else: view.scroll_into_view_if_needed(); view.screenshot(path=str(shots/'04_masking_mask_view.png'))
                problems += [f'{name}: {e}' for e in errors]; errors.clear()
            problems += search(page, base, shots)
            browser.close()
    finally: srv.shutdown()
    assert korean, 'no page with Korean prose was checked'
    assert not outside, f'pages asked the network for: {sorted(set(outside))[:5]}'
    assert not problems, '\n'.join(problems)
    for f in ('home.png', '04_masking_mask_view.png', '06_embed.png', 'search.png'): assert (shots/f).stat().st_size > 10_000, f
    assert sum(len(imgs) > 0 for imgs in [re.findall(r'<img ', h) for h in html.values()]) >= 4, 'plots missing from the pages'

def test_math_and_links_are_converted():
    m = _site_module()
    md = m.math_to_mathml('Rank $r$ and `$not math$`, and $$\\frac{\\alpha}{r}$$')
    assert '<math' in md and 'display="block"' in md and '`$not math$`' in md, md
    assert m._links('[SFT](nbs/05_sft.ipynb) and [x](05_sft.ipynb#the-recipe)') == '[SFT](05_sft.html) and [x](05_sft.html#the-recipe)'
    order = [p.name for p in m.course_order()]
    assert order[0] == 'index.ipynb' and order[1:] == sorted(order[1:]), order

def test_checks_fold_and_page_toc():
    m = _site_module()
    code, checks = m.split_checks("x = 1\ntest_eq(x,\n        1)   # one\nfor i in range(2):\n    assert i < 2\nprint(x)\nassert x")
    assert code == 'x = 1\nfor i in range(2):\n    assert i < 2\nprint(x)', code      # a check inside a loop stays
    assert checks == 'test_eq(x,\n        1)   # one\nassert x', checks
    assert m.split_checks('x = 1; assert x') == ('x = 1; assert x', '')                # sharing a line with code: shown as it is
    assert m.split_checks('assert x; y = 1\nassert y') == ('assert x; y = 1\nassert y', '')   # ... whichever comes first
    assert m.split_checks('%time x = 1\nassert x') == ('%time x = 1\nassert x', '')     # IPython syntax: shown as it is
    assert m.imports_only('import os\nfrom x import y\n_log = logging.getLogger("a")') and not m.imports_only('import os\nX = 1')
    toc = m.page_toc('<h1 id="t">T</h1><h2 id="a">A<a data-pagefind-ignore class="anchor-link" href="#a">¶</a></h2><h3 id="b">B <code>c</code></h3>')
    assert '<li class="h2"><a href="#a">A</a></li><li class="h3"><a href="#b">B c</a></li>' in toc, toc
    nav = m._nav([('a.html', 'A', 'a.ipynb'), ('b.html', 'B', 'b.ipynb')], 'b.html', toc)
    assert nav.index('b.html') < nav.index('pagetoc') and nav.count('pagetoc') == 1, nav   # opened under the current chapter only
    assert m.page_toc('<h2 id="a">A</h2>') == ''                                        # one heading: no TOC

def test_saved_stderr_is_sorted():
    spec = importlib.util.spec_from_file_location('outputs', ROOT/'scripts'/'outputs.py')
    o = importlib.util.module_from_spec(spec); spec.loader.exec_module(o)
    err = ('/x/site-packages/transformers/modeling_utils.py:12: FutureWarning: `is_gradient_checkpointing` is deprecated\n  warnings.warn(\n'
           'Loading weights: 100%|██████████| 272/272 [00:00<00:00, 9394.05it/s]\n'
           'training: 100%|██████████| 8/8 [00:10<00:00,  1.3s/it, loss=2.1]\n'
           '/work/finetune_nb/metrics.py:40: UserWarning: 36 queries collide\n  if kept: warnings.warn(msg)\n'
           'Different max_seq_lengths detected: {1, 2}. Using the maximum value.\nstep 3: the gradient norm is nan\n')
    assert o.clean_stderr(err) == 'training: 100%|██████████| 8/8 [00:10<00:00,  1.3s/it, loss=2.1]\nUserWarning: 36 queries collide\nstep 3: the gradient norm is nan'
    cells = [{'outputs': [{'output_type': 'stream', 'name': 'stderr', 'text': 'Loading weights: 100%|█| 1/1 [00:00<00:00]\n'},
                          {'output_type': 'stream', 'name': 'stderr', 'text': err}]}]
    assert o.clean_outputs(cells) == 6 and [x['name'] for x in cells[0]['outputs']] == ['stdout']
    nbs = sorted((ROOT/'nbs').glob('*.ipynb'))
    left = [(p.name, c.get('id')) for p in nbs for c in json.loads(p.read_text())['cells'] for x in c.get('outputs', []) if x.get('name') == 'stderr']
    assert not left, f'saved stderr not sorted (scripts/outputs.py --clean): {left[:5]}'

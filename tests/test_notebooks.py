"Run every notebook once through nbdev's own runner, so one pytest run reports notebooks and plain tests together."
import tempfile
from pathlib import Path
import pytest
import nbdev.test as nbt   # imported as a module so pytest does not collect `test_nb` itself
from nbdev.config import get_config

NBS = sorted(p for p in (Path(__file__).parent.parent/'nbs').glob('*.ipynb') if not p.name.startswith('_'))

@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb, tmp_path, monkeypatch):
    # the notebooks' temporary folders (merged models, GGUF files: gigabytes a run) go under pytest's tmp_path, which
    # pytest prunes to the last three runs, instead of piling up in /tmp until the disk is full (it was, once)
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path)); monkeypatch.setenv('TMPDIR', str(tmp_path))
    cfg = get_config()
    ok, secs = nbt.test_nb(nb, skip_flags=cfg.tst_flags.split(), basepath=cfg.config_path)
    assert ok, f'{nb.name} failed (see the traceback above), after {secs:.0f}s'

"""Generate the model-zoo tables of the READMEs from the metafiles.

``model-index.yml`` imports one ``configs/<method>/metafile.yaml`` per method;
this tool renders every metafile's models as a Markdown table and writes it
into ``configs/<method>/README.md`` between the markers::

    <!-- model-zoo-table:start -->
    ...generated...
    <!-- model-zoo-table:end -->

The metafiles are the single source: ``--check`` exits non-zero when a
README's table differs from what the metafile gives (tests run it).

Example::

    python tools/misc/model_zoo_tables.py            # rewrite the tables
    python tools/misc/model_zoo_tables.py --check    # verify only
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List

import yaml

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
START = '<!-- model-zoo-table:start -->'
END = '<!-- model-zoo-table:end -->'


def load_metafiles(repo: str = REPO) -> Dict[str, dict]:
    """Metafile path (relative to the repo) -> parsed content."""
    with open(osp.join(repo, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    metafiles = {}
    for rel in index.get('Import', []):
        path = osp.join(repo, rel)
        if not osp.isfile(path):
            raise FileNotFoundError(f'model-index.yml imports {rel}, which '
                                    'does not exist')
        with open(path) as f:
            metafiles[rel] = yaml.safe_load(f)
    return metafiles


def _weights(model: dict) -> str:
    url = model.get('Weights')
    return f'[model]({url})' if url else 'not published'


def render_table(metafile: dict) -> str:
    """Markdown table of one metafile's models (one row per result)."""
    rows: List[str] = [
        '| config | dataset | mIoU | source of the number | weights |',
        '|---|---|---|---|---|'
    ]
    for model in metafile.get('Models') or []:
        config = model['Config']
        link = f'[{osp.basename(config)}]({osp.basename(config)})'
        source = (model.get('Metadata') or {}).get('Results Source', '-')
        results = model.get('Results') or [None]
        for result in results:
            if result is None:
                dataset, miou = '-', '-'
            else:
                dataset = result.get('Dataset', '-')
                miou = result.get('Metrics', {}).get('mIoU', '-')
            rows.append(f'| {link} | {dataset} | {miou} | {source} | '
                        f'{_weights(model)} |')
    return '\n'.join(rows)


def readme_of(metafile_rel: str, metafile: dict, repo: str = REPO) -> str:
    collections = metafile.get('Collections') or [{}]
    readme = collections[0].get('README') or osp.join(
        osp.dirname(metafile_rel), 'README.md')
    return osp.join(repo, readme)


def splice(text: str, table: str, path: str) -> str:
    """Replace the block between the markers (append a section if absent)."""
    block = f'{START}\n{table}\n{END}'
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        return head + block + tail
    if START in text or END in text:
        raise ValueError(f'{path}: only one of the model-zoo markers found')
    return text.rstrip('\n') + '\n\n## Model zoo\n\n' + block + '\n'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true',
                        help='only verify that the READMEs are up to date')
    args = parser.parse_args()
    stale = []
    for rel, metafile in load_metafiles().items():
        path = readme_of(rel, metafile)
        text = open(path).read() if osp.exists(path) else ''
        new = splice(text, render_table(metafile), path)
        if new == text:
            continue
        stale.append(path)
        if not args.check:
            tmp = path + '.tmp'
            with open(tmp, 'w') as f:
                f.write(new)
            os.replace(tmp, path)
    if args.check and stale:
        print('model-zoo tables out of date (run tools/misc/'
              'model_zoo_tables.py): ' + ', '.join(stale))
        return 1
    print(('updated: ' + ', '.join(stale)) if stale else 'all tables up to date')
    return 0


if __name__ == '__main__':
    sys.exit(main())

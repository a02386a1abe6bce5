"""Install wsss_mmseg.

Configs, tools and ``model-index.yml`` are shipped inside the package under
``wsss_mmseg/.mim/`` so that mmengine resolves ``wsss_mmseg::<cfg>`` bases.
For an editable install (``pip install -e .``) the ``.mim`` entries are
symlinks to the repository's folders; for a regular build they are copies.
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def get_version() -> str:
    """Read ``__version__`` from wsss_mmseg/version.py without importing."""
    scope: dict = {}
    with open(osp.join(HERE, 'wsss_mmseg', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(name: str) -> list:
    """Requirement lines of ``requirements/<name>.txt`` (no comments)."""
    lines = []
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                lines.append(line)
    return lines


def add_mim_extension() -> None:
    """Populate ``wsss_mmseg/.mim`` with links (editable) or copies (build)."""
    editable = any(cmd in sys.argv for cmd in ('develop', 'editable_wheel'))
    building = any(cmd in sys.argv for cmd in
                   ('bdist_wheel', 'sdist', 'install', 'build', 'build_py'))
    if not (editable or building):
        return
    mim_dir = osp.join(HERE, 'wsss_mmseg', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        dst = osp.join(mim_dir, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if editable:
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='wsss_mmseg',
        version=get_version(),
        description='Weakly supervised semantic segmentation (SPN, '
        'AffinityNet/PSA, APC) as an MMSegmentation plugin',
        long_description=open(osp.join(HERE, 'README.md')).read()
        if osp.exists(osp.join(HERE, 'README.md')) else '',
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        python_requires='>=3.8',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'demo',
                                        'docs')),
        include_package_data=True,
        package_data={'wsss_mmseg': ['.mim/**/*', '.mim/*']},
        install_requires=parse_requirements('runtime'),
        extras_require={
            'tests': parse_requirements('tests'),
            'optional': parse_requirements('optional'),
        },
        zip_safe=False)

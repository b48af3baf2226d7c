"""Data flows one way: the models import none of the parts built on them,
and the package has no import cycle (read from the source with ast)."""

import ast

from tests.conftest import REPO

PACKAGE = REPO / 'litehrnet_mm'
# What models/ must never import: the parts that use the models, and the
# loader of checkpoint files.
OUTSIDE = ('analysis', 'checkpoint', 'data', 'datasets', 'deploy')
# The one allowed exception: LiteHRNet.switch_to_deploy calls into deploy/
# lazily, inside the method.
ALLOWED = {('litehrnet_mm.models.backbones.litehrnet', 'litehrnet_mm.deploy')}


def module_name(path):
    parts = list(path.relative_to(REPO).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def imports(path):
    """``(imported module, at module level)`` for every import in a file;
    ``from a import b`` names ``a.b`` when ``b`` is a module."""
    name = module_name(path)
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    tree = ast.parse(path.read_text())
    top_level = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parent = package.split('.')
                parent = parent[: len(parent) - node.level + 1]
                base = '.'.join(parent + ([base] if base else []))
            targets = []
            for alias in node.names:
                sub = f'{base}.{alias.name}'
                exists = (PACKAGE.parent / sub.replace('.', '/')).exists() or (
                    PACKAGE.parent / (sub.replace('.', '/') + '.py')
                ).exists()
                targets.append(sub if exists else base)
        else:
            continue
        found += [(t, id(node) in top_level) for t in targets]
    return found


def package_modules():
    return {module_name(p): p for p in PACKAGE.rglob('*.py')}


def test_models_import_nothing_built_on_them():
    offending = []
    for name, path in package_modules().items():
        if not name.startswith('litehrnet_mm.models'):
            continue
        for target, _ in imports(path):
            if (name, target) in ALLOWED:
                continue
            if any(
                target == f'litehrnet_mm.{part}'
                or target.startswith(f'litehrnet_mm.{part}.')
                for part in OUTSIDE
            ):
                offending.append(f'{name} imports {target}')
    assert not offending, offending


def test_the_lazy_deploy_call_is_inside_switch_to_deploy():
    path = PACKAGE / 'models' / 'backbones' / 'litehrnet.py'
    assert ('litehrnet_mm.deploy', False) in imports(path)
    assert ('litehrnet_mm.deploy', True) not in imports(path)


def test_no_import_cycle():
    """Lazy imports (inside functions) count too, but for the allowed
    one."""
    modules = package_modules()
    graph = {
        name: {
            t
            for t, _ in imports(path)
            if t in modules and t != name and (name, t) not in ALLOWED
        }
        for name, path in modules.items()
    }
    done, stack = set(), []

    def visit(name):
        if name in stack:
            cycle = stack[stack.index(name) :] + [name]
            raise AssertionError('import cycle: ' + ' -> '.join(cycle))
        if name in done:
            return
        stack.append(name)
        for target in sorted(graph[name]):
            visit(target)
        stack.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)

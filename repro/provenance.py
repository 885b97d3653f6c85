"""What produced a number: the code (a hashed closure), where its files came from, the machine.

A number is keyed on the code that made it. :func:`code_closure` starts from the modules that a
computation names (its roots: the model family, the metrics, the evaluation and data code),
follows every import of the package from there, function-local ones included, and hashes the
source of the modules it reaches. A git commit alone would miss uncommitted edits, and
``__version__`` is a constant: either would let a rerun after a code change reuse old numbers.
Hashing the whole package instead would make a new model family or a docstring fix invalidate
every number.

What a module's hash covers: its syntax tree without docstrings (and without other bare string
or constant statements), so a comment, a docstring or the layout of the code changes no key.
A module that lists every family or metric (:data:`LISTINGS`) is hashed and followed without
its list: the job's own family and metrics are roots already. Code that cannot be attributed
counts: an import whose target is computed at run time makes every module of the package count,
and a root outside the package whose source cannot be read makes a closure that matches no
other (the job is recomputed).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import repro
from repro.paths import REPO_ROOT, cache_dir, shared_root, weights_dirs

PACKAGE_DIR = Path(repro.__file__).resolve().parent

# Modules that list every model family or metric module, by the name of the list. The list and
# the imports only it uses are left out of the module's hash and of the import graph.
LISTINGS: Mapping[str, str] = {
    "repro.models.registry": "BUILT_IN_FAMILIES",
    "repro.metrics.registry": "METRIC_MODULES",
}
# Modules whose computed imports load code from outside the package only (a user's
# ``module:factory``, an entry point): that code is keyed through the model's provenance
# (``origin.source_sha256``), so those imports do not make the whole package count.
OUTSIDE_LOADERS = frozenset({"repro.models.plugins"})
# A root for code whose module cannot be named (a callable without ``__module__``).
UNKNOWN_CODE = "<unknown>"
_DYNAMIC_IMPORTS = {"import_module", "__import__"}


@dataclass(frozen=True)
class CodeClosure:
    """The modules a computation uses, each with the sha256 of its normalised source."""

    roots: tuple[str, ...]  # where the closure starts: with the code, they decide the modules
    modules: Mapping[str, str]  # module name -> sha256
    sha256: str  # over the sorted (name, sha256) pairs

    def summary(self) -> dict:
        """The hash and the roots, as a job's provenance records them (compact)."""
        return {"sha256": self.sha256, "roots": list(self.roots)}

    def detail(self) -> dict:
        """The hash and each module's short hash: two of them show which module changed."""
        return {"sha256": self.sha256, "modules": {m: h[:12] for m, h in self.modules.items()}}


def code_closure(roots: Iterable[str], package_dir: Path | None = None) -> CodeClosure:
    """The closure of ``roots`` (module names) over the imports of the package.

    ``package_dir`` is the package's folder (a copy, in tests); by default the installed
    package, whose parsed modules are kept for the process as its code is.
    """
    package = _installed() if package_dir is None else _Package(Path(package_dir))
    return package.closure(frozenset(roots))


@cache
def _installed() -> _Package:
    return _Package(PACKAGE_DIR)


@dataclass(frozen=True)
class _Module:
    digest: str
    imports: frozenset[str]  # absolute names that may be modules (``from m import x``: m, m.x)
    computed_import: bool  # imports a module whose name is computed at run time


class _Package:
    """The modules of one package folder, parsed on demand (outside modules: every time)."""

    def __init__(self, folder: Path) -> None:
        self.name = folder.name
        self.files = {
            _module_name(p, folder): p
            for p in sorted(folder.rglob("*.py"))
            if "__pycache__" not in p.parts
        }
        self._parsed: dict[str, _Module] = {}

    def owns(self, name: str) -> bool:
        return name == self.name or name.startswith(self.name + ".")

    def module(self, name: str) -> _Module:
        if name not in self._parsed:
            path = self.files[name]
            self._parsed[name] = _parse(path.read_bytes(), name, path.name == "__init__.py")
        return self._parsed[name]

    def closure(self, roots: frozenset[str]) -> CodeClosure:
        modules: dict[str, str] = {}
        todo = sorted(roots)
        everything = False
        while todo:
            name = todo.pop()
            if name in modules:
                continue
            if self.owns(name):
                if name not in self.files:
                    raise ValueError(f"code closure root {name} names no module of {self.name}")
                mod = self.module(name)
                everything |= mod.computed_import and name not in {*LISTINGS, *OUTSIDE_LOADERS}
                todo += _parents(name, self.files)
            else:
                mod = _outside(name)
            modules[name] = mod.digest
            todo += [m for m in mod.imports if m in self.files]
        if everything:
            modules.update((n, self.module(n).digest) for n in self.files)
        digest = hashlib.sha256()
        for name in sorted(modules):
            digest.update(f"{name}\0{modules[name]}\n".encode())
        return CodeClosure(tuple(sorted(roots)), dict(sorted(modules.items())), digest.hexdigest())


def _module_name(path: Path, folder: Path) -> str:
    parts = (folder.name, *path.relative_to(folder).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _parents(name: str, files: Mapping[str, Path]) -> list[str]:
    """The packages above a module: importing it runs their ``__init__``."""
    parts = name.split(".")
    return [p for i in range(1, len(parts)) if (p := ".".join(parts[:i])) in files]


def _outside(name: str) -> _Module:
    """A module outside the package (a plugin's model or metric): its own source, and the
    package modules it imports, count; other modules it imports do not.

    Without a readable file, or with an import computed at run time, it cannot be attributed:
    its digest matches no other run.
    """
    origin = getattr(sys.modules.get(name), "__file__", None)
    if origin is None and name != UNKNOWN_CODE:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None and spec.has_location else None
    try:
        data = Path(origin).read_bytes()
    except (OSError, TypeError):
        return _Module("unattributed-" + uuid.uuid4().hex, frozenset(), False)
    try:
        mod = _parse(data, name, Path(origin).name == "__init__.py")
    except (SyntaxError, ValueError):  # not Python source (a compiled extension)
        return _Module(hashlib.sha256(data).hexdigest(), frozenset(), False)
    if mod.computed_import:
        return _Module("unattributed-" + uuid.uuid4().hex, frozenset(), False)
    return mod


@cache  # by content: a copy of the package, or a rerun, parses only what changed
def _parse(source: bytes, name: str, is_package: bool) -> _Module:
    tree = ast.parse(source)
    _drop_bare_constants(tree)
    if name in LISTINGS:
        _drop_listing(tree, LISTINGS[name])
    package = name if is_package else name.rpartition(".")[0]
    imports: set[str] = set()
    computed = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            imports |= {base, *(f"{base}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Call) and _called_name(node.func) in _DYNAMIC_IMPORTS:
            target = node.args[0] if node.args else None
            if isinstance(target, ast.Constant) and isinstance(target.value, str):
                imports.add(target.value)
            else:
                computed = True
    digest = hashlib.sha256(_canonical(tree).encode()).hexdigest()
    return _Module(digest, frozenset(imports), computed)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _drop_bare_constants(tree: ast.AST) -> None:
    """Docstrings and other bare constant statements: no effect on what the code computes."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            node.body = [s for s in body if not _is_bare_constant(s)]


def _is_bare_constant(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _drop_listing(tree: ast.Module, listing: str) -> None:
    """Remove ``listing = ...`` and the imports that bind only names it lists."""

    def is_listing(s: ast.stmt) -> bool:
        targets = s.targets if isinstance(s, ast.Assign) else [getattr(s, "target", None)]
        return any(isinstance(t, ast.Name) and t.id == listing for t in targets)

    dropped = [s for s in tree.body if is_listing(s)]
    listed = {n.id for s in dropped for n in ast.walk(s.value) if isinstance(n, ast.Name)}
    kept = [s for s in tree.body if not is_listing(s)]
    used = {
        n.id
        for s in kept
        if not isinstance(s, (ast.Import, ast.ImportFrom))
        for n in ast.walk(s)
        if isinstance(n, ast.Name)
    }
    tree.body = []
    for s in kept:
        if isinstance(s, (ast.Import, ast.ImportFrom)):
            s.names = [a for a in s.names if not (_bound(a) in listed and _bound(a) not in used)]
            if not s.names:
                continue
        tree.body.append(s)


def _bound(alias: ast.alias) -> str:
    return alias.asname or alias.name.split(".")[0]


def _canonical(node) -> str:
    """A syntax tree as text: node types and fields, no positions; empty fields left out, so
    a field a newer Python adds (empty by default) does not change the text."""
    if isinstance(node, ast.AST):
        fields = (
            f"{f}={_canonical(v)}"
            for f in node._fields
            if (v := getattr(node, f, None)) is not None and v != []
        )
        return f"{type(node).__name__}({','.join(fields)})"
    if isinstance(node, list):
        return "[" + ",".join(_canonical(v) for v in node) + "]"
    return repr(node)


@cache
def code_version() -> str:
    """Package version plus the git commit (``-dirty`` with uncommitted package edits)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=5,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", str(PACKAGE_DIR)],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    if not commit:
        return repro.__version__
    return f"{repro.__version__}+{commit}" + ("-dirty" if dirty else "")


def portable_path(path: os.PathLike | str | None) -> str | None:
    """A path as provenance stores it: relative to a known base, never the machine's layout.

    ``<shared>/weights/x.pth``, ``<REPRO_WEIGHTS>/x.pth``, ``<repro-cache>/weights/x.st``,
    ``<repo>/...``, ``<home>/...``; anything else keeps only its file name.
    """
    if path is None:
        return None
    p = Path(path).expanduser().resolve()
    bases = [
        ("<shared>", shared_root()),
        *(("<REPRO_WEIGHTS>", d.resolve()) for d in weights_dirs()[:-1]),
        ("<repro-cache>", cache_dir().expanduser().resolve()),
        ("<repo>", REPO_ROOT),
        ("<home>", Path.home().resolve()),
    ]
    for label, base in bases:
        if p.is_relative_to(base):
            return f"{label}/{p.relative_to(base).as_posix()}"
    return f"<elsewhere>/{p.name}"

"""The one njit factory: every kernel in mcgrad is compiled through :func:`jit`.

Flags live here and nowhere else:

* ``cache=True`` so a second process loads machine code instead of compiling;
* ``fastmath`` with no-signed-zeros only: not ``nnan``/``ninf`` (non-finite gradients must
  stay detectable), and none of the flags that let the optimiser change a rounding --
  ``reassoc`` (the order of sums), ``contract`` (fusing a multiply and an add) and ``arcp``
  (x / y as x * (1 / y)).  Numba optimises a callee once in its own library and again
  wherever it is linked into a caller, and a process calls whichever copy was loaded first
  (a fresh compile or the on-disk cache); with those flags the copies can round differently,
  and a cold compile gave results 1 ulp away from a cache load.  Multiply-adds that matter
  for speed are written out as :func:`~mcgrad.kernels.elementary.fma`;
* ``error_model="numpy"``: division by zero gives inf/NaN instead of raising inside
  a parallel region.

Notes
-----
Numba stamps a cache entry with the source of the function's own file only, so a kernel
that calls (and inlines) a function from another module would load stale machine code
after that module changed.  Importing this module therefore puts
:class:`KernelCacheLocator` in front of Numba's cache locators.  For functions defined
under ``mcgrad/kernels/`` (and only those) it

* stamps every entry with :func:`kernels_digest`, the SHA-256 of all ``*.py`` files of
  this package (computed once per process), and
* stores the cache in a sub-directory named by the digest's first 16 hex digits, below
  the directory Numba would have used: ``NUMBA_CACHE_DIR`` when set, else the package's
  ``__pycache__``, else (not writable) the user-wide cache directory.

Any edit to any kernel file thus invalidates every cached kernel; old entries are never
read (delete stale digest directories at will).  Kernels must not inline code from
outside this package, as such code is not part of the digest.  Setting
``NUMBA_CACHE_LOCATOR_CLASSES`` replaces Numba's locator list, this one included (list
``mcgrad.kernels._jit.KernelCacheLocator`` first to keep it).
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading

import numba
from numba.core import caching

FASTMATH = frozenset({"nsz"})

_lock = threading.Lock()

KERNELS_DIR = os.path.dirname(os.path.realpath(__file__))


def _source_digest(directory) -> str | None:
    """SHA-256 (hex) over the relative names and contents of the ``*.py`` files below ``directory``.

    ``None`` when there are none (a frozen or zipped install): the default locators apply then.
    """
    directory = os.fspath(directory)
    files = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        files.extend(os.path.join(root, n) for n in names if n.endswith(".py"))
    if not files:
        return None
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: os.path.relpath(p, directory).replace(os.sep, "/")):
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.relpath(path, directory).replace(os.sep, "/").encode()
        digest.update(len(name).to_bytes(8, "little") + name + len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


@functools.cache
def kernels_digest() -> str | None:
    """:func:`_source_digest` of this package, computed once per process."""
    try:
        return _source_digest(KERNELS_DIR)
    except OSError:
        return None


def _numba_class(name):
    # recent numba releases dropped the leading underscore of these names (0.68: no alias left)
    return getattr(caching, name, None) or getattr(caching, "_" + name)


class _DigestMixin:
    """Stamp with the package digest and cache below ``<default dir>/<digest[:16]>``."""

    def get_cache_path(self):
        return os.path.join(super().get_cache_path(), kernels_digest()[:16])

    def get_source_stamp(self):
        return kernels_digest()


_FALLBACKS = tuple(
    type(f"_Kernel{base.__name__.lstrip('_')}", (_DigestMixin, base), {"__module__": __name__})
    for base in map(_numba_class, ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator"))
)


class KernelCacheLocator(caching._CacheLocator):
    """Numba cache locator for mcgrad's kernels: the cache follows every file of the package.

    :meth:`from_function` returns ``None`` for functions outside ``mcgrad/kernels/``, leaving
    them to Numba's own locators; for kernels it tries, like Numba, the user-provided
    ``NUMBA_CACHE_DIR``, then the in-tree ``__pycache__``, then the user-wide cache
    directory, each with the digest sub-directory and stamp (see the module notes).
    """

    @classmethod
    def from_function(cls, py_func, py_file):
        try:
            inside = os.path.commonpath([KERNELS_DIR, os.path.realpath(py_file)]) == KERNELS_DIR
        except ValueError:  # different drives, or a relative placeholder such as "<string>"
            inside = False
        if not inside or kernels_digest() is None:
            return None
        for locator_class in _FALLBACKS:
            locator = locator_class.from_function(py_func, py_file)
            if locator is not None:
                return locator
        return None


def _key_digest(key) -> str:
    """SHA-256 (hex) of an overload's cache key: its signature, target and code and closure hashes."""
    return hashlib.sha256(repr(key).encode()).hexdigest()


class KeyedCacheFile(caching.IndexDataCacheFile):
    """Numba's index and data files, with each data file named by its overload's key and stamped with it.

    Numba numbers the data files of a function in the order overloads are saved.  Two processes compiling
    different overloads of one function at once (the closures of one block factory, say) could both take
    number 1 from the index each read, and the index could end up naming the other overload's machine code:
    a later process then ran the wrong estimator, silently.  Here a data file's name is a digest of its key
    and a loaded file must carry that digest, so a race can at worst lose an index entry (the overload is
    compiled again), never load another overload's code.
    """

    def save(self, key, data):
        digest = _key_digest(key)
        name = f"{self._index_name[:-len('.nbi')]}.{digest[:24]}.nbc"
        overloads = self._load_index()
        if overloads.get(key) != name:
            overloads[key] = name
            self._save_index(overloads)
        self._save_data(name, (digest, data))

    def load(self, key):
        loaded = super().load(key)
        if isinstance(loaded, tuple) and len(loaded) == 2 and loaded[0] == _key_digest(key):
            return loaded[1]
        return None


def _keyed(dispatcher):
    """Give a kernel's dispatcher a :class:`KeyedCacheFile` (left alone outside ``mcgrad/kernels/``)."""
    cache = getattr(dispatcher, "_cache", None)
    impl = getattr(cache, "_impl", None)
    if impl is not None and isinstance(impl.locator, _FALLBACKS) and hasattr(cache, "_cache_file"):
        cache._cache_file = KeyedCacheFile(cache_path=cache._cache_path, filename_base=impl.filename_base,
                                           source_stamp=impl.locator.get_source_stamp())
    return dispatcher


def _register():
    classes = _numba_class("CacheImpl")._locator_classes  # shared by every cache implementation
    mine = (__name__, KernelCacheLocator.__qualname__)
    classes[:] = [c for c in classes if (c.__module__, c.__qualname__) != mine]  # after a module reload
    classes.insert(0, KernelCacheLocator)


_register()


def njit_options(*, parallel: bool = False, inline: bool = False) -> dict:
    """The keyword arguments :func:`jit` passes to ``numba.njit``."""
    options = dict(cache=True, fastmath=set(FASTMATH), error_model="numpy", nogil=True)
    if parallel:
        options["parallel"] = True
    if inline:
        options["inline"] = "always"
    return options


def jit(func=None, *, parallel: bool = False, inline: bool = False):
    """Decorate a kernel with mcgrad's njit settings (``@jit`` or ``@jit(parallel=True)``).

    ``inline=True`` inlines the function at Numba's IR level into every caller.  Use it for
    per-sample helpers that contain a loop (rejection samplers): LLVM declines to inline those,
    and a call that passes the stream state through memory made the Gamma sampler 2.5x slower.
    """
    options = njit_options(parallel=parallel, inline=inline)

    def wrap(f):
        return _keyed(numba.njit(**options)(f))

    return wrap(func) if func is not None else wrap


def exact_signature(dispatcher, signature):
    """Compile ``dispatcher`` for exactly ``signature`` (or load it from the cache) and freeze it.

    Freezing matters for kernels that take a user objective: a frozen dispatcher converts
    any ``@njit`` function of the right signature to a first-class function pointer, so one
    cached kernel serves every user function instead of being recompiled for each.
    """
    with _lock:
        if not dispatcher.signatures:
            dispatcher.compile(signature)
            dispatcher.disable_compile()
    return dispatcher

"""Run every test of the suite on one database backend (make test).

    python tests/run.py --backend sqlite|postgresql [PATTERN]

Module tests (bol_air_*/tests) and the cross-module tests (tests/) run
with unittest, so the doctest scenarios load through load_doc_tests.
Activated databases are cached in var/cache/<backend>-<hash of the
modules' sources>: a change to a model or a view gets a fresh cache.
The last line reads "N passed, N failed, N skipped".
"""
import argparse
import hashlib
import os
import sys
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p.parent.name for p in ROOT.glob('bol_air_*/tryton.cfg'))


def sources_hash():
    digest = hashlib.sha1()
    for module in MODULES:
        for path in sorted((ROOT / module).rglob('*')):
            if (path.suffix in {'.py', '.xml', '.cfg', '.po'}
                    and '__pycache__' not in path.parts):
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def setup_environment(backend):
    cache = ROOT / 'var' / 'cache' / f'{backend}-{sources_hash()}'
    cache.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault('DB_CACHE', str(cache))
    if backend == 'sqlite':
        os.environ['TRYTOND_DATABASE_URI'] = 'sqlite://'
        os.environ.setdefault('DB_NAME', ':memory:')
    else:
        os.environ.setdefault(
            'TRYTOND_DATABASE_URI', 'postgresql://127.0.0.1:5432/')
        os.environ.setdefault('DB_NAME', f'test_bolair_{os.getpid()}')
    os.environ.setdefault('TRYTOND_EMAIL__FROM', 'noreply@lebolair.example')
    os.environ['BOLAIR_TEST_BACKEND'] = backend


class Result(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.successes = 0
        # Seconds per test module, its set-up included (the slowest are
        # printed at the end: where the time of CI goes)
        self.durations = {}
        self._last = time.monotonic()

    def _account(self, test):
        now = time.monotonic()
        module = type(test).__module__
        self.durations[module] = (
            self.durations.get(module, 0) + now - self._last)
        self._last = now

    def stopTest(self, test):
        super().stopTest(test)
        self._account(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.successes += 1


def suite(pattern):
    loader = unittest.TestLoader()
    if pattern:
        loader.testNamePatterns = [f'*{pattern}*']
    tests = unittest.TestSuite()
    for module in MODULES:
        tests.addTests(loader.discover(
                str(ROOT / module / 'tests'), pattern='test_*.py',
                top_level_dir=str(ROOT)))
    tests.addTests(loader.discover(
            str(ROOT / 'tests'), pattern='test_*.py', top_level_dir=str(ROOT)))
    return tests


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        '--backend', choices=['sqlite', 'postgresql'], default='sqlite')
    parser.add_argument('pattern', nargs='?')
    args = parser.parse_args()
    setup_environment(args.backend)
    sys.path.insert(0, str(ROOT))
    print(f"== Tests on {args.backend} "
        f"(DB_CACHE={os.environ['DB_CACHE']})", flush=True)
    start = time.monotonic()
    runner = unittest.TextTestRunner(
        verbosity=1, resultclass=Result, stream=sys.stdout)
    result = runner.run(suite(args.pattern))
    failed = len(result.failures) + len(result.errors) + len(
        result.unexpectedSuccesses)
    print(f"{args.backend}: {time.monotonic() - start:.0f} s; slowest:")
    for module, seconds in sorted(
            result.durations.items(), key=lambda i: -i[1])[:12]:
        print(f"  {seconds:6.0f} s  {module}")
    print(f"{result.successes} passed, {failed} failed, "
        f"{len(result.skipped)} skipped")
    if result.testsRun == 0:
        print("no test ran", file=sys.stderr)
        return 1
    return 0 if failed == 0 and not result.skipped else 1


if __name__ == '__main__':
    sys.exit(main())

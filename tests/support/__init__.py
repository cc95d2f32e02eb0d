"""Helpers shared by the test suites (importable as ``support``: pytest puts ``tests/`` on sys.path
because ``tests/conftest.py`` lives there and ``tests/`` is not a package)."""

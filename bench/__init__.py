"""The benchmark harness behind ``python bench/run.py`` (see ``docs/performance.md``)."""

"""Test support a host application can reuse: Hypothesis strategies and the
contract suites that every store and gateway adapter must pass.

Importing this package needs the ``test`` extra (pytest, hypothesis).
"""

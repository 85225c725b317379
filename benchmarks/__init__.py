"""Benchmarks: our engines beside Django's, request by request
(``python -m benchmarks.run``) and at a million sessions
(``python -m benchmarks.scale``). See the README's "Benchmarks" section."""

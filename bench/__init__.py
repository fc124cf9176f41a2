"""The benchmark, outside the product: a large generated commune (`python -m bench.seed`) and
the load driver (`python -m bench.run`, what `make bench` runs). Not in the wheel or the image."""

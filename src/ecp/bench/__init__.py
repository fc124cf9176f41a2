"""The benchmark: a large generated commune (`ecp seed-bench`) and the load driver (`ecp.bench.run`)."""

"""What the tests (and the benchmarks) share: factories, clients for each face, media, clocks."""

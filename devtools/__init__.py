"""Developer tools kept out of the shipped `bertlens` package: the random-model builder and the benchmark."""

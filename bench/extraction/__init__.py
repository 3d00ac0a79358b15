"""Field-extraction benchmark: a generated corpus with known values, read back and scored."""

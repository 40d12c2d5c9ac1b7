"""compatlab: the pure core of the compatibility experiment (never imports pulumi)."""

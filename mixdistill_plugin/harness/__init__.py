"""Everything of mixdistill that imports lm-evaluation-harness, and its task folder."""

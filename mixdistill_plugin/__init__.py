"""mixdistill: distil chain-of-thought and program-of-thought reasoning into small students."""

__version__ = "0.1.0"

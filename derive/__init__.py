"""bptt.derive: cells as equations, automatic Jacobians and BPTT derivations."""
__version__ = "0.1.0"

"""digitsum: train and watch a CNN that reads four handwritten digits and predicts their sum.

Importing this package is cheap: torch and friends load only where they are used.
"""

__version__ = "0.1.0"

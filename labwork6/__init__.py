"""labwork6: VGG19 and ResNets trained from scratch for image classification, end to end."""

__version__ = "0.1.0"

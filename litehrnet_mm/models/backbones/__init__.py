from .litehrnet import LiteHRNet

__all__ = ['LiteHRNet']

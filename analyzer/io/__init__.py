"""Reading images and image collections from disk, uploads and archives."""

from analyzer.io.loader import LoadedImage, load_image

__all__ = ["LoadedImage", "load_image"]

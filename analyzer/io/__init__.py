"""Reading images and image collections from disk, uploads and archives."""

from analyzer.io.archive import ZipMember, ZipScan, iter_zip_images, safe_output_path
from analyzer.io.loader import LoadedImage, load_image

__all__ = ["LoadedImage", "ZipMember", "ZipScan", "iter_zip_images", "load_image",
           "safe_output_path"]

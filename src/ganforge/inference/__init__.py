"""Using a trained run: sampling, pictures, encoding and translating with a loaded model
(:func:`load`), translating image files (:mod:`.translate_files`), and images from runs,
folders, files or data sets to evaluate (:mod:`.sources`)."""

from ganforge.inference.model import Model, load

__all__ = ["Model", "load"]

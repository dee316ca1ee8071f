"""The quality table of ``recipes/evaluate.py``: scoring its rows, resuming them, rendering them.

A row key is ``set|codec|level``; a row holds ``images``, ``bpp``, ``bicubic`` and one column per
model scored on it (``backbone``, ``zero_shot`` with its task, ``pack:<name>``, ``lora:<codec>``,
``full:<codec>``), each ``{"psnr_y", "ssim_y"}``. The recipe only parses flags and walks the sets.
"""

from ucip_adapt.quality.gains import Gain, read_gains
from ucip_adapt.quality.pack_record import pack_evaluation
from ucip_adapt.quality.report import gain_summary, markdown, pack_share, write_results
from ucip_adapt.quality.rows import baseline_of, column_fingerprints, load_comparison, method_of, reusable_rows, score_row

__all__ = ["Gain", "baseline_of", "column_fingerprints", "gain_summary", "load_comparison", "markdown", "method_of",
           "pack_evaluation", "pack_share", "read_gains", "reusable_rows", "score_row", "write_results"]

"""Turns study results into run folders: config.json, results.json, metrics.csv, PNG figures, report.html."""

from nnprobe.report.document import Report, Section, Table, write
from nnprobe.report.runfolder import check_out, default_out, to_jsonable

__all__ = ["Report", "Section", "Table", "check_out", "default_out", "to_jsonable", "write"]

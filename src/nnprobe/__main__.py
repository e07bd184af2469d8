"""``python -m nnprobe``: the same command line as the ``nnprobe`` script."""

from nnprobe.cli import app

app(prog_name="nnprobe")

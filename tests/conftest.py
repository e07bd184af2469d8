"""Shared test set-up: one torch thread for code the tests call directly.

The tests train tiny networks, whose kernels a second thread only slows down, and badly so when another process
keeps a core busy (MKL's small matrix products ran 80x slower on two threads of a busy 2-core machine); what the
tests assert does not depend on the thread count. Commands that choose their own threads (nnprobe.threads) still
do, inside the tests too.
"""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def quick_report(tmp_path_factory):
    """The run folder of a real `nnprobe reproduce --quick` (a subprocess, as a user runs it), shared by the tests
    of the combined report and of the page in a browser. One thread, so that a second run can match it bit for
    bit (numbers may differ in their last digits between thread counts)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("reproduce") / "quick"
    command = [sys.executable, "-m", "nnprobe", "reproduce", "--quick", "--threads", "1", "--device", "cpu",
               "--out", str(out), "-q"]
    run = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{' '.join(command)} failed:\n{run.stderr}"
    return out

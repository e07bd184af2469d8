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

"""A thread for tests that keeps what its target raised: an exception in a plain thread is only
printed, and a ``join`` that times out returns quietly, so a test could pass on a thread that
failed or never finished."""

import threading


class Worker(threading.Thread):
    """Run ``target`` in a thread (a daemon: one stuck does not hang the run); ``finish`` waits
    for it and fails the test if it is still running or raised."""

    def __init__(self, target, name=None):
        super().__init__(target=target, name=name, daemon=True)
        self.error = None

    def run(self):
        """Run the target, keeping any exception for ``finish``."""
        try:
            super().run()
        except BaseException as error:  # re-raised in the test's thread
            self.error = error

    def finish(self, seconds=10):
        """Wait up to ``seconds``; assert the thread ended, and re-raise what it raised."""
        self.join(seconds)
        assert not self.is_alive(), f"thread {self.name} still running after {seconds} s"
        if self.error is not None:
            raise AssertionError(f"thread {self.name} raised {self.error!r}") from self.error

"""Data-parallel fitting on torch.distributed: the communicator of the ranks."""

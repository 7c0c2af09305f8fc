"""The validation batch size under a distribution strategy: even first batch, no empty share."""

import pytest

from labwork6.train import validation_batch_size


@pytest.mark.parametrize("num_images, batch_size, replicas, expected", [
    (180, 32, 1, 32), (9, 32, 1, 32),  # one device: the recipe's batch, whatever the split
    (180, 32, 2, 32),  # batches 32 x 5 + 20: even first batch, last share 10 each
    (9, 32, 2, 6),  # 8 would leave a last batch of 1: one replica empty
    (33, 32, 2, 30),  # 32 would leave 1; 30 leaves 3
])
def test_validation_batches_split_between_replicas(num_images, batch_size, replicas, expected):
    size = validation_batch_size(num_images, batch_size, replicas)
    assert size == expected
    if replicas > 1:
        assert size % replicas == 0 and size <= batch_size
        assert num_images % size == 0 or num_images % size >= replicas


@pytest.mark.parametrize("num_images", [1, 3])
def test_validation_images_that_cannot_be_shared_are_refused(num_images):
    with pytest.raises(ValueError, match=f"validation split's {num_images} images cannot be batched"):
        validation_batch_size(num_images, 32, 2)

"""Stop a training run midway, the way a crash after a checkpoint would, by driving the recipe's parts."""

from lorakit.train.trainer import TrainRecipe


def train_until(cfg, steps: int, **kwargs) -> TrainRecipe:
    """The run's first ``steps`` optimizer steps, checkpointed as in a full run; no adapter is saved."""
    recipe = TrainRecipe(cfg, **kwargs).setup()
    with recipe.training():
        while recipe.step < min(steps, recipe.total):
            recipe.train_step()
            if recipe.checkpoint_due():
                recipe.save_checkpoint()
    assert not recipe.run_dir.adapter.exists(), "an interrupted run must leave no adapter"
    return recipe

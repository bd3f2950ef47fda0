"""The Axolotl plugin class; configs name it ``mixdistill_plugin.axolotl_plugin.MixDistillPlugin``."""

from __future__ import annotations

from axolotl.integrations.base import BasePlugin

from mixdistill_plugin.axolotl_plugin.preflight import weighted


class MixDistillPlugin(BasePlugin):
    def register(self, cfg) -> None:
        from mixdistill_plugin.axolotl_plugin.preflight import check_in_process

        check_in_process(cfg, training=False)  # the model can be loaded (see .preflight)

    def load_datasets(self, cfg, preprocess: bool = False):
        if not preprocess:  # training only: the GPU the config asks for is there
            from mixdistill_plugin.axolotl_plugin.preflight import check_in_process

            check_in_process(cfg, training=True)
        return None  # Axolotl loads the datasets itself

    def pre_model_load(self, cfg) -> None:
        if cfg.get("seed") is not None:
            from transformers import set_seed

            set_seed(cfg.seed)

    def get_input_args(self) -> str:
        return "mixdistill_plugin.axolotl_plugin.args.MixDistillArgs"

    def get_trainer_cls(self, cfg):
        if weighted(cfg):
            from mixdistill_plugin.axolotl_plugin.loss import KindWeightedTrainer

            return KindWeightedTrainer
        return None

    def post_trainer_create(self, cfg, trainer) -> None:
        from mixdistill_plugin.axolotl_plugin.loss import KindCodes, KindWeightedLoss, weight_table

        is_weighted = weighted(cfg)
        if is_weighted:
            trainer.compute_loss_func = KindWeightedLoss(weight_table(cfg.get("mixdistill_loss_weights") or {}),
                                                         cfg.get("mixdistill_loss_normalization") or "token")
        trainer.data_collator = KindCodes(trainer.data_collator, is_weighted)
        if getattr(trainer, "eval_data_collator", None) is not None:
            trainer.eval_data_collator = KindCodes(trainer.eval_data_collator, is_weighted)

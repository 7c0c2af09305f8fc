"""What each benchmark section measures, and how much of it a full or a --quick run does."""

SECTIONS = {
    "matmul": "matrix-multiply rate per dtype (the peak the other sections are compared with)",
    "vgg": "our VGG19 vs keras.applications.VGG19, same configuration, every precision",
    "resnet50": "our ResNet50 vs keras.applications.ResNet50 (both He et al.'s network), same input and classes, "
                "every precision",
    "resnet19": "our ResNet19 (no keras counterpart), float32 vs mixed precision",
    "pipeline": "the default profile's VGG as trained (preprocessing in the model, make_pipeline on raw images) "
                "vs the bare network on an in-memory batch of normalised images",
    "size": "training cost at input sizes 32, 64, 128, 224",
    "batch": "training throughput against batch size",
    "inference": "latency at batch 1 and throughput at a large batch",
    "memory": "peak RSS of a short training run (child process)",
    "threads": "intra-/inter-op thread counts (child processes)",
    "time_to_accuracy": "the default profile's networks trained as the main job trains them: validation and "
                        "test accuracy against training seconds, per epoch, over seeds",
    "step_breakdown": "where a training step's time goes: ms per op class (TensorFlow profiler) and oneDNN's "
                      "kernels with their ISA and GFLOP/s, per default-profile network (child processes)",
    "kernels": "3x3 convolutions alone (forward, backward-data, backward-filter; float32 and bfloat16) and an "
               "element-wise memory pass: the rates a step's ops are compared with",
    "run_phases": "where a training run's time goes outside the steps: train() with timers around its parts "
                  "(tracing, validation, saving, test, robustness, timing), per network (child processes)",
    "levers": "prototype speed-ups A/B against the default recipe in one process: fused and XLA AdamW updates "
              "(checked against Keras' AdamW), batch 64",
}

#: How much each section runs. The full plan's timing sections take ~15 minutes on 2 quiet
#: cores (an estimate from per-step costs) and time_to_accuracy as long as its training runs
#: (3 seeds of each default-profile network); --quick shrinks every section to seconds (it
#: checks that the code runs, its numbers mean nothing).
FULL_PLAN = {
    "matmul": {"size": 2048, "gpu_size": 8192, "repetitions": 5, "min_seconds": 0.5},
    "vgg": {"batch_size": 64, "repetitions": 5, "steps": 4, "warmup_steps": 2},
    "resnet50": {"batch_size": 64, "repetitions": 5, "steps": 4, "warmup_steps": 2},
    "resnet19": {"batch_size": 32, "repetitions": 3, "steps": 2, "warmup_steps": 2},
    "pipeline": {"repetitions": 5, "steps": 6, "warmup_steps": 3},
    # ResNet19 keeps full resolution through 128 channels: at 224x224 one training image
    # costs ~0.7 TFLOP (~5 s on 2 cores), so that point is skipped. Add "resnet50" to the
    # models to see its ImageNet stem at work (it costs ~1.5 minutes more, mostly tracing).
    "size": {"models": ("vgg19", "resnet19"), "sizes": (32, 64, 128, 224), "skip": (("resnet19", 224),),
             "batch_size": 8, "repetitions": 2, "steps": 1, "warmup_steps": 1, "precision": "float32"},
    # The default profile's models; batch sizes and images per repetition by family.
    "batch": {"models": None, "batches": {"vgg": (16, 32, 64, 128), "resnet": (16, 32, 64)},
              "images_per_repetition": {"vgg": 128, "resnet": 64}, "repetitions": 2, "warmup_steps": 1,
              "precision": "float32"},
    "inference": {"models": ("vgg19", "resnet19", "resnet50"), "large_batch": 128, "latency_calls": 20,
                  "repetitions": 3, "min_seconds": 0.5},
    # The pipeline, memory and threads sections use the default profile's models (None).
    "pipeline_model": None,
    "memory": {"models": None, "warmup_steps": 1, "repetitions": 1, "steps": 2},
    "threads": {"model": None, "repetitions": 3, "steps": 3, "warmup_steps": 2},
    # The profile's models (None), each trained once per seed with train.train.
    "time_to_accuracy": {"profile": "default", "models": None, "seeds": (0, 1, 2)},
    # Issue 24's breakdowns: a few dozen steps each; the models are the default profile's (None).
    "step_breakdown": {"models": None, "warmup_steps": 3, "timed_steps": 6, "traced_steps": 6},
    "kernels": {"dtypes": ("float32", "bfloat16"), "shapes": None, "min_seconds": 0.3, "repetitions": 3,
                "stream_elements": 16 * 2**20},
    "run_phases": {"models": None, "epochs": 2, "anatomy_steps": 4, "profile": "default"},
    "levers": {"models": None, "images": 192, "rounds": 5, "warmup_steps": 3, "cases": {
        "optimizer update": {"keras AdamW": {}, "fused AdamW": {"optimizer": "fused AdamW"},
                             "XLA AdamW": {"optimizer": "XLA AdamW"}},
        "batch size": {"batch 32": {}, "batch 64": {"batch_size": 64},
                       "batch 64 + fused AdamW": {"batch_size": 64, "optimizer": "fused AdamW"}}}},
}
QUICK_PLAN = {
    "matmul": {"size": 256, "gpu_size": 256, "repetitions": 2, "min_seconds": 0.0},
    "vgg": {"batch_size": 2, "repetitions": 2, "steps": 1, "warmup_steps": 1},
    "resnet50": {"batch_size": 2, "repetitions": 2, "steps": 1, "warmup_steps": 1, "precisions": ("float32",)},
    "resnet19": {"batch_size": 2, "repetitions": 2, "steps": 1, "warmup_steps": 1, "precisions": ("float32",)},
    "pipeline": {"repetitions": 2, "steps": 1, "warmup_steps": 1, "batch_size": 4, "width": 0.125},
    "size": {"models": ("vgg19", "resnet19"), "sizes": (32,), "skip": (("resnet19", 32),), "batch_size": 2,
             "repetitions": 1, "steps": 1, "warmup_steps": 1, "precision": "float32"},
    "batch": {"models": ("vgg19",), "batches": {"vgg": (2, 4)}, "images_per_repetition": {"vgg": 4},
              "repetitions": 2, "warmup_steps": 1, "precision": "float32"},
    "inference": {"models": ("vgg19",), "large_batch": 4, "latency_calls": 3, "repetitions": 2,
                  "min_seconds": 0.0, "precisions": ("float32",)},
    "pipeline_model": None,
    "memory": {"models": ("resnet19",), "warmup_steps": 1, "repetitions": 1, "steps": 1, "batch_size": 2,
               "precisions": ("float32",), "width": 0.125},
    "threads": {"model": None, "repetitions": 1, "steps": 1, "warmup_steps": 1, "batch_size": 2,
                "settings": ((1, 1),), "width": 0.125},
    "time_to_accuracy": {"profile": "smoke", "models": None, "seeds": (0,)},
    "step_breakdown": {"models": None, "warmup_steps": 1, "timed_steps": 1, "traced_steps": 1, "width": 0.125},
    "kernels": {"dtypes": ("float32",), "shapes": ((2, 4, 8, 8),), "min_seconds": 0.0, "repetitions": 1,
                "stream_elements": 1024},
    "run_phases": {"models": None, "epochs": 1, "anatomy_steps": 2, "profile": "smoke", "width": 0.125},
    "levers": {"models": ("resnet19",), "images": 64, "rounds": 1, "warmup_steps": 1, "width": 0.125, "cases": {
        "optimizer update": {"keras AdamW": {}, "fused AdamW": {"optimizer": "fused AdamW"}}}},
}

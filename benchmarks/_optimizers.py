"""Prototype AdamW updates that do Keras' AdamW arithmetic in fewer passes over memory (TensorFlow only).

Keras 3's ``AdamW`` on TensorFlow updates each variable with about fifteen element-wise ops
(weight decay: two multiplies and a subtraction; first moment: subtract, multiply, add; second
moment: square, subtract, multiply, add; the step: multiply, square root, add, divide, subtract),
each a full pass over a tensor: for VGG19-BN's 39 M parameters about 37 reads and writes of
4 bytes per parameter, ~5.8 GB per step. These subclasses keep Keras' state (the ``m`` and ``v``
slots, ``iterations``, the schedule, weight decay before the step) and its formula, but run

- :class:`FusedAdamW`: the decay as one multiply and one in-place subtract, then TensorFlow's fused
  ``ResourceApplyAdam`` kernel (one pass that reads var, m, v, grad and writes var, m, v);
- :class:`XlaAdamW`: decay and Adam step of every variable inside one ``tf.function(jit_compile=True)``,
  which XLA fuses into one loop per variable.

Both fall back to Keras' own update under a distribution strategy.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _plain(variable):
    return variable.value if isinstance(variable, keras.Variable) else variable


class _AdamWSlots(keras.optimizers.AdamW):
    def _slots(self, variable):
        index = self._get_variable_index(variable)
        return _plain(self._momentums[index]), _plain(self._velocities[index])

    def _scalars(self, learning_rate, dtype):
        local_step = tf.cast(self.iterations + 1, dtype)
        return {"lr": tf.cast(learning_rate, dtype),
                "beta1_power": tf.pow(tf.cast(self.beta_1, dtype), local_step),
                "beta2_power": tf.pow(tf.cast(self.beta_2, dtype), local_step)}

    def _distributed(self) -> bool:
        return tf.distribute.has_strategy() and tf.distribute.get_strategy().num_replicas_in_sync > 1


class FusedAdamW(_AdamWSlots):
    """AdamW whose decay is one multiply and one in-place subtract and whose Adam step is
    TensorFlow's fused ``ResourceApplyAdam`` (same formula as Keras' ``Adam.update_step``)."""

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None or self._distributed():
            return super()._apply_weight_decay(variables)
        for variable in variables:
            if self._use_weight_decay(variable):
                variable = _plain(variable)
                factor = tf.cast(self.learning_rate, variable.dtype) * tf.cast(self.weight_decay, variable.dtype)
                variable.assign_sub(variable * factor)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if self._distributed():
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        scalars = {}
        for grad, variable in zip(grads, trainable_variables, strict=True):
            variable = _plain(variable)
            dtype = variable.dtype
            if dtype not in scalars:
                scalars[dtype] = self._scalars(learning_rate, dtype)
            m, v = self._slots(variable)
            tf.raw_ops.ResourceApplyAdam(
                var=variable.handle, m=m.handle, v=v.handle, beta1_power=scalars[dtype]["beta1_power"],
                beta2_power=scalars[dtype]["beta2_power"], lr=scalars[dtype]["lr"],
                beta1=tf.cast(self.beta_1, dtype), beta2=tf.cast(self.beta_2, dtype),
                epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(grad, dtype), use_locking=False)


class XlaAdamW(_AdamWSlots):
    """AdamW whose decay and Adam step (Keras' formulas, in Keras' order) run in one XLA-compiled
    function over all variables."""

    def _apply_weight_decay(self, variables):
        if self._distributed():
            return super()._apply_weight_decay(variables)
        # Done inside the compiled update, before the Adam step, as Keras does it.

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if self._distributed():
            super()._apply_weight_decay(trainable_variables)
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        variables = [_plain(v) for v in trainable_variables]
        slots = [self._slots(v) for v in variables]
        decays = [self.weight_decay is not None and self._use_weight_decay(v) for v in variables]
        if not hasattr(self, "_compiled_update"):
            self._compiled_update = tf.function(self._update_all, jit_compile=True, autograph=False)
        self._compiled_update(list(grads), variables, [m for m, _ in slots], [v for _, v in slots],
                              tf.cast(learning_rate, tf.float32), tf.cast(self.iterations + 1, tf.float32),
                              tuple(decays))

    def _update_all(self, grads, variables, ms, vs, learning_rate, local_step, decays):
        for grad, variable, m, v, decay in zip(grads, variables, ms, vs, decays, strict=True):
            dtype = variable.dtype
            lr = tf.cast(learning_rate, dtype)
            step = tf.cast(local_step, dtype)
            if decay:
                variable.assign_sub(variable * tf.cast(self.weight_decay, dtype) * lr)
            grad = tf.cast(grad, dtype)
            alpha = lr * tf.sqrt(1 - tf.pow(tf.cast(self.beta_2, dtype), step)) \
                / (1 - tf.pow(tf.cast(self.beta_1, dtype), step))
            m.assign_add((grad - m) * (1 - self.beta_1))
            v.assign_add((tf.square(grad) - v) * (1 - self.beta_2))
            variable.assign_sub((m * alpha) / (tf.sqrt(v) + self.epsilon))


def _update_function(optimizer, variables):
    @tf.function
    def update(grads):
        optimizer.apply(grads, variables)

    return update


def agreement(steps: int = 8, shapes=((3, 3, 64, 128), (4096,), (512, 4096), (10,)), seed: int = 0,
              weight_decay: float = 1e-4) -> dict:
    """How far :class:`FusedAdamW` and :class:`XlaAdamW` end from Keras' ``AdamW`` after ``steps``
    updates of the same variables with the same random gradients (the recipe's schedule shape:
    warm-up then cosine decay; the recipe's weight decay 1e-4 by default): largest absolute
    difference, fraction of elements that differ at all, and how far Keras' own update moved the
    weights (for scale)."""
    import numpy as np

    schedule = keras.optimizers.schedules.CosineDecay(0.0, 100, warmup_target=5e-4, warmup_steps=5)
    reference = keras.optimizers.AdamW(schedule, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(shape).astype("float32") for shape in shapes]
    gradients = [[0.1 * rng.standard_normal(shape).astype("float32") for shape in shapes] for _ in range(steps)]
    final = {}
    for kind in OPTIMIZERS:
        optimizer = like(reference, kind)
        variables = [keras.Variable(value) for value in initial]
        optimizer.build(variables)
        update = _update_function(optimizer, variables)
        for step in gradients:
            update([tf.constant(value) for value in step])
        final[kind] = [np.asarray(variable.numpy()) for variable in variables]
    keras_final = final["keras AdamW"]
    movement = max(float(np.max(np.abs(a - b))) for a, b in zip(keras_final, initial, strict=True))
    found = {}
    for kind in OPTIMIZERS:
        if kind == "keras AdamW":
            continue
        pairs = list(zip(final[kind], keras_final, strict=True))
        found[kind] = {"steps": steps, "max_abs_difference": max(float(np.max(np.abs(a - b))) for a, b in pairs),
                       "differing_fraction": sum(int(np.sum(a != b)) for a, b in pairs) / sum(a.size for a, _ in pairs),
                       "max_movement": movement}
    return found


OPTIMIZERS = {"keras AdamW": keras.optimizers.AdamW, "fused AdamW": FusedAdamW, "XLA AdamW": XlaAdamW}


def like(optimizer: keras.optimizers.Optimizer, kind: str) -> keras.optimizers.Optimizer:
    """A new optimizer of ``kind`` (a key of :data:`OPTIMIZERS`) with ``optimizer``'s configuration
    (learning-rate schedule, weight decay, betas, epsilon)."""
    return OPTIMIZERS[kind].from_config(optimizer.get_config())

"""Random sampling (lucid/ops/sampling.py, lucid/random.py): no finite-difference cases. A sample's
derivative with respect to its distribution's parameters is not the one PyTorch defines (zero, for
``normal`` with tensor parameters, ``bernoulli`` and ``poisson``; tests/ops/test_random.py checks
those zeros), so every public name of the family is listed here."""

NOT_DIFFERENTIABLE = {
    # samplers: integer draws, or draws whose gradient PyTorch defines as zero
    *(f"lucid.{n}" for n in ("randint_like", "bernoulli", "multinomial", "poisson", "binomial")),
    # generators and seeding: not operations on tensors
    *(f"lucid.{n}" for n in ("seed", "initial_seed", "get_rng_state", "set_rng_state")),
    # Tensor methods: samples and in-place random fills (they overwrite the tensor, whose gradient becomes zero)
    *(f"Tensor.{n}" for n in ("bernoulli", "multinomial", "normal_", "uniform_", "exponential_", "geometric_",
                              "cauchy_", "log_normal_", "random_", "bernoulli_")),
}

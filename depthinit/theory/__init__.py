"""The paper's lost algebra, equations (1)-(47), derived with SymPy and checked on networks.

Chapters: "Notation and assumptions", "The forward pass", "The backward pass",
"Depth scaling", "The depth function and its hyperparameters" and "Signal
propagation at initialization".

* shared symbols with assumptions (``depthinit.theory.symbols``) and a
  LaTeX printer (:func:`latex`);
* derivations returning SymPy expressions: forward (1)-(6), backward (7)-(15),
  α-scaling (16)-(21), constant schedule (22)-(23), depth function (24)-(47);
* :func:`equations`: the registry 1..47 with confidence, the paper's sentence and
  alternative readings;
* activation factors m_f = E[f(z)^2]/Var[z] and d_f = E[f'(z)^2] for ReLU,
  linear, leaky ReLU (exact), tanh and sigmoid (numerical);
* :func:`predict` (per-layer variances for any :class:`~depthinit.InitPlan`),
  :func:`measure_variances` and :func:`sample_variances` (the same, measured);
* mean-field maps ("Mean-field signal propagation"): :func:`relu_correlation_map`,
  :func:`correlation_map`, :func:`length_map`, :func:`chi_1`, :func:`critical_init`;
* exact finite-width statistics ("Finite width"): :func:`log_ratio_moments`,
  :func:`log_ratio_series`, :func:`batch_factor`, :func:`lognormal_spread`;
* the reparameterization theorem ("The reparameterization theorem"):
  :func:`he_equivalent`, :func:`compare_reparameterized`, :func:`reparameterization_theorem`.

V, the network variance, is one quantity throughout: the product over layers 2..L of
the per-layer gains (1/2) ν_l Var[w_l] in the direction named by the ``depth``
scheme's ``mode`` (ν_l = n_l, forward, for ``fan_in``, the default; ν_l = n̂_l,
backward, for ``fan_out``, the paper's equations (16)-(17)).
"""

from . import symbols
from ._activations import (
    ACTIVATIONS,
    EXACT_ACTIVATIONS,
    activation_factor_expressions,
    activation_factors,
    mean_derivative_expression,
    quadrature_factors,
    relu_half_argument,
    relu_half_for_symmetric,
)
from ._backward import (
    backward_derivation,
    backward_product,
    backward_recursion,
    gradient_mean,
    gradient_of_input,
    gradient_of_output,
    he_backward_condition,
    he_backward_variance,
    input_gradient_variance,
    output_gradient_mean,
    output_gradient_variance,
)
from ..init._meanfield import MEAN_FIELD_ACTIVATIONS, chi_1, critical_init, length_fixed_point, length_map
from ._depth import (
    MODES,
    Derivative,
    alpha_closed_form,
    alpha_product,
    alpha_readings,
    alpha_recursion,
    alpha_scaling,
    alpha_weight_variance,
    change_of_base,
    constant_product,
    constant_schedule,
    crossover_condition,
    crossover_derivation,
    crossover_steps,
    depth_function,
    depth_function_clues,
    depth_network_variance,
    depth_network_variance_base_k,
    depth_numbers,
    depth_solution,
    depth_solution_k,
    depth_weight_variance,
    equal_width_variance,
    geometric_mean_log,
    he_from_alpha,
    hyperparameter_derivatives,
    mode_fan,
    network_variance,
    offset_alpha,
    power_law_function,
    solve_k_beta,
)
from ._derivation import ASSUMPTIONS, Derivation, Step, unroll
from ._equations import (
    CONFIDENCES, Alternative, Equation, depth_weight_closed, equation_frame, equation_latex, equations, record_markdown,
)
from ._finite_width import (
    batch_factor, batch_log_ratio_moments, log_ratio_moments, log_ratio_series, ratio_correlation,
    relu_fourth_moment_kernel, simulate_chain, input_correlation,
)
from ._forward import (
    forward_derivation,
    forward_product,
    forward_recursion,
    he_forward_condition,
    he_forward_variance,
    neuron_output,
    product_variance,
    rhs_of_three,
    variance_as_sum,
    variance_of_sum,
)
from ._meanfield import (
    correlation_map, iterate_correlation, relu_correlation_expression, relu_correlation_map, relu_correlation_slope,
    relu_homogeneity, relu_kernel_derivation, relu_schedule_invariance,
)
from ._predict import MEASURED_COLUMNS, PREDICTED_COLUMNS, measure_variances, predict, sample_variances
from ._printing import latex
from ._reparam import HeEquivalent, ReparameterizedRun, compare_reparameterized, he_equivalent, reparameterization_theorem
from ._tails import log_variance_profile, lognormal_spread, median_to_mean, squared_norm_relative_variance

__all__ = [
    "ACTIVATIONS", "ASSUMPTIONS", "CONFIDENCES", "EXACT_ACTIVATIONS", "MEAN_FIELD_ACTIVATIONS", "MEASURED_COLUMNS",
    "MODES", "PREDICTED_COLUMNS",
    "Alternative", "Derivation", "Derivative", "Equation", "HeEquivalent", "ReparameterizedRun", "Step",
    "batch_factor", "batch_log_ratio_moments", "chi_1", "compare_reparameterized", "correlation_map", "critical_init", "crossover_derivation",
    "depth_function_clues", "depth_weight_closed", "he_equivalent", "power_law_function", "input_correlation", "iterate_correlation", "length_fixed_point", "length_map",
    "log_ratio_moments", "log_ratio_series", "mode_fan", "ratio_correlation", "relu_correlation_expression",
    "relu_correlation_map", "relu_correlation_slope", "relu_fourth_moment_kernel", "relu_homogeneity",
    "relu_kernel_derivation", "relu_schedule_invariance", "reparameterization_theorem", "simulate_chain",
    "activation_factor_expressions", "activation_factors", "alpha_closed_form", "alpha_product",
    "alpha_readings", "alpha_recursion", "alpha_scaling", "alpha_weight_variance", "backward_derivation",
    "backward_product", "backward_recursion", "change_of_base", "constant_product", "constant_schedule",
    "crossover_condition", "crossover_steps", "depth_function", "depth_network_variance",
    "depth_network_variance_base_k", "depth_numbers", "depth_solution", "depth_solution_k",
    "depth_weight_variance", "equal_width_variance", "equation_frame", "equation_latex", "equations",
    "forward_derivation", "forward_product", "forward_recursion", "geometric_mean_log", "gradient_mean",
    "gradient_of_input", "gradient_of_output", "he_backward_condition", "he_backward_variance",
    "he_forward_condition", "he_forward_variance", "he_from_alpha", "hyperparameter_derivatives",
    "input_gradient_variance", "latex", "log_variance_profile", "lognormal_spread", "mean_derivative_expression",
    "measure_variances", "median_to_mean", "network_variance", "neuron_output", "offset_alpha",
    "output_gradient_mean", "output_gradient_variance", "predict", "product_variance",
    "quadrature_factors", "record_markdown", "relu_half_argument", "relu_half_for_symmetric",
    "rhs_of_three", "sample_variances", "solve_k_beta", "squared_norm_relative_variance", "symbols",
    "unroll", "variance_as_sum", "variance_of_sum",
]

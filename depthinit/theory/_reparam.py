"""What a depth schedule really does: the He-equivalent form of a ``depth`` plan.

Chapter: "The reparameterization theorem".

A bias-free (or zero-bias) ReLU network is positively homogeneous. The ``depth``
scheme draws W_l = √α_l U_l, where U_l is the draw of its base scheme (He, or
Glorot for ``base="glorot"``) from the same generator. By induction over layers,
with C_l = α_1 ⋯ α_l,

    y_l(W) = √C_l y_l(U)   for every input, hence f_W(x) = √V f_U(x)   (C_L = V, α_1 = 1),

and the Jacobian is √V times He's. Training W with SGD (with momentum) at learning
rate η is training U with per-layer learning rate η/α_l and the logits multiplied by
√V, for the whole run; a bias of layer l, b_l = √C_l b̃_l, trains with η/C_l. Adam is
invariant to a gradient's scale, so its factors are 1/√α_l and 1/√C_l, exactly when
Adam's ε of the U side is ε √α_l (ε √C_l), up to ε otherwise.

:func:`he_equivalent` returns these factors; :func:`compare_reparameterized` trains
both networks side by side with plain ``torch.optim``; :func:`reparameterization_theorem`
has SymPy check every step of the argument.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from sympy import Expr, Function, IndexedBase, Product, Sum, Symbol, diff, factor, limit, simplify, sqrt
from torch import nn

from ..init import InitPlan, init_

__all__ = [
    "HeEquivalent",
    "ReparameterizedRun",
    "compare_reparameterized",
    "he_equivalent",
    "reparameterization_theorem",
]

Optimizer = Literal["sgd", "adam"]


@dataclass(frozen=True)
class HeEquivalent:
    """The He-equivalent form of a ``depth`` plan (one entry per weight layer, plan order).

    * ``alphas`` α_l and ``cumulative`` C_l = α_1 ⋯ α_l;
    * ``lr_scale`` 1/α_l and ``adam_lr_scale`` 1/√α_l for the weights;
    * ``bias_lr_scale`` 1/C_l and ``bias_adam_lr_scale`` 1/√C_l for zero-initialized,
      trained biases (b_l = √C_l b̃_l);
    * ``adam_eps_scale`` √α_l and ``bias_adam_eps_scale`` √C_l: Adam's ε on the He side
      that makes the equivalence exact (with the same ε it holds up to ε);
    * ``output_scale`` √(α_1 ⋯ α_L) = √V, the factor on the He network's logits;
    * ``base_scheme`` (``"he"`` or ``"glorot"``) and ``base_options``: what to pass to
      :func:`depthinit.init_` to draw U from the same generator.
    """

    layers: tuple[str, ...]
    alphas: tuple[float, ...]
    cumulative: tuple[float, ...]
    lr_scale: tuple[float, ...]
    adam_lr_scale: tuple[float, ...]
    bias_lr_scale: tuple[float, ...]
    bias_adam_lr_scale: tuple[float, ...]
    adam_eps_scale: tuple[float, ...]
    bias_adam_eps_scale: tuple[float, ...]
    output_scale: float
    network_variance: float
    base_scheme: str
    base_options: dict[str, Any] = field(default_factory=dict)

    def parameter_scales(self, model: nn.Module, *, optimizer: Optimizer = "sgd") -> dict[str, float]:
        """Learning-rate factor of every named parameter of ``model``:
        ``{"layers.0.weight": 1.0, "layers.0.bias": 1.0, "layers.1.weight": 1/α_2, ...}``.

        ``optimizer="sgd"`` (with or without momentum) gives 1/α_l and 1/C_l,
        ``"adam"`` 1/√α_l and 1/√C_l. Parameters outside the plan's layers get 1.0 (the
        theorem does not cover them: normalization layers break it). Raises ValueError
        when a layer of the plan is not a module of ``model``.
        """
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer={optimizer!r} is not valid; expected 'sgd' or 'adam'")
        weight = self.lr_scale if optimizer == "sgd" else self.adam_lr_scale
        bias = self.bias_lr_scale if optimizer == "sgd" else self.bias_adam_lr_scale
        return self._per_parameter(model, weight, bias)

    def lr_scales(self, model: nn.Module, *, optimizer: Optimizer = "sgd") -> tuple[tuple[str, float], ...]:
        """:meth:`parameter_scales` as ``(name, factor)`` pairs, the form of
        ``TrainConfig.lr_scales``; parameters with factor 1 are left out."""
        return tuple((k, v) for k, v in self.parameter_scales(model, optimizer=optimizer).items() if v != 1.0)

    def eps_scales(self, model: nn.Module) -> dict[str, float]:
        """Adam's ε factor per parameter on the He side (√α_l, √C_l) for an exact equivalence."""
        return self._per_parameter(model, self.adam_eps_scale, self.bias_adam_eps_scale)

    def _per_parameter(self, model: nn.Module, weight: tuple[float, ...], bias: tuple[float, ...]) -> dict[str, float]:
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        modules = dict(model.named_modules())
        missing = [name for name in self.layers if name not in modules]
        if missing:
            raise ValueError(
                f"layer(s) {missing} of the plan are not modules of this model; pass the model the plan was made for"
            )
        factors: dict[str, float] = {}
        for name, w_scale, b_scale in zip(self.layers, weight, bias):
            prefix = f"{name}." if name else ""
            factors[f"{prefix}weight"] = float(w_scale)
            if getattr(modules[name], "bias", None) is not None:
                factors[f"{prefix}bias"] = float(b_scale)
        return {name: factors.get(name, 1.0) for name, _ in model.named_parameters()}

    def to_frame(self) -> pd.DataFrame:
        """One row per layer: ``layer, alpha, cumulative, lr_scale, adam_lr_scale,
        bias_lr_scale, bias_adam_lr_scale``."""
        return pd.DataFrame(
            {
                "layer": self.layers,
                "alpha": self.alphas,
                "cumulative": self.cumulative,
                "lr_scale": self.lr_scale,
                "adam_lr_scale": self.adam_lr_scale,
                "bias_lr_scale": self.bias_lr_scale,
                "bias_adam_lr_scale": self.bias_adam_lr_scale,
            }
        )


def he_equivalent(plan: InitPlan) -> HeEquivalent:
    """The He-equivalent form of an :class:`~depthinit.InitPlan` of the ``depth`` scheme.

    With α_l from the plan and C_l = ∏_{j<=l} α_j: SGD factors 1/α_l (weights) and
    1/C_l (zero-initialized biases), Adam factors 1/√α_l and 1/√C_l, logits times
    √C_L = √V. The base scheme is He (``base="he"``, with the plan's mode,
    nonlinearity, gain and distribution) or Glorot (``base="glorot"``).
    Chapter: "The reparameterization theorem".

    >>> import torch, depthinit
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    >>> eq = he_equivalent(depthinit.plan(net, "depth", schedule="constant", network_variance=4.0))
    >>> eq.lr_scale, eq.output_scale
    ((1.0, 0.25), 2.0)
    """
    if not isinstance(plan, InitPlan):
        raise ValueError(f"plan must be a depthinit.InitPlan (from depthinit.plan or init_), got {type(plan).__name__}")
    if plan.scheme != "depth":
        raise ValueError(
            f"he_equivalent needs a plan of the 'depth' scheme, got scheme {plan.scheme!r}; a {plan.scheme!r} plan "
            "has no depth factors (make one with depthinit.plan(model, 'depth', ...))"
        )
    a = np.array([layer.alpha for layer in plan.layers], dtype=np.float64)
    if not (np.all(np.isfinite(a)) and np.all(a > 0)):  # pragma: no cover - the depth scheme guarantees it
        raise ValueError(f"plan {plan!r} has invalid depth factors {a.tolist()}")
    cumulative = np.cumprod(a)
    o = plan.options
    if o["base"] == "he":
        base_options = {"distribution": o["distribution"], "mode": o["mode"], "nonlinearity": o["nonlinearity"]}
    else:
        base_options = {"distribution": o["distribution"]}
    if o.get("gain") is not None:
        base_options["gain"] = o["gain"]

    def tup(x: np.ndarray) -> tuple[float, ...]:
        return tuple(float(v) for v in x)

    return HeEquivalent(
        layers=tuple(layer.layer for layer in plan.layers),
        alphas=tup(a),
        cumulative=tup(cumulative),
        lr_scale=tup(1.0 / a),
        adam_lr_scale=tup(1.0 / np.sqrt(a)),
        bias_lr_scale=tup(1.0 / cumulative),
        bias_adam_lr_scale=tup(1.0 / np.sqrt(cumulative)),
        adam_eps_scale=tup(np.sqrt(a)),
        bias_adam_eps_scale=tup(np.sqrt(cumulative)),
        output_scale=float(math.sqrt(cumulative[-1])),
        network_variance=float(np.prod(a[1:])),
        base_scheme=o["base"],
        base_options=base_options,
    )


@dataclass(frozen=True)
class ReparameterizedRun:
    """A ``depth`` network and its He equivalent trained side by side.

    ``trajectory`` has one row per step (0 = before training): ``step``,
    ``loss_depth``, ``loss_he``, ``loss_rel_diff``, ``output_rel_diff``
    (‖f_W − √V f_U‖ / ‖f_W‖ on the training batch), ``weight_rel_diff``
    (max_l ‖W_l − √α_l U_l‖ / ‖W_l‖) and ``bias_rel_diff`` (max_l ‖b_l − √C_l b̃_l‖ /
    ‖b_l‖, 0 while the biases are zero). ``init_rel_diff`` is how far
    ``init_(model, "depth")`` itself is from √α_l U_l (float32 rounding of the sampler).
    """

    trajectory: pd.DataFrame
    equivalent: HeEquivalent
    init_rel_diff: float

    @property
    def max_rel_diff(self) -> float:
        """The largest relative difference of losses, outputs, weights and biases over the run."""
        cols = ["loss_rel_diff", "output_rel_diff", "weight_rel_diff", "bias_rel_diff"]
        return float(self.trajectory[cols].to_numpy().max())


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    denom = float(torch.linalg.vector_norm(a))
    num = float(torch.linalg.vector_norm(a - b))
    return 0.0 if num == 0.0 else num / denom if denom > 0 else math.inf


def compare_reparameterized(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    generator: torch.Generator,
    steps: int = 30,
    lr: float = 0.01,
    optimizer: Optimizer = "sgd",
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    scale_eps: bool = True,
    batch_size: int | None = None,
    **depth_options: Any,
) -> ReparameterizedRun:
    """Train ``model`` under the ``depth`` scheme and its He equivalent side by side, in float64.

    Both copies are initialized from the same generator state (the caller's
    ``generator`` then advances as after one initialization): the He copy gets
    U = base-scheme draws, the depth copy W_l = √α_l U_l (computed in float64; how far
    ``init_(…, "depth")`` itself lands from it is ``init_rel_diff``). Then ``steps``
    steps of plain ``torch.optim`` on the same batches: the depth copy with one
    learning rate ``lr``; the He copy with one parameter group per tensor at ``lr``
    times :meth:`HeEquivalent.parameter_scales` and its logits multiplied by
    ``output_scale``. ``optimizer="sgd"`` uses ``momentum``; ``"adam"`` uses ``betas``
    and ``eps``, with the He side's ε multiplied by √α_l (√C_l for biases) when
    ``scale_eps`` (exact equivalence) or left equal (equivalence up to ε). Integer
    ``targets`` use cross-entropy, floating ones mean squared error. ``batch_size``
    None trains on the full batch; otherwise mini-batches in an order drawn from
    ``generator``. ``depth_options`` go to the depth scheme (``schedule``,
    ``network_variance``, ``offset``, ...). Chapter: "The reparameterization theorem".
    """
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps={steps!r} is not valid; expected an integer >= 0")
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer={optimizer!r} is not valid; expected 'sgd' or 'adam'")
    if not (isinstance(lr, (int, float)) and not isinstance(lr, bool) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr={lr!r} is not valid; expected a finite learning rate > 0")
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < 2:
        raise ValueError("inputs must be a batch tensor [B, ...]")
    if not isinstance(targets, torch.Tensor) or targets.shape[0] != inputs.shape[0]:
        raise ValueError("targets must be a tensor with one row per input")
    n = inputs.shape[0]
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= n
    ):
        raise ValueError(f"batch_size={batch_size!r} is not valid; expected None or an integer in [1, {n}]")

    device = next(model.parameters()).device
    x = inputs.to(device=device, dtype=torch.float64)
    y = targets.to(device) if not targets.is_floating_point() else targets.to(device=device, dtype=torch.float64)
    depth_net = copy.deepcopy(model).to(torch.float64)
    he_net = copy.deepcopy(model).to(torch.float64)

    start = generator.get_state()
    g = torch.Generator(device=generator.device)
    g.set_state(start)
    plan = init_(depth_net, "depth", generator=g, example_input=x[:1], **depth_options)
    equivalent = he_equivalent(plan)
    g_he = torch.Generator(device=generator.device)
    g_he.set_state(start)
    init_(he_net, equivalent.base_scheme, generator=g_he, example_input=x[:1], **equivalent.base_options)
    generator.set_state(g.get_state())

    depth_mods, he_mods = dict(depth_net.named_modules()), dict(he_net.named_modules())
    init_rel = 0.0
    with torch.no_grad():
        for name, alpha in zip(equivalent.layers, equivalent.alphas):
            target = math.sqrt(alpha) * he_mods[name].weight
            init_rel = max(init_rel, _rel(target, depth_mods[name].weight))
            depth_mods[name].weight.copy_(target)

    scales = equivalent.parameter_scales(he_net, optimizer=optimizer)
    eps_scales = equivalent.eps_scales(he_net)
    he_params = dict(he_net.named_parameters())
    opt_depth: torch.optim.Optimizer
    opt_he: torch.optim.Optimizer
    if optimizer == "sgd":
        opt_depth = torch.optim.SGD(depth_net.parameters(), lr=lr, momentum=momentum)
        opt_he = torch.optim.SGD(
            [{"params": [p], "lr": lr * scales[k]} for k, p in he_params.items()], lr=lr, momentum=momentum
        )
    else:
        opt_depth = torch.optim.Adam(depth_net.parameters(), lr=lr, betas=betas, eps=eps)
        opt_he = torch.optim.Adam(
            [
                {"params": [p], "lr": lr * scales[k], "eps": eps * (eps_scales[k] if scale_eps else 1.0)}
                for k, p in he_params.items()
            ],
            lr=lr,
            betas=betas,
            eps=eps,
        )

    def loss_fn(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.is_floating_point():
            return nn.functional.mse_loss(out, target)
        return nn.functional.cross_entropy(out, target)

    order = torch.arange(n)
    cursor = n

    def next_batch() -> torch.Tensor:
        nonlocal order, cursor
        if batch_size is None:
            return torch.arange(n)
        if cursor + batch_size > n:
            order, cursor = torch.randperm(n, generator=generator), 0
        idx = order[cursor : cursor + batch_size]
        cursor += batch_size
        return idx

    rows = []

    def record(step: int, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out_d = depth_net(x[idx])
        out_h = he_net(x[idx]) * equivalent.output_scale
        loss_d, loss_h = loss_fn(out_d, y[idx]), loss_fn(out_h, y[idx])
        with torch.no_grad():
            w_rel = max(
                _rel(depth_mods[k].weight, math.sqrt(a) * he_mods[k].weight)
                for k, a in zip(equivalent.layers, equivalent.alphas)
            )
            b_rel = max(
                (
                    _rel(depth_mods[k].bias, math.sqrt(c) * he_mods[k].bias)
                    for k, c in zip(equivalent.layers, equivalent.cumulative)
                    if getattr(depth_mods[k], "bias", None) is not None
                ),
                default=0.0,
            )
            rows.append(
                {
                    "step": step,
                    "loss_depth": float(loss_d),
                    "loss_he": float(loss_h),
                    "loss_rel_diff": abs(float(loss_d) - float(loss_h)) / max(abs(float(loss_d)), 1e-300),
                    "output_rel_diff": _rel(out_d, out_h),
                    "weight_rel_diff": w_rel,
                    "bias_rel_diff": b_rel,
                }
            )
        return loss_d, loss_h

    for step in range(steps + 1):
        idx = next_batch()
        loss_d, loss_h = record(step, idx)
        if step == steps:
            break
        opt_depth.zero_grad(set_to_none=True)
        opt_he.zero_grad(set_to_none=True)
        loss_d.backward()
        loss_h.backward()
        opt_depth.step()
        opt_he.step()
    return ReparameterizedRun(pd.DataFrame(rows), equivalent, init_rel)


# --- the theorem, step by step in SymPy ------------------------------------------------------------


def reparameterization_theorem() -> dict[str, Expr]:
    """Each step of the theorem as an expression SymPy simplifies; the claim holds where
    the entry is 0.

    * ``layer_step``: y_l(W) − √(α C) y_l(U) for one unit, from the induction hypothesis
      y_{l−1}(W) = √C y_{l−1}(U), W = √α U, b = √(α C) b̃ and relu(√C z) = √C relu(z)
      (positive homogeneity, :func:`relu_homogeneity`);
    * ``tanh_step``: the same with tanh, not 0 (homogeneity fails);
    * ``output_factor``: the factor √C_L of the logits, C_L = ∏_{l=1}^{L} α_l with α_1 = 1:
      √V (the factor itself, not a difference);
    * ``jacobian``: d(√V f)/dx − √V df/dx;
    * ``sgd_weights`` and ``sgd_buffer``: W' − √α U' and the momentum buffers after one
      SGD step (lr η on W, η/α on U, g_U = √α g_W by the chain rule);
    * ``adam_exact``: W' − √α U' after one Adam step with lr η/√α and ε √α on U;
    * ``adam_same_eps``: the same with equal ε (not 0), ``adam_eps_limit`` its limit ε → 0;
    * ``sgd_weight_decay``: with coupled weight decay λ on both sides (not 0), and
      ``sgd_weight_decay_scaled``: with λ α on U (0).
    """
    alpha_s, C = Symbol("alpha", positive=True), Symbol("C", positive=True)
    n_units = Symbol("n", integer=True, positive=True)
    i, j = Symbol("i", integer=True, positive=True), Symbol("j", integer=True, positive=True)
    U, yU, b = IndexedBase("U"), IndexedBase("y"), IndexedBase(r"\tilde{b}")
    out: dict[str, Expr] = {}

    def step(act: Function, homogeneous: bool) -> Expr:
        y_w = Sum(sqrt(alpha_s) * U[i, j] * act(sqrt(C) * yU[j]), (j, 1, n_units)) + sqrt(alpha_s * C) * b[i]
        if homogeneous:
            y_w = y_w.replace(lambda e: e.func == act, lambda e: sqrt(C) * act(e.args[0] / sqrt(C)))
        target = sqrt(alpha_s * C) * (Sum(U[i, j] * act(yU[j]), (j, 1, n_units)) + b[i])
        return simplify(y_w - target)

    from sympy import tanh

    from ._meanfield import relu_homogeneity

    lemma = relu_homogeneity()
    if not (lemma["positive"] == 0 and lemma["negative"] == 0):  # pragma: no cover - SymPy regression
        raise RuntimeError("SymPy no longer confirms relu(a z) = a relu(z) for a > 0")
    out["layer_step"] = step(Function("relu"), homogeneous=True)
    # tanh(√C z) cannot be rewritten; its difference stays
    y_t = Sum(sqrt(alpha_s) * U[i, j] * tanh(sqrt(C) * yU[j]), (j, 1, n_units))
    out["tanh_step"] = simplify(y_t - sqrt(alpha_s * C) * Sum(U[i, j] * tanh(yU[j]), (j, 1, n_units)))

    from .symbols import L, V, alpha, l

    # C_L = ∏_{l=1}^{L} α_l = α_1 ∏_{l=2}^{L} α_l; the split is checked for L = 2..6, then
    # α_1 = 1 and the product over 2..L is V by definition (depthinit.theory.network_variance).
    c_L = Product(alpha[l], (l, 1, L))
    rest = Product(alpha[l], (l, 2, L))
    if any(simplify((c_L - alpha[1] * rest).subs(L, depth).doit()) != 0 for depth in range(2, 7)):  # pragma: no cover
        raise RuntimeError("the product does not split as α_1 ∏_{l=2}^{L} α_l")
    out["output_factor"] = sqrt((alpha[1] * rest).subs(alpha[1], 1).subs(rest, V))

    xs = Symbol("x", real=True)
    f = Function("f")
    out["jacobian"] = simplify(diff(sqrt(V) * f(xs), xs) - sqrt(V) * diff(f(xs), xs))

    eta, mu = Symbol("eta", positive=True), Symbol("mu", nonnegative=True)
    U_t, gW, bufU = Symbol("U_t", real=True), Symbol("g_W", real=True), Symbol("m_U", real=True)
    W_t = sqrt(alpha_s) * U_t  # hypothesis W = √α U
    buf_w = bufU / sqrt(alpha_s)  # hypothesis: buffers differ by √α
    g_u = sqrt(alpha_s) * gW  # chain rule for L_U(U) = L_W(√α U)
    buf_w_next, buf_u_next = mu * buf_w + gW, mu * bufU + g_u
    w_next = W_t - eta * buf_w_next
    u_next = U_t - (eta / alpha_s) * buf_u_next
    out["sgd_weights"] = simplify(w_next - sqrt(alpha_s) * u_next)
    out["sgd_buffer"] = simplify(buf_w_next - buf_u_next / sqrt(alpha_s))

    lam = Symbol("lambda", positive=True)
    w_dec = W_t - eta * (gW + lam * W_t)
    u_dec = U_t - (eta / alpha_s) * (g_u + lam * U_t)
    u_dec_scaled = U_t - (eta / alpha_s) * (g_u + alpha_s * lam * U_t)
    out["sgd_weight_decay"] = simplify(w_dec - sqrt(alpha_s) * u_dec)
    out["sgd_weight_decay_scaled"] = simplify(w_dec - sqrt(alpha_s) * u_dec_scaled)

    b1, b2, eps = Symbol("beta_1", positive=True), Symbol("beta_2", positive=True), Symbol("epsilon", positive=True)
    m_w, v_w = Symbol("m_W", real=True), Symbol("v_W", positive=True)
    m_u, v_u = sqrt(alpha_s) * m_w, alpha_s * v_w  # hypothesis on Adam's moments
    # The moment recursions are linear in (m, g) and (v, g²): the hypothesis survives a step.
    mw2, vw2 = b1 * m_w + (1 - b1) * gW, b2 * v_w + (1 - b2) * gW**2
    mu2, vu2 = b1 * m_u + (1 - b1) * g_u, b2 * v_u + (1 - b2) * g_u**2
    out["adam_moments"] = simplify((mu2 - sqrt(alpha_s) * mw2) + (vu2 - alpha_s * vw2))
    # The update uses the bias-corrected moments m̂ = m/(1 − β₁^t), v̂ = v/(1 − β₂^t), which keep
    # the same relation (one common factor each): write them m̂_W, v̂_W and √α m̂_W, α v̂_W.
    m_hat, v_hat = Symbol(r"\hat{m}_W", real=True), Symbol(r"\hat{v}_W", positive=True)

    def adam_update(p: Expr, mh: Expr, vh: Expr, rate: Expr, e: Expr) -> Expr:
        return p - rate * mh / (sqrt(vh) + e)

    w_a = adam_update(W_t, m_hat, v_hat, eta, eps)
    u_exact = adam_update(U_t, sqrt(alpha_s) * m_hat, alpha_s * v_hat, eta / sqrt(alpha_s), eps * sqrt(alpha_s))
    u_same = adam_update(U_t, sqrt(alpha_s) * m_hat, alpha_s * v_hat, eta / sqrt(alpha_s), eps)
    out["adam_exact"] = simplify(w_a - sqrt(alpha_s) * u_exact)
    out["adam_same_eps"] = factor(simplify(w_a - sqrt(alpha_s) * u_same))
    out["adam_eps_limit"] = limit(out["adam_same_eps"], eps, 0)
    return out

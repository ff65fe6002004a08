"""What a result says beside its numbers, as data: a code and its values.

Methods, the certificate and the driver attach :class:`Note` s; the text is
written only at the edge (``result.message``, ``summary()``, the CLI) by
:func:`render`, so no code edits prose and a test asks for a code
(``"maxiter" in result.note_codes``), not for words.  :data:`CODES` lists
every code with the text it renders to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Note", "note", "render", "CODES", "CONV_ROUTES"]


@dataclass(frozen=True)
class Note:
    """One thing a result says: ``code`` (a key of :data:`CODES`) and its values."""

    code: str
    values: tuple[tuple[str, Any], ...] = ()

    def __getitem__(self, key: str) -> Any:
        return dict(self.values)[key]

    def replace(self, **values: Any) -> Note:
        """The same note with some values changed."""
        return note(self.code, **{**dict(self.values), **values})

    @property
    def text(self) -> str:
        return CODES[self.code](**dict(self.values))


def note(code: str, **values: Any) -> Note:
    """A :class:`Note`; an unknown code is an error here, not at rendering time."""
    if code not in CODES:
        raise KeyError(f"unknown note code {code!r}")
    return Note(code, tuple(values.items()))


def render(notes: Iterable[Note]) -> str:
    """The notes as one line of text, in order, ``;``-separated."""
    return "; ".join(n.text for n in notes)


def _maxiter(maxiter: int, unit: str = "Lanczos steps", memory: str = "") -> str:
    grows = {"": "", "grows": " (memory grows with each step)",
             "max_basis": " (memory grows with each step; max_basis bounds it)"}[memory]
    return f"stopped at maxiter={maxiter} {unit}{grows}"


def _float32_refined(err: float, continued: bool = True) -> str:
    return (f"float32 Krylov work reached a float64 residual bound of {err:.3g}"
            + ("; refined in float64 from its vector" if continued else ""))


def _propack_refined(steps: int, why: tuple[Note, ...], from_vector: bool, continued: bool = True) -> str:
    return (f"SciPy's PROPACK ({steps} steps): {render(why)}"
            + ("; continued with float64 Lanczos" + (" from its vector" if from_vector else "") if continued else ""))


def _gram_route(steps: int, side: int, products: int, missed: float | None = None, continued: bool = True) -> str:
    return (f"Gram route: {steps} Lanczos steps on the {side} x {side} Gram matrix ({products} products with it), "
            "certified with A"
            + (f"; its vector's residual bound {missed:.3g} missed tol, continued on A"
               if missed is not None and continued else ""))


def _certify_missed(route: str, estimate: float, w: float, value: float, holds: bool, detail: str) -> str:
    return (f"{route}: sigma_max > {estimate:.17g} (1 + {w:.3g}) (the test failed), so the estimate "
            f"{value:.17g} was not sigma_max to tol; re-estimated by the full SVD and "
            + ("certified" if holds else f"bounded by bisection ({detail})"))


_FFT_NOT_PROVEN = ("the FFT route's rounding constants (8 u per FFT stage, 16 (max(m, n) + 4) u for the batched "
                   "complex SVD) are calibrated, not proven (docs/certify.md), so its bracket is an estimate")


def _conv_dense_assembly(rows: int, cols: int, assembly_error: float) -> str:
    return (f"the {rows} x {cols} matrix assembled from its columns (entries within {assembly_error:.3g} in "
            "Frobenius norm), then method 'svd'")


def _conv_dft(frequencies: int, block_shape: tuple[int, int], fft_rounding: float, svd_rounding: float,
              certified: bool, proven_lower: float, proven_upper: float) -> str:
    text = (f"exact by the DFT over {frequencies} frequencies, blocks {block_shape}; "
            f"rounding terms fft {fft_rounding:.3g}, svd {svd_rounding:.3g}; ")
    if certified:
        return text + "certified by conv_upper_bound and one impulse"
    return text + (f"not certified: {_FFT_NOT_PROVEN}; proven: [{proven_lower:.17g}, {proven_upper:.17g}] "
                   "(one impulse, conv_upper_bound); method 'dense' certifies operators that fit")


def _conv_operator_iteration(certified: bool, upper_from: str, grid: tuple[int, ...], proven_lower: float,
                             proven_upper: float) -> str:
    text = "matrix-free on the convolution and its adjoint"
    if certified:
        return text + "; certified by conv_upper_bound and the proven lower bound of the final vector or an impulse"
    text += {"circular-embedding": f"; upper end from the circular convolution on {grid} (DFT, calibrated)",
             "conv-upper-bound": "; upper end from conv_upper_bound", "operator-iteration": ""}[upper_from]
    return text + ("; not certified: a LinearOperator's bracket assumes its products' rounding and the DFT's "
                   f"constants are calibrated; proven: [{proven_lower:.17g}, {proven_upper:.17g}]")


def _conv_gram(certified: bool, side: str, size: int, groups: int, gram_error: float, tests: int,
               proven: bool) -> str:
    gram = "A^T A" if side == "right" else "A A^T"
    text = (f"the {size} x {size} Gram matrix {gram}{f' of each of {groups} groups' if groups > 1 else ''} "
            f"from the kernel (within {gram_error:.3g} in 2-norm), {tests} Cholesky test(s) ")
    text += "(Rump) for the upper end" if proven else "failed: upper end from conv_upper_bound"
    text += ", the top eigenvector through the convolution for the lower"
    return text + ("; certified" if certified else "; not within tol")


#: a convolution's route -> the function writing what it did from the note's values
CONV_ROUTES: dict[str, Callable[..., str]] = {
    "dense-assembly": _conv_dense_assembly,  # rows, cols, assembly_error
    "conv-upper-bound": lambda: "kernel-reshaping upper bound (conv_upper_bound); lower end from one impulse",
    "dft": _conv_dft,  # frequencies, block_shape, fft_rounding, svd_rounding, certified, proven_lower, proven_upper
    # certified, upper_from (a route above, or the iteration's own), grid, proven_lower, proven_upper
    "operator-iteration": _conv_operator_iteration,
    "gram-cholesky": _conv_gram,  # certified, side, size, groups, gram_error, tests, proven
}


def _convolution(describe: str, route: str, **values: Any) -> str:
    return f"{describe}: {CONV_ROUTES[route](**values)}"


#: code -> the function writing its text from the note's values
CODES: dict[str, Callable[..., str]] = {
    # the input and the driver
    "zero-matrix": lambda: "A is the zero matrix: sigma_max = 0 exactly",
    "vector-norm": lambda: "A has a single row or column: sigma_max = ||A||_F, computed directly",
    "tol-raised": lambda tol, why, floor: f"tol {tol:.3g} lies below {why}, {floor:.3g}; raised to it",
    "svd-maxiter": lambda: "maxiter does not apply to method 'svd' (no iterations)",
    "complex-embedding": lambda shape: (f"complex input: computed through its real embedding [[Re, -Im], [Im, Re]] "
                                        f"of shape {shape}, whose singular values are those of A, each twice"),
    "linear-operator": lambda: ("a LinearOperator: the lower bound assumes its products are as accurate as a dense "
                                "float64 product; the upper bound is not certified (no entries to bound it with)"),
    "torch-numpy-view": lambda: ("a CPU torch tensor: computed on the NumPy array sharing its memory (no copy; "
                                 "LIPBENCH_TORCH_CPU=native runs torch's own operations)"),
    "beyond-float64": lambda: "sigma_max lies beyond the float64 range: the upper end is inf",
    "subnormal-width": lambda: ("sigma_max lies so near float64's subnormal range that the bracket, rounded outward "
                                "to floats, cannot be as narrow as tol"),
    # how an iteration ended
    "krylov-exhausted": lambda: "Krylov space exhausted or invariant: the Ritz value is exact up to rounding",
    "block-krylov-exhausted": lambda: "Krylov space exhausted: the Ritz value is exact up to rounding",
    "maxiter": _maxiter,
    "thick-restarts": lambda restarts, max_basis: f"{restarts} thick restart(s) at {max_basis} vectors",
    "lagged-steps": lambda steps: (f"{steps} step(s) past the answer ran before its check resolved "
                                   "(their products are counted)"),
    "float32-unverified": lambda err, verified: (f"the float32 iteration stopped at its own residual bound "
                                                 f"{err:.3g}, but the float64 residual bounds the error only by "
                                                 f"{verified:.3g} > tol"),
    "gram-squarings": lambda t, err: f"stopped after {t} Gram squarings; certified relative width {err:.3g}",
    "interpolative-unverified": lambda its, err, p: (f"no residual available; with its={its} power steps the error "
                                                     f"is certified only below {err:.3g} (probability 1 - {p:g})"),
    # routes of several stages
    "float32-work": lambda: "float32 Krylov work, certified and verified in float64",
    "float32-refined": _float32_refined,
    "propack-verified": lambda steps: f"SciPy's PROPACK ({steps} steps), certified and verified in float64",
    "propack-refined": _propack_refined,
    "gram-route": _gram_route,
    # a library's own solver
    "solver-problem": lambda text: text,
    "cupy-explicit-gram": lambda: "this CuPy's eigsh takes no LinearOperator; ran on the explicit Gram matrix",
    # the certificate
    "certify-skipped": lambda route, why: f"{route}: {why}",
    "certify-missed": _certify_missed,
    # convolutions
    "convolution": _convolution,  # describe (the layer), route (a key of CONV_ROUTES) and that route's values
    "conv-certify-ends": lambda why, upper_from: (f"certify=True: the bracket is the proven ends ({why}); "
                                                  f"upper end from {upper_from}"),
    "kernel-scaled": lambda e: f"the kernel was scaled by 2^{-e} and the norm back by 2^{e}, rounded outward",
}

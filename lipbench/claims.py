"""The claims ledger: the study note's claims as data, and ``lipbench claims``.

Each :class:`Claim` names the property tests that check it (pytest node ids
without parameters) and the verdict expected when they pass.  ``lipbench
claims`` runs ``python -m pytest properties`` with a junit-xml report (or reads a
saved one with ``--junit``), reads the evidence the tests recorded (junit
properties ``evidence:<key>``, JSON values, written by the ``evidence``
fixture of ``properties/conftest.py``) and writes ``results/claims.md``.

A claim whose tests fail shows as **failing**, whatever its expected verdict;
one whose tests were all skipped or not collected shows as **not run**.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Claim", "CLAIMS", "VERDICTS", "TestOutcome", "parse_junit", "ledger", "render_markdown",
           "add_cli_arguments", "run_cli"]

VERDICTS = ("holds", "holds with qualification", "false as stated", "not testable")

_G = "properties/test_claims_gram.py::"
_L = "properties/test_claims_lipschitz.py::"
_N = "properties/test_claims_norms.py::"
_T = "properties/test_claims_training.py::"
_LD = "properties/test_claims_ladder.py::"
_SN = "properties/test_claims_sn.py::"


@dataclass(frozen=True)
class Claim:
    """One claim of the note: what it says, what is tested, the expected verdict."""

    id: str
    note_says: str
    precise: str
    tests: tuple[str, ...]
    expected: str
    qualification: str = ""
    evidence: tuple[tuple[str, str, str], ...] = ()  # (test, evidence key, label) shown in the ledger

    def __post_init__(self) -> None:
        if self.expected not in VERDICTS:
            raise ValueError(f"claim {self.id}: expected verdict must be one of {VERDICTS}; got {self.expected!r}")


CLAIMS: tuple[Claim, ...] = (
    Claim("C1", "f is K-Lipschitz when ||f(x)-f(y)|| <= K||x-y||; the constant is the smallest K",
          "L(f) = sup_{x != y} ||f(x)-f(y)||/||x-y||; every sampled quotient is <= L(f) <= a certified bound",
          (_L + "test_c1_difference_quotients_bound_L_from_below",), "holds",
          "sampled quotients bound L only from below",
          ((_L + "test_c1_difference_quotients_bound_L_from_below", "max_quotient_over_bound",
            "largest sampled quotient / certified bound"),)),
    Claim("C2", "sin and ReLU (and cos) are 1-Lipschitz",
          "|g(x)-g(y)| <= K|x-y| with K = sup|g'| derived per activation, and K is approached",
          (_L + "test_c2_activations_are_K_lipschitz_with_best_K", _L + "test_c2_named_constants"), "holds", "",
          ((_L + "test_c2_named_constants", "constants", "derived constants"),)),
    Claim("C3", "x^2 is not Lipschitz", "the quotient |x+y| is unbounded on R; on [-R, R] it is <= 2R",
          (_L + "test_c3_square_is_lipschitz_only_on_bounded_sets", _L + "test_c3_square_has_no_global_constant"),
          "holds with qualification", "not *globally* Lipschitz; 2R-Lipschitz on [-R, R]",
          ((_L + "test_c3_square_has_no_global_constant[1e+100]", "witness", "pair beating K = 1e100"),
           (_L + "test_c3_square_is_lipschitz_only_on_bounded_sets", "max_quotient_over_2R",
            "largest quotient / 2R on [-R, R]"))),
    Claim("C4", "for differentiable f the constant is the max of the derivative; ||f||_Lip = sup sigma_max(grad f)",
          "on a convex domain L(f) = sup_x ||J_f(x)||_2; sampled sigma(J) <= L <= certified bound, and sigma(J) "
          "is realised by a quotient in x's linear region",
          (_L + "test_c4_sup_jacobian_norm_is_L", _L + "test_c4_smooth_networks_jacobian_below_bound"),
          "holds with qualification", "needs a convex (connected) domain; the sup need not be attained",
          ((_L + "test_c4_sup_jacobian_norm_is_L", "realised_quotient_matches_jacobian",
            "a quotient realised sigma(J) (1 = yes)"),)),
    Claim("C5", "the spectral norm is sigma_max, = sqrt(lambda_max(A^T A)) = sqrt(lambda_max(A A^T))",
          "sigma_max(A)^2 = lambda_max(A^T A) = lambda_max(A A^T) for real m x n A",
          (_G + "test_c5_sigma_is_sqrt_of_gram_lambda_max", _G + "test_c5_naive_gram_overflows_on_badly_scaled_input"),
          "holds with qualification", "as a computation, forming A^T A overflows/underflows for badly scaled A "
          "(scale by a power of two first) and squares the condition number",
          ((_G + "test_c5_naive_gram_overflows_on_badly_scaled_input[numpy-float64]", "huge_float64",
            "naive Gram of a huge float64 matrix"),
           (_G + "test_c5_naive_gram_overflows_on_badly_scaled_input[numpy-float32]", "tiny_float32",
            "naive Gram of a tiny float32 matrix"),
           (_G + "test_c5_sigma_is_sqrt_of_gram_lambda_max[numpy]", "max_relative_gap",
            "largest |sqrt(lambda_max) - sigma| / sigma (scaled)"))),
    Claim("C6", "the eigenvalues of A^T A and A A^T are >= 0 (once: 'all positive')",
          "lambda_i >= 0 exactly, >= -c max(m,n) eps ||A||_F^2 numerically; 'all positive' is false",
          (_G + "test_c6_gram_eigenvalues_nonnegative", _G + "test_c6_all_positive_is_refuted",
           _G + "test_c6_rounding_can_make_computed_eigenvalues_negative"),
          "false as stated", "non-negative, not positive: rank-deficient A gives zero eigenvalues; computed ones "
          "may even be slightly negative",
          ((_G + "test_c6_all_positive_is_refuted", "counterexample", "Hypothesis' counterexample"),
           (_G + "test_c6_rounding_can_make_computed_eigenvalues_negative[numpy]", "negative_eigenvalue",
            "computed eigenvalue below 0"),
           (_G + "test_c6_gram_eigenvalues_nonnegative[numpy]", "most_negative_relative_eigenvalue",
            "most negative lambda / ||A||_F^2 seen"))),
    Claim("C7", "the non-zero eigenvalues of A^T A and A A^T coincide; Av maps eigenvectors across",
          "equal non-zero spectra, |m-n| extra zeros; A v is an eigenvector of A A^T when A v != 0",
          (_G + "test_c7_gram_nonzero_spectra_coincide", _G + "test_c7_eigenvector_map_needs_Av_nonzero"),
          "holds with qualification", "the eigenvector map needs A v != 0",
          ((_G + "test_c7_eigenvector_map_needs_Av_nonzero", "counterexample", "A v = 0 for"),)),
    Claim("C8", "the singular values are the square roots of those eigenvalues",
          "svdvals(A)^2 = top min(m,n) eigenvalues of A^T A (tolerance ~ sigma_max^2)",
          (_G + "test_c8_singular_values_are_sqrt_gram_eigenvalues",), "holds", "",
          ((_G + "test_c8_singular_values_are_sqrt_gram_eigenvalues[numpy]", "max_abs_error_over_sigma_sq",
            "largest |s_i^2 - lambda_i| / sigma_max^2"),)),
    Claim("C9", "a linear map K-Lipschitz at 0 is K-Lipschitz everywhere; the best K is sigma_max",
          "||Ax|| <= sigma ||x||, equality at the top right singular vector; same for x -> Ax + b",
          (_N + "test_c9_linear_map_constant_is_sigma_max",), "holds", "",
          ((_N + "test_c9_linear_map_constant_is_sigma_max[numpy]", "max_ratio_Ax_over_sigma_x",
            "largest ||Ax|| / (sigma ||x||) on random x"),)),
    Claim("C10", "the largest singular value is the matrix's L2 norm",
          "sigma_max = the induced 2-norm; the entrywise L2 (Frobenius) norm is >= sigma_max, = iff rank <= 1",
          (_N + "test_c10_sigma_is_induced_2norm_not_frobenius", _N + "test_c10_entrywise_l2_counterexample"),
          "holds with qualification", "only for the induced (operator) 2-norm; false for the entrywise L2 norm",
          ((_N + "test_c10_entrywise_l2_counterexample", "counterexample", "||A||_F > sigma_max for"),
           (_N + "test_c10_sigma_is_induced_2norm_not_frobenius[numpy]", "max_fro_over_sigma",
            "largest ||A||_F / sigma_max seen"))),
    Claim("C11", "f2 o f1 is k1 k2-Lipschitz; the product of best constants need not be best",
          "sigma(W2 W1) <= sigma(W2) sigma(W1), strict for misaligned singular vectors",
          (_N + "test_c11_composition_constant_at_most_product", _N + "test_c11_product_is_not_best"), "holds", "",
          ((_N + "test_c11_product_is_not_best", "strict_example", "strict inequality"),
           (_N + "test_c11_product_is_not_best", "nn_like_64_ratio", "sigma(W2 W1)/(sigma1 sigma2), nn_like 64x64"))),
    Claim("C12", "a network's constant is at most the product of its layers'; a per-layer cap gives lambda^d",
          "L(phi_d o ... o phi_1) <= prod L(phi_i) <= lambda^d (activations contribute their constants)",
          (_L + "test_c12_product_bound_dominates_lower_bound", _L + "test_c12_gap_on_realistic_networks",
           _LD + "test_c12_ladder_gap"),
          "holds", "the product is often far above the truth (the bound ladder: docs/lipschitz-ladder.md)",
          ((_L + "test_c12_gap_on_realistic_networks", "gap_nn_like_32x4",
            "product bound / empirical lower bound, ReLU nets 32 wide, 4 deep"),
           (_L + "test_c12_product_bound_dominates_lower_bound", "max_gap", "largest gap on random small nets"),
           (_LD + "test_c12_ladder_gap", "product_over_best_certified",
            "ladder: product / best certified upper bound, small ReLU MLPs"),
           (_LD + "test_c12_ladder_gap", "product_over_best_lower",
            "ladder: product / best lower bound (L_exact_in: networks where they meet L)"))),
    Claim("C13", "spectral normalization W/sigma(W) has spectral norm 1, so the network is 1-Lipschitz",
          "sigma(W/sigma) = 1 exactly; with sigma_hat from power iteration sigma_hat <= sigma, "
          "so sigma(W/sigma_hat) >= 1",
          (_T + "test_c13_spectral_normalization_overshoots_with_power_iteration",
           _T + "test_c13_overshoot_on_realistic_layers", _SN + "test_c13_reshape_trap_bounds",
           _SN + "test_c13_reshape_underestimates", _SN + "test_c13_reshape_overestimates",
           _SN + "test_c13_sn_audit_overshoot"),
          "holds with qualification", "only with exact or upper-certified sigma; power-iteration sigma_hat "
          "(as in training code) overshoots 1; for a convolution, sigma(kernel.reshape(out, -1)) (what "
          "spectral_norm(conv) uses) is not the layer's norm: it can under- or over-estimate it "
          "(docs/sn-audit.md)",
          ((_T + "test_c13_spectral_normalization_overshoots_with_power_iteration", "max_overshoot_k1",
            "worst overshoot found, 1 iteration"),
           (_T + "test_c13_spectral_normalization_overshoots_with_power_iteration", "max_overshoot_k2",
            "2 iterations"),
           (_T + "test_c13_spectral_normalization_overshoots_with_power_iteration", "max_overshoot_k5",
            "5 iterations"),
           (_T + "test_c13_overshoot_on_realistic_layers", "nn_like_64", "nn_like 64x64, cold/warm start"),
           (_SN + "test_c13_sn_audit_overshoot", "overshoot_quantiles",
            "SN audit over drifting weights: overshoot quantiles per estimator"),
           (_SN + "test_c13_reshape_underestimates", "counterexample",
            "reshape trap: the reshaped sigma under-estimates ||conv|| (ratio = operator lower / reshape upper)"),
           (_SN + "test_c13_reshape_overestimates", "counterexample",
            "reshape trap: the reshaped sigma over-estimates ||conv|| (ratio = reshape lower / operator upper)"),
           (_SN + "test_c13_reshape_trap_bounds", "max_under_ratio", "largest ||conv|| / sigma(reshaped) seen"),
           (_SN + "test_c13_reshape_trap_bounds", "max_over_ratio", "largest sigma(reshaped) / ||conv|| seen"))),
    Claim("C14", "dropout's test-time rescaling equals rescaling W, scaling the operator norm and L",
          "test time x -> p W x, L = p sigma(W); E_mask[train layer] = test layer (exact, all masks); inverted "
          "dropout leaves test time unchanged",
          (_T + "test_c14_dropout_expectation_equals_test_time_scaling", _T + "test_c14_single_mask_bounds",
           _T + "test_c14_inverted_mask_can_raise_sigma"),
          "holds with qualification", "for the classical convention; inverted dropout scales at train time, and "
          "one inverted mask D/p can raise sigma up to sigma(W)/p",
          ((_T + "test_c14_inverted_mask_can_raise_sigma", "counterexample", "inverted mask raising sigma"),
           (_T + "test_c14_single_mask_bounds", "max_inverted_mask_sigma_ratio",
            "largest sigma(W D/p) / sigma(W) seen"))),
    Claim("C15", "the largest singular value means something like the gradient",
          "not testable as stated; nearest testable reading: C4 (L = sup sigma(J))",
          (_L + "test_c15_not_testable_nearest_reading_is_c4",), "not testable",
          "checked through its nearest reading, C4 on linear maps",
          ((_L + "test_c15_not_testable_nearest_reading_is_c4", "reading", "checked reading"),)),
)


@dataclass(frozen=True)
class TestOutcome:
    """One junit test case: its node id, outcome and recorded evidence."""

    nodeid: str
    outcome: str  # "passed", "failed", "skipped"
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    time: float = 0.0

    __test__ = False  # not a pytest test class

    @property
    def base(self) -> str:
        return self.nodeid.split("[", 1)[0]


def parse_junit(path: str | os.PathLike[str]) -> list[TestOutcome]:
    """Test cases of a pytest junit-xml file, with ``evidence:<key>`` properties decoded."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ValueError(f"cannot read junit xml {path}: {exc}") from None
    out = []
    for tc in root.iter("testcase"):
        classname, name = tc.get("classname", ""), tc.get("name", "")
        nodeid = classname.replace(".", "/") + ".py::" + name if classname else name
        outcome, message = "passed", ""
        for tag in ("failure", "error"):
            el = tc.find(tag)
            if el is not None:
                outcome, message = "failed", (el.get("message") or el.text or "")[:500]
        el = tc.find("skipped")
        if outcome == "passed" and el is not None:
            outcome, message = "skipped", el.get("message", "")
        ev: dict[str, Any] = {}
        for prop in tc.iter("property"):
            pname = prop.get("name", "")
            if pname.startswith("evidence:"):
                try:
                    ev[pname[len("evidence:"):]] = json.loads(prop.get("value", "null"))
                except json.JSONDecodeError:
                    ev[pname[len("evidence:"):]] = prop.get("value")
        out.append(TestOutcome(nodeid, outcome, message, ev, float(tc.get("time", 0) or 0)))
    return out


@dataclass(frozen=True)
class LedgerRow:
    claim: Claim
    verdict: str
    tests: tuple[TestOutcome, ...]
    evidence: tuple[tuple[str, Any], ...]


def ledger(outcomes: list[TestOutcome], claims: tuple[Claim, ...] = CLAIMS) -> list[LedgerRow]:
    """The verdict per claim: the expected one if its tests passed, **failing** if any
    failed, **not run** if none ran."""
    rows = []
    for c in claims:
        mine = tuple(o for o in outcomes if o.base in c.tests)
        ran = [o for o in mine if o.outcome != "skipped"]
        if any(o.outcome == "failed" for o in mine):
            verdict = "failing"
        elif not ran or any(t not in {o.base for o in ran} for t in c.tests):
            verdict = "not run"
        else:
            verdict = c.expected
        ev = []
        by_id = {o.nodeid: o for o in mine}
        for test, key, label in c.evidence:
            o = by_id.get(test) or next((o for o in mine if o.base == test and key in o.evidence), None)
            if o is not None and key in o.evidence:
                ev.append((label, o.evidence[key]))
        rows.append(LedgerRow(c, verdict, mine, tuple(ev)))
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        if value and all(isinstance(v, list) for v in value):
            return "[" + "; ".join(" ".join(_fmt(x) for x in row) for row in value) + "]"
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _cell(text: str) -> str:
    """Escape a Markdown table cell (norm bars would split the row)."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: list[LedgerRow], *, source: str = "") -> str:
    """results/claims.md: one table row per claim, then the failures."""
    lines = [
        "# Claims ledger",
        "",
        "Generated by `lipbench claims` from the property suite (`pytest properties`); every number below was "
        "recorded by the tests during the run" + (f" ({source})" if source else "") + ".",
        "Verdicts: **holds**, **holds with qualification**, **false as stated**, **not testable** (checked "
        "through its nearest reading); **failing** means a test of the claim failed, **not run** that none ran.",
        "",
        "| claim | the note says | verdict | qualification | evidence from the run | tests |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ev = "<br>".join(_cell(f"{label}: `{_fmt(v)}`") for label, v in r.evidence) or "—"
        counts: dict[str, int] = {}
        for o in r.tests:
            counts[o.outcome] = counts.get(o.outcome, 0) + 1
        tests = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none collected"
        qual = _cell(r.claim.qualification or "—")
        lines.append(f"| {r.claim.id} | {_cell(r.claim.note_says)} | **{r.verdict}** | {qual} | {ev} | {tests} |")
    failing = [(r.claim.id, o) for r in rows for o in r.tests if o.outcome == "failed"]
    if failing:
        lines += ["", "## Failing tests", ""]
        lines += [f"- {cid}: `{o.nodeid}`: {o.message.splitlines()[0] if o.message else ''}" for cid, o in failing]
    lines += ["", "## Precise statements tested", ""]
    lines += [f"- **{r.claim.id}**: {r.claim.precise}. Tests: " + ", ".join(f"`{t}`" for t in r.claim.tests)
              for r in rows]
    return "\n".join(lines) + "\n"


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``lipbench claims``."""
    parser.add_argument("--junit", metavar="XML", help="read saved pytest junit xml instead of running the suite")
    parser.add_argument("--output", "-o", default="results/claims.md", help="ledger to write (default: %(default)s)")
    parser.add_argument("--profile", default="ci", choices=("dev", "ci", "thorough"),
                        help="Hypothesis profile for the run (default: %(default)s)")
    parser.add_argument("--root", default=".", help="repository root holding properties/ (default: current dir)")
    parser.add_argument("--save-junit", metavar="XML", help="keep the run's junit xml here")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest (after --)")


def run_property_suite(root: Path, junit: Path, profile: str, extra: list[str]) -> int:
    """``python -m pytest properties --junitxml=junit --hypothesis-profile=profile``; returns pytest's status."""
    if not (root / "properties").is_dir():
        raise FileNotFoundError(f"{root / 'properties'} not found; run from the repository root or pass --root")
    cmd = [sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider",
           f"--junitxml={junit}", f"--hypothesis-profile={profile}", *extra]
    print("running:", " ".join(cmd), file=sys.stderr)
    return subprocess.call(cmd, cwd=root)


def run_cli(args: argparse.Namespace) -> int:
    """Run (or read) the property suite and write the ledger. Exit 0 when no claim is failing."""
    root = Path(args.root)
    if args.junit:
        junit = Path(args.junit)
        if not junit.is_file():
            print(f"lipbench claims: {junit}: no such junit xml file", file=sys.stderr)
            return 2
        source = f"read from {junit}"
    else:
        tmpdir = tempfile.mkdtemp(prefix="lipbench-claims-")
        junit = Path(args.save_junit) if args.save_junit else Path(tmpdir) / "properties.xml"
        try:
            status = run_property_suite(root, junit.resolve(), args.profile, list(args.pytest_args or []))
        except FileNotFoundError as exc:
            print(f"lipbench claims: {exc}", file=sys.stderr)
            return 2
        if not junit.is_file():
            print(f"lipbench claims: pytest (status {status}) wrote no junit report", file=sys.stderr)
            return 2
        source = f"`pytest properties --hypothesis-profile={args.profile}`"
    try:
        rows = ledger(parse_junit(junit))
    except ValueError as exc:
        print(f"lipbench claims: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output)
    if not out.is_absolute():
        out = root / out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(rows, source=source), encoding="utf-8")
    width = max(len(r.claim.id) for r in rows)
    for r in rows:
        print(f"{r.claim.id:<{width}}  {r.verdict}")
    print(f"wrote {out}")
    return 1 if any(r.verdict in ("failing", "not run") for r in rows) else 0

"""The book's chapters as library code: loading each chapter's runs, tables, figures,
provenance text, one module of findings per experiment, budgets and downloads.

Chapter: every chapter of the book; the notebooks only call these functions and
show what they return. One concern per module:

* ``_runs``: where each chapter's runs live and loading them (typed, restricted to
  the current spec's run ids), the stored paper-profile run;
* ``_tables``: tables to show, built on :func:`depthinit.analysis.summary` (one
  divergence rule, shared with ``depthinit report``), the learning rate chosen on
  validation, the verdict table in full text;
* ``_figures``: figures at the page's width (:mod:`depthinit.plotting`);
* ``_provenance``: what produced a run, in words, and the collapsed footer;
* ``_grid`` (E1-E3), ``_ablation`` (the schedule ablation), ``_stall`` (E4),
  ``_sensitivity`` (E5): each experiment's findings as dataclasses;
* ``_verdicts``: the verdict tables per optimizer, the landing page's answer, the advice;
* ``_budgets``: each chapter's time budget, stated once, and the measured times;
* ``_downloads``: the CSV files each chapter offers;
* ``_chapters``: which chapters come from the experiment template, optional sections;
* ``_glue``: handing Markdown, figures and numbers to the page;
* ``_practice``: the measurements of "Use it in your model".

Labels are the results' ``init`` column (made by :func:`depthinit.sweep.init_label`);
profiles are ``depthinit.sweep.PROFILES``, the schedule order
``depthinit.init.SCHEDULES``, the paper's V ``depthinit.sweep.PAPER_V``.
"""

from ._ablation import ARMS, REPRODUCE_TOL, AblationFinding, Arm, ablation_findings, arm
from ._budgets import (
    BUDGETS,
    OVER_FACTOR,
    THEORY_BUDGET,
    TIMINGS_FILE,
    budget_key,
    budget_of,
    chapter_times,
    read_timings,
    status_of,
    timing_table,
)
from ._chapters import (
    SECTIONS,
    SUMMARY_CHAPTERS,
    TEMPLATE,
    ablation_experiment,
    chapter_sections,
    chapter_title,
    template_key,
    why_chapter,
)
from ._downloads import DESCRIPTIONS, DOWNLOADS_FOLDER, downloads_markdown, tidy_tables, write_downloads
from ._figures import (
    curve_panels,
    init_style,
    plot_ablation,
    plot_accuracy_dots,
    plot_best_epochs,
    plot_chapter_times,
    plot_curves,
    plot_hero,
    plot_layer_profiles,
    plot_mechanism,
    plot_scheme_stds,
    plot_sensitivity_maps,
    plot_signals,
    plot_stall_curves,
    plot_v_response,
    plot_verdict_forest,
    score_panels,
)
from ._glue import glue_figure, glue_markdown, glue_values
from ._grid import HE_NORMAL, PROPOSED, TRAINS_MARGIN, GridFinding, Score, grid_findings, stuck_labels
from ._practice import variance_paths
from ._provenance import (
    MIN_SEEDS,
    build_record,
    describe_design,
    describe_model,
    footer,
    format_lr_count,
    join_words,
    profile_note,
    run_scale,
    scale_words,
    source_note,
    stored_label,
    stored_note,
    too_small,
    training_note,
)
from ._runs import (
    PAPER_FOLDER,
    RUNS_FOLDER,
    book_keys,
    chapter_experiments,
    experiment,
    is_current_spec,
    load_book_results,
    load_paper_book_results,
    load_paper_results,
    load_runs,
    paper_dir,
    resolved,
    run_chapter,
    runs_dir,
    spec_run_ids,
)
from ._sensitivity import (
    READINGS,
    STATES,
    ScheduleSensitivity,
    SensitivityFinding,
    configurations,
    largest_step,
    main_depth,
    maps,
    output_gain,
    sensitivity_findings,
    why_text,
)
from ._stall import (
    HE_UNIFORM,
    INPUTS,
    MOVED_NATS,
    SignalFinding,
    StallFinding,
    first_layer_gradients,
    signal_findings,
    signal_summary,
    signals_at_init,
    stall_findings,
)
from ._tables import (
    OPTIMIZER_NAMES,
    REFERENCE_ORDER,
    VERDICT_CLASSES,
    accuracy_table,
    at_chosen_lr,
    by_optimizer,
    design_variants,
    design_view,
    epoch_table,
    failure_table,
    init_order,
    interval_text,
    lr_counts,
    optimizers,
    rules_table,
    side_by_side,
    tuned_table,
    verdict_html,
)
from ._verdicts import (
    HELPS,
    HURTS,
    UNDECIDED,
    Advice,
    BookVerdicts,
    VerdictTable,
    advice,
    answer,
    book_verdicts,
    claim_verdict_text,
    claims,
    helps,
    load_paper_verdicts,
    load_verdicts,
    own_claims,
    verdict_tables,
)

__all__ = [
    "ARMS", "BUDGETS", "DESCRIPTIONS", "DOWNLOADS_FOLDER", "HELPS", "HE_NORMAL", "HE_UNIFORM", "HURTS", "INPUTS", "MIN_SEEDS",
    "MOVED_NATS", "OPTIMIZER_NAMES", "OVER_FACTOR", "PAPER_FOLDER", "PROPOSED", "READINGS", "REFERENCE_ORDER",
    "REPRODUCE_TOL", "RUNS_FOLDER", "SECTIONS", "STATES", "SUMMARY_CHAPTERS", "TEMPLATE", "THEORY_BUDGET",
    "TIMINGS_FILE", "TRAINS_MARGIN", "UNDECIDED", "VERDICT_CLASSES",
    "AblationFinding", "Advice", "Arm", "BookVerdicts", "GridFinding", "ScheduleSensitivity", "Score",
    "SensitivityFinding", "SignalFinding", "StallFinding", "VerdictTable",
    "ablation_experiment", "ablation_findings", "accuracy_table", "advice", "answer", "arm", "at_chosen_lr",
    "book_keys", "book_verdicts", "build_record", "budget_key", "budget_of", "by_optimizer", "chapter_experiments",
    "chapter_sections", "chapter_times", "chapter_title", "claim_verdict_text", "claims", "configurations",
    "curve_panels", "describe_design", "describe_model", "design_variants", "design_view", "downloads_markdown", "epoch_table", "experiment", "failure_table",
    "first_layer_gradients", "footer", "format_lr_count", "glue_figure", "glue_markdown", "glue_values", "grid_findings", "helps", "init_order", "init_style",
    "interval_text", "is_current_spec", "join_words", "largest_step", "load_book_results",
    "load_paper_book_results", "load_paper_results", "load_paper_verdicts", "load_runs", "load_verdicts",
    "lr_counts", "main_depth", "maps", "optimizers", "output_gain", "own_claims", "paper_dir", "plot_ablation",
    "plot_accuracy_dots", "plot_best_epochs", "plot_chapter_times", "plot_curves", "plot_hero",
    "plot_layer_profiles", "plot_mechanism", "plot_scheme_stds", "plot_sensitivity_maps", "plot_signals", "plot_stall_curves",
    "plot_v_response", "plot_verdict_forest", "profile_note", "read_timings", "resolved", "rules_table",
    "run_chapter", "run_scale", "runs_dir", "scale_words", "score_panels", "sensitivity_findings", "side_by_side",
    "signal_findings", "signal_summary", "signals_at_init", "source_note", "spec_run_ids", "stall_findings", "stored_label", "stored_note",
    "status_of", "stuck_labels", "template_key", "tidy_tables", "timing_table", "too_small", "training_note", "tuned_table",
    "variance_paths", "verdict_html", "verdict_tables", "why_chapter", "why_text", "write_downloads",
]

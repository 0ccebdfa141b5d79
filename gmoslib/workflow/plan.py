"""What the workflow makes and from what: product paths, every frame's calibration, and the
messages that stop a run before any job.  Pure functions of the validated config and the
manifest (no Snakemake), used by ``rules/common.smk`` and :mod:`gmoslib.workflow.api`; groups
and association are :class:`gmoslib.workflow.planning.Plan`'s."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property

from gmoslib.calibration import association as calib
from gmoslib.instrument.descriptors import DescriptorError
from gmoslib.io.fitsio import FitsReadError
from gmoslib.workflow import planning, recipes

MANIFEST = "manifest/manifest.tsv"
MANIFEST_REUSE = "manifest/manifest.reuse.tsv"
BIAS_PATH = "calibrations/processed_bias/{name}_bias.fits"
FLAT_PATH = "calibrations/processed_flat/{name}_flat.fits"
FRINGE_PATH = "calibrations/processed_fringe/{name}_fringe.fits"
BATCH_PATH = "work/batches/{name}.txt"
MOSAIC_PATH = "work/mosaic/{frame}_mosaic.fits"
CATALOGUE_PATH = "work/mosaic/{frame}_cat.ecsv"
RAW_PNG = "qa/raw/{frame}_raw.png"
BIAS_PNG = "qa/calibrations/{name}_bias.png"
FLAT_PNG = "qa/calibrations/{name}_flat.png"
FRINGE_PNG = "qa/calibrations/{name}_fringe.png"
MOSAIC_PNG = "qa/mosaic/{frame}_mosaic.png"
#: Product templates named by the output suffix (two parameter sets in one folder keep theirs).
SUFFIXED = {
    "stack": "results/{{name}}{suffix}.fits",
    "qa_records": "results/{{name}}{suffix}_qa.tsv",
    "qa_frames": "results/{{name}}{suffix}_qa_frames.tsv",
    "qa_stack": "results/{{name}}{suffix}_qa_stack.tsv",
    "stack_png": "qa/stack/{{name}}{suffix}.png",
    "aligned": "results/aligned/{{name}}{suffix}.fits",
    "aligned_qa": "results/aligned/{{name}}{suffix}_qa.tsv",
    "aligned_png": "qa/stack/aligned/{{name}}{suffix}.png",
}
CALIBRATION_PATHS = {"processed_bias": BIAS_PATH, "processed_flat": FLAT_PATH,
                     "processed_fringe": FRINGE_PATH}
#: Why a frame's calibration cannot be found or read.
NOT_FOUND = (calib.CalibrationNotFoundError, FitsReadError, DescriptorError)


class PlanningError(ValueError):
    """The run cannot be planned: the message names the file or key and what to do."""


def suffixed_paths(suffix: str) -> dict[str, str]:
    """The templates of :data:`SUFFIXED` for one ``output_suffix`` (``{name}`` left in)."""
    return {key: template.format(suffix=suffix) for key, template in SUFFIXED.items()}


def step_params(config: Mapping, step: str) -> dict:
    """Parameters of one step of :data:`gmoslib.workflow.recipes.STEPS` (schema defaults in)."""
    if step not in recipes.STEPS or step not in config["params"]:
        raise PlanningError(
            f"step_params: {step!r} is not a step of gmoslib.workflow.recipes with a schema "
            f"entry; steps: {', '.join(recipes.STEPS)}")
    return dict(config["params"][step])


def existing_raw(paths: list[str]) -> list[str]:
    """The raw paths, checked to still exist (the manifest may be older)."""
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise PlanningError(
            f"{', '.join(missing)} {verb} listed in {MANIFEST} but no longer exist"
            f"{'s' if verb == 'is' else ''} (moved or deleted after the manifest was made): "
            "put the file back, or run again so that the manifest is remade without it "
            f"(delete {MANIFEST} if the run does not remake it)")
    return paths


def aligned_inputs(config: Mapping, name: str) -> list[str]:
    """The files of the align_and_stack group ``name`` of the config."""
    groups = config["align_and_stack"]
    if name not in groups:
        raise PlanningError(f"no align_and_stack group named {name!r} in the config; "
                            f"groups: {', '.join(groups) or '(none)'}")
    return list(groups[name])


def aligned_products(config: Mapping) -> list[str]:
    template = suffixed_paths(config["output_suffix"])["aligned"]
    return [template.format(name=n) for n in config["align_and_stack"]]


class WorkflowPlan:
    """The workflow's answers for one validated config and manifest.  on_disk: processed
    calibrations (:func:`gmoslib.workflow.caldb.scan_processed`) or None; skipped_note: a
    sentence on the skipped raw files, added to stopping messages."""

    def __init__(self, config: Mapping, manifest, on_disk=None, skipped_note: str = ""):
        self.config = config
        self.manifest = manifest
        self.skipped_note = skipped_note
        self.paths = suffixed_paths(config["output_suffix"])
        self.plan = planning.Plan(
            manifest, paths=CALIBRATION_PATHS,
            max_gap_days=config["calibration_group_max_gap_days"],
            max_span_days=config["calibration_group_max_span_days"],
            stack_per_night=config["stack_per_night"], fringe_policy=config["fringe"],
            min_dither=step_params(config, "makeFringeFrame")["min_dither"],
            on_disk=on_disk, frames_per_job=config["frames_per_cluster_job"])

    def require_usable(self) -> None:
        """Stop when the manifest holds no usable file: nothing could be reduced."""
        if not self.manifest["usable"].any():
            raise PlanningError(
                f"raw_dir {self.config['raw_dir']!r} holds {len(self.manifest)} FITS files but "
                "no usable raw GMOS imaging file (bias, twilight flat or science): see the "
                f"reasons in {MANIFEST}{self.skipped_note}")

    def frames_paths(self, frames: list[str]) -> list[str]:
        return existing_raw([self.plan.usable.at[f, "path"] for f in frames])

    def group_raw_files(self, kind: str, name: str) -> list[str]:
        """Raw files of the group ``name`` (kind: bias, flat or fringe)."""
        groups = getattr(self.plan, f"{kind}_groups")
        if name in groups:
            return self.frames_paths(groups[name])
        if kind == "fringe":
            raise PlanningError(
                f"no science group named {name!r} can make a fringe frame (see {MANIFEST}; "
                "3 dithered frames needing fringe correction are required)")
        raise PlanningError(f"no calibration group named {name!r} in {MANIFEST}")

    def raw_checksums(self, paths) -> dict[str, list]:
        """{path: [sha256, size_bytes, mtime_ns, inode]} of raw inputs from the manifest, for
        a job's provenance without hashing again (gmoslib.io.fitsio.remember_sha256)."""
        known = self.plan.checksums
        return {p: known[os.path.abspath(p)] for p in paths if os.path.abspath(p) in known}

    def _associate(self, frame: str, caltype: str) -> str:
        p = self.plan
        return calib.associate_path(p.row(frame), p.candidates(caltype), caltype,
                                    self.config["user_cal"], find=p.finder(caltype))

    def calibration_for(self, frame: str, caltype: str) -> str:
        """Path of the calibration of type caltype associated with one manifest frame."""
        try:
            return self._associate(frame, caltype)
        except NOT_FOUND as exc:
            kind = calib.KIND_OF[caltype]
            if self.config["user_cal"].get(caltype):
                todo = f"correct or remove user_cal.{caltype}"
            else:
                todo = (f"add matching raw {kind} frames to raw_dir, a processed {kind} to a "
                        f"folder of calibration_dirs, or name one with user_cal.{caltype}; "
                        f"or move {frame} out of raw_dir")
            raise PlanningError(f"{exc}\nWhat to do: {todo}.{self.skipped_note}") from None

    def fringe_for(self, frame: str) -> list[str] | str:
        """The processed fringe of one science frame, or [] when none is wanted;
        PlanningError when one is needed and there is none."""
        row = self.plan.row(frame)
        policy = self.config["fringe"]
        if not calib.fringe_wanted(policy, row["filter"], row["detector"]):
            return []
        try:
            return self._associate(frame, "processed_fringe")
        except NOT_FOUND as exc:
            if self.config["user_cal"].get("processed_fringe"):
                raise PlanningError(
                    f"{exc}\nWhat to do: correct or remove user_cal.processed_fringe.") from None
            group = self.plan.science_group_of[frame]
            why = calib.fringe_group_problem(
                self.manifest, self.plan.science_groups[group],
                min_dither=step_params(self.config, "makeFringeFrame")["min_dither"])
            raise PlanningError(
                f"{frame} ({row['filter']} on {row['detector']}) needs fringe correction "
                f"(config fringe: {policy}) but there is no processed fringe for it: {exc}; "
                f"and its science group {group} cannot make one: {why}. Put a processed "
                "fringe in a folder of calibration_dirs, name one in user_cal.processed_fringe, "
                "or set fringe: never to reduce without fringe correction.") from None

    def biases(self) -> list[str]:
        return [BIAS_PATH.format(name=n) for n in self.plan.bias_groups]

    def flats(self) -> list[str]:
        return [FLAT_PATH.format(name=n) for n in self.plan.flat_groups]

    @cached_property
    def _fringes(self) -> list[str]:
        paths = {self.fringe_for(frame) for frame in self.plan.fringe_wanted}
        return sorted(p for p in paths if p.startswith("calibrations/processed_fringe/"))

    def fringes(self) -> list[str]:
        """The fringe frames the workflow builds that some science frame uses."""
        return list(self._fringes)

    def calibrations(self) -> list[str]:
        self.require_usable()
        return self.biases() + self.flats() + self.fringes()

    def stacks(self) -> list[str]:
        self.require_usable()
        return [self.paths["stack"].format(name=n) for n in self.plan.science_groups]

    def aligned(self) -> list[str]:
        return aligned_products(self.config)

    def products(self) -> list[str]:
        """Every product of the default target (previews and QA tables aside)."""
        return [MANIFEST] + self.calibrations() + self.stacks() + self.aligned()

    def qa(self) -> list[str]:
        """Every preview and QA table of the products that the default target builds."""
        groups = self.plan.science_groups
        frames = [f for members in groups.values() for f in members]
        paths = [RAW_PNG.format(frame=f) for f in frames]
        paths += [BIAS_PNG.format(name=n) for n in self.plan.bias_groups]
        paths += [FLAT_PNG.format(name=n) for n in self.plan.flat_groups]
        paths += [FRINGE_PNG.format(name=os.path.basename(p)[: -len("_fringe.fits")])
                  for p in self.fringes()]
        paths += [MOSAIC_PNG.format(frame=f) for f in frames]
        paths += [self.paths[k].format(name=name) for name in groups
                  for k in ("stack_png", "qa_frames", "qa_stack")]
        return paths

    def target(self, rule: str) -> list[str]:
        """The inputs of one of the Snakefile's target rules (its products)."""
        targets = {"all": lambda: self.products() + self.qa(), "calibrations": self.calibrations,
                   "fringes": self.fringes, "biases": self.biases, "flats": self.flats,
                   "stacks": self.stacks, "qa": self.qa, "aligned": self.aligned}
        if rule not in targets:
            raise PlanningError(f"the workflow has no target rule {rule!r}; targets: "
                                f"{', '.join(targets)}")
        return targets[rule]()

    def qa_tables(self, products: list[str]) -> list[str]:
        """The QA tables (``*_qa_frames.tsv``, ``*_qa_stack.tsv``) of the science stacks
        among ``products``, in their order."""
        stacks = {self.paths["stack"].format(name=n): n for n in self.plan.science_groups}
        return [self.paths[k].format(name=stacks[p]) for p in products if p in stacks
                for k in ("qa_frames", "qa_stack")]

    def current_names(self) -> set[str]:
        """Frames and groups that products of the current raw directory are named after."""
        table = self.manifest
        names = set(table.loc[table["usable"], "frame"])
        p = self.plan
        for groups in (p.bias_groups, p.flat_groups, p.science_groups, p.fringe_groups):
            names.update(groups)
        names.update(self.config["align_and_stack"])
        return names

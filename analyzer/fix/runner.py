"""Fix one photo: analyse (or take the analysis), plan, apply the fixes at native size, encode,
re-grade. Writing the file is separate (:func:`write_outcome`) so the dashboard can keep the
bytes in memory and the CLI and the audit can write them.

Never raises for a bad image: a photo that cannot be fixed comes back with ``ok=False`` and an
``error`` {code, message}, like the analysis.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.codes import Severity
from analyzer.config import marketplace as get_marketplace
from analyzer.errors import ErrorCode, ListingLensError
from analyzer.fix import output
from analyzer.fix.plan import FixPlan, plan
from analyzer.fix.registry import FIXES
from analyzer.fix.rules import fix_rules
from analyzer.fix.types import Change, ChangeCode, FixKind, FixState
from analyzer.io.loader import LoadedImage, load_image
from analyzer.quality.overall import GRADE_ORDER
from analyzer.results import ImageReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Grade:
    grade: str
    overall: float | None
    flags: list[str]

    @classmethod
    def of(cls, report: ImageReport) -> Grade:
        ov = report.scores.get("overall")
        return cls(report.grade, None if ov is None else round(float(ov), 2),
                   [f.code for f in report.flags])

    def to_dict(self) -> dict[str, Any]:
        return {"grade": self.grade, "overall": self.overall, "flags": list(self.flags)}


@dataclass
class FixOutcome:
    """One input's fix, serialisable as the ``fix`` command's JSON contract."""

    file: str
    ok: bool
    error: dict[str, str] | None = None
    output: str | None = None
    changes: list[Change] = field(default_factory=list)
    before: Grade | None = None
    after: Grade | None = None
    notes: list[str] = field(default_factory=list)
    # Not serialised: the fixed file's bytes, its pixels and the re-graded report (dashboard),
    # and the warning when the fixed copy grades worse or raises a new problem (also notes[0]).
    jpeg: bytes | None = field(default=None, repr=False)
    warning: str | None = field(default=None, repr=False)
    image: np.ndarray | None = field(default=None, repr=False)
    after_report: ImageReport | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "ok": self.ok, "error": self.error, "output": self.output,
                "changes": [c.to_dict() for c in self.changes],
                "before": self.before.to_dict() if self.before else None,
                "after": self.after.to_dict() if self.after else None,
                "notes": list(self.notes)}


def _failed(name: str, err: ListingLensError, before: Grade | None = None) -> FixOutcome:
    return FixOutcome(file=name, ok=False, error=err.to_dict(), before=before)


def _native(report: ImageReport, source: Any, cap: int) -> LoadedImage:
    """The photo at native size (at most ``cap`` on its long side): the analysis's working copy
    when that is already native, else the source loaded again without the working shrink."""
    img: LoadedImage = report.image
    native = min(img.long_side, cap)
    if max(img.rgb.shape[:2]) >= native or source is None:
        return img
    return load_image(source, name=img.name, working_long_side=native)


def _mask_prob(report: ImageReport) -> np.ndarray:
    m = getattr(report, "mask", None)
    img: LoadedImage = report.image
    if isinstance(m, np.ndarray) and m.shape == img.rgb.shape[:2]:
        return m.astype(np.float32) / 255.0
    from analyzer.vision.mask import product_mask

    return product_mask(img.rgb, img.alpha).prob.astype(np.float32)


def apply_plan(rgb: np.ndarray, prob: np.ndarray, fplan: FixPlan, marketplace: str | None,
               flags: set[str], source_info: dict[str, Any] | None = None,
               rules: dict | None = None) -> tuple[FixState, list[Change]]:
    """Run the planned fixes on ``rgb`` with the product probability ``prob`` (any size, it is
    resized to the photo); returns the final state and the changes made (the output step not
    included)."""
    from analyzer.fix.ops import resize_to

    rules = rules or fix_rules()
    state = FixState(rgb=rgb, alpha=resize_to(prob.astype(np.float32), rgb.shape[:2]),
                     marketplace=get_marketplace(marketplace), rules=rules, flags=set(flags),
                     planned=fplan.kinds, source_info=dict(source_info or {}))
    from analyzer.fix.ops import border_white_share

    state.white = border_white_share(rgb) >= 0.9
    changes: list[Change] = []
    for kind in fplan.kinds:
        fn = FIXES.get(kind)
        if fn is None:
            continue
        ch = fn(state)
        if ch is not None:
            changes.append(ch)
    done = {c.code for c in changes}
    if (ChangeCode.PROPS_REMOVED in done and FixKind.BACKGROUND in fplan.kinds
            and ChangeCode.BACKGROUND_WHITENED not in done):
        # The props were left to go with the backdrop, which one of its guards kept as shot:
        # nothing was painted out, so nothing is claimed.
        changes = [c for c in changes if c.code != ChangeCode.PROPS_REMOVED]
        state.notes.append("other objects not painted out: they were to go with the backdrop, "
                           "which is left as it is")
    return state, changes


def fix_report(report: ImageReport, source: Any = None, *, marketplace: str | None = None,
               use_model: bool = True, keep_after_image: bool = False) -> FixOutcome:
    """Fix the photo of ``report`` (an ``analyze(..., keep_image=True)`` result, whose mask is
    reused). ``source`` (path or bytes) lets a photo larger than the working size be fixed at
    native size. Never raises for a bad image."""
    from analyzer.engine import analyze

    name = report.file
    if not report.ok:
        return FixOutcome(file=name, ok=False, error=report.error)
    before = Grade.of(report)
    try:
        if report.image is None:
            raise ListingLensError(ErrorCode.INTERNAL_ERROR,
                                   "the analysis kept no image to fix (keep_image=False)")
        codes = {f.code for f in report.flags}
        if "NO_PRODUCT" in codes:
            raise ListingLensError(ErrorCode.NO_PRODUCT_FOUND,
                                   "no product was found in the photo: there is nothing to frame "
                                   "or cut out; upload a photo of the product")
        rules = fix_rules()
        fplan = plan(codes, rules)
        cap = int(rules["max_long_side"])
        img = _native(report, source, cap)
        alpha = report.image.alpha
        info = {"format": report.image.format, "original_mode": report.image.original_mode,
                "orientation": report.image.exif_orientation,
                "transparent": alpha is not None and bool((alpha < 255).any())}
        prob = _mask_prob(report)

        def run(p: FixPlan) -> tuple[FixState, list[Change], bytes, ImageReport]:
            st, ch = apply_plan(img.rgb, prob, p, marketplace, codes, info, rules)
            data, q = output.encode(st)
            ch.append(output.describe(st, q))
            rep = analyze(data, marketplace=marketplace, name=name, use_model=use_model,
                          keep_image=keep_after_image, title=report.title,
                          cover_art=report.cover_art)
            if not rep.ok:  # pragma: no cover - our own JPEG always loads
                raise ListingLensError(ErrorCode.INTERNAL_ERROR, "the fixed photo could not be "
                                       "re-graded")
            return st, ch, data, rep

        state, changes, data, after_report = run(fplan)
        failed = _whitening_failed(changes, after_report, rules)
        broke = _whitening_broke(changes, report, after_report)
        undone: list[str] = []
        if failed is not None or broke:
            # The backdrop could not be told from the product and the scene: the whitening left
            # white blotches in a scene, not a white backdrop, or cut the product into pieces
            # (a new clutter flag: the fragments). Run again without it (and without the props
            # that were to go with it) and say so.
            keep = tuple(k for k in fplan.kinds if k not in (FixKind.BACKGROUND, FixKind.PROPS))
            fplan = replace(fplan, kinds=keep,
                            reasons={k: v for k, v in fplan.reasons.items() if k in keep})
            state, changes, data, after_report = run(fplan)
            if failed is not None:
                undone = [f"background not changed: whitening it left only {failed:.0%} of "
                          "what lies around the product pure white (the product could not be "
                          "told from the scene), so the backdrop is kept as shot: re-shoot the "
                          "product alone on a plain white or light backdrop"]
            else:
                undone = ["background not changed: whitening it raised "
                          f"{', '.join(sorted(broke))}, which your photo did not (the product "
                          "could not be told from the backdrop and came out in pieces), so the "
                          "backdrop is kept as shot: re-shoot the product on a plain backdrop "
                          "of another colour than the product"]
        if max(state.rgb.shape[:2]) >= cap and report.image.long_side > cap:
            state.notes.append(f"the fixed photo is {cap} px on its long side, the fix's "
                               f"largest size (the original has {report.image.long_side} px)")
        hides = rules.get("hidden_by_fix") or {}
        after_report = _carry_unfixed(report, after_report, hides)
        worse = _worse_than_before(report, after_report)
        notes = (undone + _still_cannot(fplan, after_report, hides) + state.notes
                 + _left_notes(fplan, after_report, rules)
                 + _new_notes(report, after_report, fplan, changes, rules))
        if len(changes) == 1 and not (set(fplan.kinds) - {FixKind.OUTPUT}) and not any(
                fplan.reasons.get(FixKind.OUTPUT, ())) and not undone:
            notes.insert(0, "no problem a fix answers was found: the photo is only re-saved")
        if worse:  # first: the seller must compare before using this copy
            notes.insert(0, worse)
        return FixOutcome(file=name, ok=True, changes=changes, before=before,
                          after=Grade.of(after_report), notes=_dedupe(notes), jpeg=data,
                          image=state.rgb, after_report=after_report, warning=worse)
    except ListingLensError as e:
        return _failed(name, e, before)
    except MemoryError:
        return _failed(name, ListingLensError(ErrorCode.IMAGE_TOO_LARGE,
                                              "not enough memory to fix this photo"), before)
    except Exception as e:  # a bug must cost one photo, never the batch
        log.error("internal error while fixing %s: %s: %s", name, type(e).__name__, e,
                  exc_info=log.isEnabledFor(logging.DEBUG))
        return _failed(name, ListingLensError(
            ErrorCode.INTERNAL_ERROR, f"internal error while fixing this photo "
            f"({type(e).__name__}); please report it"), before)


def fix_source(source: str | Path | bytes, *, marketplace: str | None = None,
               name: str | None = None, use_model: bool = True,
               keep_after_image: bool = False) -> FixOutcome:
    """Analyse ``source`` (path or bytes) and fix it (:func:`fix_report`)."""
    from analyzer.engine import analyze

    report = analyze(source, marketplace=marketplace, name=name, use_model=use_model,
                     keep_image=True)
    return fix_report(report, source, marketplace=marketplace, use_model=use_model,
                      keep_after_image=keep_after_image)


def _whitening_failed(changes: list[Change], after: ImageReport, rules: dict) -> float | None:
    """The backdrop's pure-white share after a whitening that did not make it white (the
    background still flagged and under ``background.verify_min_white`` pure white), else None."""
    if not any(c.code == ChangeCode.BACKGROUND_WHITENED for c in changes):
        return None
    if not {"BACKGROUND_NOT_WHITE", "BACKGROUND_OFF_WHITE"} & {f.code for f in after.flags}:
        return None
    bg = after.checks.get("background")
    if bg is None:
        return None
    white = max(float(bg.metrics.get("pure_white_fraction", 0.0)),
                float(bg.metrics.get("border_white_fraction", 0.0)))
    return white if white < float(rules["background"]["verify_min_white"]) else None


# The check a whitening or a props removal must never make worse: a new clutter flag on the
# fixed photo means the product came out in pieces (fragments read as objects on the backdrop).
# Overlays are left out: their finders read a few clean whitened photos as print (a model's
# arms against white read as four "letters" of a watermark), which only earns a warning.
_BROKEN_BY_WHITENING = frozenset({"clutter"})


def _new_problems(before: ImageReport, after: ImageReport,
                  checks: frozenset[str] | None = None) -> set[str]:
    """Warning- or error-level flags of the fixed photo from a check that raised none on the
    original (of ``checks`` only, when given). Per check, not per code: background "not white"
    becoming "off-white" is the same problem, smaller."""
    had = {f.check for f in before.flags if f.severity != Severity.INFO}
    return {f.code.value for f in after.flags
            if f.severity != Severity.INFO and f.check not in had
            and (checks is None or f.check in checks)}


def _whitening_broke(changes: list[Change], before: ImageReport,
                     after: ImageReport) -> set[str]:
    """The clutter flags a whitening (or props removal) raised, else empty."""
    if not any(c.code in (ChangeCode.BACKGROUND_WHITENED, ChangeCode.PROPS_REMOVED)
               for c in changes):
        return set()
    return _new_problems(before, after, _BROKEN_BY_WHITENING)


# Checks whose new flag on the fixed photo is a defect of the fix. A reframe's known costs
# (framing, resolution, zoom, grain shown larger) have notes of their own and only count here
# through the grade.
_MUST_NOT_WORSEN = frozenset({"background", "clutter", "exposure", "overlays"})


def _worse_than_before(before: ImageReport, after: ImageReport) -> str | None:
    """A warning, first in the notes, when the fixed photo grades worse than the original or
    raises a problem of a check the fix must not make worse: the seller should compare before
    using it."""
    new = _new_problems(before, after, _MUST_NOT_WORSEN)
    b, a = before.grade or "", after.grade or ""
    lower = (b in GRADE_ORDER and a in GRADE_ORDER
             and GRADE_ORDER.index(a) > GRADE_ORDER.index(b))
    # ... or the same grade at a lower score (a new user's try: F 38 -> F 37, written with no
    # word); a point of slack for the regrade's own noise
    sb, sa = before.scores.get("overall"), after.scores.get("overall")
    fell = (not lower and sb is not None and sa is not None and a == b
            and float(sa) <= float(sb) - 1.0)
    if not lower and not new and not fell:
        return None
    what = [f"it grades {a}, your photo {b}"] if lower else []
    if fell:
        what.append(f"it scores {float(sa):.0f}, your photo {float(sb):.0f}")
    if new:
        what.append(f"it raises {', '.join(sorted(new))}, which your photo did not")
    return ("check this copy before you use it: " + "; ".join(what)
            + " (your original may be the better upload)")


def _still_cannot(fplan: FixPlan, after: ImageReport, hides: dict[str, str] | None = None
                  ) -> list[str]:
    """What cannot be fixed, for the flags the fixed photo still raises (a reframe can clear
    ``PRODUCT_CUT_OFF`` on a side, padding ``NO_ZOOM`` never). An info-level flag is not a
    problem (a garment on a model cropped on purpose): no "re-shoot" advice for it. A flag
    carried from the original (``hides``, :func:`_carry_unfixed`) also says why the re-grade
    alone would have passed it."""
    codes = {f.code for f in after.flags if f.severity != Severity.INFO}
    hides = hides or {}
    return [f"{c}: not fixed: {hides[c]}, so your photo's reading is kept; {why}" if c in hides
            else note for c, why, note in fplan.cannot_notes(codes)]


def _carry_unfixed(before: ImageReport, after: ImageReport, hides: dict[str, str]
                   ) -> ImageReport:
    """The re-graded report with the original's ``hidden_by_fix`` flags carried over: no fix
    relights the product, so its reading stands (the check's score the lower of the two, the
    flag kept), and the grade is worked out again. A dark bag on its whitened backdrop read
    A 94 with a mild `UNDEREXPOSED` left, a dark shirt A 100 with none (a fourteenth new
    user's try): a grade that says "Ready to list" over a note that says "re-shoot with more
    light"."""
    from analyzer.quality.overall import grade_for, overall_score
    from analyzer.results import sort_flags

    carried = [f for f in before.flags if f.code in hides
               and f.severity != Severity.INFO and f.check in after.checks
               and f.check in before.checks]
    if not carried:
        return after
    results = dict(after.checks)
    for f in carried:
        was, now = before.checks[f.check], results[f.check]
        keep = [g for g in now.flags if g.code != f.code]
        results[f.check] = replace(now, score=min(float(now.score), float(was.score)),
                                   flags=[*keep, f])
    flags = sort_flags([g for r in results.values() for g in r.flags])
    overall = overall_score(results, flags)
    scores = {**after.scores, "overall": round(overall, 2),
              **{n: round(float(r.score), 2) for n, r in results.items()}}
    return replace(after, checks=results, flags=flags, scores=scores,
                   grade=grade_for(overall, flags, scores))


def _meant(fplan: FixPlan) -> set[str]:
    """The flags some planned fix was meant to answer."""
    return {c for codes in fplan.reasons.values() for c in codes}


def _left_notes(fplan: FixPlan, after: ImageReport, rules: dict) -> list[str]:
    """Flags still raised on the fixed photo that a fix was meant to answer, said plainly."""
    left = rules.get("left_after_fix") or {}
    meant = _meant(fplan)
    out = []
    for f in after.flags:
        if f.code in fplan.cannot:
            continue
        if f.code in left:
            out.append(f"{f.code}: {left[f.code]}")
        elif f.code in meant:
            out.append(f"{f.code}: still flagged after the fix: {f.message}")
    return out


def _fill(report: ImageReport) -> float:
    """The product's share of the frame on its longer axis (the framing check's ``fill``)."""
    fr = report.checks.get("framing")
    return float(fr.metrics.get("fill", 0.0)) if fr is not None else 0.0


def _new_notes(before: ImageReport, after: ImageReport, fplan: FixPlan, changes: list[Change],
               rules: dict) -> list[str]:
    """Flags the fixed photo raises and the original did not, which no other note explains.

    After a reframe, grain or softness the graded original hid can show (``shown_larger`` in
    fixes.yaml): the product's native pixels now fill more of the frame. The seller is told so,
    with how much larger they are shown, and what would avoid it.
    """
    had = {f.code for f in before.flags}
    was = {f.check: f.code for f in before.flags if f.check}  # a flag of the same check before
    left = rules.get("left_after_fix") or {}
    meant = _meant(fplan)
    larger = rules.get("shown_larger") or {}
    cannot = rules.get("cannot_fix") or {}
    reframed = any(c.code == ChangeCode.REFRAMED for c in changes)
    fb, fa = _fill(before), _fill(after)
    out = []
    for f in after.flags:
        if f.code in had or f.code in left or f.code in meant:
            continue
        if reframed and f.check == "resolution":  # the framing fix's own note says the size
            continue
        if reframed and f.code in larger and fb > 0 and fa > fb:
            why = cannot.get(f.code, "")
            tail = f" {why[:1].upper()}{why[1:]}." if why else ""
            # The point first: the PDF shows a note's first 160 characters; the flag's own
            # message is on the re-graded card.
            out.append(f"{f.code}: shown by the reframe, not made by it: the product now spans "
                       f"{fa:.0%} of the frame instead of {fb:.0%} ({fa / fb:.1f}x larger) and "
                       f"at that size {larger[f.code]}.{tail}")
        elif f.check in was:  # the same problem, graded differently (not white -> off-white)
            out.append(f"{f.code} (was {was[f.check]}): {f.message}")
        else:
            out.append(f"{f.code}: raised on the fixed photo only: {f.message}")
    return out


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def output_name(file: str) -> str:
    """``photo.png`` -> ``photo_fixed.jpg``."""
    stem = Path(file).stem or "photo"
    return f"{stem}_fixed.jpg"


def write_outcome(outcome: FixOutcome, out_dir: str | Path, *, overwrite: bool = False,
                  taken: set[str] | None = None,
                  protect: set[Path] | None = None, name: str | None = None) -> FixOutcome:
    """Write ``outcome.jpeg`` to ``out_dir`` and set ``outcome.output``; a failure (the file
    exists and ``overwrite`` is off, the folder is not writable) turns the outcome into an
    error. ``taken``: names already given to other outputs of this run; ``protect``: the run's
    input files. Both are skipped by numbering (``_2``, ``_3``), so same-named photos from two
    folders get two outputs and no output ever replaces an input, even with ``overwrite``.
    ``name``: the file name to use instead of ``NAME_fixed.jpg``."""
    if not outcome.ok or outcome.jpeg is None:
        return outcome
    out_dir = Path(out_dir)
    taken = taken if taken is not None else set()
    protect = {Path(p).resolve() for p in (protect or set())}
    if outcome.file and not outcome.file.startswith("upload"):
        protect.add(Path(outcome.file).resolve())
    base = name or output_name(outcome.file)
    name, i = base, 2
    while name in taken or (out_dir / name).resolve() in protect:
        name = f"{Path(base).stem}_{i}.jpg"
        i += 1
    taken.add(name)
    path = out_dir / name
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        if path.exists() and not overwrite:
            raise ListingLensError(ErrorCode.OUTPUT_EXISTS,
                                   f"{path} already exists; pass --overwrite to replace it")
        tmp = path.with_name(f".{name}.tmp{os.getpid()}")
        tmp.write_bytes(outcome.jpeg)
        os.replace(tmp, path)  # never a half-written file under the final name
    except ListingLensError as e:
        outcome.ok, outcome.error = False, e.to_dict()
        return outcome
    except OSError as e:
        outcome.ok = False
        outcome.error = ListingLensError(ErrorCode.OUTPUT_NOT_WRITABLE,
                                         f"cannot write {path}: {e.strerror or e}").to_dict()
        return outcome
    outcome.output = str(path)
    return outcome

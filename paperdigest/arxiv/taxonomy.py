"""arXiv category codes, for validating config and suggesting close matches.

Source: arXiv's category taxonomy page (arxiv.org/category_taxonomy), as of 2025.
Archives without subject classes (e.g. "hep-th") are categories of their own.
"""

from __future__ import annotations

import difflib

CATEGORIES: frozenset[str] = frozenset(
    """
    cs.AI cs.AR cs.CC cs.CE cs.CG cs.CL cs.CR cs.CV cs.CY cs.DB cs.DC cs.DL cs.DM cs.DS
    cs.ET cs.FL cs.GL cs.GR cs.GT cs.HC cs.IR cs.IT cs.LG cs.LO cs.MA cs.MM cs.MS cs.NA
    cs.NE cs.NI cs.OH cs.OS cs.PF cs.PL cs.RO cs.SC cs.SD cs.SE cs.SI cs.SY
    econ.EM econ.GN econ.TH
    eess.AS eess.IV eess.SP eess.SY
    math.AC math.AG math.AP math.AT math.CA math.CO math.CT math.CV math.DG math.DS
    math.FA math.GM math.GN math.GR math.GT math.HO math.IT math.KT math.LO math.MG
    math.MP math.NA math.NT math.OA math.OC math.PR math.QA math.RA math.RT math.SG
    math.SP math.ST
    astro-ph astro-ph.CO astro-ph.EP astro-ph.GA astro-ph.HE astro-ph.IM astro-ph.SR
    cond-mat cond-mat.dis-nn cond-mat.mes-hall cond-mat.mtrl-sci cond-mat.other
    cond-mat.quant-gas cond-mat.soft cond-mat.stat-mech cond-mat.str-el cond-mat.supr-con
    gr-qc hep-ex hep-lat hep-ph hep-th math-ph nucl-ex nucl-th quant-ph
    nlin nlin.AO nlin.CD nlin.CG nlin.PS nlin.SI
    physics physics.acc-ph physics.ao-ph physics.app-ph physics.atm-clus physics.atom-ph
    physics.bio-ph physics.chem-ph physics.class-ph physics.comp-ph physics.data-an
    physics.ed-ph physics.flu-dyn physics.gen-ph physics.geo-ph physics.hist-ph
    physics.ins-det physics.med-ph physics.optics physics.plasm-ph physics.pop-ph
    physics.soc-ph physics.space-ph
    q-bio q-bio.BM q-bio.CB q-bio.GN q-bio.MN q-bio.NC q-bio.OT q-bio.PE q-bio.QM
    q-bio.SC q-bio.TO
    q-fin q-fin.CP q-fin.EC q-fin.GN q-fin.MF q-fin.PM q-fin.PR q-fin.RM q-fin.ST q-fin.TR
    stat stat.AP stat.CO stat.ME stat.ML stat.OT stat.TH
    cs econ eess math
    """.split()
)

_BY_FOLDED = {code.casefold(): code for code in CATEGORIES}


def canonical_category(code: str) -> str | None:
    """Return the category spelled as arXiv spells it, or None when it is unknown."""
    return _BY_FOLDED.get(code.strip().casefold())


def suggest_categories(code: str, limit: int = 3) -> list[str]:
    """Return known categories that look like `code`, closest first.

    The same subject class in another archive comes first ("cs.ML" suggests "stat.ML"),
    then spelling neighbours.
    """
    folded = code.strip().casefold()
    subject = folded.partition(".")[2]
    same_subject = sorted(c for c in _BY_FOLDED if subject and c.partition(".")[2] == subject)
    close = difflib.get_close_matches(folded, list(_BY_FOLDED), n=limit, cutoff=0.6)
    ordered = list(dict.fromkeys(same_subject + close))[:limit]
    return [_BY_FOLDED[m] for m in ordered]

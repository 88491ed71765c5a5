"""`receptionist export scores`: the latest run, one row a patient, in the contract's columns."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import and_, select

from receptionist import csvsafe
from receptionist.store import PatientPhone, PatientScore, ScoreRun, Store

COLUMNS = (
    "patient_id",
    "phone",
    "tier",
    "plv",
    "annual_value",
    "years_active",
    "departments",
    "p_alive",
    "expected_visits_12m",
    "expected_value_12m",
    "lapsed",
    "reactivation_score",
    "reasons",
)


class NoScoreRun(LookupError):
    """Nothing has been scored yet."""


def latest_run_id(store: Store) -> str | None:
    """The run calls are routed by: the newest published one. A run stored but never published (a score
    killed before it published the tier cache) is not "latest", so a plan or an export never uses scores the
    phones do not; only while no run was ever published is the newest stored run taken."""
    with store.engine.connect() as conn:
        published = conn.scalar(
            select(ScoreRun.id)
            .where(ScoreRun.published_at.is_not(None))
            .order_by(ScoreRun.published_at.desc(), ScoreRun.created_at.desc())
            .limit(1)
        )
        if published is not None:
            return str(published)
        return conn.scalar(select(ScoreRun.id).order_by(ScoreRun.created_at.desc()).limit(1))


def export_scores(store: Store, out: Path) -> int:
    run_id = latest_run_id(store)
    if run_id is None:
        raise NoScoreRun("no score run yet: run `receptionist score` first")
    query = (
        select(
            PatientScore.patient_id,
            PatientPhone.phone,
            PatientScore.tier,
            PatientScore.plv,
            PatientScore.annual_value,
            PatientScore.years_active,
            PatientScore.departments,
            PatientScore.p_alive,
            PatientScore.expected_visits_12m,
            PatientScore.expected_value_12m,
            PatientScore.lapsed,
            PatientScore.reactivation_score,
            PatientScore.reasons,
        )
        .outerjoin(
            PatientPhone, and_(PatientPhone.patient_id == PatientScore.patient_id, PatientPhone.position == 0)
        )
        .where(PatientScore.run_id == run_id)
        .order_by(PatientScore.reactivation_score.desc(), PatientScore.patient_id)
    )
    count = 0
    tmp = Path(out).with_name(Path(out).name + ".part")
    with csvsafe.open_private(tmp) as fh, store.engine.connect() as conn:
        writer = csvsafe.writer(fh)
        writer.writerow(COLUMNS)
        for row in conn.execution_options(yield_per=20_000).execute(query):
            writer.writerow(
                [
                    row[0],
                    row[1] or "",
                    row[2],
                    f"{row[3]:.2f}",
                    f"{row[4]:.2f}",
                    f"{row[5]:.2f}",
                    row[6],
                    f"{row[7]:.4f}",
                    f"{row[8]:.3f}",
                    f"{row[9]:.2f}",
                    "yes" if row[10] else "no",
                    f"{row[11]:.2f}",
                    row[12],
                ]
            )
            count += 1
    tmp.replace(out)
    return count

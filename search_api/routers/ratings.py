"""Credit ratings and supplier evaluations of a partner."""

from __future__ import annotations

from fastapi import APIRouter, status

from archive import ratings as service
from archive.schemas import (
    CreditRatingCreate,
    CreditRatingOut,
    SupplierEvaluationCreate,
    SupplierEvaluationOut,
)
from search_api.deps import CurrentUser, SessionDep, SettingsDep

router = APIRouter(prefix="/partners/{partner_id}", tags=["partners"])


@router.post("/ratings", status_code=status.HTTP_201_CREATED, response_model=CreditRatingOut)
def rate(
    partner_id: str, data: CreditRatingCreate, session: SessionDep, user: CurrentUser
) -> CreditRatingOut:
    """Set the partner's credit rating (A-D), keeping the previous ones; D proposes suspension."""
    return CreditRatingOut.model_validate(
        service.rate_partner(
            session,
            user=user,
            partner_id=partner_id,
            rating=data.rating,
            rated_on=data.rated_on,
            reason=data.reason,
        )
    )


@router.get("/ratings", response_model=list[CreditRatingOut])
def ratings(partner_id: str, session: SessionDep, user: CurrentUser) -> list[CreditRatingOut]:
    """Rating history, newest first."""
    return [
        CreditRatingOut.model_validate(r)
        for r in service.rating_history(session, user=user, partner_id=partner_id)
    ]


@router.post("/evaluations", status_code=status.HTTP_201_CREATED, response_model=SupplierEvaluationOut)
def evaluate(
    partner_id: str,
    data: SupplierEvaluationCreate,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> SupplierEvaluationOut:
    """Evaluate a supplier's quality, delivery and service for a period (its department,
    compliance, archivists, admins); a score below the configured one proposes suspension."""
    return SupplierEvaluationOut.model_validate(
        service.evaluate_supplier(
            session,
            user=user,
            partner_id=partner_id,
            period=data.period,
            quality=data.quality,
            delivery=data.delivery,
            service=data.service,
            notes=data.notes,
            suspension_score_below=settings.suspension_score_below,
        )
    )


@router.get("/evaluations", response_model=list[SupplierEvaluationOut])
def evaluations(partner_id: str, session: SessionDep, user: CurrentUser) -> list[SupplierEvaluationOut]:
    """Evaluation history, newest first."""
    return [
        SupplierEvaluationOut.model_validate(e)
        for e in service.evaluations(session, user=user, partner_id=partner_id)
    ]

"""(being written)"""

from __future__ import annotations

from fastapi import APIRouter

from api.http.deps import PROBLEMS

router = APIRouter(responses=PROBLEMS)

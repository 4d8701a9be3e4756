"""(being written)"""

from fastapi import APIRouter, FastAPI

router = APIRouter()


def start_jobs(app: FastAPI) -> None:
    pass


def stop_jobs(app: FastAPI) -> None:
    pass

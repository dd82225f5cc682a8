"""The baseline for bench/verify_api.py: a bare FastAPI endpoint returning a constant."""

from fastapi import FastAPI

app = FastAPI()
CONSTANT = {"token": "x" * 22, "status": "issued", "valid": True}


@app.get("/api/v1/certificates/{token}")
def constant(token: str) -> dict[str, object]:
    return CONSTANT

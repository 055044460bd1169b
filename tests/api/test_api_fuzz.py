"""Property-based fuzzing of every API operation from the app's own OpenAPI schema (schemathesis).

For each operation schemathesis generates valid and invalid requests (positive and negative modes);
each answer must be below 500, every 4xx must be an RFC 9457 problem+json body, and the answer must
conform to the schema where the schema declares it. It runs in-process over ASGI, inside the test's
rolled-back transaction, on SQLite and on PostgreSQL (the `engine` fixture).

Each operation is driven through `APIOperation.as_strategy` and a plain hypothesis `@given`:
schemathesis' own pytest loader (`from_fixture` + `parametrize`) needs `Function._nodeid`, which
pytest 9.2 no longer has. Exclusions are listed where they are made (EXCLUDED, EXCLUDED_CHECKS);
the two multipart uploads (evidence, register import) are fuzzed like the rest: their random bytes
must be refused as problems too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case
from schemathesis.checks import CheckContext
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.core.transport import Response
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks
from sqlmodel import Session, select

from models.user import Role, User
from services.auth import issue_token
from tests.factories import make_household, make_user


class ProblemFailure(Failure):
    """A 4xx whose body is not a problem+json document."""


@schemathesis.check
def problem_json(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx answers application/problem+json with type, title, status and detail."""
    if not 400 <= response.status_code < 500:
        return None
    ctype = response.headers.get("content-type", [""])[0]
    problems = []
    if not ctype.startswith("application/problem+json"):
        problems.append(f"content-type {ctype!r}")
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        problems.append("body is not a JSON object")
    else:
        missing = [k for k in ("type", "title", "status", "detail") if k not in body]
        if missing:
            problems.append(f"missing {missing}")
        elif body["status"] != response.status_code:
            problems.append(f"status {body['status']} != {response.status_code}")
    if problems:
        raise ProblemFailure(
            operation=case.operation.label,
            title="Not a problem+json response",
            message="; ".join(problems) + f"\n{response.content[:500]!r}",
        )
    return None


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# An over-long generated body is refused with 413 before it is parsed: a rejection like any other.
FUZZ_CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
            }
        }
    }
)


class SchemaDrift(Failure):
    """A request the schema calls valid was refused by the app's own request validation."""


@schemathesis.check
def no_schema_drift(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Schema-valid data may break a domain rule (a 4xx of its own), never the request validation."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    body = json.loads(response.content or b"null")
    errors = (
        body.get("errors") if isinstance(body, dict) and body.get("code") == "validation_failed" else None
    )
    # an error at the whole body is a cross-field rule (window_end before window_start), which JSON
    # Schema cannot state; an error at a field or a parameter means the schema and the model disagree
    if errors and any(len(e.get("loc", ())) > 1 for e in errors):
        raise SchemaDrift(
            operation=case.operation.label,
            title="Schema-valid request failed request validation",
            message=str(body.get("detail"))[:500],
        )
    return None


# positive_data_acceptance: schema-valid data legitimately breaks domain rules (an unknown region, an
#   ID number with a wrong check digit, an empty register file) and gets a 4xx problem for it;
#   `no_schema_drift` keeps the part of that check that matters (the schema and the validation agree).
# negative_data_rejection: the fuzzer always sends the bearer token, so its "missing Authorization"
#   negations become valid requests, and unknown query parameters are ignored as HTTP clients expect.
EXCLUDED_CHECKS = [openapi_checks.positive_data_acceptance, openapi_checks.negative_data_rejection]


@pytest.fixture
def seeded(session: Session) -> dict[str, Any]:
    """A household and staff accounts (admin, inspector) the fuzzer can aim at."""
    h = make_household(session, "LB0001")
    admin = make_user(session, "fuzz-admin", Role.admin)
    insp = make_user(session, "fuzz-insp", Role.inspector, home_township_code=h.township_code)
    return {"household_id": str(h.id), "user_id": str(insp.id), "admin_id": str(admin.id)}


@pytest.fixture
def api_schema(app, seeded: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The app's OpenAPI schema, loaded in-process; path ids point at seeded rows half of the time."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=FUZZ_CONFIG)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):  # type: ignore[no-untyped-def]
        # only well-formed ids are swapped, so a negative case keeps the malformation it was made for
        known = {k: seeded[k] for k in path_parameters or {} if k in seeded and _is_uuid(path_parameters[k])}
        if not known:
            return st.just(path_parameters)
        return st.sampled_from([path_parameters, {**path_parameters, **known}])

    return schema


# 10 valid and 10 invalid requests per operation: about 25 s per test and database
FUZZ_SETTINGS = settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


# /readyz opens its own connection to the engine, outside the test's transaction (on SQLite it then waits
# on the test's lock and answers 503 by design); it takes no input, so there is nothing to fuzz.
EXCLUDED = {"/readyz"}


def _runner(operation, mode: GenerationMode, bearer: Callable[[], str], reached: set[str]):  # type: ignore[no-untyped-def]
    """The hypothesis test for one operation in one generation mode."""

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {bearer()}"},
            additional_checks=[problem_json, no_schema_drift],
            excluded_checks=EXCLUDED_CHECKS,
        )
        if response.status_code != 401:
            reached.add(operation.label)

    return run


def _fuzz(schema, session: Session, login: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Runs every operation in both generation modes; returns one line per failing operation."""
    user = session.exec(select(User).where(User.login == login)).one()
    token, _ = issue_token(session, user, 1)
    failures: list[str] = []
    reached: set[str] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in EXCLUDED:
            continue
        # logging out revokes the token it is called with: give each such call a throwaway token
        logout = (operation.method.upper(), operation.path) == ("DELETE", "/api/v1/auth/token")
        bearer = (lambda: issue_token(session, user, 1)[0]) if logout else (lambda: token)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _runner(operation, mode, bearer, reached)()
            except Unsatisfiable:
                continue  # nothing to negate: the operation takes no input at all
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:3000]}")
    # a fuzzer that only ever saw 401 (a revoked token, a deactivated account) proves nothing
    assert len(reached) > 40, f"only {len(reached)} operations got past authentication"
    return failures


@pytest.mark.slow
def test_fuzz_as_admin(api_schema, session: Session) -> None:  # type: ignore[no-untyped-def]
    """No 5xx and only problem+json 4xx for an admin, who may call everything."""
    failures = _fuzz(api_schema, session, "fuzz-admin")
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow
def test_fuzz_as_inspector(api_schema, session: Session) -> None:  # type: ignore[no-untyped-def]
    """The same for an inspector, who is refused most operations: refusals are problems too."""
    failures = _fuzz(api_schema, session, "fuzz-insp")
    assert not failures, "\n\n".join(failures)

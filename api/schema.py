"""The statuses every operation can answer that no view writes itself, added to the OpenAPI schema so it
tells the whole truth: 401 without a valid token, 429 when a throttle says wait, 413 for a request body
over Django's limits (uploads are streamed to disk, but form fields are not), 400 for a malformed request
(api.views.StrictRequests)."""

ERROR_BODY = {
    "application/json": {
        "schema": {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
    }
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}
COMMON = {
    "400": {
        "description": "Malformed: an unknown query parameter, a value outside its choices, or an unreadable body.",
        "content": ERROR_BODY,
    },  # fmt: skip
    "401": {"description": "No token, or one that is unknown, revoked or expired.", "content": ERROR_BODY},
    "429": {
        "description": "Too many requests; Retry-After says when to try again.",
        "content": ERROR_BODY,
        "headers": RETRY_AFTER,
    },  # fmt: skip
}
TOO_LARGE = {"413": {"description": "The request body is larger than the portal accepts.", "content": ERROR_BODY}}


def add_common_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook."""
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            authenticated = operation.get("security") != [{}] and {} not in operation.get("security", [])
            for status, response in COMMON.items():
                if status == "401" and not authenticated:
                    continue
                responses.setdefault(status, response)
            if method in ("post", "put", "patch"):
                for status, response in TOO_LARGE.items():
                    responses.setdefault(status, response)
    return result

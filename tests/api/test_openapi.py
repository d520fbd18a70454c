"""The OpenAPI document tells the truth about our error responses."""


async def test_every_422_and_400_is_documented_with_our_error_shape(client):
    spec = (await client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if "422" in responses:
                assert responses["422"]["content"] == error, (method, path)
            if "requestBody" in operation:
                assert "400" in responses, (method, path)


async def test_405_lists_every_method_the_path_supports(client):
    res = await client.request("OPTIONS", "/api/v1/tickets/SUP-1/claim")
    assert res.status_code == 405
    assert res.headers["allow"] == "DELETE, POST"
    assert res.json()["code"] == "method_not_allowed"
    res = await client.put("/api/v1/tickets")
    assert set(res.headers["allow"].split(", ")) == {"GET", "POST"}

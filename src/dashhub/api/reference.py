"""The readable API page's field tables, drawn from the pydantic models' JSON schemas (the same
source as the OpenAPI description, so the page cannot drift from the API)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from dashhub.api import schemas


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class Shape:
    title: str
    fields: list[Field]


def _type(schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"{{text: {_type(schema['additionalProperties'])}}}"
    return {"number": "number", "integer": "integer", "string": "text", "boolean": "true/false"}.get(
        kind, kind
    )


def _shape(title: str, schema: dict) -> Shape:
    required = set(schema.get("required", []))
    return Shape(
        title,
        [
            Field(name, _type(prop), name in required, prop.get("description", ""))
            for name, prop in schema.get("properties", {}).items()
        ],
    )


def shapes(model: type[BaseModel]) -> list[Shape]:
    """The model's fields, then those of every model nested in it."""
    schema = model.model_json_schema()
    nested = schema.pop("$defs", {})
    return [_shape(model.__name__, schema)] + [_shape(name, s) for name, s in sorted(nested.items())]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    description: str
    statuses: list[str]
    request: list[Shape]
    answer: list[Shape]


def _model_of(content: dict | None) -> type[BaseModel] | None:
    """The pydantic model a spectree $ref names (Name.hash): one of dashhub.api.schemas'."""
    ref = ((content or {}).get("application/json") or {}).get("schema", {}).get("$ref", "")
    name = ref.rsplit("/", 1)[-1].split(".", 1)[0]
    model = getattr(schemas, name, None) if name else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def operations(spec: dict) -> list[Operation]:
    """Every route of the OpenAPI description, with its request's and its 200 answer's fields."""
    found = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            request = _model_of((op.get("requestBody") or {}).get("content"))
            answer = _model_of((op.get("responses", {}).get("200") or {}).get("content"))
            found.append(
                Operation(
                    method.upper(),
                    path,
                    op.get("summary", ""),
                    op.get("description", ""),
                    list(op.get("responses", {})),
                    shapes(request) if request else [],
                    shapes(answer) if answer else [],
                )
            )
    return found
